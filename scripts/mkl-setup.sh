#!/usr/bin/env bash
# Fetches Intel MKL 2024.2 from PyPI wheels and unpacks it into one MKLROOT (default:
# target/mkl), for the optional `mkl` cargo feature. Nothing here is needed by the default build.
#
#   scripts/mkl-setup.sh                       # once
#   export MKLROOT=$PWD/target/mkl             # at build time (intel-mkl-src links libmkl_*.a)
#   export LD_LIBRARY_PATH=$MKLROOT/lib        # at run time (libiomp5.so)
#   cargo build --release --features mkl
set -euo pipefail
root="${1:-target/mkl}"
if [[ -f "$root/lib/libmkl_intel_lp64.a" && -f "$root/lib/libiomp5.so" ]]; then
    echo "MKL already unpacked in $root"
    exit 0
fi
wheels="$(mktemp -d)"
trap 'rm -rf "$wheels"' EXIT
python3 -m pip download --no-deps --quiet -d "$wheels" \
    "mkl-static==2024.2.*" "mkl-include==2024.2.*" "intel-openmp==2024.2.*"
mkdir -p "$root"
for w in "$wheels"/*.whl; do
    python3 -m zipfile -e "$w" "$wheels/x"
done
for d in "$wheels"/x/*.data/data; do
    cp -r "$d"/. "$root"/
done
echo "MKL unpacked in $root: export MKLROOT=$(cd "$root" && pwd) LD_LIBRARY_PATH=\$MKLROOT/lib"
