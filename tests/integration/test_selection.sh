# Selection that generalizes, end to end on a small demo dataset: a phase with select_folds
# trains every seed on every validation fold (folders -s<seed>-f<fold>, results.json's
# "fold"), whose validation rows partition the labelled rows outside the one test split;
# the linear fusion is fitted by L-BFGS on standardized features (metrics.json: solver,
# the L2 sweep, standardized modalities); a later phase without folds starts from the
# incumbent's trial of its seed; the one-SE rule's choice is written down; msa predict
# reproduces a standardized linear probe's predictions from model.pt; a sweep of AdamW
# settings after a probe is not run; bad combinations are refused at file:line.
source "$(dirname "$0")/lib.sh"
cd "$WORK"

"$MSA" demo-data --out demo --samples 160 --size 32 >/dev/null
{
  demo_study selection 7 64
  cat <<TOML
[train]
epochs = 4
batch_size = 16
learning_rate = 0.01
patience = 0
l2 = [1e-3, 1e-1]

[[phase]]
name = "architecture"
seeds = [1, 2]
select_folds = 3
sweep.fusion = ["linear", { plugin = "concat", hidden = 16 }]

[[phase]]
name = "loss"
from = "architecture"
seeds = [1, 2]
sweep.loss = ["cross-entropy", "class-balanced"]

[[phase]]
name = "repeat"
from = "architecture"
seeds = [1, 2]
select_folds = 3
sweep.fusion = ["linear", { plugin = "concat", hidden = 16 }]
TOML
} >study.toml
expect_exit 0 "$MSA" validate study.toml
expect_exit 0 "$MSA" run study.toml --jobs 2
expect_contains "$ERR" "is the incumbent of architecture again (the same settings, seeds and folds): its 6 trials are taken"
run=runs/selection
[[ -f $run/architecture/linear-s2-f2/metrics.json ]] || fail "no trial folder per seed and fold: $(ls $run/architecture)"
python3 - $run <<'PY' || fail "cross-validated selection, linear probe or one-SE record wrong"
import csv, json, sys
run = sys.argv[1]
results = json.load(open(run + "/results.json"))
arch, loss, repeat = results["phases"]
linear, concat = arch["configs"]
assert [(t["seed"], t.get("fold")) for t in linear["trials"]] == [(s, f) for s in (1, 2) for f in range(3)], linear["trials"]
assert linear["valid"]["weighted_f1"]["n"] == 6, linear["valid"]
# The folds of a seed validate every labelled row outside the one test split, once each.
for seed in (1, 2):
    valid, test = [], None
    for fold in range(3):
        rows = list(csv.DictReader(open(f"{run}/architecture/linear-s{seed}-f{fold}/predictions.csv")))
        valid += [r["id"] for r in rows if r["split"] == "valid"]
        t = sorted(r["id"] for r in rows if r["split"] == "test")
        assert test is None or t == test, "the test rows differ between folds"
        test = t
        trainable = [r["id"] for r in rows if r["split"] in ("train", "valid")]
    assert len(valid) == len(set(valid)) == len(trainable), (seed, len(valid), len(set(valid)), len(trainable))
    assert not set(valid) & set(test)
# The linear probe: L-BFGS, its L2 chosen on validation, both modalities standardized.
m = json.load(open(run + "/architecture/linear-s1-f0/metrics.json"))
assert m["solver"] == "lbfgs" and m["standardized"] == ["text", "image"], (m["solver"], m["standardized"])
assert m["linear_probe"]["l2"] in (1e-3, 1e-1) and len(m["linear_probe"]["sweep"]) == 2, m["linear_probe"]
assert m["parameters"]["head"] == (64 + 32 + 1) * 3, m["parameters"]  # hf-vit fixture: 32-d
c = json.load(open(run + "/" + concat["trials"][0]["folder"] + "/metrics.json"))
assert c["solver"] == "adamw", c["solver"]
# Incumbent: the best mean, or by the one-SE rule the linear probe with a note saying why.
best = max(range(2), key=lambda i: arch["configs"][i]["valid"]["weighted_f1"]["mean"])
if arch["incumbent"] != best:
    assert arch["incumbent"] == 0 and "one-SE rule: kept fusion=linear" in arch["selection"], arch
else:
    assert arch.get("selection") in (None, ""), arch
# The next phase trains on each seed's ratio split, from the incumbent.
assert [t["folder"] for t in loss["configs"][0]["trials"]] == ["loss/cross-entropy-s1", "loss/cross-entropy-s2"]
# A sweep point that is the incumbent again (same settings, seeds and folds) takes its
# trials; the other point trains again, to the same scores (training is deterministic),
# so the choice is the same.
incumbent = arch["configs"][arch["incumbent"]]
taken = repeat["configs"][arch["incumbent"]]
assert taken.get("reference") and taken["trials"] == incumbent["trials"], taken
assert taken["label"].endswith("(the incumbent of architecture)"), taken["label"]
other = repeat["configs"][1 - arch["incumbent"]]
assert not other.get("reference") and all(t["folder"].startswith("repeat/") for t in other["trials"]), other
assert other["valid"] == arch["configs"][1 - arch["incumbent"]]["valid"], (other["valid"], arch["configs"])
assert repeat["incumbent"] == arch["incumbent"], repeat
PY
ls $run/repeat | grep -q -- "-s1-f0" || fail "the other sweep point did not train"
[[ $(ls $run/repeat | wc -l) == 6 ]] || fail "the repeated incumbent trained again: $(ls $run/repeat)"
grep -q "linear probe (L-BFGS)" $run/architecture/linear-s1-f0/log.txt || fail "the log does not say how the probe was fitted"

# msa predict reads the standardization back from model.pt: the trial's own probabilities.
expect_exit 0 "$MSA" predict --run $run/architecture/linear-s1-f0 --input demo/test_without_label.txt \
  --output labels.csv --probabilities
python3 - labels.csv.probabilities.csv $run/architecture/linear-s1-f0/predictions.csv <<'PY' ||
import csv, sys
trial = {r["id"]: r for r in csv.DictReader(open(sys.argv[2]))}
for p in csv.DictReader(open(sys.argv[1])):
    for label in ("negative", "neutral", "positive"):
        assert abs(float(p["p_" + label]) - float(trial[p["guid"]]["p_" + label])) < 1e-5, (p, label)
PY
  fail "msa predict does not reproduce the standardized linear probe"

# A learning-rate sweep after a linear-probe incumbent would fit the same probe again: it is
# not run, says why, and the probe carries on to the next phase.
sed '/^\[\[phase\]\]/,$d; s/^name = "selection"/name = "carried"/' study.toml >carried.toml
cat >>carried.toml <<'TOML'
[[phase]]
name = "architecture"
seeds = [1, 2]
sweep.fusion = ["linear"]

[[phase]]
name = "tuning"
from = "architecture"
seeds = [1, 2]
sweep."train.learning_rate" = [1e-3, 1e-2]

[[phase]]
name = "loss"
from = "tuning"
seeds = [1]
sweep.loss = ["cross-entropy"]
TOML
expect_exit 0 "$MSA" run carried.toml
expect_contains "$ERR" "phase tuning: not run: it sweeps train.learning_rate, settings of AdamW"
[[ ! -e runs/carried/tuning ]] || fail "the tuning phase ran trials: $(ls runs/carried/tuning)"
python3 - runs/carried/results.json <<'PY' || fail "the carried-on phase is recorded wrong"
import json, sys
arch, tuning, loss = json.load(open(sys.argv[1]))["phases"]
assert tuning["status"] == "complete" and "fitted by L-BFGS" in tuning["selection"], tuning
assert [t["folder"] for t in tuning["configs"][tuning["incumbent"]]["trials"]] == \
       ["architecture/linear-s1", "architecture/linear-s2"], tuning
assert loss["status"] == "complete", loss
PY

# Refused before anything runs, at file:line.
sed 's/^test_seed = 7/test_seed = 7\nfolds = 3/' study.toml >folds.toml
expect_exit 1 "$MSA" validate folds.toml
expect_contains "$ERR" "select_folds keeps one test split, but [split] folds rotates it"
sed 's/^select_folds = 3/select_folds = 1/' study.toml >one.toml
expect_exit 1 "$MSA" validate one.toml
expect_contains "$ERR" "one.toml:29:16"
expect_contains "$ERR" "must be 0 (one validation split) or at least 2 folds"
sed 's/^l2 = .*/solver = "lbfgs"/' study.toml | sed 's/^sweep.fusion = .*/sweep.fusion = [{ plugin = "concat", hidden = 16 }]/' >lbfgs.toml
expect_exit 1 "$MSA" run lbfgs.toml --phase architecture
expect_contains "$ERR$OUT" "has parameters of its own"
done_ok
