# Distillation in a study on the demo data: a text teacher phase, then a distill phase
# whose image-only students learn from the teacher's confident labels of the dataset's
# unlabelled posts and of an extra pool (its posts with a validation or test id left out
# and counted), over two self-training rounds, beside the same student on the gold labels.
# msa validate refuses a threshold outside [0, 1], a pool that does not exist, a teacher
# folder that is not a finished trial and a teacher with other labels.
source "$(dirname "$0")/lib.sh"
cd "$WORK"

"$MSA" demo-data --out demo --samples 200 --unlabelled 150 --size 32 >/dev/null
"$MSA" demo-data --out extra --samples 40 --unlabelled 60 --size 32 --seed 9 >/dev/null
{
  demo_study distill 5 256
  cat <<TOML
[fusion]
plugin = "text-only"
[train]
epochs = 20
learning_rate = 0.01
patience = 0

[[phase]]
name = "teacher"
seeds = [1, 2]

[[phase]]
name = "students"
kind = "distill"
from = "teacher"
seeds = [1, 2]
set.fusion = "image-only"
set.distill.rounds = 2
set.distill.targets = "soft"
set.distill.temperature = 2.0
set.distill.pool = [{ root = "extra" }]
sweep."distill.threshold" = [0.4, 0.6]
TOML
} >study.toml
expect_exit 0 "$MSA" validate study.toml
expect_exit 0 "$MSA" run study.toml --jobs 2
expect_contains "$ERR" "[students 6/6]"
# The extra pool is encoded once, before the trials (which then find it in the store).
expect_contains "$ERR" "features image of pool 1 (hf-vit): 0 from the store, 100 encoded"
study=runs/distill
python3 - "$study" <<'PY'
import csv, json, sys
study = sys.argv[1]
results = json.load(open(f"{study}/results.json"))
teacher, students = results["phases"]
assert students["kind"] == "distill" and students["status"] == "complete", students["status"]
labels = [c["label"] for c in students["configs"]]
assert labels == ["gold labels", "distill.threshold=0.4", "distill.threshold=0.6"], labels
demo_ids = {r["guid"] for r in csv.DictReader(open("demo/train.txt"))}
for config in students["configs"]:
    for trial in config["trials"]:
        folder = f"{study}/{trial['folder']}"
        metrics = json.load(open(f"{folder}/metrics.json"))
        assert metrics["status"] == "ok", metrics
        config_toml = open(f"{folder}/config.toml").read()
        if config["label"] == "gold labels":
            assert "distill" not in metrics and "[distill]" not in config_toml, "the gold student has no teacher"
            continue
        d = metrics["distill"]
        # Each seed's student learns from that seed's teacher.
        assert d["teacher"].endswith(f"teacher/teacher-s{trial['seed']}"), d["teacher"]
        assert d["unlabelled"] == 150
        pool = d["pools"][0]
        assert pool["read"] == 100 and pool["held_out_removed"] > 0, pool
        assert d["pool"] == 150 + 100 - pool["held_out_removed"], d
        assert [r["round"] for r in d["rounds"]] == [1, 2], d["rounds"]
        assert d["rounds"][1]["labelled_by"] == "student of round 1"
        kept = sum(d["rounds"][-1]["kept"])
        assert 0 < kept <= d["pool"] and metrics["train_rows"] == kept, (kept, metrics["train_rows"])
        assert 0 <= d["teacher_valid"]["coverage"] <= 1 and d["teacher_valid"]["rows"] == 40, d["teacher_valid"]
        rows = list(csv.DictReader(open(f"{folder}/predictions.csv")))
        pooled = [r for r in rows if r["split"] == "pool"]
        assert len(pooled) == pool["read"] - pool["held_out_removed"], len(pooled)
        assert all(r["id"].startswith("pool1/") for r in pooled)
        # No post of the extra pool carries a validation or test id of the dataset.
        held = {r["id"] for r in rows if r["split"] in ("valid", "test")}
        assert not held & {r["id"][len("pool1/"):] for r in pooled}
PY
passed=$((passed + 1))
report=$(cat $study/report.md)
expect_contains "$report" "| gold labels |"
expect_contains "$report" "Distillation:"
expect_contains "$report" "| student | pool | kept negative | kept neutral | kept positive | teacher coverage |"
python3 - "$study/results.json" <<'PY' || fail "results.json lacks the students' distillation summary"
import json, sys
configs = json.load(open(sys.argv[1]))["phases"][1]["configs"]
assert "distill" not in configs[0], "the gold-label student has no teacher"
for c in configs[1:]:
    d = c["distill"]
    assert d["pool"] > 0 and set(d["kept"]) == {"negative", "neutral", "positive"} and 0 <= d["teacher_coverage"] <= 1, d
PY

# Bad [distill] settings, found before anything runs.

sed -i 's/^sweep."distill.threshold" = .*/sweep."distill.threshold" = [0.4, 1.5]/' study.toml
expect_exit 1 "$MSA" validate study.toml
expect_contains "$ERR" "'distill.threshold'"
sed -i 's/^sweep."distill.threshold" = .*/sweep."distill.threshold" = [0.4]/; s/root = "extra"/root = "nowhere"/' study.toml
expect_exit 1 "$MSA" validate study.toml
expect_contains "$ERR" "distill.pool root not found"
sed -i 's/root = "nowhere"/root = "extra"/; s/^from = "teacher"$/teacher = "demo"/' study.toml
expect_exit 1 "$MSA" validate study.toml
expect_contains "$ERR" "[distill] teacher"
expect_contains "$ERR" "config.toml"
# A teacher trained on other labels.
sed -i "s|^teacher = \"demo\"|teacher = \"$study/teacher/teacher-s1\"|" study.toml
sed -i 's/^labels = .*//' "$study/teacher/teacher-s1/config.toml"
python3 - "$study/teacher/teacher-s1/config.toml" <<'PY'
import sys
path = sys.argv[1]
text = open(path).read().replace("[dataset]\n", '[dataset]\nlabels = ["negative", "positive", "neutral"]\n', 1)
open(path, "w").write(text)
PY
expect_exit 1 "$MSA" validate study.toml
expect_contains "$ERR" "the teacher's labels must be the study's, in the same order"

done_ok
