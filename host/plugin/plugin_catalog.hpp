// Every plugin the host knows, with its declaration and library of origin; the host
// side of msa::Registry.
#pragma once

#include <msa/error.hpp>
#include <msa/plugin.hpp>
#include <msa/registry.hpp>

#include <exception>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace msa {

struct PluginEntry {
    PluginKind kind;
    PluginInfo info;
    std::string library; // path of the shared library that registered it
    // The SDK minor version it was built against (MSA_SDK_ABI_MINOR for the host's own):
    // the host calls what a later minor version added only of libraries that have it.
    std::uint32_t sdk_minor = MSA_SDK_ABI_MINOR;
    std::variant<EncoderFactory, FusionFactory, LossFactory, SamplerFactory, AugmenterFactory, PromptFactory> factory;
};

class PluginCatalog final : public Registry {
public:
    void add_encoder(PluginInfo info, EncoderFactory factory) override;
    void add_fusion(PluginInfo info, FusionFactory factory) override;
    void add_loss(PluginInfo info, LossFactory factory) override;
    void add_sampler(PluginInfo info, SamplerFactory factory) override;
    void add_augmenter(PluginInfo info, AugmenterFactory factory) override;
    void add_prompt(PluginInfo info, PromptFactory factory) override;

    // The loader brackets each library's registration function with these. Entries
    // added in between are attributed to `library`, built against SDK minor version
    // `sdk_minor`; end_library() returns the entries that were refused (duplicates,
    // invalid declarations), one message each.
    void begin_library(const std::string& library, std::uint32_t sdk_minor = MSA_SDK_ABI_MINOR);
    std::vector<std::string> end_library();
    // Removes everything `library` registered, after its registration function threw.
    void discard_library(const std::string& library);

    const PluginEntry* find(PluginKind kind, const std::string& name) const;
    // Throws msa::ConfigError naming the known plugins of that kind and the nearest one.
    const PluginEntry& get(PluginKind kind, const std::string& name, const std::string& where = {}) const;
    std::vector<const PluginEntry*> entries() const;
    std::vector<std::string> names(PluginKind kind) const;

    // Checks what `name` declares it reads (PluginInfo::needs) against the modalities the
    // study has: a ConfigError at `where` when one is missing, naming the plugins of that
    // kind that would work with what the study has.
    void check_needs(PluginKind kind, const std::string& name, const std::string& where, bool has_text,
                     bool has_image) const;

    // Plugin construction. Exceptions from the plugin come back as msa::Error naming
    // the plugin and its library; a key the user set that the plugin never read is an
    // error too.
    std::shared_ptr<Encoder> create_encoder(const std::string& name, const Properties& props) const;
    std::shared_ptr<Fusion> create_fusion(const std::string& name, const Properties& props,
                                          const FusionContext& context) const;
    std::shared_ptr<Loss> create_loss(const std::string& name, const Properties& props,
                                      const LossContext& context) const;
    std::shared_ptr<Sampler> create_sampler(const std::string& name, const Properties& props) const;
    std::shared_ptr<Augmenter> create_augmenter(const std::string& name, const Properties& props) const;
    std::shared_ptr<PromptModel> create_prompt(const std::string& name, const Properties& props,
                                               const PromptContext& context) const;

private:
    template <class Factory> void add(PluginKind kind, PluginInfo info, Factory factory);
    template <class Result, class... Args>
    std::shared_ptr<Result> create(PluginKind kind, const std::string& name, const Properties& props,
                                   const Args&... args) const;

    std::map<std::pair<PluginKind, std::string>, PluginEntry> entries_;
    std::string current_library_;
    std::uint32_t current_sdk_minor_ = MSA_SDK_ABI_MINOR;
    std::vector<std::string> refused_;
};

// Sets every declared parameter that `props` lacks to its default (marked as not set
// by the user). Returns the required parameters that are still missing.
std::vector<std::string> fill_defaults(const PluginInfo& info, Properties& props);

// "fusion 'gated' (from /path/libmsa-fusions.so)", for messages about a plugin.
std::string describe(const PluginEntry& entry);

// Runs a call into plugin code, turning any exception into msa::Error that names the
// plugin and its library.
template <class F> auto call_plugin(const PluginEntry& entry, const char* what, F&& f) -> decltype(f()) {
    try {
        return f();
    } catch (const ConfigError& e) {
        // Keep the manifest location in front, where editors look for it.
        throw ConfigError(e.where(), describe(entry) + " " + what + ": " + e.message());
    } catch (const std::exception& e) {
        throw Error(describe(entry) + " " + what + ": " + e.what());
    } catch (...) {
        throw Error(describe(entry) + " " + what + ": unknown exception");
    }
}

} // namespace msa
