# msa predict: a demo-data trial labels the demo's unlabelled list as the trial predicted
# it; rows it cannot read (unknown guid, malformed line, missing image) are reported with
# their line and keep their place with an empty tag (exit 3), or stop it under --strict;
# a study folder predicts with its final incumbent; on mvsa-ecnu (when ../shared is
# present) a hashed-ngram trial labels test_without_label.txt and an unlisted pair.
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
