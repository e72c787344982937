// The report's tables and header facts as plain text (see report_tables.hpp).
#include "report/report_tables.hpp"

#include "util/progress.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <map>

namespace msa::report {

namespace {

// 9624 → "9,624", as the README writes counts.
std::string group_digits(std::int64_t value) {
    std::string digits = std::to_string(value < 0 ? -value : value);
    for (int i = static_cast<int>(digits.size()) - 3; i > 0; i -= 3) digits.insert(static_cast<std::size_t>(i), ",");
    return value < 0 ? "-" + digits : digits;
}

std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

// "2/3": finished seeds of the planned ones.
std::string seeds_cell(std::size_t finished, std::size_t planned) { return fmt::format("{}/{}", finished, planned); }

// The phase table's incumbent column.
std::string incumbent_cell(const PhaseResult& phase) {
    if (const ConfigResult* best = phase.incumbent_config()) return best->label;
    return phase.has_own_incumbent() ? "none finished" : "none of its own";
}

std::string config_label(const PhaseResult& phase, std::size_t index) {
    const std::string& label = phase.configs[index].label;
    return phase.incumbent == index ? label + " ★" : label;
}

// The configuration whose best trial is `folder`, and its phase.
std::pair<const PhaseResult*, const ConfigResult*> find_trial(const StudyResults& results, const std::string& folder) {
    for (const auto& phase : results.phases)
        for (const auto& config : phase.configs)
            if (!folder.empty() && config.best_trial == folder) return {&phase, &config};
    return {nullptr, nullptr};
}

void add_split_headers(std::vector<std::string>& headers, const StudyResults& results, const std::string& split) {
    headers.push_back(split + " weighted F1");
    headers.push_back(split + " macro F1");
    headers.push_back(split + " accuracy");
    for (const auto& label : results.labels) headers.push_back(split + " F1 " + label);
}

void add_split_cells(std::vector<std::string>& row, const StudyResults& results, const SplitStats& split) {
    row.push_back(format_stat(split.weighted_f1));
    row.push_back(format_stat(split.macro_f1));
    row.push_back(format_stat(split.accuracy));
    for (const auto& label : results.labels) row.push_back(format_stat(split.class_f1(label)));
}

// "0.731"; every number in the reports has 3 decimals.
std::string format_number(double value) { return fmt::format("{:.3f}", value); }

// "seeds 1, 2, 3", or the trial folders when results.json has no seeds.
std::string seeds_of(const EnsembleScores& e) {
    if (e.seeds.size() == e.trials.size() && !e.seeds.empty()) {
        // A cross-validated phase (select_folds) has a model per seed and fold.
        std::vector<std::int64_t> distinct = e.seeds;
        distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
        const std::string seeds =
            fmt::format("seed{} {}", distinct.size() == 1 ? "" : "s", fmt::join(distinct, ", "));
        if (distinct.size() == e.seeds.size()) return seeds;
        return fmt::format("{} models: {} × {} folds", e.seeds.size(), seeds, e.seeds.size() / distinct.size());
    }
    return fmt::format("{}", fmt::join(e.trials, ", "));
}

const EnsembleScores* incumbent_ensemble(const PhaseResult& phase) {
    const ConfigResult* best = phase.has_own_incumbent() ? phase.incumbent_config() : nullptr;
    return best && best->test_ensemble ? &*best->test_ensemble : nullptr;
}

// "+0.013", "-0.4": signed, rounded first so that -0.0004 reads +0.000, not -0.000.
std::string signed_number(double value, int decimals) {
    const double scale = std::pow(10.0, decimals);
    const double rounded = std::round(value * scale) / scale;
    return fmt::format("{:+.{}f}", rounded == 0 ? 0.0 : rounded, decimals);
}

// A gap in standard errors has one decimal: a ratio of two estimates from a few seeds
// tells no more.
std::string format_gap(double standard_errors) { return signed_number(standard_errors, 1); }

// The score of a `select` metric in `split`: a summarized metric, or one class's F1.
std::optional<Stat> stat_of(const SplitStats& split, const MetricName& metric) {
    if (metric.metric == Metric::class_f1) return split.class_f1(metric.label);
    const std::optional<Stat>* field = split.of(metric.metric);
    return field ? *field : std::nullopt;
}

// "weighted F1", "F1 neutral": a `select` metric as the table headers name it.
std::string select_title(const MetricName& metric) {
    return metric.metric == Metric::class_f1 ? "F1 " + metric.label : metric_title(metric.metric);
}

// The incumbent against `other` on validation; `sign` is -1 for a metric where lower is better.
PhaseOptimism::Comparison compare(const Stat& incumbent, const ConfigResult& other, const Stat& other_valid,
                                  double sign) {
    PhaseOptimism::Comparison c{&other, other_valid, sign * (incumbent.mean - other_valid.mean), std::nullopt};
    // One seed has sd 0 by convention (results_file.hpp), which is no measure of its spread:
    // taking it as 0 would make the gap look larger than anything the seeds showed.
    if (incumbent.n >= 2 && other_valid.n >= 2) {
        const double se = std::sqrt(incumbent.std * incumbent.std / static_cast<double>(incumbent.n) +
                                    other_valid.std * other_valid.std / static_cast<double>(other_valid.n));
        if (se > 0) c.standard_errors = c.difference / se;
    }
    return c;
}

// "0.731 (seeds 0.712 ± 0.010)"
std::string beside(double ensemble, const std::optional<Stat>& seeds) {
    return fmt::format("{} (seeds {})", format_number(ensemble), format_stat(seeds));
}

} // namespace

std::string format_stat(const std::optional<Stat>& stat) {
    return stat ? fmt::format("{:.3f} ± {:.3f}", stat->mean, stat->std) : "—";
}

std::vector<std::pair<std::string, std::string>> study_facts(const StudyResults& results) {
    std::vector<std::pair<std::string, std::string>> facts;
    facts.emplace_back("study", results.study);
    if (!results.description.empty()) facts.emplace_back("description", results.description);
    facts.emplace_back("status", to_string(results.status));
    if (!results.started.empty()) facts.emplace_back("started", results.started);
    facts.emplace_back("wall time", results.seconds ? Progress::format_duration(*results.seconds) : "—");
    if (results.store)
        facts.emplace_back("feature store", fmt::format("{:.1f}% hit rate ({} from the store, {} encoded)",
                                                        results.store->hit_rate * 100,
                                                        group_digits(results.store->from_store),
                                                        group_digits(results.store->encoded)));
    else
        facts.emplace_back("feature store", "—");
    facts.emplace_back("classes", fmt::format("{}", fmt::join(results.labels, ", ")));

    std::map<std::string, int> by_status;
    for (const auto& phase : results.phases) ++by_status[to_string(phase.status)];
    std::vector<std::string> counts;
    for (const auto& [status, count] : by_status) counts.push_back(fmt::format("{} {}", count, status));
    facts.emplace_back("phases", counts.empty() ? "0" : fmt::format("{} ({})", results.phases.size(), fmt::join(counts, ", ")));

    if (results.final_incumbent.empty()) {
        facts.emplace_back("final incumbent", "none (no phase finished a trial)");
    } else {
        const auto [phase, config] = find_trial(results, results.final_incumbent);
        facts.emplace_back("final incumbent", phase ? fmt::format("{} (phase {}, {})", results.final_incumbent,
                                                                  phase->name, config->label)
                                                    : results.final_incumbent);
    }
    if (const auto [phase, config] = results.final_incumbent_config(); config && config->test_ensemble) {
        const EnsembleScores& e = *config->test_ensemble;
        facts.emplace_back("seed ensemble",
                           e.scored() ? fmt::format("test weighted F1 {} of the final incumbent's {} averaged (each "
                                                    "seed alone: {})",
                                                    format_number(e.weighted_f1), seeds_of(e),
                                                    format_stat(config->test.weighted_f1))
                                      : fmt::format("not scored: {}", e.unavailable));
    }
    if (!results.manifest.empty()) facts.emplace_back("manifest", results.manifest);
    return facts;
}

std::string phase_status(const PhaseResult& phase) {
    const std::string status = to_string(phase.status);
    return phase.reason.empty() ? status : status + ": " + phase.reason;
}

std::string phase_description(const PhaseResult& phase) {
    const std::string from = phase.from.empty() ? "the base configuration" : phase.from;
    std::string text = phase.has_own_incumbent()
                           ? fmt::format("Kind {}, from {}, incumbent by valid {}. Status: {}.", to_string(phase.kind), from,
                                         phase.select, phase_status(phase))
                           : fmt::format("Kind {}, from {}, no incumbent of its own. Status: {}.", to_string(phase.kind), from,
                                         phase_status(phase));
    if (phase.configs.empty()) text += " No configurations were run.";
    return text;
}

std::string metric_title(Metric metric) {
    return metric == Metric::weighted_f1 ? "weighted F1" : metric == Metric::macro_f1 ? "macro F1" : info(metric).name;
}

LearningCurves learning_curves(const PhaseResult& phase) {
    LearningCurves out;
    for (const auto& config : phase.configs)
        if (config.shots && std::find(out.shots.begin(), out.shots.end(), *config.shots) == out.shots.end())
            out.shots.push_back(*config.shots);
    std::sort(out.shots.begin(), out.shots.end());
    for (const auto& config : phase.configs) {
        if (!config.shots) continue;
        auto curve = std::find_if(out.curves.begin(), out.curves.end(),
                                  [&](const LearningCurves::Curve& c) { return c.label == config.label; });
        if (curve == out.curves.end()) {
            out.curves.push_back({config.label, std::vector<const ConfigResult*>(out.shots.size(), nullptr)});
            curve = out.curves.end() - 1;
        }
        const auto k = std::find(out.shots.begin(), out.shots.end(), *config.shots) - out.shots.begin();
        curve->points[static_cast<std::size_t>(k)] = &config;
    }
    return out;
}

std::optional<Table> learning_curve_table(const PhaseResult& phase, Metric metric) {
    if (phase.kind != PhaseKind::few_shot) return std::nullopt;
    const LearningCurves curves = learning_curves(phase);
    if (curves.curves.empty()) return std::nullopt;
    Table table;
    table.headers.push_back("configuration");
    for (auto k : curves.shots) table.headers.push_back(k == 0 ? "k = 0 (zero-shot)" : fmt::format("k = {}", k));
    std::size_t draws = 0;
    for (const auto& curve : curves.curves) {
        std::vector<std::string> row{curve.label};
        for (const ConfigResult* point : curve.points) {
            const std::optional<Stat>* stat = point ? point->test.of(metric) : nullptr;
            row.push_back(stat ? format_stat(*stat) : "—");
            if (point) draws = std::max(draws, point->trials.size());
        }
        table.rows.push_back(std::move(row));
    }
    table.note = fmt::format("Test {} (mean ± std over {} draws; k = training samples per class). Each trial's "
                             "validation rows are k per class drawn from the train split apart from its training "
                             "rows, never the validation split; every k and draw is tested on the same test split.",
                             metric_title(metric), draws);
    if (!curves.shots.empty() && curves.shots.front() == 0)
        table.note += " k = 0: zero-shot, each post's text embedding against the label descriptions' (one trial: "
                      "nothing is drawn or trained).";
    return table;
}

std::optional<Table> distill_table(const StudyResults& results, const PhaseResult& phase) {
    if (phase.kind != PhaseKind::distill || phase.configs.empty()) return std::nullopt;
    const auto gold = std::find_if(phase.configs.begin(), phase.configs.end(),
                                   [](const ConfigResult& c) { return !c.distill && c.test.weighted_f1; });
    Table table;
    table.headers = {"student", "pool"};
    for (const auto& label : results.labels) table.headers.push_back("kept " + label);
    for (const char* h : {"teacher coverage", "teacher accuracy", "test weighted F1", "vs gold labels"})
        table.headers.push_back(h);
    for (const auto& config : phase.configs) {
        std::vector<std::string> row{config.label};
        const auto& d = config.distill;
        row.push_back(d ? fmt::format("{:.0f}", d->pool) : "—");
        for (const auto& label : results.labels) {
            std::string cell = "—";
            if (d)
                if (const auto kept = d->kept.find(label); kept != d->kept.end()) cell = fmt::format("{:.0f}", kept->second);
            row.push_back(cell);
        }
        row.push_back(d ? fmt::format("{:.3f}", d->teacher_coverage) : "—");
        row.push_back(d ? fmt::format("{:.3f}", d->teacher_accuracy) : "—");
        row.push_back(format_stat(config.test.weighted_f1));
        const bool compared = d && gold != phase.configs.end() && config.test.weighted_f1;
        // Rounded first, so that a gain of -0.0004 reads +0.000, not -0.000.
        const double gain = compared ? std::round(1000 * (config.test.weighted_f1->mean - gold->test.weighted_f1->mean)) / 1000 : 0;
        row.push_back(compared ? fmt::format("{:+.3f}", gain == 0 ? 0.0 : gain) : "—");
        table.rows.push_back(std::move(row));
    }
    table.note = "The teacher labels the pool; a post trains the student when the teacher's top probability reaches "
                 "its class's threshold (kept: mean over the seeds, last round). Coverage: the share of validation "
                 "rows the teacher is confident of; accuracy: its accuracy on them. The gold-label student is the "
                 "same model trained on the gold training rows.";
    return table;
}

std::optional<Table> phase_configs_table(const StudyResults& results, const PhaseResult& phase) {
    if (phase.configs.empty()) return std::nullopt;
    return phase.kind == PhaseKind::ablation ? ablation_table(results, phase) : config_table(results, phase);
}

Table phase_table(const StudyResults& results) {
    Table table;
    table.headers = {"phase", "kind", "from", "status", "configs", "trials", "incumbent", "valid weighted F1",
                     "valid macro F1", "test weighted F1", "test macro F1"};
    for (const auto& label : results.labels) table.headers.push_back("test F1 " + label);
    table.text_columns = 7;
    for (const auto& phase : results.phases) {
        const ConfigResult* best = phase.incumbent_config();
        std::vector<std::string> row{phase.name,
                                     to_string(phase.kind),
                                     phase.from.empty() ? "—" : phase.from,
                                     phase_status(phase),
                                     std::to_string(phase.configs.size()),
                                     seeds_cell(phase.finished_trials(), phase.planned_trials()),
                                     incumbent_cell(phase)};
        const SplitStats none;
        const SplitStats& valid = best ? best->valid : none;
        const SplitStats& test = best ? best->test : none;
        row.push_back(format_stat(valid.weighted_f1));
        row.push_back(format_stat(valid.macro_f1));
        row.push_back(format_stat(test.weighted_f1));
        row.push_back(format_stat(test.macro_f1));
        for (const auto& label : results.labels) row.push_back(format_stat(test.class_f1(label)));
        table.rows.push_back(std::move(row));
        table.highlighted.push_back(false);
    }
    table.note = "Metrics of each phase's incumbent: mean ± standard deviation over its seeds; trials: finished/planned.";
    return table;
}

std::optional<PhaseOptimism> phase_optimism(const StudyResults& results, const PhaseResult& phase) {
    const ConfigResult* best = phase.has_own_incumbent() ? phase.incumbent_config() : nullptr;
    const std::optional<MetricName> metric = parse_metric(phase.select, metric_select);
    const std::optional<Stat> valid = best && metric ? stat_of(best->valid, *metric) : std::nullopt;
    if (!valid) return std::nullopt;
    // The order choose_incumbent (study_plan.cpp) picks by; every metric `select` accepts
    // is higher-is-better today.
    const double sign = metric->higher_is_better() ? 1.0 : -1.0;

    PhaseOptimism out;
    out.metric = *metric;
    out.incumbent = best;
    out.valid = *valid;
    out.test = stat_of(best->test, *metric);
    if (out.test) out.optimism = sign * (valid->mean - out.test->mean);

    // Every configuration of a train or augmentation phase could have been chosen: its only
    // reference is the incumbent of `from` competing with the sweep (results.json does not
    // record `candidate`; the references that are not candidates are in clip phases).
    for (std::size_t i = 0; i < phase.configs.size(); ++i) {
        const std::optional<Stat> other = i == *phase.incumbent ? std::nullopt : stat_of(phase.configs[i].valid, *metric);
        if (other && (!out.runner_up || sign * other->mean > sign * out.runner_up->valid.mean))
            out.runner_up = compare(*valid, phase.configs[i], *other, sign);
    }

    const PhaseResult* source = phase.from.empty() ? nullptr : results.find_phase(phase.from);
    const ConfigResult* start = source && source->has_own_incumbent() ? source->incumbent_config() : nullptr;
    // The incumbent is a reference only when no configuration beat the one of `from`; a
    // sweep point that is that configuration again (training is deterministic) scores
    // exactly what it scored, and is the same model kept, not a rival within noise.
    const auto same = [&](const std::optional<Stat>& a, const std::optional<Stat>& b) {
        return a && b && a->mean == b->mean && a->std == b->std && a->n == b->n;
    };
    out.kept_from = start && (best->reference || (same(valid, stat_of(start->valid, *metric)) &&
                                                  same(out.test, stat_of(start->test, *metric))));
    if (start && !out.kept_from)
        if (const std::optional<Stat> other = stat_of(start->valid, *metric))
            out.from = compare(*valid, *start, *other, sign);
    return out;
}

std::optional<Table> optimism_table(const StudyResults& results) {
    Table table;
    table.headers = {"phase",         "metric",         "incumbent",          "runner-up",
                     "valid",         "test",           "optimism",           "gap to runner-up (SE)",
                     "gap to the incumbent of from (SE)"};
    table.text_columns = 4;
    bool kept = false, one_seed = false, no_spread = false;
    for (const auto& phase : results.phases) {
        const std::optional<PhaseOptimism> o = phase_optimism(results, phase);
        if (!o) continue;
        const auto gap_cell = [&](const std::optional<PhaseOptimism::Comparison>& c) -> std::string {
            if (!c) return "—";
            if (c->standard_errors) return format_gap(*c->standard_errors);
            if (o->valid.n < 2 || c->valid.n < 2)
                one_seed = true;
            else
                no_spread = true;
            return "—";
        };
        kept = kept || o->kept_from;
        table.rows.push_back({phase.name, select_title(o->metric), o->incumbent->label,
                              o->runner_up ? o->runner_up->config->label : "none", format_stat(o->valid),
                              format_stat(o->test), o->optimism ? signed_number(*o->optimism, 3) : "—",
                              gap_cell(o->runner_up), o->kept_from ? "kept" : gap_cell(o->from)});
        table.highlighted.push_back(false);
    }
    if (table.rows.empty()) return std::nullopt;
    table.note = "Each phase's incumbent on the metric it was chosen by (the phase's select): mean ± standard "
                 "deviation over its seeds. Optimism: valid mean − test mean; the incumbent was chosen for its "
                 "validation score, which therefore flatters it, so quote its test score. Gap: the difference of "
                 "two configurations' mean validation scores over its standard error, sqrt(sd1²/n1 + sd2²/n2); "
                 "within one standard error the two are not told apart, and with 3 seeds a gap is a rough guide. "
                 "Runner-up: the configuration with the next-best validation mean that the phase could have chosen.";
    if (kept)
        table.note += " Kept: the incumbent of from stays, as no configuration beat it on validation or the phase "
                      "chose that configuration again (equal scores).";
    if (one_seed) table.note += " —: a configuration with one seed has no standard deviation to measure a gap by.";
    if (no_spread) table.note += " —: every seed of both configurations scored the same (standard error 0).";
    return table;
}

std::string optimism_warning(const StudyResults& results, const PhaseResult& phase) {
    const std::optional<PhaseOptimism> o = phase_optimism(results, phase);
    if (!o || !o->within_one_se_of_from()) return {};
    return fmt::format("Warning: in phase {}, the incumbent is within one standard error of the incumbent of {} "
                       "(gap {} SE on valid {}): the difference may be noise.",
                       phase.name, phase.from, format_gap(*o->from->standard_errors), select_title(o->metric));
}

std::string study_optimism_line(const StudyResults& results) {
    const auto [phase, config] = results.final_incumbent_config();
    const std::optional<PhaseOptimism> o = phase ? phase_optimism(results, *phase) : std::nullopt;
    if (!o || !o->optimism) return {};
    return fmt::format("Optimism of the final incumbent ({}, phase {}): valid {} {} against test {}, {}; its test "
                       "score is the one to quote.",
                       config->label, phase->name, select_title(o->metric), format_stat(o->valid),
                       format_stat(o->test), signed_number(*o->optimism, 3));
}

Table config_table(const StudyResults& results, const PhaseResult& phase) {
    Table table;
    table.headers = {"configuration", "seeds"};
    add_split_headers(table.headers, results, "valid");
    add_split_headers(table.headers, results, "test");
    for (std::size_t i = 0; i < phase.configs.size(); ++i) {
        const ConfigResult& config = phase.configs[i];
        std::vector<std::string> row{config_label(phase, i), seeds_cell(config.finished_trials(), config.trials.size())};
        add_split_cells(row, results, config.valid);
        add_split_cells(row, results, config.test);
        table.rows.push_back(std::move(row));
        table.highlighted.push_back(phase.incumbent == i);
    }
    if (phase.incumbent)
        table.note = fmt::format("★ the incumbent: the best mean valid {}. Seeds: finished/planned.", phase.select);
    else if (phase.has_own_incumbent())
        table.note = "No incumbent: no configuration finished a trial. Seeds: finished/planned.";
    else
        table.note = fmt::format("A {} phase has no incumbent of its own. Seeds: finished/planned.", to_string(phase.kind));
    return table;
}

Table ablation_table(const StudyResults& results, const PhaseResult& phase) {
    // The full model is the incumbent of `from`: the ablation takes it apart.
    const PhaseResult* source = phase.from.empty() ? nullptr : results.find_phase(phase.from);
    const ConfigResult* full = source ? source->incumbent_config() : nullptr;
    const Stat* reference = full && full->test.weighted_f1 ? &*full->test.weighted_f1 : nullptr;

    Table table;
    table.headers = {"configuration", "seeds", "test accuracy", "test macro F1", "test weighted F1",
                     "Δ test weighted F1"};
    for (const auto& label : results.labels) table.headers.push_back("test F1 " + label);
    table.headers.push_back("valid weighted F1");
    for (std::size_t i = 0; i < phase.configs.size(); ++i) {
        const ConfigResult& config = phase.configs[i];
        const auto& test = config.test;
        std::vector<std::string> row{config_label(phase, i), seeds_cell(config.finished_trials(), config.trials.size()),
                                     format_stat(test.accuracy), format_stat(test.macro_f1),
                                     format_stat(test.weighted_f1)};
        row.push_back(reference && test.weighted_f1 ? fmt::format("{:+.3f}", test.weighted_f1->mean - reference->mean)
                                                    : "—");
        for (const auto& label : results.labels) row.push_back(format_stat(test.class_f1(label)));
        row.push_back(format_stat(config.valid.weighted_f1));
        table.rows.push_back(std::move(row));
        table.highlighted.push_back(phase.incumbent == i);
    }
    table.note = reference ? fmt::format("Δ: against the full model, {} of phase {} (mean test weighted F1 {:.3f}).",
                                         full->label, source->name, reference->mean)
                           : "Δ: no full model to compare with (the phase it comes from has no incumbent).";
    return table;
}

std::optional<Table> ensemble_table(const StudyResults& results) {
    Table table;
    table.headers = {"phase", "incumbent", "seeds"};
    const auto both = [&](const std::string& metric) {
        table.headers.push_back(metric + " (seeds)");
        table.headers.push_back(metric + " (ensemble)");
    };
    both("test weighted F1");
    both("test macro F1");
    both("test accuracy");
    for (const auto& label : results.labels) both("test F1 " + label);
    table.text_columns = 3;
    bool unscored = false;
    for (const auto& phase : results.phases) {
        const EnsembleScores* e = incumbent_ensemble(phase);
        if (!e) continue;
        const ConfigResult& config = *phase.incumbent_config();
        std::vector<std::string> row{phase.name, config.label, seeds_of(*e)};
        const auto cells = [&](const std::optional<Stat>& seeds, double ensemble) {
            row.push_back(format_stat(seeds));
            row.push_back(e->scored() ? format_number(ensemble) : "—");
        };
        cells(config.test.weighted_f1, e->weighted_f1);
        cells(config.test.macro_f1, e->macro_f1);
        cells(config.test.accuracy, e->accuracy);
        for (const auto& label : results.labels) {
            const auto f1 = e->per_class_f1.find(label);
            row.push_back(format_stat(config.test.class_f1(label)));
            row.push_back(e->scored() && f1 != e->per_class_f1.end() ? format_number(f1->second) : "—");
        }
        unscored = unscored || !e->scored();
        table.rows.push_back(std::move(row));
        table.highlighted.push_back(false);
    }
    if (table.rows.empty()) return std::nullopt;
    table.note = "Seeds: mean ± standard deviation of the seeds' own test scores. Ensemble: the seeds' test "
                 "probabilities averaged, then scored once. Neither chose anything: incumbents are chosen on "
                 "validation.";
    if (unscored) table.note += " —: not scored; the phase's section says why.";
    return table;
}

std::string ensemble_line(const StudyResults& results, const PhaseResult& phase) {
    const EnsembleScores* e = incumbent_ensemble(phase);
    if (!e) return {};
    if (!e->scored()) return fmt::format("Seed ensemble of the incumbent ({}): not scored: {}.", seeds_of(*e), e->unavailable);
    const ConfigResult& config = *phase.incumbent_config();
    std::vector<std::string> classes;
    for (const auto& label : results.labels)
        if (const auto f1 = e->per_class_f1.find(label); f1 != e->per_class_f1.end())
            classes.push_back(fmt::format("{} {}", label, beside(f1->second, config.test.class_f1(label))));
    return fmt::format("Seed ensemble of the incumbent ({}, their test probabilities averaged, {} test rows): test "
                       "weighted F1 {}, macro F1 {}, accuracy {}; F1 {}.",
                       seeds_of(*e), e->samples, beside(e->weighted_f1, config.test.weighted_f1),
                       beside(e->macro_f1, config.test.macro_f1), beside(e->accuracy, config.test.accuracy),
                       fmt::join(classes, ", "));
}

std::vector<std::string> unfinished_trials(const PhaseResult& phase) {
    // Trials that ended the same way, for the same reason, are one line when there are
    // more than two (a phase skipped for want of a model folder lists one reason, not 52).
    struct Group {
        std::string outcome; // "skipped: reason"
        std::vector<std::string> trials;
    };
    std::vector<Group> groups;
    for (const auto& config : phase.configs)
        for (const auto& trial : config.trials) {
            if (trial.status == TrialStatus::ok) continue;
            std::string name = trial.folder;
            if (trial.seed) name += fmt::format(" (seed {})", *trial.seed);
            std::string outcome = to_string(trial.status);
            if (!trial.error.empty()) outcome += ": " + first_line(trial.error);
            auto group = std::find_if(groups.begin(), groups.end(), [&](const Group& g) { return g.outcome == outcome; });
            if (group == groups.end()) group = groups.insert(groups.end(), Group{outcome, {}});
            group->trials.push_back(std::move(name));
        }
    std::vector<std::string> lines;
    for (const auto& g : groups)
        if (g.trials.size() <= 2)
            for (const auto& name : g.trials) lines.push_back(name + ": " + g.outcome);
        else
            lines.push_back(fmt::format("{} trials ({}, ..., {}): {}", g.trials.size(), g.trials.front(),
                                        g.trials.back(), g.outcome));
    return lines;
}

} // namespace msa::report
