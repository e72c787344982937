# msa run with a few-shot phase: every k × draw × configuration runs on the demo data;
# the sampler is told k, each trial validates on k per class drawn from the train split
# (never the validation split) and is tested on the one test split; k = 0 is one
# zero-shot trial by label descriptions; results.json records each point's k and the
# reports draw the learning curves. A sampler that cannot draw k
# per class fails its trials with the reason; a study without test_seed is refused.
source "$(dirname "$0")/lib.sh"
cd "$WORK"

"$MSA" demo-data --out demo --samples 240 --size 32 >/dev/null
{
  demo_study fewshot 7 256
  cat <<TOML
[fusion]
plugin = "concat"
hidden = 16
[train]
epochs = 4
batch_size = 8
learning_rate = 0.01
patience = 0

[[phase]]
name = "curves"
kind = "few-shot"
shots = [0, 2, 8]
draws = 2
sweep.sampler = ["k-shot", "consistent"]
descriptions.negative = ["sad angry awful day", "a terrible post"]
descriptions.neutral = ["an ordinary post"]
descriptions.positive = ["happy great wonderful day"]
TOML
} >study.toml
expect_exit 0 "$MSA" run study.toml --jobs 2
expect_contains "$ERR" "[curves 10/10]"
study=runs/fewshot
python3 - "$study" <<'PY'
import csv, json, sys
from collections import Counter
study = sys.argv[1]
results = json.load(open(f"{study}/results.json"))
phase = results["phases"][0]
assert phase["kind"] == "few-shot" and phase["status"] == "complete", phase["status"]
assert phase.get("incumbent") is None, "a few-shot phase hands on no incumbent"
points = [(c["label"], c["shots"], len(c["trials"])) for c in phase["configs"]]
assert points == [("sampler=k-shot", 0, 1), ("sampler=k-shot", 2, 2), ("sampler=k-shot", 8, 2),
                  ("sampler=consistent", 0, 1), ("sampler=consistent", 2, 2), ("sampler=consistent", 8, 2)], points
tests = set()
for config in phase["configs"]:
    for trial in config["trials"]:
        folder = f"{study}/{trial['folder']}"
        metrics = json.load(open(f"{folder}/metrics.json"))
        k = config["shots"]
        if k == 0:  # zero-shot: nothing trained, the validation split as it is
            assert metrics["zero_shot"]["descriptions"]["neutral"] == ["an ordinary post"], metrics["zero_shot"]
            assert metrics["parameters"] == {"head": 0, "encoder_top": 0}
            assert 0 < metrics["test"]["weighted_f1"] <= 1
            continue
        assert metrics["few_shot"]["k"] == k and metrics["few_shot"]["valid_rows"] == 3 * k, metrics["few_shot"]
        rows = list(csv.DictReader(open(f"{folder}/predictions.csv")))
        split = Counter(r["split"] for r in rows)
        assert split["valid"] == 3 * k, split
        assert metrics["train_rows"] == 3 * k, metrics["train_rows"]
        tests.add(frozenset(r["id"] for r in rows if r["split"] == "test"))
        valid = [r for r in rows if r["split"] == "valid"]
        if config["label"] == "sampler=k-shot":
            assert Counter(r["label"] for r in valid) == Counter({"negative": k, "neutral": k, "positive": k})
assert len(tests) == 1, "every k and draw is tested on the same rows"
PY
passed=$((passed + 1))
report=$(cat $study/report.md)
expect_contains "$report" "Learning curves, test weighted F1:"
expect_contains "$report" "| configuration | k = 0 (zero-shot) | k = 2 | k = 8 |"
expect_contains "$report" "k = 0: zero-shot"
expect_contains "$report" "over 2 draws"
html=$(cat $study/report.html)
expect_contains "$html" "Learning curves"
expect_contains "$html" "(log scale)"

# A sampler that does not draw k per class fails each trial, saying which would.
sed -i 's/^sweep.sampler = .*/sweep.sampler = ["all"]/; s/^name = "fewshot"$/name = "all"/; s/^shots = .*/shots = [2, 8]/; /^descriptions/d' study.toml
expect_exit 1 "$MSA" run study.toml
error=$(cat runs/all/curves/k2_all-s1/error.txt)
expect_contains "$error" "few-shot trial with k = 2: sampler 'all'"
expect_contains "$error" "not k x 3 classes = 6"
expect_contains "$error" "(k-shot, consistent)"

# One test split for every point, or the study does not start.
sed -i '/^test_seed = 7$/d' study.toml
expect_exit 1 "$MSA" validate study.toml
expect_contains "$ERR" "a few-shot phase compares every k and draw on one test split; set [split] test_seed"

done_ok
