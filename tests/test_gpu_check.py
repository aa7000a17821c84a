"""benchmarks/gpu_check.sh runs end to end on a CPU at tiny sizes, so it is known to work before a GPU sees it.

The GPU machine has torch but not chargan installed: the script makes chargan importable itself (a pip build in
a temporary folder, else a copy laid out as pyproject's package-dir mapping), and these runs go the same way.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "gpu_check.sh"


def run_script(*args: str, **env: str) -> subprocess.CompletedProcess:
    # From another folder, as the device runs it, and with the test session's interpreter.
    return subprocess.run([str(SCRIPT), *args], capture_output=True, text=True, timeout=600, cwd="/",
                          env={**os.environ, "PYTHON": sys.executable, **env})


def assert_from_the_scripts_copy(result: dict) -> None:
    """chargan came from the script's temporary folder, not the working tree or an editable install."""
    assert "chargan-gpu-check." in result["chargan"] and not result["chargan"].startswith(str(ROOT))


def test_gpu_check_runs_on_a_cpu_at_tiny_sizes(tmp_path: Path) -> None:
    done = run_script("--device", "cpu", "--tiny", "--out", str(tmp_path))
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "chargan from a pip build" in done.stdout
    result = json.loads((tmp_path / "gpu_check.json").read_text())
    assert_from_the_scripts_copy(result)
    assert result["finished"] and "error" not in result
    # Without a GPU the CUDA tests are collected and skipped, each with its reason (--device cpu hides any GPU).
    assert result["tests"]["failed"] == 0 and result["tests"]["skipped"] > 0 and result["tests"]["passed"] == 0
    assert any("CUDA" in reason for reason in result["tests"]["skip_reasons"])
    timed = {name for name, t in result["timings"].items() if "ms_per_iteration" in t}
    assert timed == {"fp32", "bf16", "bf16+compile"}
    assert result["timings"]["bf16+compile+graphs"] == {"skipped": "CUDA graphs are CUDA's"}
    assert all(result["timings"][name]["ms_per_iteration"] > 0 for name in timed)
    assert result["training"]["iterations"] > 0 and 0 < result["training"]["js4"] <= 1
    table = (tmp_path / "gpu_check.md").read_text()
    assert "| bf16+compile |" in table and "held-out floor" in table


def test_without_a_gpu_it_still_writes_files_that_say_so(tmp_path: Path) -> None:
    # Also the fallback where pip cannot build: the copy laid out by hand imports chargan.corpora and chargan.cli.
    done = run_script("--out", str(tmp_path), CUDA_VISIBLE_DEVICES="", GPU_CHECK_PIP="0")
    assert done.returncode == 1 and "chargan from a copy" in done.stdout, done.stdout + done.stderr
    result = json.loads((tmp_path / "gpu_check.json").read_text())
    assert_from_the_scripts_copy(result)
    assert "no CUDA GPU here" in result["error"] and not result["finished"]
    assert "no CUDA GPU here" in (tmp_path / "gpu_check.md").read_text()


@pytest.fixture(scope="module")
def gpu_check():
    """benchmarks/gpu_check.py as a module (the test session has chargan installed)."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import gpu_check

        assert gpu_check.IMPORT_ERROR is None, gpu_check.IMPORT_ERROR
        yield gpu_check
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))


def test_the_tests_stop_at_their_limit_and_say_so(gpu_check, tmp_path: Path) -> None:
    counts = gpu_check.run_tests(tmp_path, "cpu", seconds=0.5)  # pytest does not even start in that
    assert counts["timed_out"] and counts["failed"] >= 1 and "ran past their" in counts["error"]
    assert counts["seconds"] < 60


def test_the_corpus_is_a_billion_word_folder_a_file_or_the_demo_with_a_warning(gpu_check, tmp_path: Path) -> None:
    layout = tmp_path / "bw" / gpu_check.BW_ROOT
    layout.mkdir(parents=True)
    assert gpu_check.corpus_choice(tmp_path / "bw") == ("billion_word", str(tmp_path / "bw"), None)
    assert gpu_check.corpus_choice(layout) == ("billion_word", str(layout), None)
    text = tmp_path / "lines.txt"
    text.write_text("a line\n")
    assert gpu_check.corpus_choice(text) == (str(text), None, None)
    spec, _, warning = gpu_check.corpus_choice(tmp_path / "missing")
    assert spec == "demo" and "DEMO corpus" in warning


def test_a_partial_result_still_makes_a_table(gpu_check) -> None:
    result = {"device": "cuda", "device_name": "GPU", "torch": "2", "tiny": False, "corpus": None, "total_s": 9.0,
              "warnings": ["w"], "tests": {"passed": 1, "failed": 1, "skipped": 0, "skip_reasons": [],
                                            "error": "the tests ran past their 180 s and were stopped"},
              "timings": {"fp32": {"ms_per_iteration": 40.0, "first_iteration_s": 1.0},
                          "bf16": {"error": "Traceback ...\nRuntimeError: boom"},
                          "bf16+compile": {"skipped": "short of time"}},
              "training": {"skipped": "no variant was timed"}, "error": "Traceback\nStop: stopped by signal 15"}
    table = gpu_check.markdown(result)
    assert "failed: RuntimeError: boom" in table and "left out: short of time" in table
    assert "unfinished" in table and "Stop: stopped by signal 15" in table and "ran past their 180 s" in table
