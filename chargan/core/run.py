"""The run directory: the unit of work that holds everything about one run.

```
runs/<name>/
  config.json        resolved configuration (JSON)
  metrics.jsonl      one JSON object per logged iteration
  samples/           what the family writes at each evaluation
  plots/metrics.png  loss and metric curves, refreshed as it trains
  checkpoints/       see chargan.core.checkpoint
```
A family (text, images) may add its own files (the vocabulary, say).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from chargan.core import distributed
from chargan.core.atomic import atomic_write_json, atomic_write_text
from chargan.core.checkpoint import checkpoint_iteration, latest_checkpoint
from chargan.core.guard import check_guard
from chargan.errors import UserError

CONFIG_FILE = "config.json"
METRICS_FILE = "metrics.jsonl"


class RunDirectory:
    """A run's folder on disk; created lazily, appended to as training goes.

    Under torchrun only rank 0 writes: on the other ranks every write method is a no-op.
    """

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    # ------------------------------------------------------------------ paths
    @property
    def config_path(self) -> Path:
        return self.root / CONFIG_FILE

    @property
    def metrics_path(self) -> Path:
        return self.root / METRICS_FILE

    @property
    def samples_dir(self) -> Path:
        return self.root / "samples"

    @property
    def plots_dir(self) -> Path:
        return self.root / "plots"

    @property
    def checkpoints_dir(self) -> Path:
        return self.root / "checkpoints"

    def exists(self) -> bool:
        return self.config_path.is_file()

    # ----------------------------------------------------------------- config
    def write_config(self, config: dict[str, Any]) -> None:
        if not distributed.is_main_process():
            return
        self.root.mkdir(parents=True, exist_ok=True)
        atomic_write_json(self.config_path, config)

    def read_config(self) -> dict[str, Any]:
        if not self.exists():
            raise UserError(
                f"{self.root} is not a chargan run (no {CONFIG_FILE})",
                hint="pass --run with a directory made by `chargan train`",
            )
        try:
            return json.loads(self.config_path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise UserError(f"{self.config_path} is corrupt: {exc}") from None

    # ---------------------------------------------------------------- metrics
    def log(self, record: dict[str, Any]) -> None:
        """Append one record; NaN and infinities become null (valid JSON)."""
        if not distributed.is_main_process():
            return
        self.root.mkdir(parents=True, exist_ok=True)
        clean = {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in record.items()}
        with self.metrics_path.open("a", encoding="utf-8") as f:
            f.write(json.dumps(clean) + "\n")

    def read_metrics(self) -> list[dict[str, Any]]:
        return list(self.iter_metrics())

    def iter_metrics(self) -> Iterator[dict[str, Any]]:
        if not self.metrics_path.is_file():
            return
        with self.metrics_path.open(encoding="utf-8") as f:
            for line in f:
                line = line.strip()
                if not line:
                    continue
                try:
                    yield json.loads(line)
                except json.JSONDecodeError:
                    # A line cut by a crash mid-write: skip it rather than lose the run.
                    continue

    def truncate_metrics(self, after_iteration: int) -> None:
        """Drop records past ``after_iteration`` (logged after the checkpoint a resume starts from)."""
        if not distributed.is_main_process():
            return
        kept = [r for r in self.iter_metrics() if r.get("iteration", 0) <= after_iteration]
        atomic_write_text(self.metrics_path, "".join(json.dumps(r) + "\n" for r in kept))

    # ---------------------------------------------------------------- samples
    def write_samples(self, iteration: int, lines: list[str]) -> Path:
        path = self.samples_dir / f"samples_{iteration:08d}.txt"
        if not distributed.is_main_process():
            return path
        atomic_write_text(path, "".join(line + "\n" for line in lines))
        return path


def new_run_path(runs_root: str | Path, prefix: str) -> Path:
    """``<runs_root>/<prefix>-<date>-<time>``, with a ``-N`` suffix if that name is taken."""
    base = Path(runs_root) / f"{prefix}-{datetime.now():%Y%m%d-%H%M%S}"
    path, n = base, 1
    while path.exists():
        n += 1
        path = base.with_name(f"{base.name}-{n}")
    return path


def latest_run(runs_root: str | Path = "runs") -> Path:
    """The most recently modified run under ``runs_root``."""
    root = Path(runs_root)
    runs = [p for p in root.glob("*") if (p / CONFIG_FILE).is_file()] if root.is_dir() else []
    if not runs:
        raise UserError(
            f"no runs found under {root.resolve()}",
            hint="train one with `chargan train`, or pass --run DIR",
        )
    return max(runs, key=lambda p: max(p.stat().st_mtime, (p / METRICS_FILE).stat().st_mtime if (p / METRICS_FILE).exists() else 0))


def open_run(
    run_dir: str | Path | None,
    *,
    runs_root: str | Path,
    prefix: str,
    resume: bool,
    saved_guard: Callable[[Path], dict[str, Any]],
    guard: dict[str, Any],
    iterations: int,
) -> RunDirectory:
    """The run directory of a training call, checked before any expensive work.

    A new run goes to ``run_dir`` (which must be absent or an empty folder) or
    to a fresh ``<runs_root>/<prefix>-<time>``. With ``resume``, ``run_dir``
    must hold a run whose saved settings (``saved_guard(root)``) equal
    ``guard`` and whose newest checkpoint is short of ``iterations``.
    """
    if distributed.is_distributed():
        # Rank 0 picks the path (a fresh name has the time in it) and checks it; the others
        # follow, and fail with rank 0's error, before rank 0 writes anything into it.
        outcome: tuple[str, str | None, str | None] = ("", None, None)
        if distributed.is_main_process():
            try:
                run = _open_run(run_dir, runs_root, prefix, resume, saved_guard, guard, iterations)
                run.root.mkdir(parents=True, exist_ok=True)  # exists for every rank once this returns
                outcome = (str(run.root), None, None)
            except UserError as exc:
                outcome = ("", exc.message, exc.hint)
        path, message, hint = distributed.broadcast_object(outcome)
        if message is not None:
            raise UserError(message, hint=hint)
        return RunDirectory(path)
    return _open_run(run_dir, runs_root, prefix, resume, saved_guard, guard, iterations)


def _open_run(run_dir: str | Path | None, runs_root: str | Path, prefix: str, resume: bool,
              saved_guard: Callable[[Path], dict[str, Any]], guard: dict[str, Any], iterations: int) -> RunDirectory:
    run = RunDirectory(run_dir if run_dir is not None else new_run_path(runs_root, prefix))
    if not resume:
        if run.exists():
            raise UserError(f"run directory {run.root} already holds a run",
                            hint="add --resume to continue it, or choose another --run")
        if run.root.exists() and (not run.root.is_dir() or any(run.root.iterdir())):
            raise UserError(f"{run.root} exists and is not an empty folder", hint="choose a new --run directory")
        return run
    if not run.exists():
        raise UserError(f"cannot resume: {run.root} is not a chargan run", hint="start it without --resume first")
    check_guard(saved_guard(run.root), guard, f"run {run.root}",
                hint="resume without changing the model, data, optimizer or evaluation settings, or start a new --run")
    done = latest_checkpoint(run.checkpoints_dir)
    if done is not None and checkpoint_iteration(done) >= iterations:
        raise UserError(f"run {run.root} is already at iteration {checkpoint_iteration(done)} of {iterations}",
                        hint="pass a larger --iterations to train it further")
    return run
