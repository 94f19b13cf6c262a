#!/usr/bin/env bash
# Builds lindera-cache/ (Lindera IPADIC, 6.2.0 format 2) from Debian's mecab-ipadic, offline.
# Idempotent: does nothing when the cache is already there.
set -euo pipefail
cd "$(dirname "$0")/.."
out=lindera-cache/6.2.0-fmt2/lindera-ipadic
[ -f "$out/metadata.json" ] && exit 0
src_eucjp=/usr/share/mecab/dic/ipadic
if [ ! -f "$src_eucjp/matrix.def" ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mecab-ipadic
  else
    echo "mecab-ipadic is missing: run 'sudo apt-get install mecab-ipadic' first" >&2
    exit 2
  fi
fi
tmp=lindera-cache/src-utf8
rm -rf "$tmp" && mkdir -p "$tmp"
for f in "$src_eucjp"/*.csv "$src_eucjp"/*.def; do
  iconv -f EUC-JP -t UTF-8 "$f" > "$tmp/$(basename "$f")"
done
cargo run --quiet --release -p ipadic-cache -- "$tmp" "$out.partial"
rm -rf "$out" && mv "$out.partial" "$out" && rm -rf "$tmp"
echo "built $out" >&2
