# docs/plugins.md is exactly what the plugins declare: it cannot drift.
source "$(dirname "$0")/lib.sh"
unset MSA_PLUGIN_PATH
expect_exit 0 "$MSA" plugins --markdown
if ! diff -u "$MSA_SOURCE_DIR/docs/plugins.md" "$WORK/stdout"; then
  fail "docs/plugins.md is out of date: run build/bin/msa plugins --markdown > docs/plugins.md"
fi
done_ok
