// The host's plugin registry: registration bookkeeping, lookup and construction.
#include "plugin/plugin_catalog.hpp"

#include "util/suggest.hpp"

#include <msa/prompt.hpp>

#include <algorithm>
#include <set>

namespace msa {

std::string describe(const PluginEntry& entry) {
    return std::string(to_string(entry.kind)) + " '" + entry.info.name + "' (from " + entry.library + ")";
}

std::vector<std::string> fill_defaults(const PluginInfo& info, Properties& props) {
    std::vector<std::string> missing;
    for (const auto& spec : info.params) {
        if (props.has(spec.name)) continue;
        if (spec.default_value)
            props.set(spec.name, *spec.default_value, {}, false);
        else
            missing.push_back(spec.name);
    }
    return missing;
}

namespace {

// A declaration the host cannot use is refused at registration, not at first use.
std::optional<std::string> declaration_problem(const PluginInfo& info) {
    if (info.name.empty()) return "it has an empty name";
    std::set<std::string> seen;
    for (const auto& spec : info.params) {
        if (spec.name.empty()) return "a parameter has an empty name";
        if (!seen.insert(spec.name).second) return "parameter '" + spec.name + "' is declared twice";
        if (spec.name == "plugin") return "parameter name 'plugin' is reserved for the plugin's name";
        if (spec.default_value) {
            if (auto problem = spec.check(*spec.default_value))
                return "the default of parameter '" + spec.name + "' is invalid: " + *problem;
        }
    }
    return std::nullopt;
}

} // namespace

template <class Factory> void PluginCatalog::add(PluginKind kind, PluginInfo info, Factory factory) {
    const std::string where = current_library_.empty() ? std::string("the host") : current_library_;
    if (auto problem = declaration_problem(info)) {
        refused_.push_back(std::string(to_string(kind)) + " '" + info.name + "' is refused: " + *problem);
        return;
    }
    auto key = std::make_pair(kind, info.name);
    if (auto it = entries_.find(key); it != entries_.end()) {
        refused_.push_back(std::string(to_string(kind)) + " '" + info.name +
                           "' is refused: already registered by " + it->second.library +
                           " (duplicate plugin name; remove one of the two libraries from the plugin path)");
        return;
    }
    entries_.emplace(key, PluginEntry{kind, std::move(info), where, current_sdk_minor_, std::move(factory)});
}

void PluginCatalog::add_encoder(PluginInfo info, EncoderFactory f) { add(PluginKind::encoder, std::move(info), std::move(f)); }
void PluginCatalog::add_fusion(PluginInfo info, FusionFactory f) { add(PluginKind::fusion, std::move(info), std::move(f)); }
void PluginCatalog::add_loss(PluginInfo info, LossFactory f) { add(PluginKind::loss, std::move(info), std::move(f)); }
void PluginCatalog::add_sampler(PluginInfo info, SamplerFactory f) { add(PluginKind::sampler, std::move(info), std::move(f)); }
void PluginCatalog::add_augmenter(PluginInfo info, AugmenterFactory f) { add(PluginKind::augmenter, std::move(info), std::move(f)); }
void PluginCatalog::add_prompt(PluginInfo info, PromptFactory f) { add(PluginKind::prompt, std::move(info), std::move(f)); }

void PluginCatalog::begin_library(const std::string& library, std::uint32_t sdk_minor) {
    current_library_ = library;
    current_sdk_minor_ = sdk_minor;
    refused_.clear();
}

std::vector<std::string> PluginCatalog::end_library() {
    current_library_.clear();
    current_sdk_minor_ = MSA_SDK_ABI_MINOR;
    return std::exchange(refused_, {});
}

void PluginCatalog::discard_library(const std::string& library) {
    for (auto it = entries_.begin(); it != entries_.end();)
        it = it->second.library == library ? entries_.erase(it) : std::next(it);
}

const PluginEntry* PluginCatalog::find(PluginKind kind, const std::string& name) const {
    auto it = entries_.find({kind, name});
    return it == entries_.end() ? nullptr : &it->second;
}

const PluginEntry& PluginCatalog::get(PluginKind kind, const std::string& name, const std::string& where) const {
    if (const PluginEntry* entry = find(kind, name)) return *entry;
    const auto known = names(kind);
    throw ConfigError(where, std::string("unknown ") + to_string(kind) + " plugin '" + name + "'" +
                                 did_you_mean(name, known) + "; known: " +
                                 (known.empty() ? std::string("none") : join(known)) +
                                 " (see `msa plugins --kind " + to_string(kind) + "`)");
}

std::vector<const PluginEntry*> PluginCatalog::entries() const {
    std::vector<const PluginEntry*> out;
    for (const auto& [_, entry] : entries_) out.push_back(&entry);
    return out;
}

std::vector<std::string> PluginCatalog::names(PluginKind kind) const {
    std::vector<std::string> out;
    for (const auto& [key, _] : entries_)
        if (key.first == kind) out.push_back(key.second);
    return out;
}

void PluginCatalog::check_needs(PluginKind kind, const std::string& name, const std::string& where, bool has_text,
                                bool has_image) const {
    const PluginEntry& entry = get(kind, name, where);
    const PluginNeeds& needs = entry.info.needs;
    const auto fits = [&](const PluginNeeds& n) { return (!n.text || has_text) && (!n.image || has_image); };
    if (fits(needs)) return;
    std::string missing;
    for (const auto m : {Modality::text, Modality::image})
        if (needs.reads(m) && !(m == Modality::text ? has_text : has_image))
            missing += std::string(missing.empty() ? "" : " and ") + "[encoders." + to_string(m) + "]";
    std::vector<std::string> alternatives;
    for (const auto& [key, other] : entries_)
        if (key.first == kind && fits(other.info.needs)) alternatives.push_back(key.second);
    throw ConfigError(where, describe(entry) + " reads " +
                                 (needs.text && needs.image ? "text and image" : needs.text ? "text" : "image") +
                                 " features, but this study has no " + missing + "; add it, or choose a " +
                                 to_string(kind) + " that works with what the study has" +
                                 (alternatives.empty() ? "" : ": " + join(alternatives)));
}

template <class Result, class... Args>
std::shared_ptr<Result> PluginCatalog::create(PluginKind kind, const std::string& name,
                                              const Properties& props, const Args&... args) const {
    const PluginEntry& entry = get(kind, name);
    using Factory = std::function<std::shared_ptr<Result>(const Properties&, const Args&...)>;
    const auto& factory = std::get<Factory>(entry.factory);
    auto instance = call_plugin(entry, "failed to construct", [&] { return factory(props, args...); });
    if (!instance) throw Error(describe(entry) + " returned no object from its factory");
    for (const auto& key : props.unread_user_keys())
        throw ConfigError(props.where(key), describe(entry) + " ignored parameter '" + key +
                                                "': it has no effect with the other settings; "
                                                "remove it");
    return instance;
}

std::shared_ptr<Encoder> PluginCatalog::create_encoder(const std::string& name, const Properties& props) const {
    return create<Encoder>(PluginKind::encoder, name, props);
}
std::shared_ptr<Fusion> PluginCatalog::create_fusion(const std::string& name, const Properties& props,
                                                     const FusionContext& context) const {
    return create<Fusion>(PluginKind::fusion, name, props, context);
}
std::shared_ptr<Loss> PluginCatalog::create_loss(const std::string& name, const Properties& props,
                                                 const LossContext& context) const {
    return create<Loss>(PluginKind::loss, name, props, context);
}
std::shared_ptr<Sampler> PluginCatalog::create_sampler(const std::string& name, const Properties& props) const {
    return create<Sampler>(PluginKind::sampler, name, props);
}
std::shared_ptr<Augmenter> PluginCatalog::create_augmenter(const std::string& name, const Properties& props) const {
    return create<Augmenter>(PluginKind::augmenter, name, props);
}
std::shared_ptr<PromptModel> PluginCatalog::create_prompt(const std::string& name, const Properties& props,
                                                          const PromptContext& context) const {
    return create<PromptModel>(PluginKind::prompt, name, props, context);
}

} // namespace msa
