// Writing a Study back as TOML (see resolved_manifest.hpp).
#include "manifest/resolved_manifest.hpp"

#include "manifest/manifest_reader.hpp"

#include <sstream>

namespace msa {

namespace {

std::string quoted(const std::string& s) { return format_value(Value{s}); }

std::string quoted(const std::filesystem::path& p) { return quoted(p.string()); }

std::string strings(const std::vector<std::string>& items) { return format_value(Value{items}); }

// Defaults are written as comments: set, a parameter the plugin does not use with the
// other settings (focal's gamma under class-balanced) would be refused as ignored.
void write_params(std::ostringstream& out, const PluginChoice& choice) {
    out << "plugin = " << quoted(choice.plugin) << "\n";
    for (const auto& name : choice.params.names())
        out << (choice.params.set_by_user(name) ? "" : "# (default) ") << name << " = "
            << format_value(choice.params.peek(name)) << "\n";
}

} // namespace

std::string resolved_manifest(const Study& study) {
    std::ostringstream out;
    out << "# Resolved by msa: every default filled in, every path absolute.\n";
    out << "schema_version = " << kManifestSchemaVersion << "\n";
    out << "name = " << quoted(study.name) << "\n";
    if (!study.description.empty()) out << "description = " << quoted(study.description) << "\n";
    out << "seed = " << study.seed << "\n";
    out << "output = " << quoted(std::filesystem::absolute(study.output)) << "\n";
    std::vector<std::string> plugin_paths;
    for (const auto& p : study.plugin_paths) plugin_paths.push_back(p.string());
    out << "plugin_paths = " << strings(plugin_paths) << "\n";

    const auto& d = study.dataset;
    out << "\n[dataset]\nformat = " << quoted(d.format) << "\nroot = " << quoted(d.root)
        << "\nencoding = " << quoted(d.encoding) << "\non_error = " << quoted(d.on_error)
        << "\nlabels = " << strings(d.labels) << "\n";

    const auto& s = study.split;
    out << "\n[split]\n";
    if (!s.train_file.empty()) {
        out << "train_file = " << quoted(s.train_file) << "\nvalid_file = " << quoted(s.valid_file)
            << "\ntest_file = " << quoted(s.test_file) << "\n";
    } else {
        out << "valid = " << format_value(Value{s.valid}) << "\ntest = " << format_value(Value{s.test})
            << "\nfolds = " << s.folds << "\nfold = " << s.fold << "\n";
        // Only when set: the trial files of studies without them stay as they were, so they resume.
        if (s.test_seed) out << "test_seed = " << *s.test_seed << "\n";
        if (s.valid_folds) out << "valid_folds = " << s.valid_folds << "\nvalid_fold = " << s.valid_fold << "\n";
    }

    out << "\n[store]\n";
    if (!study.store.path.empty()) out << "path = " << quoted(study.store.path) << "\n";
    out << "dtype = " << quoted(study.store.dtype) << "\ncompression = " << study.store.compression << "\n";

    for (const auto& [modality, choice] : study.encoders) {
        out << "\n[encoders." << modality << "]\n";
        write_params(out, choice);
    }
    out << "\n[fusion]\n";
    write_params(out, study.fusion);
    out << "\n[loss]\n";
    write_params(out, study.loss);
    for (const auto& aux : study.auxiliary_losses) {
        out << "\n[[auxiliary_loss]]\nweight = " << format_value(Value{aux.weight}) << "\n";
        write_params(out, aux.choice);
    }
    out << "\n[sampler]\n";
    write_params(out, study.sampler);
    if (study.augmenter) {
        out << "\n[augmenter]\n";
        write_params(out, *study.augmenter);
    }
    if (study.prompt) {
        out << "\n[prompt]\n";
        write_params(out, *study.prompt);
    }
    const auto& t = study.train;
    out << "\n[train]\nepochs = " << t.epochs << "\nbatch_size = " << t.batch_size
        << "\nlearning_rate = " << format_value(Value{t.learning_rate})
        << "\nencoder_learning_rate = " << format_value(Value{t.encoder_learning_rate})
        << "\nlayer_decay = " << format_value(Value{t.layer_decay})
        << "\nweight_decay = " << format_value(Value{t.weight_decay})
        << "\nschedule = " << quoted(std::string(to_string(t.schedule)))
        << "\nwarmup = " << format_value(Value{t.warmup}) << "\ngrad_clip = " << format_value(Value{t.grad_clip})
        << "\npatience = " << t.patience << "\nmonitor = " << quoted(t.monitor.str())
        << "\nrestore_best = " << (t.restore_best ? "true" : "false")
        << "\nbucket_by_length = " << (t.bucket_by_length ? "true" : "false") << "\ndevice = " << quoted(t.device)
        << "\nthreads = " << t.threads << "\nstandardize = " << (t.standardize ? "true" : "false")
        << "\nsolver = " << quoted(std::string(to_string(t.solver))) << "\nl2 = " << format_value(Value{t.l2})
        << "\nprecision = " << quoted(t.precision)
        << "\nclass_bias = " << quoted(t.class_bias ? t.class_bias->str() : std::string("none")) << "\n";
    if (!t.reuse_model.empty()) out << "reuse_model = " << quoted(t.reuse_model.string()) << "\n";
    if (const auto& a = study.augmentation)
        out << "\n[augmentation]\nhard_samples = " << quoted(a->hard_samples)
            << "\nhard_threshold = " << format_value(Value{a->hard_threshold})
            << "\nhard_fraction = " << format_value(Value{a->hard_fraction}) << "\n";
    if (const auto& e = study.evaluate)
        out << "\n[evaluate]\nmodel = " << quoted(e->model) << "\nkeep = " << quoted(e->keep)
            << "\nfill = " << quoted(e->fill) << "\n";
    if (const auto& f = study.few_shot) out << "\n[few_shot]\nk = " << f->k << "\n";
    if (const auto& c = study.contrastive)
        out << "\n[contrastive]\npairs_per_post = " << c->pairs_per_post << "\nepochs = " << c->epochs
            << "\nbatch_size = " << c->batch_size << "\nlearning_rate = " << format_value(Value{c->learning_rate})
            << "\nfreeze = " << (c->freeze ? "true" : "false") << "\n";
    if (const auto& d = study.distill) {
        out << "\n[distill]\nteacher = " << quoted(d->teacher) << "\nthreshold = " << format_value(Value{d->threshold})
            << "\ntargets = " << quoted(d->targets) << "\ntemperature = " << format_value(Value{d->temperature})
            << "\ngold_weight = " << format_value(Value{d->gold_weight}) << "\nrounds = " << d->rounds
            << "\nunlabelled = " << (d->unlabelled ? "true" : "false") << "\n";
        if (!d->thresholds.empty()) {
            out << "\n[distill.thresholds]\n";
            for (const auto& [label, value] : d->thresholds) out << quoted(label) << " = " << format_value(Value{value}) << "\n";
        }
        for (const auto& pool : d->pools)
            out << "\n[[distill.pool]]\nformat = " << quoted(pool.format) << "\nroot = " << quoted(pool.root)
                << "\nencoding = " << quoted(pool.encoding) << "\non_error = " << quoted(pool.on_error) << "\n";
    }
    if (const auto& z = study.zero_shot) {
        out << "\n[zero_shot.descriptions]\n";
        for (const auto& [label, descriptions] : z->descriptions) out << quoted(label) << " = " << strings(descriptions) << "\n";
    }
    if (const auto& c = study.clip)
        out << "\n[clip]\ncheckpoint = " << quoted(c->checkpoint) << "\nmethod = " << quoted(c->method) << "\ndtype = " << quoted(c->dtype)
            << "\ntemplates = " << strings(c->templates) << "\nl2 = " << format_value(Value{c->l2})
            << "\nmodalities = " << strings(c->modalities) << "\n";
    return out.str();
}

} // namespace msa
