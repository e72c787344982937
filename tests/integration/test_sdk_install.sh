# A plugin author's path: install the SDK, build sdk/examples/hadamard-fusion out of tree
# against it, and load the result through the installed msa.
source "$(dirname "$0")/lib.sh"

cmake --install "$MSA_BINARY_DIR" --prefix "$WORK/prefix" >/dev/null
[[ -f $WORK/prefix/lib/cmake/msa-sdk/msa-sdkConfig.cmake ]] || fail "the SDK's CMake package was not installed"
[[ -f $WORK/prefix/include/msa/plugin.hpp ]] || fail "the SDK headers were not installed"

generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
cp -r "$MSA_SOURCE_DIR/sdk/examples/hadamard-fusion" "$WORK/example"
expect_exit 0 cmake -S "$WORK/example" -B "$WORK/example/build" "${generator[@]}" \
  -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$WORK/prefix"
expect_exit 0 cmake --build "$WORK/example/build"
plugin="$WORK/example/build/hadamard-fusion.so"
[[ -f $plugin ]] || fail "the example did not produce $plugin"

# The installed msa finds its built-in plugins beside itself, and the example on the path.
MSA_PLUGIN_PATH="$WORK/example/build" expect_exit 0 "$WORK/prefix/bin/msa" plugins --json
python3 - "$WORK/stdout" <<'PY' || fail "the out-of-tree plugin was not listed"
import json, sys
doc = json.load(open(sys.argv[1]))
assert doc["load_failures"] == [], doc["load_failures"]
names = {(p["kind"], p["name"]) for p in doc["plugins"]}
assert ("fusion", "hadamard") in names and ("fusion", "concat") in names, names
PY

expect_exit 0 "$MSA" demo-data --out "$WORK/data" --samples 30
cat >"$WORK/study.toml" <<TOML
schema_version = 1
plugin_paths = ["$WORK/example/build"]
[dataset]
root = "data"
[fusion]
plugin = "hadamard"
hidden = 64
TOML
expect_exit 0 "$WORK/prefix/bin/msa" validate "$WORK/study.toml"
sed 's/^hidden = 64/hidden = 0/' "$WORK/study.toml" >"$WORK/bad.toml"
expect_exit 1 "$WORK/prefix/bin/msa" validate "$WORK/bad.toml"
expect_contains "$ERR" "'fusion.hidden': 0 is out of range"
done_ok
