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
import os
import shutil
import socket
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from chargan.core import distributed
from chargan.core.atomic import atomic_write_json, atomic_write_text
from chargan.core.checkpoint import checkpoint_iteration, latest_checkpoint
from chargan.core.guard import check_guard
from chargan.errors import UserError

CONFIG_FILE = "config.json"
METRICS_FILE = "metrics.jsonl"
#: Held (``flock``) by the one process that trains the run; the kernel drops it when that process dies,
#: so a lock of a dead process never blocks. Its presence also marks a folder `chargan train` made.
LOCK_FILE = ".lock"
#: Who holds the lock (PID, host, since when), for the error a second writer gets.
OWNER_FILE = ".lock.owner"
_LOCK_FILES = (LOCK_FILE, OWNER_FILE)
#: The sub-folders whose half-written temporary files (``.<name>.<random>.tmp``) a writer may find.
_WRITTEN_DIRS = ("", "samples", "plots", "checkpoints")


class RunDirectory:
    """A run's folder on disk; created lazily, appended to as training goes.

    Under torchrun only rank 0 writes: on the other ranks every write method is a no-op.
    """

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self._lock: FileLock | None = None
        #: True when `open_run` continues a run (False: a new one, or one that died before its first record).
        self.resuming = False
        #: What `open_run` wants the user told (a start that died, begun again in place).
        self.note: str | None = None
        self._made: list[Path] = []  # the folders `lock` created, outermost first

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

    # ------------------------------------------------------------------ the lock
    def lock(self) -> None:
        """Become the run's one writer, or raise `UserError` naming the process that is.

        Creates the folder. The lock lasts until `unlock` or the end of this process.
        """
        missing = [p for p in (*reversed(self.root.parents), self.root) if not p.exists()]
        self.root.mkdir(parents=True, exist_ok=True)
        self._made = self._made or missing
        lock = FileLock(self.root / LOCK_FILE, timeout=0)
        try:
            lock.acquire()
        except Timeout:
            raise UserError(f"run {self.root} is being written by another process ({self._owner()})",
                            hint="wait for it to finish or stop it; two processes writing one run would "
                                 "interleave its metrics and checkpoints") from None
        self._lock = lock
        owner = {"pid": os.getpid(), "host": socket.gethostname(), "since": datetime.now().isoformat(timespec="seconds")}
        atomic_write_json(self.root / OWNER_FILE, owner)

    def unlock(self) -> None:
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def discard_failed_start(self) -> None:
        """Undo a new run that failed before its first record (no ``config.json``): its files, its lock and the
        folders made for it go, so a refused start leaves nothing behind. Call it holding the lock."""
        if self._lock is None or self.exists():
            return
        self.clear()
        self.unlock()
        for name in _LOCK_FILES:
            (self.root / name).unlink(missing_ok=True)
        for folder in reversed(self._made):
            try:
                folder.rmdir()
            except OSError:
                break  # not empty: something else lives there now

    def _owner(self) -> str:
        try:
            owner = json.loads((self.root / OWNER_FILE).read_text(encoding="utf-8"))
            return f"PID {owner['pid']} on host {owner['host']}, since {owner['since']}"
        except (OSError, ValueError, KeyError, TypeError):
            return "it has not said which yet"

    # ------------------------------------------------------- what a crash leaves
    def remove_temp_files(self) -> list[Path]:
        """Delete the half-written files a killed writer left (call it holding the lock); returns them."""
        found = [p for sub in _WRITTEN_DIRS for p in (self.root / sub).glob(".*.tmp")]
        found += list(self.checkpoints_dir.glob(".step_*"))  # a checkpoint folder cut short (see checkpoint.py)
        for path in found:
            shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)
        return found

    def entries(self) -> list[Path]:
        """What the folder holds besides the lock's files."""
        return [p for p in self.root.iterdir() if p.name not in _LOCK_FILES] if self.root.is_dir() else []

    def made_by_chargan(self) -> bool:
        return (self.root / LOCK_FILE).exists()

    def died_before_first_record(self) -> bool:
        """A folder `chargan train` made whose run never wrote its ``config.json``: it may start again in place."""
        return self.made_by_chargan() and not self.exists()

    def clear(self) -> None:
        """Empty the folder but for the lock: the remains of a start that died before its first record."""
        for path in self.entries():
            shutil.rmtree(path) if path.is_dir() and not path.is_symlink() else path.unlink()

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
        append_line(self.metrics_path, json.dumps(clean))

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


def append_line(path: Path, line: str) -> None:
    """Append ``line`` and a newline to ``path`` whole or not at all: a write cut short (a full disk) is undone."""
    data = memoryview((line + "\n").encode("utf-8"))
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
    try:
        end = os.lseek(fd, 0, os.SEEK_END)
        try:
            while data:
                data = data[os.write(fd, data):]
        except OSError as exc:
            os.ftruncate(fd, end)  # no half line for the next append to run into
            raise OSError(exc.errno, exc.strerror, str(path)) from None
    finally:
        os.close(fd)


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
    """The run directory of a training call, locked and checked before any expensive work.

    A new run goes to ``run_dir`` (which must be absent or an empty folder) or
    to a fresh ``<runs_root>/<prefix>-<time>``. With ``resume``, ``run_dir``
    must hold a run whose saved settings (``saved_guard(root)``) equal
    ``guard`` and whose newest checkpoint is short of ``iterations``.

    The returned run is locked (`RunDirectory.lock`; call ``unlock`` when
    done) and cleared of the temporary files a killed writer left. A run
    that died before its first record (no ``config.json`` yet) starts again
    in place, with or without ``resume``: ``run.resuming`` says which it is,
    ``run.note`` says so to the user.
    """
    if distributed.is_distributed():
        # Rank 0 picks the path (a fresh name has the time in it), locks and checks it; the others
        # follow, and fail with rank 0's error, before rank 0 writes anything into it.
        outcome: tuple[str, bool, str | None, str | None] = ("", False, None, None)
        run: RunDirectory | None = None
        if distributed.is_main_process():
            try:
                run = _open_run(run_dir, runs_root, prefix, resume, saved_guard, guard, iterations)
                outcome = (str(run.root), run.resuming, None, None)
            except UserError as exc:
                outcome = ("", False, exc.message, exc.hint)
        path, resuming, message, hint = distributed.broadcast_object(outcome)
        if message is not None:
            raise UserError(message, hint=hint)
        if run is None:  # not rank 0: no lock, no writes
            run = RunDirectory(path)
            run.resuming = resuming
        return run
    return _open_run(run_dir, runs_root, prefix, resume, saved_guard, guard, iterations)


def _open_run(run_dir: str | Path | None, runs_root: str | Path, prefix: str, resume: bool,
              saved_guard: Callable[[Path], dict[str, Any]], guard: dict[str, Any], iterations: int) -> RunDirectory:
    if run_dir is None and not resume:
        run = _fresh_run(runs_root, prefix)
        run.lock()
        return run
    run = RunDirectory(run_dir if run_dir is not None else new_run_path(runs_root, prefix))
    if run.root.exists() and not run.root.is_dir():
        raise UserError(f"{run.root} is a file, not a run folder", hint="choose another --run")
    # Refusals that need no lock come first: they create nothing in a folder that is not ours.
    if not resume and run.exists():
        raise UserError(f"run directory {run.root} already holds a run",
                        hint="add --resume to continue it, or choose another --run")
    if not resume and run.entries() and not run.made_by_chargan():
        raise UserError(f"{run.root} exists and is not an empty folder", hint="choose a new --run directory")
    if resume and not run.exists() and not run.made_by_chargan():
        raise UserError(f"cannot resume: {run.root} is not a chargan run", hint="start it without --resume first")
    run.lock()
    try:
        run.remove_temp_files()
        if not run.exists():
            if run.entries():  # ours (the lock file says so), but no config.json: it died before its first record
                run.clear()
                run.note = (f"note: {run.root} held a start that died before its first record; "
                            "it starts again in place")
            return run
        if not resume:  # a config.json appeared while we waited for nothing: another writer finished its start
            raise UserError(f"run directory {run.root} already holds a run",
                            hint="add --resume to continue it, or choose another --run")
        check_guard(saved_guard(run.root), guard, f"run {run.root}",
                    hint="resume without changing the model, data, optimizer or evaluation settings, or start a new --run")
        done = latest_checkpoint(run.checkpoints_dir)
        if done is not None and checkpoint_iteration(done) >= iterations:
            raise UserError(f"run {run.root} is already at iteration {checkpoint_iteration(done)} of {iterations}",
                            hint="pass a larger --iterations to train it further")
        run.resuming = True
        return run
    except BaseException:
        run.unlock()
        raise


def _fresh_run(runs_root: str | Path, prefix: str) -> RunDirectory:
    """A new ``<runs_root>/<prefix>-<time>[-N]`` folder, created here (two runs started in one second get two)."""
    while True:
        path = new_run_path(runs_root, prefix)
        run = RunDirectory(path)
        run._made = [p for p in (*reversed(path.parents), path) if not p.exists()]
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.mkdir()
            return run
        except FileExistsError:
            continue
