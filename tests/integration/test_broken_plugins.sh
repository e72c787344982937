# Broken libraries on MSA_PLUGIN_PATH: each reported with path and reason, the rest load,
# and a manifest's plugin_paths reach a plugin that the path does not.
source "$(dirname "$0")/lib.sh"

MSA_PLUGIN_PATH="$MSA_BROKEN_PLUGIN_DIR" expect_exit 0 "$MSA" plugins --json
python3 - "$WORK/stdout" "$MSA_BROKEN_PLUGIN_DIR" <<'PY' || fail "load failures not reported as expected"
import json, sys
doc, folder = json.load(open(sys.argv[1])), sys.argv[2]
reasons = {f["library"].rsplit("/", 1)[1]: f["reason"] for f in doc["load_failures"]}
expect = {
    "no_entry_symbol.so": "no entry symbol",
    "wrong_abi_major.so": "incompatible SDK ABI",
    "newer_abi_minor.so": "newer SDK",
    "wrong_torch_version.so": "LibTorch mismatch",
    "wrong_cxx_abi.so": "C++ ABI mismatch",
    "not_a_library.so": "not a loadable shared library",
    "unresolved_symbol.so": "undefined symbol: _Z24function_defined_nowherev",
    "throwing_registration.so": "registration failed",
    "duplicate_name.so": "already registered by",
}
for lib, text in expect.items():
    assert text in reasons.get(lib, ""), (lib, reasons.get(lib))
names = {(p["kind"], p["name"]) for p in doc["plugins"]}
assert ("sampler", "first-only") in names and ("fusion", "concat") in names, names
assert ("sampler", "throws-on-create") in names
assert ("sampler", "half-registered") not in names
PY
MSA_PLUGIN_PATH="$MSA_BROKEN_PLUGIN_DIR" expect_exit 0 "$MSA" plugins --kind sampler
expect_contains "$ERR" "warning: plugin library $MSA_BROKEN_PLUGIN_DIR/wrong_abi_major.so: incompatible SDK ABI"

expect_exit 0 "$MSA" demo-data --out "$WORK/data" --samples 30
cat >"$WORK/study.toml" <<TOML
schema_version = 1
plugin_paths = ["$MSA_BROKEN_PLUGIN_DIR/duplicate_name.so"]
sampler = "first-only"
[dataset]
root = "data"
TOML
expect_exit 0 "$MSA" validate "$WORK/study.toml"
expect_contains "$ERR" "sampler 'all' is refused: already registered by"
sed '/plugin_paths/d' "$WORK/study.toml" >"$WORK/without.toml"
expect_exit 1 "$MSA" validate "$WORK/without.toml"
expect_contains "$ERR" "unknown sampler plugin 'first-only'"
done_ok
