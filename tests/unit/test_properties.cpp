// Parameter declarations (ParamSpec) and the read-tracked property bag (Properties).
#include <msa/properties.hpp>

#include <catch2/catch.hpp>

using namespace msa;
using Catch::Matchers::Contains;

TEST_CASE("ParamSpec::check accepts matching values and explains the rest") {
    const auto hidden = ParamSpec::integer("hidden", 256, "width").range(1, 1024);
    CHECK_FALSE(hidden.check(Value{std::int64_t{512}}));
    CHECK_THAT(*hidden.check(Value{std::int64_t{0}}), Contains("out of range") && Contains("0 is out of range; accepted: [1, 1024]"));
    CHECK_THAT(*hidden.check(Value{std::string("big")}), Contains("expected int, got string"));
    CHECK_THAT(*hidden.check(Value{2.5}), Contains("expected int, got float"));

    const auto rate = ParamSpec::real("rate", 0.1, "rate").range(0.0, 1.0);
    CHECK_FALSE(rate.check(Value{std::int64_t{1}})); // integers widen to floats
    CHECK(rate.check(Value{1.5}));
    CHECK(rate.check(Value{std::nan("")}));

    const auto pooling = ParamSpec::choice("pooling", "cls", {"cls", "mean"}, "pooling");
    CHECK_FALSE(pooling.check(Value{std::string("mean")}));
    CHECK_THAT(*pooling.check(Value{std::string("max")}), Contains("one of cls, mean"));

    const auto weights = ParamSpec::reals("weights", {}, "w").at_least(0.0);
    CHECK_FALSE(weights.check(Value{std::vector<std::int64_t>{1, 2}}));
    CHECK_THAT(*weights.check(Value{std::vector<double>{1.0, -2.0}}), Contains("-2.0 is out of range"));
}

TEST_CASE("ParamSpec::required removes the default") {
    auto spec = ParamSpec::path("checkpoint", "", "model folder").required();
    CHECK(spec.is_required());
    CHECK(spec.is_path);
    CHECK(spec.type == ParamType::string);
}

TEST_CASE("format_value writes values as TOML would") {
    CHECK(format_value(Value{true}) == "true");
    CHECK(format_value(Value{std::int64_t{3}}) == "3");
    CHECK(format_value(Value{2.0}) == "2.0");
    CHECK(format_value(Value{0.25}) == "0.25");
    CHECK(format_value(Value{std::string("a\"b")}) == "\"a\\\"b\"");
    CHECK(format_value(Value{std::vector<std::string>{"x", "y"}}) == "[\"x\", \"y\"]");
}

TEST_CASE("Properties tracks which user keys were read") {
    Properties props("fusion 'test'");
    props.set("hidden", Value{std::int64_t{64}}, "study.toml:4:10");
    props.set("dropout", Value{0.2}, "study.toml:5:11");
    props.set("bias", Value{true}, {}, /*from_user=*/false);
    CHECK(props.unread_user_keys() == std::vector<std::string>{"dropout", "hidden"});
    CHECK(props.get_int("hidden") == 64);
    CHECK(props.unread_user_keys() == std::vector<std::string>{"dropout"});
    CHECK(props.get_real("dropout") == Approx(0.2));
    CHECK(props.unread_user_keys().empty());
    CHECK(props.where("hidden") == "study.toml:4:10");
    CHECK(props.set_by_user("hidden"));
    CHECK_FALSE(props.set_by_user("bias"));
}

TEST_CASE("Properties reads integers as floats and refuses other mismatches with the location") {
    Properties props("loss 'test'");
    props.set("gamma", Value{std::int64_t{2}}, "study.toml:9:9");
    CHECK(props.get_real("gamma") == 2.0);
    CHECK(props.unread_user_keys().empty());
    props.set("name", Value{std::string("x")}, "study.toml:10:8");
    try {
        props.get_int("name");
        FAIL("expected a ConfigError");
    } catch (const ConfigError& e) {
        CHECK(e.where() == "study.toml:10:8");
        CHECK_THAT(e.what(), Contains("'name' holds a string; the plugin reads it as int"));
    }
    CHECK_THROWS_WITH(props.get_bool("missing"), Contains("undeclared parameter 'missing'") && Contains("gamma, name"));
}
