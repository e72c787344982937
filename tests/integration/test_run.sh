# msa run: a study of every phase kind on a small demo dataset runs end to end (results.json,
# reports, incumbents handed on); a rerun skips every finished trial; --phase runs one
# phase; each incumbent's seed ensemble is recorded (not scored: the seeds' test splits
# differ); a copied study folder keeps its trials; Ctrl-C stops cleanly and the next run
# goes on; a plugin that crashes its worker fails its trial only; forked workers (the fork
# server) and fresh ones train the same; a bad sweep value is reported at its file:line
# before anything runs.
source "$(dirname "$0")/lib.sh"
cd "$WORK"

"$MSA" demo-data --out demo --samples 150 --size 32 >/dev/null
cat >base.toml <<TOML
schema_version = 1
seed = 1
output = "runs"
[dataset]
root = "demo"
[split]
valid = 0.2
test = 0.2
[store]
path = "store.h5"
[encoders.text]
plugin = "hashed-ngram"
dim = 256
[encoders.image]
plugin = "hf-vit"
checkpoint = "$MSA_SOURCE_DIR/tests/fixtures/parity/vit"
[fusion]
plugin = "concat"
hidden = 32
[train]
epochs = 6
batch_size = 16
learning_rate = 0.01
patience = 0
TOML
cat >study.toml <<'TOML'
include = ["base.toml"]
name = "small"

[[phase]]
name = "baseline"
seeds = [1, 2]

[[phase]]
name = "architecture"
from = "baseline"
seeds = [1, 2]
set.train.epochs = 4
sweep.fusion = ["concat", { plugin = "gated", hidden = 16 }]

[[phase]]
name = "loss"
from = "architecture"
seeds = [1, 2]
sweep.loss = ["cross-entropy", "class-balanced"]

[[phase]]
name = "augmentation"
kind = "augmentation"
from = "loss"
seeds = [1, 2]
hard_threshold = 1.0
hard_fraction = 0.3
sweep.augmenter = ["identity", { plugin = "clip-tags", checkpoint = "no-clip-here" }]

[[phase]]
name = "ablation"
kind = "ablation"
from = "augmentation"
fills = ["zeros"]

[[phase]]
name = "clip"
kind = "clip"
from = "augmentation"
clip = "no-clip-here"
TOML

expect_exit 0 "$MSA" validate study.toml
expect_contains "$OUT" "phases baseline architecture loss augmentation ablation clip"

expect_exit 0 "$MSA" run study.toml --jobs 2
study=runs/small
for f in results.json report.md report.html; do [[ -s $study/$f ]] || fail "$study/$f was not written"; done
expect_contains "$ERR" "phase architecture (train, from baseline): 2 configurations, 4 trials; 0 finished earlier, 4 to run"
expect_contains "$ERR" "phase clip: skipped: CLIP checkpoint folder $WORK/no-clip-here does not exist"
python3 - "$study/results.json" <<'PY' || fail "results.json does not hold the study"
import json, sys, os
r = json.load(open(sys.argv[1]))
assert r["status"] == "complete", r["status"]
phases = {p["name"]: p for p in r["phases"]}
assert list(phases) == ["baseline", "architecture", "loss", "augmentation", "ablation", "clip"]
for name in ["baseline", "architecture", "loss", "augmentation", "ablation"]:
    assert phases[name]["status"] == "complete", (name, phases[name]["status"])
    # Ablation evaluates the incumbent of its `from`: no incumbent of its own.
    assert (phases[name]["incumbent"] is None) == (name == "ablation"), name
arch = phases["architecture"]
assert [c["label"] for c in arch["configs"]] == ["fusion=concat", "fusion=gated(hidden=16)"]
# The incumbent is the configuration with the best mean validation weighted F1.
means = [c["valid"]["weighted_f1"]["mean"] for c in arch["configs"]]
assert arch["incumbent"] == means.index(max(means))
c = arch["configs"][0]
assert c["valid"]["weighted_f1"]["n"] == 2 and len(c["trials"]) == 2
assert set(c["valid"]["per_class_f1"]) == {"negative", "neutral", "positive"}
# The loss phase starts from the architecture incumbent: its trials use that fusion. Its
# cross-entropy point is that incumbent again, whose trials it takes.
fusion = arch["configs"][arch["incumbent"]]["changes"]["fusion"].split("(")[0]
again, balanced = phases["loss"]["configs"]
assert again["reference"] and again["trials"] == arch["configs"][arch["incumbent"]]["trials"], again
assert again["label"] == "loss=cross-entropy (the incumbent of architecture)", again["label"]
trial = balanced["trials"][0]["folder"]
assert trial == "loss/class-balanced-s1", trial
config = open(os.path.join(os.path.dirname(sys.argv[1]), trial, "config.toml")).read()
assert f'[fusion]\nplugin = "{fusion}"' in config, config
# Augmentation: beside the loss incumbent (not run again, a candidate), identity ran and
# clip-tags without its folder is skipped with the reason.
aug = phases["augmentation"]["configs"]
assert aug[0]["reference"] and aug[0]["label"].startswith("no augmentation (incumbent of loss: ")
assert [t["folder"] for t in aug[0]["trials"]] == [t["folder"] for t in phases["loss"]["configs"][phases["loss"]["incumbent"]]["trials"]]
assert all(t["status"] == "ok" for t in aug[1]["trials"])
assert all(t["status"] == "skipped" and "no model folder" in t["error"] for t in aug[2]["trials"])
incumbent = aug[phases["augmentation"]["incumbent"]]
means = [c["valid"]["weighted_f1"]["mean"] for c in aug[:2]]
assert phases["augmentation"]["incumbent"] == means.index(max(means)), means
# Ablation: evaluated variants and retrained unimodal models.
labels = [c["label"] for c in phases["ablation"]["configs"]]
assert labels == ["text + image", "text only (image zeros)", "image only (text zeros)",
                  "text-only retrained", "image-only retrained"], labels
assert phases["clip"]["status"] == "skipped" and "CLIP" in phases["clip"]["reason"]
assert r["final_incumbent"] == incumbent["best_trial"], (r["final_incumbent"], incumbent)
assert r["store"]["encoded"] > 0
PY
passed=$((passed + 1))

# Each train and augmentation incumbent records its seed ensemble; without [split] test_seed
# the seeds' test splits differ, so it is not scored, and results.json and the report say why.
python3 - "$study" <<'PY' || fail "the incumbents' seed ensembles are not recorded as expected"
import json, sys
study = sys.argv[1]
r = json.load(open(study + "/results.json"))
for p in r["phases"]:
    for i, c in enumerate(p["configs"]):
        e = c.get("test_ensemble")
        if p["incumbent"] != i or p["kind"] not in ("train", "augmentation"):
            assert e is None, (p["name"], c["label"], e)
            continue
        assert e["trials"] == [t["folder"] for t in c["trials"] if t["status"] == "ok"], (p["name"], e)
        assert e["unavailable"].startswith("the seeds' test splits differ") and "test_seed" in e["unavailable"], e
report = open(study + "/report.md").read()
assert report.count("): not scored: the seeds' test splits differ") == 4, report
PY
passed=$((passed + 1))
expect_contains "$ERR" "phase baseline: seed ensemble of the incumbent (2 seeds): not scored: the seeds' test splits differ"

# Every trial folder is complete, and its planned manifest is kept beside the resolved one.
trial=$study/architecture/concat-s1
for f in trial.toml config.toml metrics.json predictions.csv history.csv model.pt log.txt worker.log; do
  [[ -s $trial/$f ]] || fail "$trial/$f is missing"
done
grep -q '^epochs = 4$' $trial/config.toml || fail "set.train.epochs did not reach the architecture trials"

# The study encoded the dataset once and gave each trial its store keys: no worker loaded
# an encoder (the ViT fixture's weights) to find its features.
python3 - $study <<'PY' || fail "a trial loaded an encoder whose features the study had stored for it"
import glob, json, os, sys
folders = glob.glob(sys.argv[1] + "/architecture/*-s*") + glob.glob(sys.argv[1] + "/augmentation/identity-s*")
assert len(folders) == 6, folders
for folder in folders:
    features = json.load(open(os.path.join(folder, "metrics.json")))["features"]
    assert set(features) == {"text", "image"}, (folder, features)
    assert not any(f["encoder_loaded"] for f in features.values()), (folder, features)
    keys = json.load(open(os.path.join(folder, "store_keys.json")))
    assert keys == {m: {"key": f["key"], "precision": f["precision"]} for m, f in features.items()}, (folder, keys)
    assert all(f["precision"] in ("float32", "bfloat16") for f in features.values()), features
PY
grep -q "by the study's key (encoder not loaded)" $trial/log.txt || fail "the trial log does not say where its features came from"

# A rerun skips every finished trial and reads every feature from the store; results.json
# then tells of both runs: the first one's start, their seconds and store use summed.
before=$(stat -c %Y $trial/metrics.json)
cp $study/results.json first-results.json
expect_exit 0 "$MSA" run study.toml
expect_contains "$ERR" "phase architecture (train, from baseline): 2 configurations, 4 trials; 4 finished earlier, 0 to run"
[[ $(stat -c %Y $trial/metrics.json) == "$before" ]] || fail "a finished trial ran again"
python3 - first-results.json $study/results.json <<'PY' || fail "the rerun encoded features, or results.json forgot the first run"
import json, sys
first, both = (json.load(open(f)) for f in sys.argv[1:])
assert both["store"]["encoded"] == first["store"]["encoded"] > 0, (first["store"], both["store"])
assert both["store"]["from_store"] >= first["store"]["from_store"], (first["store"], both["store"])
assert both["started"] == first["started"] and both["seconds"] > first["seconds"], (first, both)
PY

# A study folder copied (or moved) elsewhere keeps its trials: the rerun there trains
# nothing, and the trials' trial.toml then name the new folder (output, hard_samples).
cp -r $study copied
expect_exit 0 "$MSA" run study.toml --out copied
for phase in "baseline (train): 1 configurations, 2 trials; 2" "architecture (train, from baseline): 2 configurations, 4 trials; 4" \
             "loss (train, from architecture): 2 configurations, 2 trials; 2" \
             "augmentation (augmentation, from loss): 3 configurations, 4 trials; 2" \
             "ablation (ablation, from augmentation): 5 configurations, 10 trials; 10"; do
  expect_contains "$ERR" "phase $phase finished earlier, 0 to run"
done
! grep -rl "$WORK/$study" copied --include=trial.toml >/dev/null || fail "a trial.toml of the copy still names the original folder"
grep -q "hard_samples = \"$WORK/copied/" copied/augmentation/identity-s1/trial.toml ||
  fail "the copy's augmentation trial does not read its hard samples from the copy"

# A study folder that cannot be made is refused, saying where it came from.
echo "a file" >not-a-folder
expect_exit 1 "$MSA" run study.toml --out not-a-folder
expect_contains "$ERR" "msa: cannot make the study folder $WORK/not-a-folder (--out): Not a directory"
# Elsewhere the file system's refusal is the user's to mend, not an internal error (exit 1).
expect_exit 1 "$MSA" trial base.toml --out not-a-folder
expect_contains "$ERR" "msa: cannot create directories: Not a directory [not-a-folder]"

# --phase runs the named phase (and what it starts from) only.
rm -rf $study/loss/class-balanced-s2
expect_exit 0 "$MSA" run study.toml --phase loss
expect_contains "$ERR" "phase loss (train, from architecture): 2 configurations, 2 trials; 1 finished earlier, 1 to run"
expect_contains "$ERR" "(not selected by --phase)"
expect_exit 1 "$MSA" run study.toml --phase nope
expect_contains "$ERR" "--phase nope: no such phase; phases: baseline, architecture, loss, augmentation, ablation, clip"

# Ctrl-C: the runner stops its workers, keeps what finished, says so, exits 130; the next
# run goes on from there.
sed -e 's/^epochs = 6$/epochs = 200/' base.toml >slow-base.toml
sed -e 's/base.toml/slow-base.toml/' -e 's/name = "small"/name = "slow"/' study.toml >slow.toml
"$MSA" run slow.toml --jobs 1 >/dev/null 2>slow.err &
runner=$!
for _ in $(seq 1 600); do
  grep -q '^\[baseline 1/2\]' slow.err && break
  sleep 0.1
done
grep -q '^\[baseline 1/2\]' slow.err || fail "the slow study never finished its first trial: $(cat slow.err)"
# A forked worker's command line is its trial's, as a started worker's (ps, pgrep -f).
for _ in $(seq 50); do pgrep -f "^msa trial $WORK/runs/slow/baseline/" >/dev/null && break; sleep 0.1; done
pgrep -f "^msa trial $WORK/runs/slow/baseline/" >/dev/null ||
  fail "no worker shows its trial on its command line: $(ps -eo args | grep '^msa' || true)"
kill -INT $runner
code=0
wait $runner || code=$?
[[ $code == 130 ]] || fail "an interrupted msa run should exit 130, got $code: $(tail -5 slow.err)"
python3 - runs/slow/results.json <<'PY' || fail "results.json of the interrupted study is wrong"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["status"] == "interrupted", r["status"]
trials = r["phases"][0]["configs"][0]["trials"]
assert sorted(t["status"] for t in trials) == ["interrupted", "ok"], trials
PY
left=$(holders "$WORK/runs/slow/*")
[[ -z $left ]] || fail "a worker outlived the interrupted run: $left"
expect_exit 0 "$MSA" run slow.toml --phase baseline
expect_contains "$ERR" "phase baseline (train): 1 configurations, 2 trials; 1 finished earlier, 1 to run"

# A plugin that crashes its worker fails that trial only; the study reports it and goes on.
cat >crash.toml <<TOML
include = ["base.toml"]
name = "crash"
plugin_paths = ["$MSA_CRASHING_PLUGIN_DIR"]
[[phase]]
name = "architecture"
sweep.fusion = ["crashing", "concat"]
[[phase]]
name = "loss"
from = "architecture"
sweep.loss = ["focal"]
TOML
expect_exit 1 "$MSA" run crash.toml
# Under the sanitizers ASan reports the segfault and aborts (signal 6) instead.
crash_signal=11
[[ $("$MSA" version) == *Sanitizer* ]] && crash_signal=6
expect_contains "$ERR" "architecture/crashing-s1: failed: the worker process died of signal $crash_signal"
python3 - runs/crash/results.json <<'PY' || fail "results.json of the crashing study is wrong"
import json, sys
r = json.load(open(sys.argv[1]))
arch, loss = r["phases"]
assert r["status"] == "failed"
assert arch["configs"][0]["trials"][0]["status"] == "failed"
assert arch["incumbent"] == 1 and loss["status"] == "complete"
PY
grep -q '"status": "failed"' runs/crash/architecture/crashing-s1/metrics.json || fail "the crashed trial has no failed metrics.json"
[[ -s runs/crash/architecture/crashing-s1/error.txt ]] || fail "the crashed trial has no error.txt"

# Workers forked by msa run's fork server (the default) train exactly what workers
# started afresh train.
MSA_FORK_SERVER=0 expect_exit 0 "$MSA" run study.toml --out runs/afresh
python3 - $study runs/afresh <<'PY' || fail "forked and fresh workers disagree"
import glob, json, os, sys
forked, fresh = sys.argv[1:]
trials = sorted(os.path.relpath(f, fresh) for f in glob.glob(fresh + "/*/*/metrics.json"))
assert len(trials) > 10, trials
for t in trials:
    a, b = (json.load(open(os.path.join(d, t))) for d in (forked, fresh))
    assert a["status"] == b["status"] == "ok" and a["valid"] == b["valid"] and a["test"] == b["test"], t
PY

# A bad sweep value is reported where it was written, before anything runs.
cat >bad.toml <<'TOML'
include = ["base.toml"]
name = "bad"
[[phase]]
name = "tuning"
sweep."train.learning_rate" = [0.01, "fast"]
[[phase]]
name = "next"
from = "tunning"
TOML
expect_exit 1 "$MSA" run bad.toml
expect_contains "$ERR" "bad.toml:8:8: error: 'phase[1].from' = \"tunning\" is not an earlier phase (did you mean 'tuning'?)"
sed -i 's/"tunning"/"tuning"/' bad.toml
expect_exit 1 "$MSA" validate bad.toml
expect_contains "$ERR" "bad.toml:5:38: error: phase 'tuning', train.learning_rate=fast: 'train.learning_rate' must be a number, got a string"
[[ ! -d runs/bad ]] || fail "a study with a bad manifest started running"

echo "run: $passed checks passed"
