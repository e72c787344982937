# msa report: writes report.md and report.html from tests/fixtures/report-study, with
# clear errors for a missing or malformed results.json; then headless Chromium parses
# report.html (every chart is an <svg> element in the DOM, labels stay text) and draws it
# (a screenshot holds the charts' colours). Exits 77 (skipped) without Chromium.
source "$(dirname "$0")/lib.sh"
cd "$WORK"

cp -r "$MSA_SOURCE_DIR/tests/fixtures/report-study" study
expect_exit 0 "$MSA" report study
expect_contains "$OUT" "report: study/report.md"
expect_contains "$OUT" "report: study/report.html"
[[ -z $ERR ]] || fail "no warnings expected for the fixture, got: $ERR"
grep -qx '# Study report-fixture' study/report.md || fail "report.md lacks its title"
grep -q '^| architecture | train | baseline | complete | 3 | 5/6 | fusion=gated | 0.712 ± 0.010 |' study/report.md ||
  fail "report.md lacks the architecture row of the phase table"

# Errors name the file and what is wrong; usage errors exit 2.
expect_exit 1 "$MSA" report absent
expect_contains "$ERR" "msa: absent is not a folder"
mkdir empty
expect_exit 1 "$MSA" report empty
expect_contains "$ERR" "msa: empty/results.json not found: \`msa run\` writes it"
mkdir bad
echo '{"study": "s", "labels": ["a"], "status": "complete", "phases": [{"name": "p"' >bad/results.json
expect_exit 1 "$MSA" report bad
expect_contains "$ERR" "msa: bad/results.json: not valid JSON: parse error at line 2"
echo '{"study": "s", "labels": "a", "status": "complete", "phases": []}' >bad/results.json
expect_exit 1 "$MSA" report bad
expect_contains "$ERR" "msa: bad/results.json: labels: expected an array, found a string"
expect_exit 2 "$MSA" report
# A trial file that cannot be read is a warning; the reports are still written.
echo 'epoch,train_loss' >study/baseline/concat-s1/history.csv
expect_exit 0 "$MSA" report study
expect_contains "$ERR" "warning: study/baseline/concat-s1/history.csv:1: no column 'valid_loss'"
cp "$MSA_SOURCE_DIR/tests/fixtures/report-study/baseline/concat-s1/history.csv" study/baseline/concat-s1/
expect_exit 0 "$MSA" report study

chromium=$(command -v chromium || command -v chromium-browser || true)
if [[ -z $chromium ]]; then
  echo "$passed checks passed; skipped the rendering checks: chromium is absent (scripts/setup installs it)"
  exit 77
fi
page="file://$WORK/study/report.html"
browse() { timeout 120 "$chromium" --headless=new --no-sandbox --disable-gpu --hide-scrollbars \
  --user-data-dir="$WORK/chromium-profile" "$@" 2>>"$WORK/chromium.log"; }

# Parsed: the DOM holds the nine charts (evolution, per-class bars, ablation radar, two
# confusion matrices, two training charts for each of two phases), and <b>&" is text.
browse --dump-dom "$page" >dom.html || fail "chromium --dump-dom failed: $(tail -5 "$WORK/chromium.log")"
svgs=$(grep -o '<svg ' dom.html | wc -l)
[[ $svgs == 9 ]] || fail "expected 9 <svg> charts in the parsed page, found $svgs"
for title in "Evolution of the incumbents" "Per-class test F1" "ablation: test metrics" "Confusion matrix: architecture/gated-s2, test split" \
  "architecture (fusion=gated): loss"; do
  grep -q "<title>$title" dom.html || fail "the parsed page lacks the chart '$title'"
done
grep -q '<td>fusion=&lt;b&gt;&amp;"</td>' dom.html || fail "the label <b>&\" is not shown as text"
! grep -q '<b>' dom.html || fail "the label <b>&\" became a <b> element"
passed=$((passed + 5))

# Drawn: a screenshot of the page's top (header, phase table, charts) holds the charts'
# colours (the first two series colours, the heat maps' dark cells), not only text.
browse --window-size=1400,2600 --screenshot="$WORK/shot.png" "$page" >/dev/null ||
  fail "chromium --screenshot failed: $(tail -5 "$WORK/chromium.log")"
python3 - "$WORK/shot.png" <<'PY' || fail "the screenshot does not show the charts (see above)"
import struct, sys, zlib

def read_png(path):
    """8-bit RGB or RGBA PNG → (width, height, channels, rows of bytes)."""
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat = 8, b""
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and colour in (2, 6) and interlace == 0, f"unsupported PNG {depth}/{colour}/{interlace}"
            channels = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw, stride, rows, prev = zlib.decompress(idat), width * channels, [], bytearray(width * channels)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - channels] if i >= channels else 0
            b, c = prev[i], prev[i - channels] if i >= channels else 0
            if kind == 1: line[i] = (line[i] + a) & 255
            elif kind == 2: line[i] = (line[i] + b) & 255
            elif kind == 3: line[i] = (line[i] + (a + b) // 2) & 255
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(line)
        prev = line
    return width, height, channels, rows

width, height, channels, rows = read_png(sys.argv[1])

def heat_share(pixel):
    """The share of the row a heat-map cell of this colour shows (white → #1f4e8a), or None."""
    r, g, b = pixel
    share = (255 - r) / (255 - 0x1f)
    close = abs(g - (255 - (255 - 0x4e) * share)) <= 3 and abs(b - (255 - (255 - 0x8a) * share)) <= 3
    return share if close and 0 <= share <= 1 else None

counts = {"series blue #4e79a7": 0, "series orange #f28e2b": 0, "heat-map cells over 50%": 0}
background = 0
for line in rows:
    for x in range(0, width * channels, channels):
        pixel = tuple(line[x:x + 3])
        if pixel == (255, 255, 255):
            background += 1
        elif all(abs(p - q) <= 3 for p, q in zip(pixel, (0x4e, 0x79, 0xa7))):
            counts["series blue #4e79a7"] += 1
        elif all(abs(p - q) <= 3 for p, q in zip(pixel, (0xf2, 0x8e, 0x2b))):
            counts["series orange #f28e2b"] += 1
        elif (share := heat_share(pixel)) is not None and share > 0.5:
            counts["heat-map cells over 50%"] += 1
print(f"screenshot {width}x{height}: {background * 100 // (width * height)}% white; "
      + ", ".join(f"{name}: {count} px" for name, count in counts.items()))
# Lines and bars give thousands of pixels of each series colour; the confusion matrices'
# cells over half their row (64 px squares) some thousands more than the legend's swatches.
few = [name for name, count in counts.items() if count < 1000]
assert not few, f"too few pixels of {few}: the charts did not render"
PY
passed=$((passed + 1))
done_ok
