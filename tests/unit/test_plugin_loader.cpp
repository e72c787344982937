// Plugin loading: the built-in libraries, and every kind of broken library the loader
// must refuse with its path and reason while the others still load.
#include "test_helpers.hpp"

#include <msa/plugin.hpp>
#include <msa/sampler.hpp>

#include <catch2/catch.hpp>

#include <algorithm>

using namespace msa;
using Catch::Matchers::Contains;

namespace {

const std::string broken = MSA_BROKEN_PLUGIN_DIR;

// The reason given for `library` (a file name in the broken folder), or "" if none.
std::string reason_for(const PluginLoader& loader, const std::string& library) {
    for (const auto& failure : loader.failures())
        if (failure.library == broken + "/" + library) return failure.reason;
    return {};
}

} // namespace

TEST_CASE("the built-in folder provides a plugin of every kind") {
    const auto& catalog = test::builtin_catalog();
    for (auto kind : {PluginKind::encoder, PluginKind::fusion, PluginKind::loss, PluginKind::sampler,
                      PluginKind::augmenter, PluginKind::prompt})
        CHECK_FALSE(catalog.names(kind).empty());
    const PluginEntry& concat = catalog.get(PluginKind::fusion, "concat");
    CHECK_THAT(concat.library, Contains("msa-fusion-concat.so"));
    CHECK_FALSE(concat.info.params.empty());
}

TEST_CASE("broken libraries are reported with path and reason, and the rest still load") {
    PluginCatalog catalog;
    PluginLoader loader(catalog);
    loader.load_path(MSA_BUILTIN_PLUGIN_DIR);
    REQUIRE(loader.failures().empty());
    loader.load_path(broken);

    CHECK_THAT(reason_for(loader, "no_entry_symbol.so"), Contains("no entry symbol 'msa_plugin_entry'"));
    CHECK_THAT(reason_for(loader, "wrong_abi_major.so"),
               Contains("incompatible SDK ABI") && Contains("SDK " + std::to_string(MSA_SDK_ABI_MAJOR + 98) + ".0") &&
                   Contains("provides SDK " + std::to_string(MSA_SDK_ABI_MAJOR) + "." + std::to_string(MSA_SDK_ABI_MINOR)));
    CHECK_THAT(reason_for(loader, "newer_abi_minor.so"),
               Contains("newer SDK (" + std::to_string(MSA_SDK_ABI_MAJOR) + "." + std::to_string(MSA_SDK_ABI_MINOR + 1) + ")"));
    CHECK_THAT(reason_for(loader, "wrong_torch_version.so"),
               Contains("LibTorch mismatch: the library was built against LibTorch 0.4.1") &&
                   Contains("this msa uses LibTorch " TORCH_VERSION));
    CHECK_THAT(reason_for(loader, "wrong_cxx_abi.so"), Contains("C++ ABI mismatch"));
    CHECK_THAT(reason_for(loader, "not_a_library.so"), Contains("not a loadable shared library"));
    // dlerror()'s text names what is missing.
    CHECK_THAT(reason_for(loader, "unresolved_symbol.so"), Contains("undefined symbol: _Z24function_defined_nowherev"));
    CHECK_THAT(reason_for(loader, "throwing_registration.so"),
               Contains("registration failed: deliberate failure during registration"));
    // A duplicate names both libraries.
    CHECK_THAT(reason_for(loader, "duplicate_name.so"),
               Contains("sampler 'all' is refused: already registered by") && Contains("msa-sampler-all.so"));

    // The duplicate kept the original; the library's other plugin loaded.
    CHECK_THAT(catalog.get(PluginKind::sampler, "all").library, Contains("msa-sampler-all.so"));
    CHECK_THAT(catalog.get(PluginKind::sampler, "first-only").library, Contains("duplicate_name.so"));
    // A library whose registration threw leaves nothing behind.
    CHECK(catalog.find(PluginKind::sampler, "half-registered") == nullptr);
    // The built-ins are all still there.
    CHECK(catalog.find(PluginKind::fusion, "concat") != nullptr);
}

TEST_CASE("a factory that throws fails with the plugin, its library and the message") {
    PluginCatalog catalog;
    PluginLoader loader(catalog);
    loader.load_library(broken + "/throwing_factory.so");
    REQUIRE(loader.failures().empty());
    try {
        catalog.create_sampler("throws-on-create", Properties{});
        FAIL("expected msa::Error");
    } catch (const Error& e) {
        CHECK_THAT(e.what(), Contains("sampler 'throws-on-create'") && Contains("throwing_factory.so") &&
                                 Contains("deliberate failure in the factory"));
    }
}

TEST_CASE("a missing plugin folder is a failure, and a library on the path twice loads once") {
    PluginCatalog catalog;
    PluginLoader loader(catalog);
    loader.load_path("/nonexistent/msa-plugins");
    REQUIRE(loader.failures().size() == 1);
    CHECK_THAT(loader.failures()[0].reason, Contains("no such file or folder"));

    loader.load_path(MSA_BUILTIN_PLUGIN_DIR);
    loader.load_path(MSA_BUILTIN_PLUGIN_DIR);
    CHECK(loader.failures().size() == 1);
}

TEST_CASE("an unknown plugin name lists the known ones and the nearest") {
    CHECK_THROWS_WITH(test::builtin_catalog().get(PluginKind::fusion, "conact", "s.toml:3:10"),
                      Contains("s.toml:3:10: unknown fusion plugin 'conact' (did you mean 'concat'?)") &&
                          Contains("; known: ") && Contains("concat, ") && Contains("gated"));
}

TEST_CASE("a user setting the plugin never reads is an error, not silently ignored") {
    // Declared by no plugin: simulates a plugin that declares a parameter and ignores it.
    auto props = test::properties(PluginKind::sampler, "all");
    props.set("fraction", Value{0.5}, "s.toml:7:12");
    CHECK_THROWS_WITH(test::builtin_catalog().create_sampler("all", props),
                      Contains("s.toml:7:12") && Contains("ignored parameter 'fraction'"));
}
