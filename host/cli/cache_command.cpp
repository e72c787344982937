// `msa cache ls | verify | prune | keys`: inspect and prune the feature store (HDF5) of
// a study, or a store file named directly.
#include "cli/commands.hpp"

#include "manifest/manifest_reader.hpp"
#include "store/feature_store.hpp"

#include <msa/encoder.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include <iostream>
#include <set>

namespace msa::cli {

namespace fs = std::filesystem;

namespace {

struct Options {
    std::string manifest;
    std::string store;
    bool json = false;
    std::vector<std::string> keep_manifests;
    std::vector<std::string> key_prefixes;
    bool all = false;
    bool dry_run = false;
};

std::string human_bytes(std::uint64_t bytes) {
    const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double value = double(bytes);
    int unit = 0;
    while (value >= 1024 && unit < 4) {
        value /= 1024;
        ++unit;
    }
    return unit == 0 ? fmt::format("{} B", bytes) : fmt::format("{:.1f} {}", value, units[unit]);
}

// A manifest's study, with the plugins it names loaded into `catalog`.
Study load_study(const std::string& manifest, PluginCatalog& catalog) {
    const auto document = ManifestDocument::load(manifest);
    load_plugins(catalog, document.plugin_paths());
    return document.to_study(catalog);
}

struct EncoderKey {
    std::string modality;
    EncoderMeta meta;
    std::string key;
};

// The store keys of a study's encoders. Builds each encoder, since cache_key() is the
// encoder's to say (it may read a checkpoint's digest).
std::vector<EncoderKey> study_keys(const Study& study, const PluginCatalog& catalog) {
    std::vector<EncoderKey> out;
    for (const auto& [modality, choice] : study.encoders) {
        const PluginEntry& entry = catalog.get(PluginKind::encoder, choice.plugin, choice.where);
        const auto encoder = catalog.create_encoder(choice.plugin, choice.params);
        EncoderMeta meta = encoder_meta(entry, *encoder, choice.params);
        const std::string key = encoder_key(meta);
        out.push_back({modality, std::move(meta), key});
    }
    return out;
}

// The store file the options name: --store, else the manifest's.
std::optional<fs::path> target_store(const Options& o, const std::string& command) {
    if (!o.store.empty()) return fs::path(o.store);
    std::string manifest = o.manifest;
    if (manifest.empty() && !o.keep_manifests.empty()) manifest = o.keep_manifests.front();
    if (manifest.empty()) {
        std::cerr << "msa cache " << command << ": name a study manifest or --store FILE\n";
        return std::nullopt;
    }
    const auto extension = fs::path(manifest).extension();
    if (extension == ".h5" || extension == ".hdf5") {
        std::cerr << "msa cache " << command << ": " << manifest << " looks like a store, not a manifest; "
                  << "name it with --store " << manifest << "\n";
        return std::nullopt;
    }
    PluginCatalog catalog;
    return store_path(load_study(manifest, catalog));
}

nlohmann::json to_json(const GroupInfo& g) {
    nlohmann::json params = nlohmann::json::parse(g.meta.params_json, nullptr, false);
    if (params.is_discarded()) params = g.meta.params_json;
    return {{"key", g.key},         {"plugin", g.meta.plugin}, {"version", g.meta.version},
            {"cache_key", g.meta.cache_key}, {"params", params}, {"dtype", g.dtype},
            {"created", g.created}, {"count", g.count},      {"dim", g.dim},
            {"length", g.length},   {"token_dim", g.token_dim}, {"bytes", g.bytes}};
}

std::string shape_text(const GroupInfo& g) {
    return g.length > 0 ? fmt::format("{} + tokens {}x{}", g.dim, g.length, g.token_dim) : std::to_string(g.dim);
}

int run_ls(const Options& o) {
    const auto file = target_store(o, "ls");
    if (!file) return 2;
    const FeatureStore store(*file);
    const auto groups = store.list();
    const bool exists = fs::exists(*file);
    if (o.json) {
        nlohmann::json out{{"store", file->string()}, {"exists", exists},
                           {"bytes", exists ? fs::file_size(*file) : 0}, {"groups", nlohmann::json::array()}};
        for (const auto& g : groups) out["groups"].push_back(to_json(g));
        std::cout << out.dump(2) << "\n";
        return 0;
    }
    if (!exists) {
        std::cout << file->string() << ": no store yet (nothing cached)\n";
        return 0;
    }
    std::cout << fmt::format("{}: {} group(s), {}\n", file->string(), groups.size(), human_bytes(fs::file_size(*file)));
    if (groups.empty()) return 0;
    std::cout << fmt::format("{:<14}{:<20}{:<9}{:>8}  {:<22}{:<9}{:>10}  {}\n", "key", "plugin", "version", "ids",
                             "dim", "dtype", "size", "created");
    for (const auto& g : groups)
        std::cout << fmt::format("{:<14}{:<20}{:<9}{:>8}  {:<22}{:<9}{:>10}  {}\n", g.key.substr(0, 12), g.meta.plugin,
                                 g.meta.version, g.count, shape_text(g), g.dtype, human_bytes(g.bytes), g.created);
    return 0;
}

int run_verify(const Options& o) {
    const auto file = target_store(o, "verify");
    if (!file) return 2;
    const auto report = FeatureStore(*file).verify();
    if (o.json) {
        nlohmann::json out{{"store", file->string()}, {"ok", report.ok()}, {"groups", report.groups},
                           {"ids", report.ids}, {"problems", nlohmann::json::array()}};
        for (const auto& p : report.problems) out["problems"].push_back({{"key", p.key}, {"message", p.message}});
        std::cout << out.dump(2) << "\n";
        return report.ok() ? 0 : 1;
    }
    if (report.ok()) {
        std::cout << fmt::format("{}: sound ({} group(s), {} ids)\n", file->string(), report.groups, report.ids);
        return 0;
    }
    for (const auto& p : report.problems)
        std::cout << file->string() << ": " << (p.key.empty() ? "" : "group " + p.key + ": ") << p.message << "\n";
    const bool whole_file = std::any_of(report.problems.begin(), report.problems.end(),
                                        [](const VerifyReport::Problem& p) { return p.key.empty(); });
    if (whole_file)
        std::cout << fmt::format("{}: {} problem(s); the file as a whole is damaged: delete it (msa encodes what a "
                                 "study needs again) or restore it from a copy\n",
                                 file->string(), report.problems.size());
    else
        std::cout << fmt::format("{}: {} problem(s); `msa cache prune --store {} --key KEY` removes a broken group "
                                 "(msa encodes it again when a study needs it)\n",
                                 file->string(), report.problems.size(), file->string());
    return 1;
}

int run_prune(const Options& o) {
    const auto file = target_store(o, "prune");
    if (!file) return 2;
    if (!fs::exists(*file)) {
        std::cout << file->string() << ": no store (nothing to prune)\n";
        return 0;
    }
    FeatureStore store(*file);
    std::function<bool(const GroupInfo&)> remove;
    if (o.all) {
        remove = [](const GroupInfo&) { return true; };
    } else if (!o.key_prefixes.empty()) {
        const auto groups = store.list();
        for (const auto& prefix : o.key_prefixes) {
            const bool hex = !prefix.empty() && prefix.find_first_not_of("0123456789abcdef") == std::string::npos;
            const bool matches = std::any_of(groups.begin(), groups.end(),
                                             [&](const GroupInfo& g) { return g.key.rfind(prefix, 0) == 0; });
            if (!hex || !matches) {
                std::string keys;
                for (const auto& g : groups) keys += "\n  " + g.key.substr(0, 12) + "  " + g.meta.plugin + " " + g.meta.version;
                std::cerr << "msa cache prune: --key '" << prefix << "' "
                          << (hex ? "matches no group" : "is not a key prefix (lower-case hex digits)") << " in "
                          << file->string() << "; its groups:" << (keys.empty() ? " none" : keys) << "\n";
                return 1;
            }
        }
        remove = [prefixes = o.key_prefixes](const GroupInfo& g) {
            return std::any_of(prefixes.begin(), prefixes.end(),
                               [&](const std::string& p) { return g.key.rfind(p, 0) == 0; });
        };
    } else if (!o.keep_manifests.empty()) {
        std::set<std::string> keep;
        for (const auto& manifest : o.keep_manifests) {
            PluginCatalog catalog;
            for (const auto& k : study_keys(load_study(manifest, catalog), catalog)) keep.insert(k.key);
        }
        remove = [keep](const GroupInfo& g) { return keep.count(g.key) == 0; };
    } else {
        std::cerr << "msa cache prune: say what to remove: --keep-manifest MANIFEST, --key PREFIX or --all\n";
        return 2;
    }

    auto print = [](const GroupInfo& g, const char* verb) {
        std::cout << fmt::format("{} {}  {} {}  ({} ids, {})\n", verb, g.key.substr(0, 12), g.meta.plugin,
                                 g.meta.version, g.count, human_bytes(g.bytes));
    };
    if (o.dry_run) {
        std::size_t n = 0;
        for (const auto& g : store.list())
            if (remove(g)) print(g, "would remove"), ++n;
        std::cout << file->string() << ": " << n << " group(s) would be removed (dry run)\n";
        return 0;
    }
    const auto report = store.prune(remove);
    for (const auto& g : report.removed) print(g, "removed");
    if (report.removed.empty()) {
        std::cout << file->string() << ": nothing to remove\n";
        return 0;
    }
    const std::uint64_t reclaimed = report.bytes_before > report.bytes_after ? report.bytes_before - report.bytes_after : 0;
    std::cout << fmt::format("{}: removed {} group(s), reclaimed {} ({} -> {})\n", file->string(), report.removed.size(),
                             human_bytes(reclaimed), human_bytes(report.bytes_before), human_bytes(report.bytes_after));
    return 0;
}

int run_keys(const Options& o) {
    PluginCatalog catalog;
    const Study study = load_study(o.manifest, catalog);
    const auto keys = study_keys(study, catalog);
    const fs::path file = store_path(study);
    if (o.json) {
        nlohmann::json out{{"store", file.string()}, {"encoders", nlohmann::json::array()}};
        for (const auto& k : keys)
            out["encoders"].push_back({{"modality", k.modality}, {"plugin", k.meta.plugin}, {"version", k.meta.version},
                                       {"cache_key", k.meta.cache_key}, {"key", k.key}});
        std::cout << out.dump(2) << "\n";
        return 0;
    }
    std::cout << "store " << file.string() << "\n";
    for (const auto& k : keys)
        std::cout << fmt::format("{:<6} {} {} {}\n       cache_key {}\n", k.modality, k.key, k.meta.plugin, k.meta.version,
                                 k.meta.cache_key);
    return 0;
}

} // namespace

Command add_cache_command(CLI::App& app) {
    auto o = std::make_shared<Options>();
    CLI::App* cache = app.add_subcommand("cache", "Inspect and prune the feature store: ls, verify, prune, keys");
    cache->require_subcommand(1);
    auto add_target = [&](CLI::App* sub) {
        auto* manifest = sub->add_option("manifest", o->manifest,
                                         "A study manifest: its store is [store] path, else the per-dataset default");
        sub->add_option("--store", o->store, "The store file itself")->excludes(manifest);
    };

    CLI::App* ls = cache->add_subcommand("ls", "List the store's groups: key, plugin, ids, shape, dtype, size");
    add_target(ls);
    ls->add_flag("--json", o->json, "Machine-readable output");

    CLI::App* verify = cache->add_subcommand(
        "verify", "Read the whole store and check it; exit 0 when sound, 1 with the problems listed");
    add_target(verify);
    verify->add_flag("--json", o->json, "Machine-readable output");

    CLI::App* prune = cache->add_subcommand("prune", "Remove groups and shrink the file; prints what went and the bytes reclaimed");
    add_target(prune);
    auto* keep = prune->add_option("--keep-manifest", o->keep_manifests,
                                   "Keep only the groups of this manifest's encoders (repeatable); "
                                   "also names the store when no other is given")
                     ->allow_extra_args(false);
    auto* key = prune->add_option("--key", o->key_prefixes, "Remove the groups whose key starts with PREFIX (repeatable)")
                    ->allow_extra_args(false);
    auto* all = prune->add_flag("--all", o->all, "Remove every group");
    keep->excludes(key, all);
    key->excludes(all);
    prune->add_flag("--dry-run", o->dry_run, "Print what would be removed; change nothing");

    CLI::App* keys = cache->add_subcommand("keys", "The store file and encoder keys a manifest uses (builds its encoders)");
    keys->add_option("manifest", o->manifest, "A study manifest")->required();
    keys->add_flag("--json", o->json, "Machine-readable output");

    return {cache, [o, ls, verify, prune, keys] {
                try {
                    if (ls->parsed()) return run_ls(*o);
                    if (verify->parsed()) return run_verify(*o);
                    if (prune->parsed()) return run_prune(*o);
                    if (keys->parsed()) return run_keys(*o);
                    return 2;
                } catch (const ManifestError& e) {
                    std::cerr << e.what() << "\n" << e.problems().size() << " problem(s) in the manifest\n";
                    return 1;
                }
            }};
}

} // namespace msa::cli
