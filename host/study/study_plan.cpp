// Phases expanded into configurations and trials, and incumbents chosen (study_plan.hpp).
#include "study/study_plan.hpp"

#include "util/progress.hpp"

#include <msa/random.hpp>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <iomanip>
#include <numeric>
#include <set>
#include <sstream>

namespace msa::study {

namespace fs = std::filesystem;

namespace {

// FNV-1a, 64 bits: defined by its constants, unlike std::hash.
std::uint64_t stable_hash(const std::string& text) {
    std::uint64_t h = 14695981039346656037ULL;
    for (unsigned char c : text) h = (h ^ c) * 1099511628211ULL;
    return h;
}

std::string absolute_trial(const PlanContext& context, const PlannedTrial& trial) {
    return (context.study_folder / trial.folder).string();
}

// What tells a configuration's trials apart: the seed, and in a phase with select_folds
// the validation fold.
struct Draw {
    std::uint64_t seed = 0;
    std::optional<std::int64_t> fold;
    std::int64_t folds = 0; // with `fold`: how many folds were dealt
};

// Every seed on every fold of `select_folds` (none: one draw per seed).
std::vector<Draw> draws_of(const std::vector<std::uint64_t>& seeds, std::int64_t select_folds) {
    std::vector<Draw> out;
    for (auto seed : seeds) {
        if (select_folds < 2) out.push_back({seed, std::nullopt, 0});
        for (std::int64_t f = 0; select_folds >= 2 && f < select_folds; ++f) out.push_back({seed, f, select_folds});
    }
    return out;
}

// A trial's name, seed, output folder and validation fold.
Change trial_identity(const PlanContext& context, const std::string& name, const Draw& draw) {
    std::vector<Assignment> identity{{"name", Value{name}},
                                     {"seed", Value{static_cast<std::int64_t>(draw.seed)}},
                                     {"output", Value{context.study_folder.string()}}};
    if (draw.fold) {
        identity.push_back({"split.valid_folds", Value{draw.folds}});
        identity.push_back({"split.valid_fold", Value{*draw.fold}});
    }
    return Change::assign(std::move(identity));
}

using TrialChanges = std::function<std::vector<Change>(const Draw& draw)>;

// The trials of `config`, one per draw: its chain, the trial's identity, then what the
// trial inherits and its own changes.
void add_trials(PlannedConfig& config, const PhaseSpec& spec, const PlanContext& context,
                const std::vector<Draw>& draws, const TrialChanges& inherited, const TrialChanges& own = {}) {
    for (const Draw& draw : draws) {
        PlannedTrial t;
        t.seed = draw.seed;
        t.fold = draw.fold;
        t.folds = draw.folds;
        const auto named = [&](const std::string& slug) {
            return slug + "-s" + std::to_string(draw.seed) + (draw.fold ? "-f" + std::to_string(*draw.fold) : "");
        };
        std::string name = named(config.slug);
        // A study begun before folder names showed tables by what tells them apart goes on
        // in the folders it has (their manifests name them), rather than training again.
        if (!config.legacy_slug.empty() && config.legacy_slug != config.slug && context.trial_exists &&
            !context.trial_exists(spec.name + "/" + name) &&
            context.trial_exists(spec.name + "/" + named(config.legacy_slug)))
            name = named(config.legacy_slug);
        t.folder = spec.name + "/" + name;
        t.own = inherited(draw);
        if (own)
            for (auto& c : own(draw)) t.own.push_back(std::move(c));
        t.changes = config.chain;
        t.changes.push_back(trial_identity(context, name, draw));
        t.changes.insert(t.changes.end(), t.own.begin(), t.own.end());
        config.trials.push_back(std::move(t));
    }
}

// What a phase reads of the phase it starts from.
struct Start {
    const PhasePlan* from = nullptr;
    const PlannedConfig* incumbent = nullptr;
    const PlanContext& context;

    std::vector<Change> chain() const { return incumbent ? incumbent->chain : std::vector<Change>{}; }
    // The incumbent's trial for a draw: of its seed and fold (the same split), else of its
    // seed, else its best one.
    const PlannedTrial* trial(const Draw& draw) const {
        const PlannedTrial* same_seed = nullptr;
        for (const auto& t : incumbent->trials) {
            if (t.seed != draw.seed || t.outcome.status != TrialStatus::ok) continue;
            if (t.fold == draw.fold) return &t;
            if (!same_seed) same_seed = &t;
        }
        return same_seed ? same_seed : best_trial(*incumbent, from->spec.select);
    }
    // Changes of the incumbent's trial for `draw` that trials starting from it inherit.
    std::vector<Change> inherited(const Draw& draw) const {
        if (!incumbent || context.dry_run) return {};
        const PlannedTrial* source = trial(draw);
        return source ? source->own : std::vector<Change>{};
    }
    // The incumbent beside this phase's configurations, its trials not run again.
    PlannedConfig reference(const std::string& label, bool candidate) const {
        PlannedConfig config = *incumbent;
        config.label = label;
        config.reference = true;
        config.candidate = candidate;
        if (!incumbent->reference) config.trained_as = incumbent->label;
        return config;
    }
    // The incumbent, for a label. One carried on through earlier phases (a reference) is
    // named by its label in the phase that trained its trials, and that phase, rather than
    // by a nest of "incumbent of ..." with one level per phase it passed.
    std::string described() const {
        if (!incumbent->reference || incumbent->trials.empty()) return incumbent->label;
        const std::string& folder = incumbent->trials.front().folder;
        return incumbent->trained_as + ", trained in " + folder.substr(0, folder.find('/'));
    }
};

// The configuration of one sweep point: the chain of `start`, the phase's `set`, then
// the point's values; labelled and named by those values.
PlannedConfig sweep_config(const PhaseSpec& spec, const Start& start, const std::vector<std::size_t>& point) {
    PlannedConfig config;
    config.chain = start.chain();
    if (spec.has_set) config.chain.push_back(Change::set(spec.index));
    std::string label, values, names;
    for (std::size_t a = 0; a < point.size(); ++a) {
        const SweepAxis& axis = spec.sweep[a];
        config.chain.push_back(Change::sweep(spec.index, axis.path, point[a]));
        const std::string& value = axis.values[point[a]];
        label += (label.empty() ? "" : ", ") + axis.path + "=" + value;
        values += (values.empty() ? "" : "_") + value;
        names += (names.empty() ? "" : "_") + (axis.names.empty() ? value : axis.names[point[a]]);
        config.changes.emplace_back(axis.path, value);
    }
    config.label = label.empty() ? spec.name : label;
    config.slug = folder_slug(names.empty() ? spec.name : names);
    config.legacy_slug = folder_slug(values.empty() ? spec.name : values, kLegacySlugLimit);
    return config;
}

// Why a train phase's sweep would train the incumbent's model over and over: it sweeps only
// settings of AdamW's epochs (rate, batch, schedule...), and the incumbent was fitted by
// L-BFGS, a linear probe solved exactly on fixed features, which uses none of them.
std::optional<std::string> optimizer_sweep_only(const PhaseSpec& spec, const PlannedConfig& incumbent) {
    static const std::set<std::string> adamw_only{
        "train.learning_rate", "train.encoder_learning_rate", "train.batch_size", "train.epochs",
        "train.patience",      "train.weight_decay",          "train.warmup",     "train.schedule",
        "train.grad_clip",     "train.restore_best",          "train.bucket_by_length",
        "train.layer_decay",   "train.precision"};
    if (spec.kind != PhaseKind::train || spec.has_set || spec.sweep.empty()) return std::nullopt;
    std::string swept;
    for (const auto& axis : spec.sweep) {
        if (!adamw_only.count(axis.path)) return std::nullopt;
        swept += (swept.empty() ? "" : ", ") + axis.path;
    }
    bool fitted = false;
    for (const auto& t : incumbent.trials) {
        if (t.outcome.status != TrialStatus::ok) continue;
        if (t.outcome.solver != "lbfgs") return std::nullopt;
        fitted = true;
    }
    if (!fitted) return std::nullopt;
    return "not run: it sweeps " + swept + ", settings of AdamW, and the incumbent of '" + spec.from +
           "' is a linear probe fitted by L-BFGS, which uses none of them; that incumbent carries on";
}

// Why a train phase's sweep of layer_decay alone would train the incumbent's model again:
// the decay scales the rates of the trainable encoder layers below the highest one, and
// the incumbent's encoders train one layer at most (or none).
std::optional<std::string> layer_decay_without_layers(const PhaseSpec& spec, const PlannedConfig& incumbent) {
    if (spec.kind != PhaseKind::train || spec.has_set || spec.sweep.empty()) return std::nullopt;
    for (const auto& axis : spec.sweep)
        if (axis.path != "train.layer_decay") return std::nullopt;
    bool trained = false;
    std::int64_t layers = 0;
    for (const auto& t : incumbent.trials) {
        if (t.outcome.status != TrialStatus::ok) continue;
        if (t.outcome.trainable_layers > 1) return std::nullopt;
        layers = std::max(layers, t.outcome.trainable_layers);
        trained = true;
    }
    if (!trained) return std::nullopt;
    return "not run: it sweeps train.layer_decay, which scales the rates of trainable encoder layers below the "
           "highest one, and the incumbent of '" + spec.from + "' trains " +
           (layers == 0 ? std::string("no encoder layer") : std::string("one encoder layer at most")) +
           "; that incumbent carries on";
}

// Whether a train phase sweeps only settings applied to a trained model, which training
// does not read: each of its trials would train the model the incumbent's trial of the same
// seed and fold trained, so it takes that one ([train] reuse_model) and applies them.
bool after_training_only(const PhaseSpec& spec) {
    static const std::set<std::string> after_training{"train.class_bias"};
    if (spec.kind != PhaseKind::train || spec.has_set || spec.sweep.empty()) return false;
    return std::all_of(spec.sweep.begin(), spec.sweep.end(),
                       [](const SweepAxis& axis) { return after_training.count(axis.path) > 0; });
}

void plan_sweep(PhasePlan& phase, const Start& start, const std::vector<std::uint64_t>& seeds) {
    const PhaseSpec& spec = phase.spec;
    const PlanContext& context = start.context;
    if (start.incumbent && !context.dry_run) {
        auto why = optimizer_sweep_only(spec, *start.incumbent);
        if (!why) why = layer_decay_without_layers(spec, *start.incumbent);
        if (why) {
            phase.reason = *why;
            phase.configs.push_back(start.reference("incumbent of " + spec.from + " (" + start.described() + ")", true));
            return;
        }
    }
    const bool augmentation = spec.kind == PhaseKind::augmentation && !context.dry_run;
    // Augmentation has to beat training without it to be handed on; so does a train
    // phase's sweep with keep_incumbent (fine-tuning against the frozen encoders).
    if (augmentation)
        phase.configs.push_back(start.reference(
            "no augmentation (incumbent of " + spec.from + ": " + start.described() + ")", true));
    else if (spec.keep_incumbent && start.incumbent && !context.dry_run)
        phase.configs.push_back(
            start.reference("incumbent of " + spec.from + " (" + start.described() + ")", true));
    for (const auto& point : sweep_points(spec, context.study_seed)) {
        PlannedConfig config = sweep_config(spec, start, point);
        TrialChanges own;
        if (augmentation)
            own = [&](const Draw& draw) -> std::vector<Change> {
                return {Change::assign(
                    {{"augmentation.hard_samples",
                      Value{(fs::path(absolute_trial(context, *start.trial(draw))) / "predictions.csv").string()}},
                     {"augmentation.hard_threshold", Value{spec.hard_threshold}},
                     {"augmentation.hard_fraction", Value{spec.hard_fraction}}})};
            };
        if (start.incumbent && !context.dry_run && after_training_only(spec))
            own = [&](const Draw& draw) -> std::vector<Change> {
                const PlannedTrial* trained = start.trial(draw);
                if (!trained || trained->seed != draw.seed || trained->fold != draw.fold) return {};
                return {Change::assign({{"train.reuse_model", Value{absolute_trial(context, *trained)}}})};
            };
        add_trials(config, spec, context, draws_of(seeds, spec.select_folds),
                   [&](const Draw& d) { return start.inherited(d); }, own);
        phase.configs.push_back(std::move(config));
    }
}

// The incumbent's own models, evaluated with a modality missing, then retrained alone.
void plan_ablation(PhasePlan& phase, const Start& start) {
    const PhaseSpec& spec = phase.spec;
    const PlanContext& context = start.context;
    // The incumbent's models: a draw each (seed, and fold where it was cross-validated).
    std::vector<Draw> models;
    for (const auto& t : start.incumbent->trials)
        if (t.outcome.status == TrialStatus::ok || context.dry_run) models.push_back({t.seed, t.fold, t.folds});
    const auto inherited = [&](const Draw& d) { return start.inherited(d); };
    const auto evaluated = [&](const std::string& label, const std::string& keep, const std::string& fill) {
        PlannedConfig config;
        config.label = label;
        config.slug = folder_slug(keep + "-" + fill);
        config.chain = start.chain();
        config.changes = {{"evaluate.keep", keep}, {"evaluate.fill", fill}};
        TrialChanges own;
        if (!context.dry_run)
            own = [&, keep, fill](const Draw& draw) -> std::vector<Change> {
                return {Change::assign({{"evaluate.model", Value{absolute_trial(context, *start.trial(draw))}},
                                        {"evaluate.keep", Value{keep}},
                                        {"evaluate.fill", Value{fill}}})};
            };
        add_trials(config, spec, context, models, inherited, own);
        phase.configs.push_back(std::move(config));
    };
    evaluated("text + image", "both", "zeros");
    for (const auto& fill : spec.fills) {
        evaluated("text only (image " + fill + ")", "text", fill);
        evaluated("image only (text " + fill + ")", "image", fill);
    }
    if (!spec.retrain) return;
    for (const auto& [modality, fusion] : {std::pair{"text", spec.text_only_fusion}, {"image", spec.image_only_fusion}}) {
        PlannedConfig config;
        config.label = fusion + " retrained";
        config.slug = folder_slug(fusion + "-retrained");
        config.chain = start.chain();
        config.chain.push_back(Change::assign({{"fusion", Value{fusion}}}));
        config.changes = {{"fusion", fusion}};
        add_trials(config, spec, context, models, inherited);
        phase.configs.push_back(std::move(config));
    }
}

// Every sweep point at every k: a configuration per (point, k) whose trials are the k's
// draws, each with its own training set (seed d draws set d). Points of one sweep
// configuration share its label; `shots` tells the curves apart.
void plan_few_shot(PhasePlan& phase, const Start& start) {
    const PhaseSpec& spec = phase.spec;
    std::vector<std::uint64_t> draws;
    for (std::int64_t d = 1; d <= spec.draws; ++d) draws.push_back(static_cast<std::uint64_t>(d));
    for (const auto& point : sweep_points(spec, start.context.study_seed))
        for (const std::int64_t k : spec.shots) {
            PlannedConfig config = sweep_config(spec, start, point);
            config.shots = k;
            // k = 0: zero-shot, which draws nothing: one trial. Sentence encoders compare
            // with the label descriptions; a prompt model scores its label words untrained.
            std::vector<Assignment> point_of_curve{{"few_shot.k", Value{k}}};
            if (k == 0)
                for (const auto& [label, descriptions] : spec.descriptions)
                    point_of_curve.push_back({"zero_shot.descriptions." + label, Value{descriptions}});
            config.chain.push_back(Change::assign(std::move(point_of_curve)));
            const std::string k_part = "k" + std::to_string(k) + "_";
            config.slug = folder_slug(k_part + config.slug);
            config.legacy_slug = folder_slug(k_part + config.legacy_slug, kLegacySlugLimit);
            add_trials(config, spec, start.context, draws_of(k == 0 ? std::vector<std::uint64_t>{draws.front()} : draws, 0),
                       [&](const Draw& d) { return start.inherited(d); });
            phase.configs.push_back(std::move(config));
        }
}

// Students of a teacher (the `from` incumbent's trial of each seed, or `teacher`): one
// configuration per sweep point, each trial with its teacher; beside them the same student
// trained on the gold labels alone ([distill] taken out), for comparison.
void plan_distill(PhasePlan& phase, const Start& start, const std::vector<std::uint64_t>& seeds) {
    const PhaseSpec& spec = phase.spec;
    const PlanContext& context = start.context;
    const auto inherited = [&](const Draw& d) { return start.inherited(d); };
    const std::vector<Draw> draws = draws_of(seeds, 0);
    if (spec.gold) {
        PlannedConfig gold;
        gold.label = "gold labels";
        gold.slug = "gold";
        gold.chain = start.chain();
        if (spec.has_set) gold.chain.push_back(Change::set(spec.index));
        gold.chain.push_back(Change::remove("distill"));
        gold.changes = {{"distill", "gold labels"}};
        add_trials(gold, spec, context, draws, inherited);
        phase.configs.push_back(std::move(gold));
    }
    for (const auto& point : sweep_points(spec, context.study_seed)) {
        PlannedConfig config = sweep_config(spec, start, point);
        if (config.changes.empty()) config.label = "distilled";
        const TrialChanges own = [&](const Draw& draw) -> std::vector<Change> {
            // msa validate plans before any teacher trained: a placeholder stands for it.
            const std::string teacher = !spec.teacher.empty() ? spec.teacher.string()
                                        : context.dry_run     ? "(the incumbent of " + spec.from + ")"
                                                              : absolute_trial(context, *start.trial(draw));
            return {Change::assign({{"distill.teacher", Value{teacher}}})};
        };
        add_trials(config, spec, context, draws, inherited, own);
        phase.configs.push_back(std::move(config));
    }
}

void plan_clip(PhasePlan& phase, const Start& start, const std::vector<std::uint64_t>& seeds) {
    const PhaseSpec& spec = phase.spec;
    if (start.incumbent)
        phase.configs.push_back(start.reference("incumbent of " + spec.from + ": " + start.described(), false));
    for (const std::string method : {"linear-probe", "zero-shot"}) {
        PlannedConfig config;
        config.label = "CLIP " + method;
        config.slug = folder_slug("clip-" + method);
        config.chain = start.chain();
        std::vector<Assignment> clip{{"clip.checkpoint", Value{spec.clip.string()}}, {"clip.method", Value{method}}};
        if (!spec.templates.empty()) clip.push_back({"clip.templates", Value{spec.templates}});
        config.chain.push_back(Change::assign(std::move(clip)));
        config.changes = {{"clip.method", method}};
        // Zero-shot trains nothing: one seed says all.
        add_trials(config, spec, start.context,
                   draws_of(method == "zero-shot" ? std::vector<std::uint64_t>{seeds.front()} : seeds, 0),
                   [&](const Draw& d) { return start.inherited(d); });
        phase.configs.push_back(std::move(config));
    }
}

} // namespace

std::vector<std::vector<std::size_t>> sweep_points(const PhaseSpec& spec, std::uint64_t study_seed) {
    std::vector<std::vector<std::size_t>> points{{}};
    for (const auto& axis : spec.sweep) {
        std::vector<std::vector<std::size_t>> next;
        for (const auto& point : points)
            for (std::size_t e = 0; e < axis.values.size(); ++e) {
                auto p = point;
                p.push_back(e);
                next.push_back(std::move(p));
            }
        points = std::move(next);
    }
    if (spec.search == "random" && static_cast<std::size_t>(spec.n) < points.size()) {
        std::vector<std::size_t> order(points.size());
        std::iota(order.begin(), order.end(), 0);
        std::mt19937_64 rng(study_seed * 1000003ULL + spec.index);
        seeded_shuffle(order, rng);
        order.resize(static_cast<std::size_t>(spec.n));
        std::sort(order.begin(), order.end());
        std::vector<std::vector<std::size_t>> drawn;
        for (auto i : order) drawn.push_back(points[i]);
        points = std::move(drawn);
    }
    return points;
}

std::string progress_line(const PhasePlan& phase, std::size_t finished, std::size_t total, const PlannedTrial& trial,
                          double seconds, double phase_seconds) {
    std::ostringstream line;
    line << "[" << phase.spec.name << " " << finished << "/" << total << "] " << trial.folder << ": ";
    const TrialOutcome& o = trial.outcome;
    if (o.status == TrialStatus::ok) {
        const MetricName weighted{Metric::weighted_f1, {}};
        line << "valid " << phase.spec.select.str() << " " << std::fixed << std::setprecision(4)
             << (o.valid ? o.valid->get(phase.spec.select).value_or(NAN) : NAN) << ", test weighted F1 "
             << (o.test ? o.test->get(weighted).value_or(NAN) : NAN);
    } else {
        line << to_string(o.status) << (o.error.empty() ? "" : ": " + o.error.substr(0, o.error.find('\n')));
    }
    line << std::setprecision(1) << std::fixed << " (" << seconds << " s";
    // Not from the first trial: the others running beside it have done part of their work,
    // which its pace would leave out.
    if (finished >= 2 && finished < total && phase_seconds >= 10.0)
        line << "; phase ETA "
             << Progress::format_duration(phase_seconds / static_cast<double>(finished) *
                                          static_cast<double>(total - finished));
    line << ")";
    return line.str();
}

std::string folder_slug(const std::string& text, std::size_t limit) {
    std::string out;
    for (char c : text) {
        const bool keep = std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_';
        if (keep) out += c;
        else if (!out.empty() && out.back() != '-') out += '-';
    }
    while (!out.empty() && out.back() == '-') out.pop_back();
    if (out.size() > limit) {
        char hash[17];
        std::snprintf(hash, sizeof hash, "%016llx", static_cast<unsigned long long>(stable_hash(text)));
        out = out.substr(0, limit - 10) + "-" + std::string(hash, 8);
    }
    return out.empty() ? "config" : out;
}

PhasePlan plan_phase(const PhaseSpec& spec, const PlanContext& context, const PhasePlan* from) {
    PhasePlan phase;
    phase.spec = spec;
    Start start{from, nullptr, context};
    if (from) {
        if (!from->incumbent) {
            phase.status = PhaseStatus::skipped;
            phase.reason = "phase '" + spec.from + "' has no finished configuration to start from";
            return phase;
        }
        start.incumbent = &from->configs[*from->incumbent];
    }
    if (context.unavailable)
        if (auto reason = context.unavailable(spec)) {
            phase.status = PhaseStatus::skipped;
            phase.reason = *reason;
            return phase;
        }
    const std::vector<std::uint64_t> seeds = spec.seeds.empty() ? std::vector<std::uint64_t>{context.study_seed} : spec.seeds;
    switch (spec.kind) {
    case PhaseKind::train:
    case PhaseKind::augmentation: plan_sweep(phase, start, seeds); break;
    case PhaseKind::ablation: plan_ablation(phase, start); break;
    case PhaseKind::clip: plan_clip(phase, start, seeds); break;
    case PhaseKind::few_shot: plan_few_shot(phase, start); break;
    case PhaseKind::distill: plan_distill(phase, start, seeds); break;
    }
    return phase;
}

const PlannedTrial* best_trial(const PlannedConfig& config, const MetricName& select) {
    const PlannedTrial* best = nullptr;
    double best_value = -1e300;
    const double sign = select.higher_is_better() ? 1.0 : -1.0;
    for (const auto& t : config.trials) {
        if (t.outcome.status != TrialStatus::ok) continue;
        const auto value = t.outcome.valid ? t.outcome.valid->get(select) : std::nullopt;
        const double v = value ? sign * *value : -1e300;
        if (!best || v > best_value) best = &t, best_value = v;
    }
    return best;
}

std::optional<double> mean_valid(const PlannedConfig& config, const MetricName& select) {
    double sum = 0;
    std::size_t n = 0;
    for (const auto& t : config.trials)
        if (t.outcome.status == TrialStatus::ok && t.outcome.valid)
            if (auto v = t.outcome.valid->get(select)) sum += *v, ++n;
    if (n == 0) return std::nullopt;
    return sum / static_cast<double>(n);
}

std::pair<int, double> config_complexity(const PhasePlan& phase, const PlannedConfig& config) {
    const int augmented = phase.spec.kind == PhaseKind::augmentation && !config.reference ? 1 : 0;
    double sum = 0;
    std::size_t n = 0;
    for (const auto& t : config.trials)
        if (t.outcome.status == TrialStatus::ok && t.outcome.parameters)
            sum += static_cast<double>(*t.outcome.parameters), ++n;
    return {augmented, n ? sum / static_cast<double>(n) : 0.0};
}

namespace {

// The validation `select` of each finished trial of `config`.
std::vector<double> valid_values(const PlannedConfig& config, const MetricName& select) {
    std::vector<double> out;
    for (const auto& t : config.trials)
        if (t.outcome.status == TrialStatus::ok && t.outcome.valid)
            if (auto v = t.outcome.valid->get(select)) out.push_back(*v);
    return out;
}

// The standard error of the mean of `values`; nullopt with fewer than two.
std::optional<double> standard_error(const std::vector<double>& values) {
    if (values.size() < 2) return std::nullopt;
    const double n = static_cast<double>(values.size());
    const double mean = std::accumulate(values.begin(), values.end(), 0.0) / n;
    double ss = 0;
    for (double v : values) ss += (v - mean) * (v - mean);
    return std::sqrt(ss / (n - 1)) / std::sqrt(n);
}

std::string parameters_text(double parameters) {
    char text[32];
    std::snprintf(text, sizeof text, "%.0f", parameters);
    return text;
}

// The one-SE rule over the eligible configurations: the simplest within one standard
// error of `best`.
void apply_one_se_rule(PhasePlan& phase, const std::vector<std::size_t>& eligible) {
    const MetricName& select = phase.spec.select;
    const double sign = select.higher_is_better() ? 1.0 : -1.0;
    const std::size_t best = *phase.incumbent;
    const PlannedConfig& best_config = phase.configs[best];
    const auto se = standard_error(valid_values(best_config, select));
    if (!se) return;
    const double best_mean = *mean_valid(best_config, select);
    std::size_t kept = best;
    auto kept_rank = config_complexity(phase, best_config);
    double kept_mean = best_mean;
    for (const std::size_t c : eligible) {
        const double mean = *mean_valid(phase.configs[c], select);
        if (sign * (best_mean - mean) > *se) continue;
        const auto rank = config_complexity(phase, phase.configs[c]);
        if (rank < kept_rank || (rank == kept_rank && sign * mean > sign * kept_mean))
            kept = c, kept_rank = rank, kept_mean = mean;
    }
    if (kept == best) return;
    phase.incumbent = kept;
    const auto best_rank = config_complexity(phase, best_config);
    char numbers[160];
    std::snprintf(numbers, sizeof numbers, "%.4f against the best mean %.4f, within one standard error (%.4f)",
                  kept_mean, best_mean, *se);
    phase.selection = "one-SE rule: kept " + phase.configs[kept].label + " (" + select.str() + " " + numbers + ") of " +
                      best_config.label + ", as simpler: " +
                      (kept_rank.first < best_rank.first
                           ? std::string("no augmenter")
                           : parameters_text(kept_rank.second) + " trained parameters against " +
                                 parameters_text(best_rank.second));
}

} // namespace

void choose_incumbent(PhasePlan& phase) {
    phase.incumbent.reset();
    phase.selection.clear();
    if (phase.status == PhaseStatus::skipped) return;
    const MetricName& select = phase.spec.select;
    const double sign = select.higher_is_better() ? 1.0 : -1.0;
    std::optional<double> best;
    std::vector<std::size_t> eligible; // configurations with a mean that could be the incumbent
    std::array<std::size_t, trial_status_names.size()> count{};
    for (std::size_t c = 0; c < phase.configs.size(); ++c) {
        const PlannedConfig& config = phase.configs[c];
        if (!config.reference)
            for (const auto& t : config.trials) ++count[static_cast<std::size_t>(t.outcome.status)];
        if ((config.reference && !config.candidate) || !hands_on_incumbent(phase.spec.kind)) continue;
        const auto value = mean_valid(config, select);
        if (value) eligible.push_back(c);
        if (value && (!best || sign * *value > sign * *best)) best = value, phase.incumbent = c;
    }
    if (phase.incumbent && phase.spec.select_rule == SelectRule::one_se) apply_one_se_rule(phase, eligible);
    const auto n = [&](TrialStatus s) { return count[static_cast<std::size_t>(s)]; };
    const bool nothing_to_run = std::accumulate(count.begin(), count.end(), std::size_t{0}) == 0;
    if (nothing_to_run && phase.incumbent) {
        // A sweep that would not change the incumbent's model (optimizer_sweep_only): it carries on.
        phase.status = PhaseStatus::complete;
        phase.selection = phase.reason;
    } else if (n(TrialStatus::interrupted)) phase.status = PhaseStatus::interrupted;
    else if (n(TrialStatus::pending)) phase.status = PhaseStatus::pending; // not selected by --phase, or not reached
    else if (!n(TrialStatus::ok) && n(TrialStatus::skipped) && !n(TrialStatus::failed)) {
        // Every trial skipped (a model folder that is absent): the phase is skipped, not failed.
        phase.status = PhaseStatus::skipped;
        for (const auto& config : phase.configs)
            for (const auto& t : config.trials)
                if (phase.reason.empty() && t.outcome.status == TrialStatus::skipped) phase.reason = t.outcome.error;
    } else if (!n(TrialStatus::ok))
        phase.status = PhaseStatus::failed, phase.reason = "no trial of the phase finished";
    else phase.status = PhaseStatus::complete;
}

namespace {

// A distill configuration's pool and teacher, averaged over its finished seeds.
std::optional<records::ConfigResult::Distill> distill_stats(const PlannedConfig& config,
                                                            const std::vector<std::string>& labels) {
    records::ConfigResult::Distill out;
    std::size_t n = 0;
    for (const auto& t : config.trials) {
        if (t.outcome.status != TrialStatus::ok || !t.outcome.distill) continue;
        const records::DistillSummary& d = *t.outcome.distill;
        ++n;
        out.pool += static_cast<double>(d.pool);
        for (std::size_t c = 0; c < labels.size() && c < d.kept.size(); ++c)
            out.kept[labels[c]] += static_cast<double>(d.kept[c]);
        out.teacher_coverage += d.teacher_coverage;
        out.teacher_accuracy += d.teacher_accuracy;
    }
    if (n == 0) return std::nullopt;
    const auto count = static_cast<double>(n);
    out.pool /= count;
    for (auto& [label, kept] : out.kept) kept /= count;
    out.teacher_coverage /= count;
    out.teacher_accuracy /= count;
    return out;
}

std::optional<records::Stat> mean_std(const std::vector<double>& values) {
    if (values.empty()) return std::nullopt;
    const double mean = std::accumulate(values.begin(), values.end(), 0.0) / static_cast<double>(values.size());
    double ss = 0;
    for (double v : values) ss += (v - mean) * (v - mean);
    const double sd = values.size() > 1 ? std::sqrt(ss / static_cast<double>(values.size() - 1)) : 0.0;
    return records::Stat{mean, sd, static_cast<std::int64_t>(values.size())};
}

records::SplitStats summarize(const PlannedConfig& config, bool valid, const std::vector<std::string>& labels) {
    const auto stat = [&](const MetricName& metric) {
        std::vector<double> values;
        for (const auto& t : config.trials) {
            const auto& scores = valid ? t.outcome.valid : t.outcome.test;
            if (t.outcome.status == TrialStatus::ok && scores)
                if (auto v = scores->get(metric)) values.push_back(*v);
        }
        return mean_std(values);
    };
    records::SplitStats out;
    for (const MetricName& metric : summarized_metrics())
        if (auto* field = out.of(metric.metric)) *field = stat(metric);
    for (const auto& label : labels)
        if (auto s = stat({Metric::class_f1, label})) out.per_class_f1[label] = *s;
    return out;
}

} // namespace

records::PhaseResult phase_result(const PhasePlan& phase, const std::vector<std::string>& labels) {
    records::PhaseResult out;
    out.name = phase.spec.name;
    out.kind = phase.spec.kind;
    out.from = phase.spec.from;
    out.select = phase.spec.select.str();
    out.status = phase.status;
    out.reason = phase.reason;
    out.incumbent = phase.incumbent;
    out.selection = phase.selection;
    for (const auto& config : phase.configs) {
        records::ConfigResult c;
        c.label = config.label;
        c.changes = config.changes;
        for (const auto& t : config.trials)
            c.trials.push_back({t.folder, static_cast<std::int64_t>(t.seed), t.outcome.status, t.outcome.error,
                                t.outcome.seconds, t.fold});
        c.valid = summarize(config, true, labels);
        c.test = summarize(config, false, labels);
        if (const PlannedTrial* best = best_trial(config, phase.spec.select)) c.best_trial = best->folder;
        c.reference = config.reference;
        c.shots = config.shots;
        c.distill = distill_stats(config, labels);
        if (phase.incumbent && &config == &phase.configs[*phase.incumbent]) c.test_ensemble = phase.incumbent_ensemble;
        out.configs.push_back(std::move(c));
    }
    return out;
}

} // namespace msa::study
