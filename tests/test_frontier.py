"""benchmarks/frontier.py runs end to end at a tiny size (its real runs are long: the lead schedules them)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_frontier_runs_and_writes_its_table_curves_and_plot(tmp_path: Path) -> None:
    command = [sys.executable, str(ROOT / "benchmarks" / "frontier.py"), "--minutes", "0.01", "--seeds", "1",
               "--pair", "8:best", "--pair", "4:port", "--pair", "8:ttur:1e-3", "--eval-seconds", "1", "--heldout", "500",
               "--out", str(tmp_path)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    result = json.loads((tmp_path / "frontier.json").read_text())
    assert set(result["summary"]) == {"DIM 8 best", "DIM 4 port", "DIM 8 ttur lr 0.001"}
    # a pair's own rate replaces the recipe's, keeping TTUR's 3x critic ratio
    ttur = result["recipes"]["DIM 8 ttur lr 0.001"]
    assert (ttur["lr"], ttur["generator_lr"], ttur["critic_iters"]) == (1e-3, 1e-3, 1)
    assert abs(ttur["critic_lr"] - 3e-3) < 1e-12
    for curve in result["curves"].values():
        assert curve[-1]["iterations"] > 0 and {"js4", "heldout_js4"} <= set(curve[-1])
    assert "| DIM 8 best |" in (tmp_path / "frontier.md").read_text()
    assert (tmp_path / "frontier.png").stat().st_size > 1000
    (tmp_path / "frontier.png").unlink()
    replot = [sys.executable, str(ROOT / "benchmarks" / "frontier.py"), "--replot", str(tmp_path / "frontier.json")]
    done = subprocess.run(replot, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and (tmp_path / "frontier.png").stat().st_size > 1000, done.stderr[-3000:]
    # two runs in one figure: a recipe in both is told apart by its run's folder
    other = tmp_path / "again"
    other.mkdir()
    (other / "frontier.json").write_text((tmp_path / "frontier.json").read_text())
    done = subprocess.run(replot + [str(other / "frontier.json"), "--out", str(tmp_path / "both")],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and (tmp_path / "both" / "frontier.png").stat().st_size > 1000, done.stderr[-3000:]
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from frontier import saved_runs

    saved = {path: json.loads(path.read_text()) for path in (tmp_path / "frontier.json", other / "frontier.json")}
    labels = {r.label for r in saved_runs(saved)}
    assert labels == {f"{recipe} ({folder})" for recipe in ("best", "port", "ttur lr 0.001")
                      for folder in (tmp_path.name, "again")}
