#!/usr/bin/env bash
# Resident memory of `patrol scan` (default model) over time, on one generated dump. Every SECONDS
# it prints the input file's read position (the reader runs a few chunks ahead of scoring; the
# dump's 1 MB lines all come in its first ~190 MB), the current RSS and the peak RSS so far (VmRSS
# and VmHWM from /proc). A scan too long to wait for can be stopped after MAX_SECONDS: the lines printed up to then still
# say whether memory stays flat. benches/peak_rss.sh gives the peak of whole scans.
# Usage: benches/rss_progress.sh LINES [SECONDS] [MAX_SECONDS]
#   e.g. benches/rss_progress.sh 9300000 60        # about 1 GB, to the end
set -euo pipefail
cd "$(dirname "$0")/.."
lines=${1:?usage: benches/rss_progress.sh LINES [SECONDS] [MAX_SECONDS]}
every=${2:-60}
max=${3:-0}
bin=target/release/patrol
[ -x "$bin" ] || cargo build --release
tmp=$(mktemp -d)
pid=
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$tmp"' EXIT
dump=$tmp/dump.jsonl
"$bin" gen-dump --lines "$lines" --seed 1 --out "$dump" 2>/dev/null
size=$(stat -c %s "$dump")
echo "dump: $lines lines, $((size / 1000000)) MB"
"$bin" scan --quiet "$dump" --output /dev/null --errors /dev/null &
pid=$!
start=$(date +%s)
last=0
report() {
  local bytes rss hwm
  bytes=$last
  for fd in /proc/"$pid"/fd/*; do
    if [ "$(readlink "$fd" 2>/dev/null)" = "$dump" ]; then
      bytes=$(awk '/^pos/ {print $2}' "/proc/$pid/fdinfo/${fd##*/}" 2>/dev/null) || return 1
    fi
  done
  read -r rss hwm < <(awk '/^VmRSS/ {r = $2} /^VmHWM/ {h = $2} END {print r, h}' \
    "/proc/$pid/status" 2>/dev/null) || return 1
  [ -n "$hwm" ] || return 1
  last=$bytes
  echo "t $(($(date +%s) - start)) s  read $((bytes / 1000000)) MB" \
    " RSS $((rss / 1024)) MB  peak $((hwm / 1024)) MB"
}
while kill -0 "$pid" 2>/dev/null; do
  sleep "$every"
  report || break
  if [ "$max" -gt 0 ] && [ $(($(date +%s) - start)) -ge "$max" ]; then
    echo "stopped after $max s (MAX_SECONDS), before the end of the dump"
    kill "$pid"
    break
  fi
done
status=0
wait "$pid" 2>/dev/null || status=$?
echo "scan ended after $(($(date +%s) - start)) s, exit $status (1: some lines were errors; 143: stopped)"
