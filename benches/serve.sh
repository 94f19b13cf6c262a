#!/usr/bin/env bash
# Throughput of `patrol serve` at saturation, as a ratio to `patrol scan` on the same posts in
# the same run: requests of 1 text and of 32 texts, driven by wrk on loopback. wrk shares the
# cores with the server, so the ratio is a floor on what a separate client machine would see.
# Usage: benches/serve.sh [POSTS] [SECONDS]   (default: 2000 posts of the test split, 15 s each)
# Needs wrk (Debian: apt-get install wrk).
set -euo pipefail
cd "$(dirname "$0")/.."
posts=${1:-2000}
seconds=${2:-15}
bin=target/release/patrol
[ -x "$bin" ] || cargo build --release
command -v wrk >/dev/null || { echo "serve.sh: needs wrk (apt-get install wrk)" >&2; exit 2; }
tmp=$(mktemp -d)
server=
cleanup() { [ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT

echo "cpu: $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo), $(nproc) cores"
echo "flags: $(grep -m1 -o -w -E 'avx2|avx512f|avx512bw|avx512vl|avx512_vnni|avx_vnni|avx512_bf16|amx_int8|amx_bf16' /proc/cpuinfo | sort -u | tr '\n' ' ' || true)"
head -n "$posts" datasets/test.jsonl > "$tmp/posts.jsonl"

# The reference: scan's own rate (model load excluded), from its summary line.
scan_rate=$("$bin" scan "$tmp/posts.jsonl" --output /dev/null 2>&1 \
  | sed -n 's/.*(\([0-9.]*\) posts\/s).*/\1/p')
echo "scan: $scan_rate posts/s"

# Request bodies: one post each, and 32 posts each.
python3 - "$tmp" <<'PY'
import json, sys
tmp = sys.argv[1]
texts = [json.loads(l)["text"] for l in open(f"{tmp}/posts.jsonl", encoding="utf-8")]
with open(f"{tmp}/bodies-1.txt", "w", encoding="utf-8") as f:
    for t in texts:
        f.write(json.dumps({"inputs": [t]}, ensure_ascii=False) + "\n")
with open(f"{tmp}/bodies-32.txt", "w", encoding="utf-8") as f:
    for i in range(0, len(texts) - 31, 32):
        f.write(json.dumps({"inputs": texts[i:i + 32]}, ensure_ascii=False) + "\n")
PY
cat > "$tmp/post.lua" <<'LUA'
local bodies = {}
for line in io.lines(os.getenv("BODIES")) do bodies[#bodies + 1] = line end
local i = math.random(#bodies)
request = function()
  i = i % #bodies + 1
  return wrk.format("POST", "/v1/classify", {["Content-Type"] = "application/json"}, bodies[i])
end
LUA

"$bin" serve --port 0 2> "$tmp/serve.log" &
server=$!
for _ in $(seq 100); do
  addr=$(sed -n 's/.*on http:\/\/\(.*\)$/\1/p' "$tmp/serve.log")
  [ -n "$addr" ] && break
  sleep 0.2
done
[ -n "$addr" ] || { cat "$tmp/serve.log" >&2; exit 1; }

for size in 1 32; do
  conns=$(( size == 1 ? 64 : 8 ))
  out=$(BODIES="$tmp/bodies-$size.txt" wrk -t1 -c"$conns" -d"${seconds}s" -s "$tmp/post.lua" "http://$addr")
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  bad=$(echo "$out" | awk '/Non-2xx/ {print $NF}')
  latency=$(echo "$out" | awk '$1 == "Latency" {print $2}')
  rate=$(awk -v r="$rps" -v s="$size" 'BEGIN {printf "%.1f", r * s}')
  ratio=$(awk -v a="$rate" -v b="$scan_rate" 'BEGIN {printf "%.2f", a / b}')
  echo "serve, $size-text requests, $conns connections: $rate texts/s ($rps req/s, mean latency $latency, non-2xx ${bad:-0}), ${ratio}x scan"
done
