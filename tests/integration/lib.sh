# Helpers for the integration tests: assertions with readable failures. Sourced.
set -euo pipefail
: "${MSA:?MSA must name the msa binary}"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
passed=0

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# expect_exit CODE CMD...: runs CMD, keeps stdout/stderr in $OUT/$ERR, checks the code.
expect_exit() {
  local want=$1
  shift
  local code=0
  "$@" >"$WORK/stdout" 2>"$WORK/stderr" || code=$?
  OUT=$(cat "$WORK/stdout")
  ERR=$(cat "$WORK/stderr")
  [[ $code == "$want" ]] || fail "'$*' exited $code, expected $want
stdout: $OUT
stderr: $ERR"
  passed=$((passed + 1))
}

# expect_contains TEXT NEEDLE
expect_contains() {
  [[ $1 == *"$2"* ]] || fail "expected to find: $2
in: $1"
  passed=$((passed + 1))
}

# mvsa_manifest FILE ROOT EPOCHS: a hashed-ngram trial "mvsa" on the mvsa-ecnu folder ROOT
# (runs/mvsa, store mvsa.h5): the cheap real-data trial of the integration tests. Not
# standardized: hashed n-gram counts are sparse, and scaling each rare n-gram to unit
# variance lets a 5-epoch head memorize them (test accuracy 0.586 against the majority
# class's 0.597 with it, measured; README, [train] standardize).
mvsa_manifest() {
  cat >"$1" <<TOML
schema_version = 1
name = "mvsa"
output = "runs"
[dataset]
root = "$2"
[store]
path = "mvsa.h5"
[encoders.text]
plugin = "hashed-ngram"
[train]
epochs = $3
standardize = false
TOML
}

# demo_study NAME TEST_SEED [TEXT_DIM]: the first tables of a study on the demo data in
# ./demo (demo-data --out demo): seed 1, runs/, one test split drawn with TEST_SEED,
# store.h5, the parity fixtures' tiny ViT for images and, with TEXT_DIM, hashed n-grams
# of that width for texts. The caller appends [train], [fusion] and the phases.
demo_study() {
  cat <<TOML
schema_version = 1
name = "$1"
seed = 1
output = "runs"
[dataset]
root = "demo"
[split]
valid = 0.2
test = 0.2
test_seed = $2
[store]
path = "store.h5"
TOML
  [[ -z ${3:-} ]] || printf '[encoders.text]\nplugin = "hashed-ngram"\ndim = %s\n' "$3"
  printf '[encoders.image]\nplugin = "hf-vit"\ncheckpoint = "%s"\n' "$MSA_SOURCE_DIR/tests/fixtures/parity/vit"
}

# tiny_bert DIR: a checkpoint folder without models/: the tiny BERT of the parity fixtures
# (32 wide, 2 layers) with a WordPiece vocabulary within its 99 token ids.
tiny_bert() {
  mkdir -p "$1"
  cp "$MSA_SOURCE_DIR"/tests/fixtures/parity/bert/{config.json,model.safetensors} "$1"/
  {
    printf '[PAD]\n[UNK]\n[CLS]\n[SEP]\n'
    for c in {a..z}; do printf '%s\n##%s\n' "$c" "$c"; done
    printf '%s\n' today was awful great fine really number
  } >"$1"/vocab.txt
}

# holders GLOB...: the pid and command line of each process with a file matching a GLOB
# open (find -lname). Finds msa run's processes by the files they hold, whatever their
# command line says: workers, a fork server and anything either started.
holders() {
  local patterns=() glob
  for glob; do patterns+=(-o -lname "$glob"); done
  # find fails on the processes it may not read, and on those that end while it looks.
  { find /proc/[0-9]*/fd -maxdepth 1 \( -false "${patterns[@]}" \) -printf '%h\n' 2>/dev/null || true; } |
    cut -d/ -f3 | sort -u | while read -r pid; do echo "$pid $(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null || true)"; done
}

done_ok() { echo "$passed checks passed in $(basename "$0")"; }
