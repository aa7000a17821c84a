"""benchmarks/gpu_check.sh runs end to end on a CPU at tiny sizes, so it is known to work before a GPU sees it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_gpu_check_runs_on_a_cpu_at_tiny_sizes(tmp_path: Path) -> None:
    command = [str(ROOT / "benchmarks" / "gpu_check.sh"), "--device", "cpu", "--tiny", "--out", str(tmp_path)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "PYTHON": sys.executable})
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    result = json.loads((tmp_path / "gpu_check.json").read_text())
    # Without a GPU the CUDA tests are collected and skipped, each with its reason.
    assert result["tests"]["failed"] == 0 and result["tests"]["skipped"] > 0 and result["tests"]["passed"] == 0
    assert any("CUDA" in reason for reason in result["tests"]["skip_reasons"])
    assert set(result["timings"]) == {"fp32", "bf16", "bf16+compile"}
    assert all(t["ms_per_iteration"] > 0 for t in result["timings"].values())
    assert result["training"]["iterations"] > 0 and 0 < result["training"]["js4"] <= 1
    table = (tmp_path / "gpu_check.md").read_text()
    assert "| bf16+compile |" in table and "held-out floor" in table
