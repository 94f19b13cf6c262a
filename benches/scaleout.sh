#!/usr/bin/env bash
# Scale-out on one machine: `patrol consume` workers against one JetStream durable consumer,
# 1 worker and then 2 (each `--threads 1`, one per core), on the same pre-published messages.
# Prints messages/s for each and their ratio; with Spark (examples/spark/run.sh), rows/s of 1
# executor against 2.
# Usage: benches/scaleout.sh [MESSAGES]   (default 3000; SPARK=0 skips the Spark part)
# Needs nats-server (Debian: apt-get install nats-server).
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-3000}
bin=target/release/patrol
load=target/release/examples/jetstream_load
[ -x "$bin" ] || cargo build --release
[ -x "$load" ] || cargo build --release --example jetstream_load
command -v nats-server >/dev/null || { echo "scaleout.sh: needs nats-server" >&2; exit 2; }
tmp=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$tmp"; }
trap cleanup EXIT

echo "cpu: $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo), $(nproc) cores"
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
url="nats://127.0.0.1:$port"
nats-server -js -a 127.0.0.1 -p "$port" -sd "$tmp/js" > "$tmp/nats.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do (echo > "/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
head -n 2000 datasets/test.jsonl > "$tmp/posts.jsonl"

run() {  # run WORKERS: messages/s with WORKERS workers
  local workers=$1 i
  "$load" setup "$url"
  "$load" publish "$url" "$tmp/posts.jsonl" "$n"
  local started=()
  for i in $(seq "$workers"); do
    "$bin" consume --nats "$url" --durable "bench$workers" --out-subject results --threads 1 \
      2> "$tmp/worker-$workers-$i.log" &
    pids+=($!); started+=($!)
    # Timing starts once every worker has loaded its model and joined the consumer.
    for _ in $(seq 200); do grep -q consuming "$tmp/worker-$workers-$i.log" && break; sleep 0.05; done
  done
  local rate
  rate=$("$load" wait "$url" "$n")
  for p in "${started[@]}"; do kill -TERM "$p"; wait "$p" || true; done
  echo "$rate"
}

# The ceiling on this machine: scan itself with 1 thread and with 2, on the same posts.
scan_rate() {
  "$bin" scan --threads "$1" "$tmp/posts.jsonl" --output /dev/null 2>&1 \
    | sed -n 's/.*(\([0-9.]*\) posts\/s).*/\1/p'
}
scan1=$(scan_rate 1)
scan2=$(scan_rate 2)

one=$(run 1)
two=$(run 2)
r1=$(echo "$one" | awk '{print $3}')
r2=$(echo "$two" | awk '{print $3}')
echo "consume, 1 worker  (--threads 1): $one"
echo "consume, 2 workers (--threads 1 each): $two"
awk -v a="$r1" -v b="$r2" 'BEGIN {printf "ratio 2 workers / 1 worker: %.2f (per-worker efficiency %.2f)\n", b / a, b / a / 2}'
awk -v a="$scan1" -v b="$scan2" 'BEGIN {printf "for reference, scan --threads 2 / --threads 1 on the same posts: %.2f (%s vs %s posts/s)\n", b / a, b, a}'

if [ "${SPARK:-1}" != 0 ] && [ -x examples/spark/run.sh ]; then
  s1=$(EXECUTORS=1 examples/spark/run.sh | grep '^spark:')
  s2=$(EXECUTORS=2 examples/spark/run.sh | grep '^spark:')
  echo "$s1"
  echo "$s2"
  awk -v a="$(echo "$s1" | grep -o '[0-9.]* rows/s' | cut -d' ' -f1)" \
      -v b="$(echo "$s2" | grep -o '[0-9.]* rows/s' | cut -d' ' -f1)" \
      'BEGIN {printf "ratio 2 executors / 1 executor: %.2f\n", b / a}'
fi
