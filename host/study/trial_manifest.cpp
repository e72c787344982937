#include "study/trial_manifest.hpp"

#include "manifest/manifest_table.hpp"

#include <msa/properties.hpp>

#include <memory>
#include <variant>

namespace msa::study {

namespace {

std::vector<std::string> split_path(const std::string& path) {
    std::vector<std::string> parts(1);
    for (char c : path) {
        if (c == '.') parts.emplace_back();
        else parts.back() += c;
    }
    return parts;
}

// Puts `value` at the dotted `path` of `root`, creating tables on the way. A plugin
// named by shorthand (`fusion = "gated"`) becomes a table, so `fusion.hidden` can be set.
void assign(toml::table& root, const std::string& path, toml::node&& value, const std::string& where) {
    const auto parts = split_path(path);
    toml::table* table = &root;
    for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
        toml::node* next = table->get(parts[i]);
        if (!next) {
            table->insert_or_assign(parts[i], toml::table{});
            next = table->get(parts[i]);
        } else if (auto plugin = next->value_exact<std::string>()) {
            table->insert_or_assign(parts[i], toml::table{{"plugin", *plugin}});
            next = table->get(parts[i]);
        }
        if (!next->is_table())
            throw ManifestError({{where, "sweep path '" + path + "': '" + parts[i] + "' is not a table here, so '" +
                                             parts[i + 1] + "' cannot be set in it"}});
        table = next->as_table();
    }
    if (parts.back().empty() || parts.front().empty())
        throw ManifestError({{where, "sweep path '" + path + "' is not a dotted manifest path such as train.epochs"}});
    table->insert_or_assign(parts.back(), std::move(value));
}

// A Value as a TOML node.
struct ToNode {
    std::unique_ptr<toml::node> operator()(bool b) const { return std::make_unique<toml::value<bool>>(b); }
    std::unique_ptr<toml::node> operator()(std::int64_t i) const { return std::make_unique<toml::value<std::int64_t>>(i); }
    std::unique_ptr<toml::node> operator()(double d) const { return std::make_unique<toml::value<double>>(d); }
    std::unique_ptr<toml::node> operator()(const std::string& s) const {
        return std::make_unique<toml::value<std::string>>(s);
    }
    template <class T> std::unique_ptr<toml::node> operator()(const std::vector<T>& items) const {
        auto array = std::make_unique<toml::array>();
        for (const auto& item : items) array->push_back(item);
        return array;
    }
};

std::unique_ptr<toml::node> to_node(const Value& value) { return std::visit(ToNode{}, value); }

} // namespace

Study build_trial_study(const std::filesystem::path& file, const std::vector<Change>& changes,
                        const PluginCatalog& catalog) {
    ManifestDocument::Impl manifest = load_manifest_table(file);
    toml::array phases;
    if (toml::node* node = manifest.root.get("phase"); node && node->is_array()) phases = std::move(*node->as_array());
    manifest.root.erase("phase");
    auto phase_table = [&](std::size_t index) -> toml::table& { return *phases.get(index)->as_table(); };
    for (const Change& change : changes) {
        switch (change.kind) {
        case Change::Kind::set:
            merge_into(manifest.root, std::move(*phase_table(change.phase).get("set")->as_table()));
            break;
        case Change::Kind::sweep: {
            toml::table& sweep = *phase_table(change.phase).get("sweep")->as_table();
            toml::node& value = *sweep.get(change.axis)->as_array()->get(change.element);
            const std::string where = location(value.source());
            assign(manifest.root, change.axis, std::move(value), where);
            break;
        }
        case Change::Kind::assign:
            for (const Assignment& a : change.values) assign(manifest.root, a.path, std::move(*to_node(a.value)), "");
            break;
        case Change::Kind::remove: {
            toml::table* parent = &manifest.root;
            std::string rest = change.axis;
            for (auto dot = rest.find('.'); parent && dot != std::string::npos; dot = rest.find('.')) {
                parent = (*parent)[rest.substr(0, dot)].as_table();
                rest = rest.substr(dot + 1);
            }
            if (parent) parent->erase(rest);
            break;
        }
        }
    }
    return ManifestDocument(std::move(manifest)).to_study(catalog);
}

} // namespace msa::study
