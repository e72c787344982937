# The VLM augmenter's API key is never written anywhere a study writes: run folders,
# trial manifests, results.json, the reports, the feature store, the caption cache, the
# logs, msa run's own output. A real HTTP server (Python's, on 127.0.0.1) answers the
# captions of one augmenter and, for another, fails with a body that echoes the key, as
# careless servers do; every byte the study wrote is searched for the key.
source "$(dirname "$0")/lib.sh"
cd "$WORK"
export MSA_TEST_VLM_KEY="sentinel-$RANDOM$RANDOM-key"
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
python3 - "$port" "$MSA_TEST_VLM_KEY" >server.log 2>&1 <<'PY' &
import json, sys
from http.server import BaseHTTPRequestHandler, HTTPServer
port, key = int(sys.argv[1]), sys.argv[2]
class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        auth = self.headers.get("Authorization", "")
        if auth != "Bearer " + key:
            self.reply(401, {"error": f"bad key: {auth}"})
        elif self.path.startswith("/broken/"):
            self.reply(500, {"error": f"upstream failed for request with {auth}"})
        else:
            json.loads(body)
            self.reply(200, {"choices": [{"message": {"content": "a plain picture"}}]})
    def reply(self, status, payload):
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
HTTPServer(("127.0.0.1", port), Handler).serve_forever()
PY
server=$!
trap 'kill $server 2>/dev/null; rm -rf "$WORK"' EXIT
for _ in $(seq 50); do python3 -c "import socket; socket.create_connection(('127.0.0.1', $port))" 2>/dev/null && break; sleep 0.1; done
export no_proxy=127.0.0.1 NO_PROXY=127.0.0.1

"$MSA" demo-data --out demo --samples 60 --size 32 >/dev/null
# vlm PATH CACHE: the augmenter on the server's PATH (the cache does not depend on the
# endpoint, so each gets its own).
vlm() {
  echo "{ plugin = \"vlm\", endpoint = \"http://127.0.0.1:$port/$1\", model = \"test-vlm\", api_key_env = \"MSA_TEST_VLM_KEY\", cache = \"$WORK/$2\", retries = 0, on_missing = \"fail\" }"
}
cat >study.toml <<TOML
schema_version = 1
name = "secrets"
seed = 1
output = "$WORK/runs"
[dataset]
root = "demo"
[split]
valid = 0.2
test = 0.2
test_seed = 3
[store]
path = "$WORK/store.h5"
[encoders.text]
plugin = "hashed-ngram"
dim = 64
[train]
epochs = 3

[[phase]]
name = "baseline"
seeds = [1]

[[phase]]
name = "augmentation"
kind = "augmentation"
from = "baseline"
seeds = [1]
hard_threshold = 1.0
hard_fraction = 0.5
sweep.augmenter = [$(vlm v1 vlm-cache), $(vlm broken/v1 broken-cache)]
TOML
code=0
"$MSA" run study.toml >run.out 2>run.err || code=$?
[[ $code == 1 ]] || fail "msa run exited $code, expected 1 (one augmenter's endpoint fails): $(tail -5 run.err)"
ls "$WORK"/vlm-cache/*.json >/dev/null 2>&1 || fail "the working endpoint cached no caption: $(tail -5 run.err)"
error=$(cat "$WORK"/runs/secrets/augmentation/*/error.txt 2>/dev/null || true)
expect_contains "$error" "HTTP 500"
expect_contains "$error" "[api key]" # the echoed key, redacted
matches=$(grep -r -a -l -F "$MSA_TEST_VLM_KEY" "$WORK/runs" "$WORK/vlm-cache" "$WORK/broken-cache" "$WORK/store.h5" run.out run.err study.toml || true)
[[ -z $matches ]] || fail "the API key was written to: $matches"
passed=$((passed + 1))
done_ok
