// Plugin parameters: the declaration a plugin publishes (ParamSpec) and the typed,
// read-tracked bag of values it is constructed from (Properties).
#pragma once

#include <msa/error.hpp>

#include <cmath>
#include <cstdint>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace msa {

// The order matches the alternatives of Value.
enum class ParamType { boolean, integer, real, string, integer_list, real_list, string_list };

using Value = std::variant<bool, std::int64_t, double, std::string, std::vector<std::int64_t>,
                           std::vector<double>, std::vector<std::string>>;

inline const char* to_string(ParamType type) {
    switch (type) {
    case ParamType::boolean: return "bool";
    case ParamType::integer: return "int";
    case ParamType::real: return "float";
    case ParamType::string: return "string";
    case ParamType::integer_list: return "int list";
    case ParamType::real_list: return "float list";
    case ParamType::string_list: return "string list";
    }
    return "?";
}

inline ParamType type_of(const Value& value) { return static_cast<ParamType>(value.index()); }

namespace detail {
inline std::string quote(const std::string& s) {
    std::string out = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    return out + "\"";
}
inline std::string format_real(double x) {
    std::ostringstream os;
    os.precision(15);
    os << x;
    std::string s = os.str();
    // TOML needs a dot or exponent to read the value back as a float.
    if (std::isfinite(x) && s.find_first_of(".eE") == std::string::npos) s += ".0";
    return s;
}
template <class T, class F> std::string format_list(const std::vector<T>& items, F format_item) {
    std::string out = "[";
    for (std::size_t i = 0; i < items.size(); ++i) out += (i ? ", " : "") + format_item(items[i]);
    return out + "]";
}
} // namespace detail

// Renders a value the way it would be written in TOML.
inline std::string format_value(const Value& value) {
    struct Formatter {
        std::string operator()(bool b) const { return b ? "true" : "false"; }
        std::string operator()(std::int64_t i) const { return std::to_string(i); }
        std::string operator()(double d) const { return detail::format_real(d); }
        std::string operator()(const std::string& s) const { return detail::quote(s); }
        std::string operator()(const std::vector<std::int64_t>& v) const {
            return detail::format_list(v, [](std::int64_t i) { return std::to_string(i); });
        }
        std::string operator()(const std::vector<double>& v) const {
            return detail::format_list(v, detail::format_real);
        }
        std::string operator()(const std::vector<std::string>& v) const {
            return detail::format_list(v, detail::quote);
        }
    };
    return std::visit(Formatter{}, value);
}

// One declared parameter: its name, type, default (none when required), the accepted
// range or choices, and a one-line description for `msa plugins`.
struct ParamSpec {
    std::string name;
    ParamType type = ParamType::string;
    std::optional<Value> default_value;
    std::string doc;
    std::optional<double> min;
    std::optional<double> max;
    std::vector<std::string> choices;
    // A string naming a file or folder: the host resolves it against the manifest's
    // folder before the plugin sees it.
    bool is_path = false;
    // A path to a model folder (weights) the plugin cannot work without: where it is
    // absent, a study skips the trial with the reason (the doc says where to get one)
    // instead of failing it. SDK 3.0; checkpoint_encoder_params() declares every checkpoint.
    bool is_model_folder = false;

    static ParamSpec boolean(std::string name, bool def, std::string doc) {
        return {std::move(name), ParamType::boolean, Value{def}, std::move(doc)};
    }
    static ParamSpec integer(std::string name, std::int64_t def, std::string doc) {
        return {std::move(name), ParamType::integer, Value{def}, std::move(doc)};
    }
    static ParamSpec real(std::string name, double def, std::string doc) {
        return {std::move(name), ParamType::real, Value{def}, std::move(doc)};
    }
    static ParamSpec string(std::string name, std::string def, std::string doc) {
        return {std::move(name), ParamType::string, Value{std::move(def)}, std::move(doc)};
    }
    static ParamSpec choice(std::string name, std::string def, std::vector<std::string> choices,
                            std::string doc) {
        ParamSpec spec = string(std::move(name), std::move(def), std::move(doc));
        spec.choices = std::move(choices);
        return spec;
    }
    static ParamSpec path(std::string name, std::string def, std::string doc) {
        ParamSpec spec = string(std::move(name), std::move(def), std::move(doc));
        spec.is_path = true;
        return spec;
    }
    static ParamSpec integers(std::string name, std::vector<std::int64_t> def, std::string doc) {
        return {std::move(name), ParamType::integer_list, Value{std::move(def)}, std::move(doc)};
    }
    static ParamSpec reals(std::string name, std::vector<double> def, std::string doc) {
        return {std::move(name), ParamType::real_list, Value{std::move(def)}, std::move(doc)};
    }
    static ParamSpec strings(std::string name, std::vector<std::string> def, std::string doc) {
        return {std::move(name), ParamType::string_list, Value{std::move(def)}, std::move(doc)};
    }

    // Inclusive bounds; for lists they apply to every element.
    ParamSpec& range(double lo, double hi) {
        min = lo;
        max = hi;
        return *this;
    }
    ParamSpec& at_least(double lo) {
        min = lo;
        return *this;
    }
    // A path parameter naming a model folder (see is_model_folder).
    ParamSpec& model_folder() {
        is_path = true;
        is_model_folder = true;
        return *this;
    }
    // No default: the manifest must set it.
    ParamSpec& required() {
        default_value.reset();
        return *this;
    }

    bool is_required() const { return !default_value.has_value(); }

    // "[0, 1]", "one of cls, mean", ">= 1" or "" when anything of the type is accepted.
    std::string accepted() const {
        if (!choices.empty()) {
            std::string out = "one of ";
            for (std::size_t i = 0; i < choices.size(); ++i) out += (i ? ", " : "") + choices[i];
            return out;
        }
        // Integer parameters show integer bounds.
        const bool integral = type == ParamType::integer || type == ParamType::integer_list;
        auto bound = [&](double x) {
            return integral ? std::to_string(static_cast<std::int64_t>(x)) : detail::format_real(x);
        };
        if (min && max) return "[" + bound(*min) + ", " + bound(*max) + "]";
        if (min) return ">= " + bound(*min);
        if (max) return "<= " + bound(*max);
        return {};
    }

    // Why `value` is not acceptable, or nullopt when it is. Integers are accepted where
    // floats are declared; the caller converts them.
    std::optional<std::string> check(const Value& value) const {
        const ParamType got = type_of(value);
        const bool widened = (type == ParamType::real && got == ParamType::integer) ||
                             (type == ParamType::real_list && got == ParamType::integer_list);
        if (got != type && !widened)
            return std::string("expected ") + to_string(type) + ", got " + to_string(got);
        auto out_of_range = [&](double x) {
            return (min && x < *min) || (max && x > *max) || std::isnan(x);
        };
        auto bad_number = [&](double x) -> std::optional<std::string> {
            if (out_of_range(x)) {
                const bool integral = type == ParamType::integer || type == ParamType::integer_list;
                return (integral ? std::to_string(static_cast<std::int64_t>(x)) : detail::format_real(x)) +
                       " is out of range; accepted: " + accepted();
            }
            return std::nullopt;
        };
        auto bad_choice = [&](const std::string& s) -> std::optional<std::string> {
            if (choices.empty()) return std::nullopt;
            for (const auto& c : choices)
                if (c == s) return std::nullopt;
            return detail::quote(s) + " is not accepted; " + accepted();
        };
        if (auto* i = std::get_if<std::int64_t>(&value)) return bad_number(static_cast<double>(*i));
        if (auto* d = std::get_if<double>(&value)) return bad_number(*d);
        if (auto* s = std::get_if<std::string>(&value)) return bad_choice(*s);
        if (auto* v = std::get_if<std::vector<std::int64_t>>(&value))
            for (auto i : *v)
                if (auto e = bad_number(static_cast<double>(i))) return e;
        if (auto* v = std::get_if<std::vector<double>>(&value))
            for (auto d : *v)
                if (auto e = bad_number(d)) return e;
        if (auto* v = std::get_if<std::vector<std::string>>(&value))
            for (const auto& s : *v)
                if (auto e = bad_choice(s)) return e;
        return std::nullopt;
    }
};

// The values a plugin is constructed from. The host fills it from the plugin's TOML
// table and the declared defaults, after checking types and ranges. Every read marks
// the key: a key the user set that the plugin never read is reported as an error, so a
// setting is never silently ignored.
class Properties {
public:
    explicit Properties(std::string owner = {}) : owner_(std::move(owner)) {}

    // `where` is "file:line:column" of the value in the manifest; `from_user` is false
    // for defaults filled in by the host.
    void set(const std::string& name, Value value, std::string where = {}, bool from_user = true) {
        entries_[name] = Entry{std::move(value), std::move(where), from_user, false};
    }

    bool has(const std::string& name) const { return entries_.count(name) != 0; }
    bool set_by_user(const std::string& name) const {
        auto it = entries_.find(name);
        return it != entries_.end() && it->second.from_user;
    }

    bool get_bool(const std::string& name) const { return read<bool>(name); }
    std::int64_t get_int(const std::string& name) const { return read<std::int64_t>(name); }
    double get_real(const std::string& name) const {
        const Entry& e = entry(name);
        if (auto* i = std::get_if<std::int64_t>(&e.value)) {
            e.read = true;
            return static_cast<double>(*i);
        }
        return read<double>(name);
    }
    const std::string& get_string(const std::string& name) const { return read<std::string>(name); }
    const std::vector<std::int64_t>& get_ints(const std::string& name) const {
        return read<std::vector<std::int64_t>>(name);
    }
    std::vector<double> get_reals(const std::string& name) const {
        const Entry& e = entry(name);
        if (auto* v = std::get_if<std::vector<std::int64_t>>(&e.value)) {
            e.read = true;
            return {v->begin(), v->end()};
        }
        return read<std::vector<double>>(name);
    }
    const std::vector<std::string>& get_strings(const std::string& name) const {
        return read<std::vector<std::string>>(name);
    }

    // The raw value, without marking it read (for hashing and printing).
    const Value& peek(const std::string& name) const { return entry(name).value; }

    // "file:line:column" of the value, for the plugin's own error messages.
    std::string where(const std::string& name) const {
        auto it = entries_.find(name);
        return it == entries_.end() ? std::string{} : it->second.where;
    }

    // Who these properties belong to, e.g. "fusion 'gated'".
    const std::string& owner() const { return owner_; }

    std::vector<std::string> names() const {
        std::vector<std::string> out;
        for (const auto& [name, _] : entries_) out.push_back(name);
        return out;
    }

    // Keys the user set that nobody read.
    std::vector<std::string> unread_user_keys() const {
        std::vector<std::string> out;
        for (const auto& [name, e] : entries_)
            if (e.from_user && !e.read) out.push_back(name);
        return out;
    }

private:
    struct Entry {
        Value value;
        std::string where;
        bool from_user = true;
        mutable bool read = false;
    };

    const Entry& entry(const std::string& name) const {
        auto it = entries_.find(name);
        if (it == entries_.end()) {
            std::string known;
            for (const auto& [n, _] : entries_) known += (known.empty() ? "" : ", ") + n;
            throw ConfigError({}, (owner_.empty() ? std::string("plugin") : owner_) +
                                      " read an undeclared parameter '" + name + "' (declared: " +
                                      (known.empty() ? "none" : known) + ")");
        }
        return it->second;
    }

    template <class T> const T& read(const std::string& name) const {
        const Entry& e = entry(name);
        const T* value = std::get_if<T>(&e.value);
        if (!value)
            throw ConfigError(e.where, owner_ + " parameter '" + name + "' holds a " +
                                           to_string(type_of(e.value)) + "; the plugin reads it as " +
                                           to_string(type_of(Value{T{}})));
        e.read = true;
        return *value;
    }

    std::string owner_;
    std::map<std::string, Entry> entries_;
};

} // namespace msa
