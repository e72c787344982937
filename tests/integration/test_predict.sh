# msa predict: a demo-data trial labels the demo's unlabelled list as the trial predicted
# it; rows it cannot read (unknown guid, malformed line, missing image) are reported with
# their line and keep their place with an empty tag (exit 3), or stop it under --strict;
# a study folder predicts with its final incumbent; a study of three seeds sharing one test
# split ([split] test_seed) reports its seed ensemble, and msa predict averages the three
# models (--single: the best alone; a seed left out or missing its model is said so);
# --dataset reads posts from another folder, encoded afresh (a fine-tuned top too); on
# mvsa-ecnu (when ../shared is present) a hashed-ngram trial labels test_without_label.txt
# and an unlisted pair.
source "$(dirname "$0")/lib.sh"
cd "$WORK"

expect_exit 0 "$MSA" demo-data --out demo --samples 120 --seed 3
cat >demo.toml <<TOML
schema_version = 1
name = "demo"
output = "runs"
[dataset]
root = "demo"
[store]
path = "store.h5"
[encoders.text]
plugin = "hashed-ngram"
[train]
epochs = 6
learning_rate = 0.01
TOML
expect_exit 0 "$MSA" trial demo.toml
run=runs/demo

# Every unlabelled row, in list order, with the label the trial predicted for it.
expect_exit 0 "$MSA" predict --run $run --input demo/test_without_label.txt --output labels.csv --probabilities
expect_contains "$ERR" "predicted all 12 rows of demo/test_without_label.txt: labels.csv"
python3 - demo/test_without_label.txt labels.csv $run/predictions.csv labels.csv.probabilities.csv <<'PY' ||
import csv, sys
listed = [r["guid"] for r in csv.DictReader(open(sys.argv[1]))]
out = list(csv.DictReader(open(sys.argv[2])))
trial = {r["id"]: r for r in csv.DictReader(open(sys.argv[3]))}
probs = list(csv.DictReader(open(sys.argv[4])))
assert open(sys.argv[2]).readline() == "guid,tag\n", "header"
assert [r["guid"] for r in out] == listed, "rows or their order differ from the input"
for r in out:
    assert r["tag"] in ("negative", "neutral", "positive"), r
    assert trial[r["guid"]]["split"] == "unlabelled", r
    assert r["tag"] == trial[r["guid"]]["predicted"], (r, trial[r["guid"]])
assert [p["guid"] for p in probs] == listed
for p in probs:
    for label in ("negative", "neutral", "positive"):
        assert abs(float(p["p_" + label]) - float(trial[p["guid"]]["p_" + label])) < 1e-5, (p, label)
    assert p["predicted"] == trial[p["guid"]]["predicted"]
PY
  fail "labels.csv does not match the trial's predictions for the unlabelled rows"

# Threshold moving ([train] class_bias): the offsets chosen on the validation rows are in
# model.pt, so msa predict labels the unlabelled rows as the trial did; the validation
# metrics are the cross-fitted ones, and predictions.csv's validation rows hold them.
cat >bias.toml <<TOML
include = ["demo.toml"]
name = "bias"
[train]
class_bias = "macro_f1"
TOML
expect_exit 0 "$MSA" trial bias.toml
expect_contains "$(cat runs/bias/log.txt)" "class_bias: log-probability offsets negative +0.00"
expect_exit 0 "$MSA" predict --run runs/bias --input demo/test_without_label.txt --output bias-labels.csv --probabilities
python3 - runs/bias bias-labels.csv.probabilities.csv <<'PY' ||
import csv, json, sys
run, probs = sys.argv[1], sys.argv[2]
m = json.load(open(f"{run}/metrics.json"))
bias = m["class_bias"]
assert bias["metric"] == "macro_f1" and set(bias["offsets"]) == {"negative", "neutral", "positive"}, bias
assert bias["offsets"]["negative"] == 0 and bias["valid_fitted"] >= bias["valid_before"], bias
assert abs(m["valid"]["macro_f1"] - bias["valid_cross_fitted"]) < 1e-9, (m["valid"], bias)
trial = {r["id"]: r for r in csv.DictReader(open(f"{run}/predictions.csv"))}
for p in csv.DictReader(open(probs)):
    t = trial[p["guid"]]
    assert p["predicted"] == t["predicted"], (p, t)
    for label in ("negative", "neutral", "positive"):
        assert abs(float(p["p_" + label]) - float(t["p_" + label])) < 1e-5, (p, t, label)
PY
  fail "a class_bias trial's offsets or metrics are not what msa predict and metrics.json should show"
grep -q '^class_bias = "macro_f1"$' runs/bias/config.toml || fail "config.toml does not keep class_bias"
# [train] reuse_model: the same offsets chosen on the demo trial's model, taken instead of
# trained again (as a study's threshold phase does): the same metrics and predictions as
# the bias trial, which trained it; a trial whose training would differ is refused.
cat >reuse.toml <<TOML
include = ["demo.toml"]
name = "reuse"
[train]
class_bias = "macro_f1"
reuse_model = "runs/demo"
TOML
expect_exit 0 "$MSA" trial reuse.toml
expect_contains "$(cat runs/reuse/log.txt)" "reused ([train] reuse_model"
python3 - runs/bias runs/reuse <<'PY' ||
import csv, json, sys
trained, reused = (json.load(open(f"{d}/metrics.json")) for d in sys.argv[1:])
for key in ("valid", "test", "class_bias", "best_epoch"):
    assert trained[key] == reused[key], (key, trained[key], reused[key])
assert [r for r in csv.DictReader(open(f"{sys.argv[1]}/predictions.csv"))] == \
       [r for r in csv.DictReader(open(f"{sys.argv[2]}/predictions.csv"))], "predictions differ"
epochs = lambda d: [{k: v for k, v in r.items() if k != "seconds"} for r in csv.DictReader(open(f"{d}/history.csv"))]
assert epochs(sys.argv[1]) == epochs(sys.argv[2]), "history.csv differs"
PY
  fail "a class_bias trial on a reused model does not match the one that trained it"
cat >reuse-other.toml <<TOML
include = ["demo.toml"]
name = "reuse-other"
[train]
epochs = 7
class_bias = "macro_f1"
reuse_model = "runs/demo"
TOML
expect_exit 1 "$MSA" trial reuse-other.toml
expect_contains "$ERR" "that trial trained another model than this one would: in [train] it has \`epochs = 6\`, this trial \`epochs = 7\`"
cat >bad-bias.toml <<TOML
include = ["demo.toml"]
name = "bad-bias"
[train]
class_bias = "f1"
TOML
expect_exit 1 "$MSA" validate bad-bias.toml
expect_contains "$ERR" "'train.class_bias' = \"f1\" is not accepted"

# Rows that cannot be read: reported at LIST:line, kept in place with an empty tag, exit 3.
# `extra` is a pair in data/ that no list names: it is read like a listed sample.
cp demo/data/1.jpg demo/data/extra.jpg
echo "a great day, so happy #happy" >demo/data/extra.txt
echo "a text without its image" >demo/data/lonely.txt
printf 'guid,tag\n2,null\n99999,null\n7,null,x\n\nextra,null\nlonely,null\nbad guid,null\n2,null\n' >bad.txt
expect_exit 3 "$MSA" predict --run $run --input bad.txt --output bad-labels.csv
expect_contains "$ERR" "not predicted: bad.txt:3: sample '99999': no sample '99999' in the dataset"
expect_contains "$ERR" "not predicted: bad.txt:4: sample '7': malformed line '7,null,x': expected 'guid,tag' (2 fields), found 3 fields"
expect_contains "$ERR" "not predicted: bad.txt:7: sample 'lonely': image not found: "
expect_contains "$ERR" "not predicted: bad.txt:8: malformed line 'bad guid,null'"
expect_contains "$ERR" "4 of 7 rows of bad.txt could not be predicted (2 malformed line, 1 missing image, 1 unknown guid); their tag is empty in bad-labels.csv"
python3 - bad-labels.csv $run/predictions.csv <<'PY' || fail "bad-labels.csv should keep every row in place"
import csv, sys
rows = list(csv.reader(open(sys.argv[1])))
trial = {r["id"]: r["predicted"] for r in csv.DictReader(open(sys.argv[2]))}
assert rows[0] == ["guid", "tag"], rows[0]
assert [r[0] for r in rows[1:]] == ["2", "99999", "7", "extra", "lonely", "", "2"], rows
assert rows[1][1] == rows[7][1] == trial["2"], rows
assert [r[1] for r in rows[2:4]] == ["", ""] and rows[5][1] == "" and rows[6][1] == "", rows
assert rows[4][1] in ("negative", "neutral", "positive"), rows[4]
PY

# --strict: any unreadable row is an error, and nothing is written.
expect_exit 1 "$MSA" predict --run $run --input bad.txt --output strict.csv --strict
expect_contains "$ERR" "error: bad.txt:3: sample '99999'"
expect_contains "$ERR" "msa: 4 of 7 rows of bad.txt cannot be predicted"
expect_contains "$ERR" "nothing written (--strict)"
[[ ! -e strict.csv ]] || fail "--strict wrote strict.csv"

# A study folder: its results.json names the model.
mkdir -p study/phase
cp -r $run study/phase/demo-s42
echo '{"study": "demo", "status": "complete", "final_incumbent": "phase/demo-s42"}' >study/results.json
expect_exit 0 "$MSA" predict --run study --input demo/test_without_label.txt --output study-labels.csv
cmp -s labels.csv study-labels.csv || fail "the study's final incumbent predicted otherwise than its trial"
echo '{"study": "demo", "status": "interrupted", "final_incumbent": null}' >study/results.json
expect_exit 1 "$MSA" predict --run study --input demo/test_without_label.txt --output x.csv
expect_contains "$ERR" 'study/results.json names no "final_incumbent" (study status: "interrupted")'

# A study whose seeds share one test split ([split] test_seed): each seed's train and valid
# differ, the test rows are the same and in none of them; the study scores the incumbent's
# seed ensemble on them and reports it.
cat >ensemble.toml <<'TOML'
include = ["demo.toml"]
name = "ensemble"
[split]
test_seed = 7
[[phase]]
name = "baseline"
seeds = [1, 2, 3]
TOML
expect_exit 0 "$MSA" run ensemble.toml
expect_contains "$ERR" "phase baseline: seed ensemble of the incumbent (3 seeds): test weighted F1 "
ens=runs/ensemble
python3 - $ens <<'PY' || fail "the seeds of the ensemble study do not share one test split, or its ensemble is wrong"
import csv, json, sys
study = sys.argv[1]
results = json.load(open(study + "/results.json"))
config = results["phases"][0]["configs"][0]
folders = [t["folder"] for t in config["trials"]]
assert folders == ["baseline/baseline-s1", "baseline/baseline-s2", "baseline/baseline-s3"], folders
rows = [{r["id"]: r for r in csv.DictReader(open(f"{study}/{f}/predictions.csv"))} for f in folders]
part = lambda r, name: sorted(i for i, row in r.items() if row["split"] == name)
tests = [part(r, "test") for r in rows]
assert tests[0] and tests[0] == tests[1] == tests[2], tests
for r in rows:
    assert not set(tests[0]) & (set(part(r, "train")) | set(part(r, "valid"))), "a test row is trained or validated on"
assert part(rows[0], "valid") != part(rows[1], "valid") != part(rows[2], "valid"), "the seeds' valid sets are equal"
assert part(rows[0], "train") != part(rows[1], "train"), "the seeds' train sets are equal"
assert "test_seed = 7" in open(f"{study}/{folders[0]}/config.toml").read()
# The ensemble: the mean of the seeds' test probabilities, scored (accuracy, weighted F1).
e = config["test_ensemble"]
assert e["unavailable"] is None and e["trials"] == folders and e["seeds"] == [1, 2, 3], e
labels = results["labels"]
mean = {i: [sum(float(r[i]["p_" + l]) for r in rows) / 3 for l in labels] for i in tests[0]}
truth = {i: rows[0][i]["label"] for i in tests[0]}
pred = {i: labels[max(range(len(labels)), key=lambda c: (p[c], -c))] for i, p in mean.items()}
assert e["samples"] == len(tests[0])
assert abs(e["accuracy"] - sum(pred[i] == truth[i] for i in tests[0]) / len(tests[0])) < 1e-9, e
f1 = {}
for l in labels:
    tp = sum(pred[i] == l == truth[i] for i in tests[0])
    p_n, t_n = sum(v == l for v in pred.values()), sum(v == l for v in truth.values())
    prec, rec = (tp / p_n if p_n else 0), (tp / t_n if t_n else 0)
    f1[l] = 2 * prec * rec / (prec + rec) if prec + rec else 0
assert all(abs(e["per_class_f1"][l] - f1[l]) < 1e-9 for l in labels), (e, f1)
weighted = sum(f1[l] * sum(v == l for v in truth.values()) for l in labels) / len(tests[0])
assert abs(e["weighted_f1"] - weighted) < 1e-9, (e, weighted)
PY
passed=$((passed + 1))
grep -q "^Seed ensemble of the incumbent (seeds 1, 2, 3, their test probabilities averaged, [0-9]* test rows): test weighted F1 [0-9.]* (seeds [0-9.]* ± [0-9.]*)" $ens/report.md ||
  fail "report.md does not show the incumbent's seed ensemble: $(grep -i ensemble $ens/report.md)"
grep -q "^| baseline | baseline | seeds 1, 2, 3 | [0-9.]* ± [0-9.]* | [0-9.]* |" $ens/report.md ||
  fail "report.md's ensemble table lacks the baseline row"
grep -q '<p class="ensemble">Seed ensemble of the incumbent (seeds 1, 2, 3, ' $ens/report.html ||
  fail "report.html does not show the incumbent's seed ensemble"

# msa predict with the study folder: the mean of the three seeds' probabilities.
expect_exit 0 "$MSA" predict --run $ens --input demo/test_without_label.txt --output ens.csv --probabilities
expect_contains "$ERR" "averaging the class probabilities of 3 models: the final incumbent's configuration baseline (phase baseline): 3 finished seeds"
expect_contains "$ERR" "/$ens/baseline/baseline-s3 (seed 3, fusion concat, labels negative, neutral, positive)"
python3 - $ens ens.csv <<'PY' || fail "the ensemble's labels are not the mean of its seeds' probabilities"
import csv, json, sys
study, out = sys.argv[1], sys.argv[2]
folders = [f"baseline/baseline-s{s}" for s in (1, 2, 3)]
rows = [{r["id"]: r for r in csv.DictReader(open(f"{study}/{f}/predictions.csv"))} for f in folders]
labels = ["negative", "neutral", "positive"]
probs = list(csv.DictReader(open(out + ".probabilities.csv")))
tags = list(csv.DictReader(open(out)))
assert len(probs) == len(tags) == 12
differs = 0
for p, t in zip(probs, tags):
    mean = [sum(float(r[p["guid"]]["p_" + l]) for r in rows) / 3 for l in labels]
    assert all(abs(float(p["p_" + l]) - m) < 1e-5 for l, m in zip(labels, mean)), (p, mean)
    assert t["tag"] == p["predicted"] == labels[mean.index(max(mean))], (t, p, mean)
    differs += any(t["tag"] != r[p["guid"]]["predicted"] for r in rows)
models = json.load(open(out + ".models.json"))
assert models["combine"] == "mean of the models' class probabilities", models
assert [m["seed"] for m in models["models"]] == [1, 2, 3], models
assert [m["folder"].split("/", )[-2:] for m in models["models"]] == [f.split("/") for f in folders], models
assert models["left_out"] == []
print(f"ensemble: {differs} of {len(tags)} rows labelled otherwise than by some seed alone")
PY
passed=$((passed + 1))

# --single: the final incumbent alone, exactly as that trial predicted.
best=$(python3 -c "import json; print(json.load(open('$ens/results.json'))['final_incumbent'])")
expect_exit 0 "$MSA" predict --run $ens --input demo/test_without_label.txt --output single.csv --single
expect_contains "$ERR" "one model: the final incumbent $best alone (--single: of the 3 finished seeds of baseline, phase baseline, the best by valid weighted_f1)"
python3 - single.csv $ens/$best/predictions.csv <<'PY' || fail "--single did not label as the final incumbent did"
import csv, json, sys
trial = {r["id"]: r["predicted"] for r in csv.DictReader(open(sys.argv[2]))}
out = list(csv.DictReader(open(sys.argv[1])))
assert out and all(r["tag"] == trial[r["guid"]] for r in out)
models = json.load(open(sys.argv[1] + ".models.json"))
assert models["combine"] == "one model" and len(models["models"]) == 1, models
assert models["models"][0]["folder"].endswith(sys.argv[2].rsplit("/", 2)[-2]), models
PY
passed=$((passed + 1))

# A seed that did not finish is left out and named; one whose model is gone is an error.
cp -r $ens ens-failed
python3 - ens-failed/results.json <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
trial = r["phases"][0]["configs"][0]["trials"][2]
trial["status"], trial["error"] = "failed", "killed by the test"
json.dump(r, open(sys.argv[1], "w"))
PY
expect_exit 0 "$MSA" predict --run ens-failed --input demo/test_without_label.txt --output failed.csv
expect_contains "$ERR" "averaging the class probabilities of 2 models: the final incumbent's configuration baseline (phase baseline): 2 finished seeds"
expect_contains "$ERR" "left out: baseline/baseline-s3 (seed 3): failed (killed by the test)"
grep -q '"left_out": \[' failed.csv.models.json && grep -q 'baseline-s3 (seed 3): failed' failed.csv.models.json ||
  fail "failed.csv.models.json does not record the seed left out"
cp -r $ens ens-broken
other=$(for s in 1 2 3; do [[ baseline/baseline-s$s == "$best" ]] || { echo baseline/baseline-s$s; break; }; done)
rm ens-broken/$other/model.pt
expect_exit 1 "$MSA" predict --run ens-broken --input demo/test_without_label.txt --output broken.csv
expect_contains "$ERR" "ens-broken/$other is not a finished trial folder"
expect_contains "$ERR" "model.pt is missing"
expect_contains "$ERR" "lists $other (seed ${other##*-s}) as a finished seed of the final incumbent's configuration (baseline, phase baseline)"
expect_contains "$ERR" "Predict with the final incumbent alone (--single)"
[[ ! -e broken.csv && ! -e broken.csv.models.json ]] || fail "a failed ensemble prediction wrote its output"
expect_exit 0 "$MSA" predict --run ens-broken --input demo/test_without_label.txt --output broken.csv --single
cmp -s single.csv broken.csv || fail "--single should not need the other seeds' models"

# Without test_seed every seed draws its own test split: the study says so instead of a score,
# and names test_seed; msa predict still averages the seeds.
sed -e '/^test_seed = 7$/d' -e 's/name = "ensemble"/name = "own-splits"/' ensemble.toml >own-splits.toml
expect_exit 0 "$MSA" run own-splits.toml
expect_contains "$ERR" "phase baseline: seed ensemble of the incumbent (3 seeds): not scored: the seeds' test splits differ"
python3 - runs/own-splits/results.json <<'PY' || fail "results.json should say why the ensemble was not scored"
import json, sys
e = json.load(open(sys.argv[1]))["phases"][0]["configs"][0]["test_ensemble"]
assert "test splits differ" in e["unavailable"] and "test_seed" in e["unavailable"] and "weighted_f1" not in e, e
PY
passed=$((passed + 1))
python3 - runs/own-splits/report.md <<'PY' || fail "report.md does not say why the ensemble was not scored"
import sys
lines = [l for l in open(sys.argv[1]) if l.startswith("Seed ensemble of the incumbent")]
assert len(lines) == 1 and lines[0].startswith("Seed ensemble of the incumbent (seeds 1, 2, 3): not scored: the seeds' "
                                               "test splits differ"), lines
assert r"set \[split\] test\_seed so that every seed is tested on the same rows" in lines[0], lines
PY
passed=$((passed + 1))
! grep -q "test_seed" runs/own-splits/baseline/baseline-s1/config.toml || fail "config.toml names a test_seed that was not set"
expect_exit 0 "$MSA" predict --run runs/own-splits --input demo/test_without_label.txt --output own.csv
expect_contains "$ERR" "averaging the class probabilities of 3 models"

# Folders that are no finished trial, lists that are not guid,tag lists, the input as output.
expect_exit 1 "$MSA" predict --run runs --input demo/test_without_label.txt --output x.csv
expect_contains "$ERR" "runs is neither a trial folder"
cp -r $run unfinished && rm unfinished/model.pt
expect_exit 1 "$MSA" predict --run unfinished --input demo/test_without_label.txt --output x.csv
expect_contains "$ERR" "unfinished is not a finished trial folder"
expect_contains "$ERR" "model.pt is missing"
printf 'id,label\n1,null\n' >wrong-header.txt
expect_exit 1 "$MSA" predict --run $run --input wrong-header.txt --output x.csv
expect_contains "$ERR" "wrong-header.txt:1: the header is 'id,label'; expected 'guid,tag'"
expect_exit 1 "$MSA" predict --run $run --input no-such-list.txt --output x.csv
expect_contains "$ERR" "no-such-list.txt: list file not found"
cp demo/test_without_label.txt copy.txt
expect_exit 1 "$MSA" predict --run $run --input copy.txt --output copy.txt
expect_contains "$ERR" "is the input list"
expect_exit 2 "$MSA" predict --run $run --input copy.txt

# --dataset: posts from another folder in the model's format (data/ alone in the guid-tag
# layout), encoded afresh into a temporary store, never the model's: four of the demo's
# unlabelled posts copied there are labelled as the model labels them in its own dataset; one
# of them rewritten under the same id gets new features; nothing is left behind.
mkdir -p newposts/data scratch
{ echo guid,tag; sed -n 2,5p demo/test_without_label.txt; } >newposts/list.txt
for guid in $(tail -n +2 newposts/list.txt | cut -d, -f1); do cp demo/data/"$guid".* newposts/data/; done
store_before=$(md5sum <store.h5)
expect_exit 0 env TMPDIR="$PWD/scratch" "$MSA" predict --run $run --dataset newposts --input newposts/list.txt \
  --output new.csv --probabilities
expect_contains "$ERR" "posts from $PWD/newposts (guid-tag, the model's [dataset] settings), encoded afresh"
expect_contains "$ERR" "0 from the store, 4 encoded"
rewritten=$(sed -n 2p newposts/list.txt | cut -d, -f1)
echo "awful awful day, everything went wrong and I hate it" >newposts/data/"$rewritten".txt
expect_exit 0 env TMPDIR="$PWD/scratch" "$MSA" predict --run $run --dataset newposts --input newposts/list.txt \
  --output rewritten.csv --probabilities
python3 - labels.csv.probabilities.csv new.csv.probabilities.csv rewritten.csv.probabilities.csv "$rewritten" \
  new.csv.models.json "$PWD/newposts" <<'PY' || fail "--dataset did not label the copied posts as the model's own dataset"
import csv, json, sys
own = {r["guid"]: r for r in csv.DictReader(open(sys.argv[1]))}
new = list(csv.DictReader(open(sys.argv[2])))
rewritten = {r["guid"]: r for r in csv.DictReader(open(sys.argv[3]))}
assert len(new) == 4, new
for r in new:
    same = [abs(float(r[k]) - float(own[r["guid"]][k])) < 1e-6 for k in ("p_negative", "p_neutral", "p_positive")]
    assert all(same), (r, own[r["guid"]])
    changed = any(abs(float(r[k]) - float(rewritten[r["guid"]][k])) > 1e-4 for k in ("p_negative", "p_neutral", "p_positive"))
    assert changed == (r["guid"] == sys.argv[4]), (r, rewritten[r["guid"]])
assert json.load(open(sys.argv[5]))["dataset"] == sys.argv[6]
PY
passed=$((passed + 1))
[[ $(md5sum <store.h5) == "$store_before" ]] || fail "--dataset wrote to the model's store"
[[ -z $(ls scratch) ]] || fail "--dataset left its temporary features behind: $(ls scratch)"
printf 'guid,tag\n%s\n' "77777,null" >newposts/unknown.txt
expect_exit 3 "$MSA" predict --run $run --dataset newposts --input newposts/unknown.txt --output unknown.csv
expect_contains "$ERR" "newposts/unknown.txt:2: sample '77777': no sample '77777' in the dataset $PWD/newposts: it has no train.txt, and data/77777.jpg and data/77777.txt do not exist"
expect_exit 1 "$MSA" predict --run $run --dataset no-such-folder --input newposts/list.txt --output x.csv
expect_contains "$ERR" "--dataset no-such-folder does not exist; expected a dataset in the model's format (guid-tag"

# A fine-tuned top reads prefix features, which --dataset encodes too: the tiny BERT's top
# layer (lib.sh) labels the copied posts as it labels them in its own dataset.
tiny_bert tiny-bert
cat >tuned.toml <<TOML
include = ["demo.toml"]
name = "tuned"
[encoders.text]
plugin = "hf-text"
checkpoint = "tiny-bert"
max_length = 16
trainable_layers = 1
cached_prefix = true
[train]
epochs = 2
TOML
expect_exit 0 "$MSA" trial tuned.toml
sed -n 1,5p demo/test_without_label.txt >own-four.txt
expect_exit 0 "$MSA" predict --run runs/tuned --input own-four.txt --output tuned-own.csv --probabilities
cp demo/data/"$rewritten".txt newposts/data/
expect_exit 0 "$MSA" predict --run runs/tuned --dataset newposts --input newposts/list.txt --output tuned-new.csv \
  --probabilities
expect_contains "$ERR" "text prefix features (hf-text"
cmp -s tuned-own.csv.probabilities.csv tuned-new.csv.probabilities.csv ||
  fail "the fine-tuned model labels the copied posts otherwise: $(diff tuned-own.csv.probabilities.csv tuned-new.csv.probabilities.csv)"

# mvsa-ecnu: GB18030 texts, 511 unlabelled rows, and a pair in data/ that no list names.
shared="${MSA_SHARED_DIR:-$MSA_SOURCE_DIR/../shared}/data/mvsa-ecnu"
if [[ -d $shared ]]; then
  mvsa_manifest mvsa.toml "$shared" 3
  expect_exit 0 "$MSA" trial mvsa.toml
  expect_exit 0 "$MSA" predict --run runs/mvsa --input "$shared/test_without_label.txt" --output mvsa-labels.csv
  expect_contains "$ERR" "predicted all 511 rows of $shared/test_without_label.txt"
  python3 - "$shared/test_without_label.txt" mvsa-labels.csv runs/mvsa/predictions.csv <<'PY' ||
import csv, sys
listed = [r["guid"] for r in csv.DictReader(open(sys.argv[1]))]
out = list(csv.DictReader(open(sys.argv[2])))
trial = {r["id"]: r["predicted"] for r in csv.DictReader(open(sys.argv[3]))}
assert [r["guid"] for r in out] == listed
assert all(r["tag"] == trial[r["guid"]] for r in out)
PY
    fail "mvsa-labels.csv does not match the trial's predictions"
  # Guid 10 has data/10.jpg and data/10.txt but is in neither list.
  printf 'guid,tag\n10,null\n' >unlisted.txt
  expect_exit 0 "$MSA" predict --run runs/mvsa --input unlisted.txt --output unlisted-labels.csv
  expect_contains "$ERR" "0 from the store, 1 encoded"
  [[ $(tail -1 unlisted-labels.csv) =~ ^10,(negative|neutral|positive)$ ]] || fail "guid 10 was not predicted"
else
  echo "skipped the mvsa-ecnu predictions: $shared is absent"
fi
done_ok
