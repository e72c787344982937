# The feature store under real processes: writers SIGKILLed at random moments, two
# writers on one key and on two keys at once, a reader while they write. Every value is
# a function of its id (tests/tools/store_tool.cpp), so each check reads every stored
# row and compares it, and every batch a writer reported committed must be there.
source "$(dirname "$0")/lib.sh"
TOOL=$(dirname "$MSA")/msa_store_tool
[[ -x $TOOL ]] || fail "msa_store_tool not built beside $MSA"
deadline=$((SECONDS + 120))

# --- 1. SIGKILL at random moments, 10 times, each run resuming the previous ones' work.
store=$WORK/killed.h5
shape=(--dim 64 --length 6 --token-dim 16 --dtype float16 --batch 16)
: >"$WORK/committed"
kills=0
torn=0 # kills that left a journal: the writer died inside an append's writes
for round in $(seq 1 10); do
  delay=$((RANDOM % 3)) # 0: always inside an append; otherwise also between appends
  "$TOOL" write "$store" --count 100000 "${shape[@]}" --delay-ms "$delay" >"$WORK/out.$round" 2>&1 &
  pid=$!
  # Wait for its first commit (process start is slow), then let it run a random while.
  for _ in $(seq 1 200); do
    grep -q '^committed' "$WORK/out.$round" 2>/dev/null && break
    sleep 0.05
  done
  sleep "0.$((RANDOM % 400 + 50))"
  kill -KILL "$pid"
  code=0
  wait "$pid" 2>/dev/null || code=$?
  [[ $code == 137 ]] || fail "round $round: the writer exited $code before it was killed: $(cat "$WORK/out.$round")"
  kills=$((kills + 1))
  [[ -f $store.journal ]] && torn=$((torn + 1))
  grep '^committed' "$WORK/out.$round" >>"$WORK/committed" || true
  expect_exit 0 "$TOOL" check "$store" --committed "$WORK/committed"
  ((SECONDS < deadline)) || fail "the kill loop took too long"
done
batches=$(wc -l <"$WORK/committed")
((batches >= 10)) || fail "only $batches batches were committed in $kills runs"
expect_contains "$OUT" "ok:"
echo "random kills: $kills ($torn inside an append's writes), batches committed: $batches, $OUT"

# --- 2. Two writers on the same key and the same ids, batches of different sizes: no id
#        is stored twice, none is lost.
# Both should write (the lock is taken per append, not per run); on a loaded machine one
# may finish before the other starts, so that part gets three tries.
for attempt in 1 2 3; do
  store=$WORK/same-$attempt.h5
  "$TOOL" write "$store" --count 3000 --batch 50 --dim 32 >"$WORK/a.out" 2>&1 &
  a=$!
  "$TOOL" write "$store" --count 3000 --batch 37 --dim 32 >"$WORK/b.out" 2>&1 &
  b=$!
  wait "$a" || fail "writer a failed: $(tail -3 "$WORK/a.out")"
  wait "$b" || fail "writer b failed: $(tail -3 "$WORK/b.out")"
  cat "$WORK/a.out" "$WORK/b.out" >"$WORK/both"
  expect_exit 0 "$TOOL" check "$store" --committed "$WORK/both" --expect-count 3000
  [[ $(grep -c '^committed' "$WORK/a.out") -gt 0 && $(grep -c '^committed' "$WORK/b.out") -gt 0 ]] && break
  # flock is not fair: a writer that re-locks at once may starve the other. Correctness
  # (checked above) does not depend on it, so this is reported, not failed.
  ((attempt < 3)) || echo "warning: one writer did all the work in 3 tries; the appends did not interleave"
done
echo "same key: a committed $(grep -c '^committed' "$WORK/a.out") batches, b $(grep -c '^committed' "$WORK/b.out")"

# --- 3. Two writers on two keys, a reader checking all the while, one writer killed.
store=$WORK/two.h5
"$TOOL" write "$store" --plugin text-enc --count 2000 --batch 40 --dim 48 >"$WORK/t.out" 2>&1 &
t=$!
"$TOOL" write "$store" --plugin image-enc --count 100000 --batch 8 --dim 24 --length 4 --token-dim 8 >"$WORK/i.out" 2>&1 &
i=$!
for _ in $(seq 1 6); do
  sleep 0.3
  [[ -f $store ]] && expect_exit 0 "$TOOL" check "$store" --plugin text-enc
done
kill -KILL "$i"
wait "$i" 2>/dev/null || true
wait "$t" || fail "the text writer failed: $(tail -3 "$WORK/t.out")"
expect_exit 0 "$TOOL" check "$store" --plugin text-enc --committed "$WORK/t.out" --expect-count 2000
expect_exit 0 "$TOOL" check "$store" --plugin image-enc --committed "$WORK/i.out"
echo "two keys: $OUT"

done_ok
