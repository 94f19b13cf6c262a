#!/usr/bin/env bash
# Unlabelled benign Japanese for the distillation transfer set: the Japanese part of
# PyPI's chatterbot-corpus 1.3.3 (BSD-3-Clause; see datasets/DATA_CARD.md, "Unlabelled text").
# It is third-party text, so it is not committed under datasets/: this re-derives it.
# Usage: scripts/unlabelled-ja.sh [OUT]   (default target/unlabelled/chatterbot-ja.txt)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-target/unlabelled/chatterbot-ja.txt}
dir=target/unlabelled
mkdir -p "$dir" "$(dirname "$out")"
wheel=$(ls "$dir"/chatterbot_corpus-1.3.3-*.whl 2>/dev/null | head -1 || true)
if [ -z "$wheel" ]; then
  python3 -m pip download --no-deps --dest "$dir" chatterbot-corpus==1.3.3
  wheel=$(ls "$dir"/chatterbot_corpus-1.3.3-*.whl | head -1)
fi
python3 - "$wheel" "$out" <<'PY'
import sys, zipfile
wheel, out = sys.argv[1], sys.argv[2]
seen, lines = set(), []
with zipfile.ZipFile(wheel) as z:
    for name in sorted(n for n in z.namelist() if "/data/japanese/" in n and n.endswith(".yml")):
        for raw in z.read(name).decode("utf-8").splitlines():
            s = raw.strip()
            # Conversation turns are YAML list items: "- - first turn" or "  - next turn".
            if not s.startswith("- "):
                continue
            text = s.lstrip("- ").strip().strip("'\"")
            if len(text) >= 2 and text not in seen:
                seen.add(text)
                lines.append(text)
with open(out, "w", encoding="utf-8") as f:
    f.write("\n".join(lines) + "\n")
print(f"{len(lines)} lines -> {out}")
PY
