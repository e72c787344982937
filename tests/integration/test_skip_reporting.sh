# Unit tests that lack models/ are reported as skipped, never as passed: with
# MSA_MODELS_DIR an empty folder, msa_tests on a test case that needs models/ prints the
# reason and exits 77 (CTest's SKIP_RETURN_CODE for the unit tests); beside a test case
# that passes it exits 0 and lists the skipped one; a failure is still a failure.
source "$(dirname "$0")/lib.sh"

tests="$MSA_BINARY_DIR/bin/msa_tests"
[[ -x $tests ]] || { echo "skipped: $tests is not built"; exit 77; }
mkdir "$WORK/no-models"
export MSA_MODELS_DIR="$WORK/no-models"
needs_models="the real EfficientNet-Lite0 legacy file equals what torch.load gives"
passes="load_checkpoint takes pytorch_model.bin and a single .pth"

expect_exit 77 "$tests" "$needs_models"
expect_contains "$OUT" "skipped: "
expect_contains "$OUT" "1 test case skipped:
  $needs_models: \"$WORK/no-models/efficientnet-lite0/efficientnet-lite0-57934424.pth\" is absent"

expect_exit 0 "$tests" "$needs_models,$passes"
expect_contains "$OUT" "1 test case skipped:
  $needs_models: "

# -w NoAssertions fails a test case without assertions, as a skipped one is: exit 1, not 77.
expect_exit 1 "$tests" -w NoAssertions "$needs_models"
expect_contains "$OUT" "1 test case skipped:"
done_ok
