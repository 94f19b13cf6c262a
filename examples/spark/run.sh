#!/usr/bin/env bash
# Score a generated dump with patrol on a local Spark cluster of separate executor JVMs.
#   LINES=20000 EXECUTORS=2 PATROL_BIN=target/release/patrol examples/spark/run.sh
# Needs Java 17 and python3; installs pyspark into target/spark-venv on first use.
set -euo pipefail
cd "$(dirname "$0")/../.."
start=$(date +%s.%N)

LINES=${LINES:-20000}
EXECUTORS=${EXECUTORS:-2}
PYSPARK_VERSION=3.5.3
VENV=target/spark-venv
DATA=target/spark-data
OUT=target/spark-out

command -v java >/dev/null || { echo "run.sh: java not found (pyspark $PYSPARK_VERSION needs Java 17)" >&2; exit 2; }

if [ -z "${PATROL_BIN:-}" ]; then
  PATROL_BIN=target/release/patrol
  [ -x "$PATROL_BIN" ] || cargo build --release
fi
PATROL_BIN=$(realpath "$PATROL_BIN")

if ! "$VENV/bin/python" -c "import pyspark; assert pyspark.__version__ == '$PYSPARK_VERSION'" 2>/dev/null; then
  rm -rf "$VENV"
  if ! python3 -m venv "$VENV"; then
    # Debian ships venv support separately.
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      apt-get update -qq && apt-get install -y -qq python3-venv && python3 -m venv "$VENV"
    else
      echo "run.sh: python3 -m venv failed; install python3-venv" >&2; exit 2
    fi
  fi
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "pyspark==$PYSPARK_VERSION"
fi
PY="$PWD/$VENV/bin/python"  # not realpath: that would leave the venv

# A pip-installed pyspark is a complete SPARK_HOME; the executors' Python is the venv's.
export SPARK_HOME=$("$PY" -c 'import os, pyspark; print(os.path.dirname(pyspark.__file__))')
export SPARK_SCALA_VERSION=2.12 PYSPARK_PYTHON="$PY" PYSPARK_DRIVER_PYTHON="$PY"
export SPARK_LOCAL_IP=127.0.0.1

mkdir -p "$DATA"
dump="$DATA/dump-$LINES.jsonl"
[ -s "$dump" ] || "$PATROL_BIN" gen-dump --lines "$LINES" --seed 1 --out "$dump" >&2

log="$OUT.log"
set +e
"$PY" examples/spark/patrol_job.py --input "$dump" --output "$OUT" --patrol "$PATROL_BIN" \
  --master "local-cluster[$EXECUTORS,1,1024]" "$@" 2>"$log.stderr" | tee "$log"
rc=${PIPESTATUS[0]}
set -e
line=$(grep '^patrol_job:' "$log" || true)
if [ "$rc" != 0 ] || ! grep -q 'check=ok' <<<"$line"; then
  tail -n 40 "$log.stderr" >&2
  echo "run.sh: job failed (status $rc); Spark log in $log.stderr" >&2
  exit 1
fi

field() { sed -E "s/.* $1=([^ ]+).*/\1/" <<<"$line"; }
echo "spark: $(field executors) executors, $(field input) rows ($(field results) results," \
     "$(field errors) errors) in $(field seconds) s, $(field rows_per_s) rows/s"
echo "run.sh: $(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }') s in all"
