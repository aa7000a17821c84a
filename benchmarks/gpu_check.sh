#!/usr/bin/env bash
# The GPU path in one prepared command (see benchmarks/gpu_check.py for the steps):
#   benchmarks/gpu_check.sh                        # one GPU, under 8 minutes: tests, timings, a short training
#   benchmarks/gpu_check.sh --device cpu --tiny    # the same steps at tiny sizes on a CPU (tests/test_gpu_check.py)
# Writes bench-out/gpu_check/gpu_check.json and gpu_check.md (--out DIR to choose).
set -euo pipefail
cd "$(dirname "$0")/.."
exec "${PYTHON:-python}" benchmarks/gpu_check.py "$@"
