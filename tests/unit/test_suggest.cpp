// "Did you mean" suggestions.
#include "util/suggest.hpp"

#include <catch2/catch.hpp>

using msa::did_you_mean;
using msa::nearest;

TEST_CASE("nearest finds typos: a swap, a dropped or an extra letter") {
    const std::vector<std::string> keys{"fusion", "loss", "sampler", "dataset", "encoders"};
    CHECK(nearest("fusoin", keys) == "fusion");
    CHECK(nearest("datset", keys) == "dataset");
    CHECK(nearest("samplers", keys) == "sampler");
    CHECK(nearest("Loss", keys) == "loss");
}

TEST_CASE("nearest refuses candidates too far away to be a typo") {
    CHECK_FALSE(nearest("learning_rate", {"epochs", "device"}).has_value());
    CHECK_FALSE(nearest("x", {}).has_value());
    CHECK(did_you_mean("zzzzzz", {"fusion"}).empty());
    CHECK(did_you_mean("fusio", {"fusion"}) == " (did you mean 'fusion'?)");
}
