# msa validate reads the dataset as msa trial and msa run do: a bad sample fails it under
# dataset.on_error = "fail" (exit 1, the list's file:line and the sample's id, as msa
# trial says it), and under "skip" it is listed, counted, and validate exits 0.
source "$(dirname "$0")/lib.sh"
cd "$WORK"

expect_exit 0 "$MSA" demo-data --out data --samples 40
cat >study.toml <<'TOML'
schema_version = 1
name = "validate-data"
output = "runs"
[dataset]
format = "guid-tag"
root = "data"
on_error = "fail"
[encoders.text]
plugin = "hashed-ngram"
dim = 64
[fusion]
plugin = "concat"
TOML
expect_exit 0 "$MSA" validate study.toml
expect_contains "$OUT" "44 samples (40 labelled, 4 unlabelled); 0 skipped, 0 with a warning; split"

# The samples of train.txt's lines 3 and 5: an image cut short, a text gone.
cut_image=$(sed -n 3p data/train.txt | cut -d, -f1)
no_text=$(sed -n 5p data/train.txt | cut -d, -f1)
head -c 300 "data/data/$cut_image.jpg" >cut.jpg
mv cut.jpg "data/data/$cut_image.jpg"
rm "data/data/$no_text.txt"

expect_exit 1 "$MSA" validate study.toml
expect_contains "$ERR" "train.txt:3: sample '$cut_image': image"
expect_contains "$ERR" "truncated"
expect_contains "$ERR" "(and 1 more problem: 1 "
[[ $OUT != *"valid study"* ]] || fail "validate called a study with a bad sample valid: $OUT"
validate_error=$(head -1 <<<"$ERR")
# msa trial stops on the same first problem, in the same words.
expect_exit 1 "$MSA" trial study.toml
expect_contains "$ERR" "$validate_error"

sed -i 's/^on_error = "fail"/on_error = "skip"/' study.toml
expect_exit 0 "$MSA" validate study.toml
expect_contains "$OUT" "valid study 'validate-data'"
expect_contains "$OUT" "42 samples (38 labelled, 4 unlabelled); 2 skipped, 0 with a warning; split"
expect_contains "$ERR" "skipped: "
expect_contains "$ERR" "train.txt:3: sample '$cut_image'"
expect_contains "$ERR" "train.txt:5: sample '$no_text'"
expect_contains "$ERR" "skipped 2 of 44 samples"

# A missing list file is an error under both policies.
mv data/train.txt data/train.txt.away
expect_exit 1 "$MSA" validate study.toml
expect_contains "$ERR" "train.txt"
done_ok
