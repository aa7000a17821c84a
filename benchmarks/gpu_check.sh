#!/usr/bin/env bash
# The GPU path in one prepared command (see benchmarks/gpu_check.py for the steps):
#   benchmarks/gpu_check.sh                        # one GPU, under 8 minutes: tests, timings, a short training
#   benchmarks/gpu_check.sh --device cpu --tiny    # the same steps at tiny sizes on a CPU (tests/test_gpu_check.py)
#   benchmarks/gpu_check.sh --corpus PATH          # train on a Billion Word folder or a text file (default: the
#                                                  # sample in ../shared/corpora/billion_word, else the demo corpus)
# Writes bench-out/gpu_check/gpu_check.json and gpu_check.md (--out DIR to choose).
#
# chargan need not be installed: chargan.corpora and chargan.cli are the folders corpora/ and cli/ only through
# pyproject.toml's package-dir mapping, so this builds an importable copy in a temporary folder first (pip
# without network or build isolation; where that fails, a plain copy laid out as the mapping says).
# $PYTHON: the interpreter (default python3, else python). $GPU_CHECK_PIP=0 skips pip (the copy alone).
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
if ! command -v "$PY" >/dev/null 2>&1; then
    PY=python
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/chargan-gpu-check.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
pkg="$tmp/pkg"  # what goes on PYTHONPATH

importable() {  # chargan with its mapped subpackages from $pkg, run outside the tree (./chargan lacks them)
    (cd / && PYTHONPATH="$pkg${PYTHONPATH:+:$PYTHONPATH}" "$PY" -c "import chargan.corpora, chargan.cli.main")
}

how=""
if [ "${GPU_CHECK_PIP:-1}" != 0 ]; then
    # From a copy of the sources, so the build leaves no build/ or *.egg-info in the working tree.
    mkdir "$tmp/src"
    cp -R pyproject.toml chargan corpora cli "$tmp/src/"
    if [ -f README.md ]; then cp README.md "$tmp/src/"; fi
    if PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore "$PY" -m pip install -q --no-deps \
            --no-build-isolation --no-index --no-cache-dir --target "$pkg" "$tmp/src" >"$tmp/pip.log" 2>&1 \
            && importable >/dev/null 2>&1; then
        how="pip build"
    else
        echo "gpu_check: pip could not build chargan here ($(tail -n 1 "$tmp/pip.log" 2>/dev/null)); using a copy" >&2
    fi
    rm -rf "$tmp/src"
fi
if [ -z "$how" ]; then
    # No pip, setuptools or wheel: pyproject's package-dir mapping by hand
    # (chargan/, then corpora/ as chargan/corpora and cli/ as chargan/cli), without stale caches.
    rm -rf "$pkg"
    mkdir -p "$pkg"
    cp -R chargan "$pkg/chargan"
    cp -R corpora "$pkg/chargan/corpora"
    cp -R cli "$pkg/chargan/cli"
    find "$pkg" -name __pycache__ -type d -prune -exec rm -rf {} +
    how="copy"
fi
if ! importable; then
    echo "gpu_check: chargan is not importable with $PY from $pkg (above: why)" >&2
    exit 1
fi
echo "gpu_check: $PY (Python $("$PY" -c 'import sys; print(sys.version.split()[0])')), chargan from a $how in $pkg"

# Not exec: the trap removes the temporary folder afterwards.
status=0
PYTHONPATH="$pkg${PYTHONPATH:+:$PYTHONPATH}" "$PY" benchmarks/gpu_check.py "$@" || status=$?
exit "$status"
