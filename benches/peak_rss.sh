#!/usr/bin/env bash
# Peak resident memory of `patrol scan` with the default model over generated dumps of
# increasing size (deterministic, 1 % malformed lines). Prints one line per size.
# Usage: benches/peak_rss.sh [LINES...]   (default: 20000 200000)
# A line is about 108 bytes (1 MB lines included), so 0.93 M lines ≈ 100 MB and 9.3 M ≈ 1 GB.
# benches/rss_progress.sh prints memory during one scan, for scans too long to wait for.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=target/release/patrol
[ -x "$bin" ] || cargo build --release
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for lines in "${@:-20000 200000}"; do
  for n in $lines; do
    "$bin" gen-dump --lines "$n" --seed 1 --out "$tmp/dump.jsonl" 2>/dev/null
    size=$(du -m "$tmp/dump.jsonl" | cut -f1)
    /usr/bin/time -v "$bin" scan --quiet "$tmp/dump.jsonl" --output /dev/null --errors /dev/null 2> "$tmp/time.txt" || true
    rss=$(awk -F: '/Maximum resident set size/ {gsub(/ /,"",$2); print $2}' "$tmp/time.txt")
    wall=$(awk '/Elapsed \(wall clock\)/ {print $NF}' "$tmp/time.txt")
    echo "lines $n  dump ${size} MB  peak RSS $((rss / 1024)) MB  wall $wall"
  done
done
