# The msa command line: the command list, version, help, plugins --json, validate on good
# and bad files.
source "$(dirname "$0")/lib.sh"

# A bare msa lists the commands, exactly as README's "Commands" section shows them, and
# exits 2 like every usage error.
expect_exit 2 "$MSA"
[[ -z $OUT ]] || fail "the command list belongs on stderr, stdout had: $OUT"
listed=$(grep '^    msa ' <<<"$ERR")
documented=$(sed -n '/^## Commands$/,/^## /p' "$MSA_SOURCE_DIR/README.md" | grep '^    msa ')
[[ $listed == "$documented" ]] || fail "msa's command list and README's Commands section differ:
$(diff <(echo "$documented") <(echo "$listed"))"
# Every subcommand msa --help knows is in the list.
expect_exit 0 "$MSA" --help
for sub in $(sed -n '/^SUBCOMMANDS:/,$p' <<<"$OUT" | awk 'NR > 1 && NF { print $1 }'); do
  grep -q "^    msa $sub " <<<"$listed" || fail "msa --help lists '$sub', the command list does not"
done

expect_exit 0 "$MSA" version
expect_contains "$OUT" "SDK ABI 4.4"
expect_contains "$OUT" "LibTorch 1.13"
expect_contains "$OUT" "build type Release"
# jemalloc (scripts/setup installs it), keeping freed pages: see host/util/heap_policy.cpp.
# (Not under the sanitizers, which bring their own allocator.)
if [[ $OUT != *"Sanitizer"* ]]; then
  expect_contains "$OUT" "allocator jemalloc"
  expect_contains "$OUT" "(keeps freed pages)"
fi
# The CPU as the kernel reports it, and what dtype = "auto" picks on it.
expect_contains "$OUT" "cpu $(grep -m1 '^model name' /proc/cpuinfo | sed 's/^model name[[:space:]]*: //')"
if grep -qwE 'avx512_bf16|amx_bf16' /proc/cpuinfo; then auto=bfloat16; else auto=float32; fi
expect_contains "$OUT" "dtype = \"auto\" computes in $auto)"
expect_contains "$OUT" "(affinity $(nproc), cgroup quota "
# Usable cores follow the affinity mask: threads = 0 means these, not LibTorch's default of one.
if command -v taskset >/dev/null; then
  expect_exit 0 taskset -c 0 "$MSA" version
  expect_contains "$OUT" "cores 1 (affinity 1,"
fi

expect_exit 0 "$MSA" --help
for sub in plugins validate version demo-data predict; do
  expect_exit 0 "$MSA" "$sub" --help
done
expect_exit 2 "$MSA" no-such-command
expect_exit 2 "$MSA" validate

# Every kind is present, and each plugin carries its parameter table.
expect_exit 0 "$MSA" plugins --json
python3 - "$WORK/stdout" <<'PY' || fail "plugins --json is incomplete"
import json, sys
doc = json.load(open(sys.argv[1]))
kinds = {p["kind"] for p in doc["plugins"]}
assert kinds == {"encoder", "fusion", "loss", "sampler", "augmenter", "prompt"}, kinds
concat = next(p for p in doc["plugins"] if p["name"] == "concat")
hidden = next(q for q in concat["params"] if q["name"] == "hidden")
assert hidden["type"] == "int" and hidden["default"] == 256 and hidden["min"] == 0, hidden
assert concat["library"].endswith("msa-fusion-concat.so")
assert doc["load_failures"] == [], doc["load_failures"]
PY
expect_exit 0 "$MSA" plugins --kind loss
expect_contains "$OUT" "loss cross-entropy"
[[ $OUT != *"fusion concat"* ]] || fail "--kind loss listed a fusion"
expect_exit 2 "$MSA" plugins --kind colour

expect_exit 0 "$MSA" demo-data --out "$WORK/data" --samples 30
cat >"$WORK/good.toml" <<'TOML'
schema_version = 1
name = "cli-check"
[dataset]
format = "guid-tag"
root = "data"
[encoders.text]
plugin = "hashed-ngram"
dim = 128
[fusion]
plugin = "concat"
TOML
expect_exit 0 "$MSA" validate "$WORK/good.toml"
expect_contains "$OUT" "valid study 'cli-check'"
expect_contains "$OUT" "dataset $WORK/data: 33 samples (30 labelled, 3 unlabelled)"

# A study: how many trials each phase runs at most, and why a phase will be skipped.
cat "$WORK/good.toml" - >"$WORK/phases.toml" <<'TOML'
[[phase]]
name = "baseline"
seeds = [1, 2]
[[phase]]
name = "architecture"
from = "baseline"
seeds = [1, 2]
sweep.fusion = ["concat", "text-only", { plugin = "concat", hidden = 64 }]
[[phase]]
name = "clip"
kind = "clip"
from = "architecture"
clip = "no-clip-here"
TOML
expect_exit 0 "$MSA" validate "$WORK/phases.toml"
expect_contains "$OUT" "trials at most (fewer where a sweep point repeats its incumbent or a model folder is absent): baseline 2, architecture 6 (3 configurations); 8 in all"
expect_contains "$OUT" "phase clip: skipped: CLIP checkpoint folder $WORK/no-clip-here does not exist"

# A misspelled key: file:line, the suggestion, exit 1.
sed 's/^\[fusion\]/[fusoin]/' "$WORK/good.toml" >"$WORK/typo.toml"
expect_exit 1 "$MSA" validate "$WORK/typo.toml"
expect_contains "$ERR" "$WORK/typo.toml:9:2: error: unknown key 'fusoin' (did you mean 'fusion'?)"

sed 's/^dim = 128/dimm = 128/' "$WORK/good.toml" >"$WORK/param.toml"
expect_exit 1 "$MSA" validate "$WORK/param.toml"
expect_contains "$ERR" "$WORK/param.toml:8:1: error: unknown parameter 'encoders.text.dimm'"
expect_contains "$ERR" "(did you mean 'dim'?)"

expect_exit 1 "$MSA" validate "$WORK/absent.toml"
expect_contains "$ERR" "manifest not found: $WORK/absent.toml"

# The shipped experiments on mvsa-ecnu validate wherever the shared dataset is present.
if [[ -d "$MSA_SOURCE_DIR/../shared/data/mvsa-ecnu" ]]; then
  for study in mvsa-ecnu mvsa-ecnu-fine-tuning; do
    expect_exit 0 "$MSA" validate "$MSA_SOURCE_DIR/experiments/$study.toml"
  done
else
  echo "skipped: experiments/mvsa-ecnu*.toml need ../shared/data/mvsa-ecnu beside the checkout"
fi
done_ok
