"""The runs under a runs folder at a glance: what ``chargan runs`` lists.

`list_runs(runs_root)` reads every run folder's ``config.json``,
``metrics.jsonl`` and newest checkpoint, and sums each up as a
`RunSummary`: family and named config, iteration (checkpoint and log) of
its target, the family's headline metric (``HEADLINE``) and its floor, the
last change, and a state:

- ``empty``: no ``config.json`` and nothing else a run writes (a folder made by
  hand, or a run still loading its data: the runner writes ``config.json``
  only once the run is built);
- ``broken``: no usable ``config.json`` (missing beside other run files,
  unreadable, not a JSON object, or of a family this chargan does not know);
- ``diverged``: the last logged record with losses holds a null (or NaN)
  loss (`RunDirectory.log` writes non-finite floats as null);
- ``finished``: the newest checkpoint is at (or past) ``train.iterations``;
- ``training``: not finished and changed within `RECENT_SECONDS`;
- ``stopped``: none of the above (below its target, not changed lately).

``training`` is a guess from modification times, not a lock: a trainer
logs and checkpoints every few seconds to minutes, so a run written to in
the last two minutes is most likely alive. It errs both ways: a run killed
a minute ago still reads ``training``, and a run whose log interval is
longer than two minutes reads ``stopped`` between two records.

Reading a run imports nothing of torch at import time: the checkpoint and
run-directory helpers (which do) are imported inside `list_runs`.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chargan.errors import UserError
from chargan.families import FAMILIES

if TYPE_CHECKING:
    from chargan.core.run import RunDirectory

#: A run changed this recently (seconds) and not finished counts as ``training`` (see the module docstring).
RECENT_SECONDS = 120.0

TRAINING, FINISHED, STOPPED, DIVERGED, EMPTY, BROKEN = "training", "finished", "stopped", "diverged", "empty", "broken"
STATES = (TRAINING, FINISHED, STOPPED, DIVERGED, EMPTY, BROKEN)


@dataclass(frozen=True)
class RunSummary:
    """One run folder summed up; fields a run does not have (yet) are None."""

    name: str  # the folder's name
    path: Path
    state: str  # one of STATES
    last_change: float  # seconds since the epoch: newest of config.json, metrics.jsonl, checkpoints/latest
    family: str | None = None
    config: str | None = None  # the named config it started from ("cpu", "8gaussians", ...)
    checkpoint_iteration: int | None = None  # the newest complete checkpoint's
    logged_iteration: int | None = None  # the last metrics record's
    target: int | None = None  # train.iterations
    headline: str | None = None  # the family's HEADLINE metric key
    headline_value: float | None = None  # its last logged value
    headline_floor: float | None = None  # what real held-out data scores on it (floor_<headline>), if logged
    problem: str | None = None  # why a run is broken or empty, or what could not be read

    @property
    def last_change_time(self) -> datetime:
        """`last_change` as an aware local time."""
        return datetime.fromtimestamp(self.last_change).astimezone()

    def to_json(self) -> dict[str, Any]:
        """The summary as JSON-ready values (``last_change`` in ISO 8601 with the local offset)."""
        return {
            "name": self.name, "path": str(self.path), "state": self.state, "family": self.family,
            "config": self.config, "checkpoint_iteration": self.checkpoint_iteration,
            "logged_iteration": self.logged_iteration, "target": self.target, "headline": self.headline,
            "headline_value": self.headline_value, "headline_floor": self.headline_floor,
            "last_change": self.last_change_time.isoformat(timespec="seconds"), "problem": self.problem,
        }


def list_runs(runs_root: str | Path = "runs", now: float | None = None) -> list[RunSummary]:
    """Every run folder directly under ``runs_root``, newest change first.

    ``now`` (seconds since the epoch; default: the clock) is what
    ``training`` is judged against. A missing ``runs_root`` is a `UserError`;
    a broken run is a row, not an error. Hidden folders and files are skipped.
    """
    root = Path(runs_root)
    if not root.is_dir():
        what = "is not a folder" if root.exists() else "does not exist"
        raise UserError(f"runs folder {root} {what}",
                        hint="pass --runs-root DIR (where `chargan train --runs-root DIR` wrote its runs), "
                             "or train a run first with `chargan train`")
    now = time.time() if now is None else now
    folders = [p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")]
    summaries = [summarize_run(folder, now) for folder in folders]
    return sorted(summaries, key=lambda s: (-s.last_change, s.name))


def summarize_run(folder: str | Path, now: float | None = None) -> RunSummary:
    """One run folder as a `RunSummary` (``now`` as in `list_runs`)."""
    from chargan.core.checkpoint import LATEST  # torch (through the checkpoint module): not on `chargan --help`
    from chargan.core.run import CONFIG_FILE, METRICS_FILE, RunDirectory

    run = RunDirectory(folder)
    now = time.time() if now is None else now
    watched = (run.config_path, run.metrics_path, run.checkpoints_dir / LATEST)
    times = [p.stat().st_mtime for p in watched if p.is_file()]
    # A folder without any of the three files still has an age: its own.
    last_change = max(times) if times else run.root.stat().st_mtime
    base = {"name": run.root.name, "path": run.root, "last_change": last_change}

    saved, problem = _read_config(run)
    if saved is None:
        trained = run.metrics_path.exists() or run.checkpoints_dir.exists()
        if problem is None and not trained:
            return RunSummary(state=EMPTY, problem=f"no {CONFIG_FILE} (nothing trained here yet)", **base)
        return RunSummary(state=BROKEN, problem=problem or f"no {CONFIG_FILE} beside its {METRICS_FILE} or checkpoints",
                          **base)
    family_name = saved.get("family", "text")  # runs of release 0.1 wrote no family for the language model
    family = FAMILIES.get(family_name) if isinstance(family_name, str) else None
    if family is None:
        return RunSummary(state=BROKEN, family=str(family_name), problem=f"family {family_name!r} is unknown to this "
                          "version of chargan", **base)
    # The text config stores its name as "preset" (a name of release 0.1), the others as "name".
    config_name = saved.get("name", saved.get("preset"))
    train = saved.get("train")
    target = train.get("iterations") if isinstance(train, dict) else None
    target = target if isinstance(target, int) and not isinstance(target, bool) else None
    headline = getattr(family, "HEADLINE", None)  # a family written before HEADLINE existed has none

    checkpoint, problem = _checkpoint_iteration(run)
    try:
        log = _read_log(run, headline)
    except (OSError, UnicodeDecodeError) as exc:  # one unreadable run is a row that says so, not a failed listing
        log, problem = _Log(), f"{run.metrics_path.name} is unreadable: {exc}"
    if log.diverged:
        state = DIVERGED
    elif checkpoint is not None and target is not None and checkpoint >= target:
        state = FINISHED
    elif now - last_change <= RECENT_SECONDS:
        state = TRAINING
    else:
        state = STOPPED
    return RunSummary(state=state, family=family_name, config=config_name if isinstance(config_name, str) else None,
                      checkpoint_iteration=checkpoint, logged_iteration=log.iteration, target=target,
                      headline=headline, headline_value=log.value, headline_floor=log.floor, problem=problem, **base)


def _read_config(run: RunDirectory) -> tuple[dict[str, Any] | None, str | None]:
    """The run's saved config, or None and why (no file: None and no reason)."""
    if not run.config_path.is_file():
        return None, None
    try:
        saved = run.read_config()
    except (UserError, OSError) as exc:
        return None, str(exc).splitlines()[0]
    if not isinstance(saved, dict):
        return None, f"{run.config_path.name} is not a JSON object"
    return saved, None


def _checkpoint_iteration(run: RunDirectory) -> tuple[int | None, str | None]:
    """The newest complete checkpoint's iteration (None without one), and why it could not be read."""
    from chargan.core.checkpoint import checkpoint_iteration, latest_checkpoint  # torch: see summarize_run

    try:
        newest = latest_checkpoint(run.checkpoints_dir)
        return (None if newest is None else checkpoint_iteration(newest)), None
    except (UserError, OSError) as exc:
        return None, str(exc).splitlines()[0]


@dataclass(frozen=True)
class _Log:
    """What `summarize_run` needs of ``metrics.jsonl``."""

    iteration: int | None = None
    value: float | None = None
    floor: float | None = None
    diverged: bool = False


def _read_log(run: RunDirectory, headline: str | None) -> _Log:
    """One pass over the metrics: last iteration, last headline value, its floor, and divergence."""
    iteration = value = floor = None
    last_losses: dict[str, Any] | None = None
    floor_key = None if headline is None else f"floor_{headline}"
    # iter_metrics skips a line cut by a crash mid-write, as every reader of the file does.
    for record in run.iter_metrics():
        if not isinstance(record, dict):
            continue
        if isinstance(record.get("iteration"), int):
            iteration = record["iteration"]
        if headline is not None and headline in record:
            value = _number(record[headline])
        if floor_key is not None and floor_key in record:
            floor = _number(record[floor_key])
        losses = {k: v for k, v in record.items() if k.endswith("_loss")}
        if losses:
            # Records without losses (the reference record, evaluations at 0) say nothing about divergence.
            last_losses = losses
    diverged = last_losses is not None and any(_number(v) is None for v in last_losses.values())
    return _Log(iteration, value, floor, diverged)


def _number(value: Any) -> float | None:
    """A finite float, or None (null, NaN, infinities, anything not a number)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None
