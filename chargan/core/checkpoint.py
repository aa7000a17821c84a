"""Atomic checkpoints that cannot execute code when loaded.

```
checkpoints/
  step_00001000/
    weights.safetensors   module weights, keys "<module>.<param>"
    state.pt              optimizer and RNG state (loaded with weights_only=True)
    meta.json             iteration, config fingerprint, anything JSON
  latest                  name of the newest complete checkpoint
```
A checkpoint is written to a hidden temporary folder and renamed into place
only when complete, then ``latest`` is swapped atomically; a crash at any
moment leaves the previous checkpoint intact and findable.
"""

from __future__ import annotations

import errno
import json
import os
import pickle
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import Tensor, nn

from chargan.core.atomic import atomic_write_json, atomic_write_text, current_umask, fsync_file
from chargan.errors import UserError

LATEST = "latest"
WEIGHTS = "weights.safetensors"
STATE = "state.pt"
META = "meta.json"


@dataclass(frozen=True)
class Checkpoint:
    """A loaded checkpoint: ``weights[module_name]`` is a state dict."""

    path: Path
    iteration: int
    weights: dict[str, dict[str, Tensor]]
    state: dict[str, Any]
    meta: dict[str, Any]


def save_checkpoint(
    directory: str | Path,
    iteration: int,
    modules: dict[str, nn.Module],
    state: dict[str, Any] | None = None,
    meta: dict[str, Any] | None = None,
    keep: int = 2,
) -> Path:
    """Save ``modules`` weights, ``state`` (tensors, numbers, containers) and ``meta`` (JSON).

    Keeps the newest ``keep`` checkpoints and deletes older ones.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob(".step_*"):  # left by a process killed mid-save
        shutil.rmtree(stale, ignore_errors=True)
    name = f"step_{iteration:08d}"
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=directory))
    try:
        os.chmod(tmp, 0o777 & ~current_umask())  # mkdtemp makes it private
        tensors = {
            f"{module_name}.{key}": value.detach().contiguous().cpu()
            for module_name, module in modules.items()
            for key, value in module.state_dict().items()
        }
        try:
            save_file(tensors, str(tmp / WEIGHTS))
        except SafetensorError as exc:  # a full disk, say: the OSError it wraps, so callers see one kind of error
            raise OSError(_errno_of(str(exc)), f"cannot write the weights: {exc}",
                          str(directory / name / WEIGHTS)) from None  # the name it was to have: tmp is removed
        os.chmod(tmp / WEIGHTS, 0o666 & ~current_umask())  # safetensors writes it private (0600), unlike the rest
        try:
            with open(tmp / STATE, "wb") as f:  # a Python file: a failed write is an OSError, not torch's RuntimeError
                torch.save(state or {}, f)
        except (OSError, RuntimeError) as exc:
            # A full disk fails at the close's flush, naming no file; or mid-write, where torch's zip writer then
            # fails in its own clean-up with a RuntimeError whose context is the OSError.
            cause = _os_error_in(exc)
            if cause is None:
                raise
            raise OSError(cause.errno, cause.strerror, str(directory / name / STATE)) from None
        for written in (WEIGHTS, STATE):
            fsync_file(tmp / written)
        atomic_write_json(tmp / META, {"iteration": iteration, **(meta or {})})
        final = directory / name
        if final.exists():
            # Move the old copy aside before the rename, so one complete copy exists at every moment.
            stale = Path(tempfile.mkdtemp(prefix=f".{name}.old.", dir=directory))
            final.rename(stale / name)
            tmp.rename(final)
            shutil.rmtree(stale, ignore_errors=True)
        else:
            tmp.rename(final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    atomic_write_text(directory / LATEST, name + "\n")
    _prune(directory, keep)
    return final


def _os_error_in(exc: BaseException) -> OSError | None:
    """``exc`` itself if an OSError, else the first OSError it was raised in handling (its ``__context__`` chain)."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, OSError):
            return seen
        seen = seen.__context__
    return None


def _errno_of(message: str) -> int:
    """The errno a safetensors write error message reports (``os error 28``), or EIO."""
    found = re.search(r"os error (\d+)", message)
    return int(found.group(1)) if found else (errno.ENOSPC if "No space left" in message else errno.EIO)


def non_finite(module: nn.Module) -> list[str]:
    """Names of ``module``'s floating-point weights and buffers that hold a NaN or an infinity."""
    return [name for name, tensor in module.state_dict().items()
            if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all())]


def _prune(directory: Path, keep: int) -> None:
    complete = sorted(p for p in directory.glob("step_*") if (p / META).is_file())
    for old in complete[:-keep] if keep > 0 else []:
        shutil.rmtree(old, ignore_errors=True)


def latest_checkpoint(directory: str | Path) -> Path | None:
    """The newest complete checkpoint in ``directory``, or None."""
    directory = Path(directory)
    pointer = directory / LATEST
    if pointer.is_file():
        candidate = directory / _pointed_name(pointer)
        if (candidate / META).is_file():
            return candidate
    complete = sorted(p for p in directory.glob("step_*") if (p / META).is_file())
    return complete[-1] if complete else None


def _pointed_name(pointer: Path) -> str:
    """The checkpoint folder name ``latest`` holds; `UserError` unless it is a plain ``step_<n>`` name.

    The pointer is only ever a name inside ``checkpoints/``: a path (absolute, or with ``..``) would
    load weights from outside the run.
    """
    try:
        name = pointer.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        name = f"<unreadable: {type(exc).__name__}>"
    if not re.fullmatch(r"step_\d{8,}", name):
        raise UserError(f"{pointer} does not name a checkpoint of this run (it holds {name[:80]!r})",
                        hint=f"delete {pointer}: the newest complete step_* folder beside it is then used")
    return name


def checkpoint_iteration(path: str | Path) -> int:
    """The iteration of a checkpoint folder, read from its small ``meta.json`` alone."""
    try:
        return int(json.loads((Path(path) / META).read_text(encoding="utf-8"))["iteration"])
    except (OSError, KeyError, TypeError, ValueError) as exc:
        raise UserError(f"checkpoint {path} is unreadable or corrupt: {type(exc).__name__}: {exc}",
                        hint="delete that folder to fall back to an older checkpoint") from None


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> Checkpoint:
    """Load a checkpoint folder, or a checkpoints folder's newest one.

    Given a checkpoints folder, a reader never fails because the run it
    reads is training: a checkpoint pruned (or replaced) while it was read
    is followed by the newer one ``latest`` names then.
    """
    path = Path(path)
    if (path / META).is_file():
        return _read_checkpoint(path, map_location)
    for _attempt in range(_READ_ATTEMPTS):
        found = latest_checkpoint(path)
        if found is None:
            raise UserError(f"no checkpoint found in {path}", hint="train (or resume) the run first")
        try:
            return _read_checkpoint(found, map_location)
        except UserError:
            if (found / META).is_file():
                raise  # still there: it is the checkpoint that is broken
    raise UserError(f"the checkpoints in {path} kept changing while they were read ({_READ_ATTEMPTS} tries)",
                    hint="try again; a run saving checkpoints faster than they can be read needs a larger "
                         "--checkpoint-every")


#: Tries of a reader whose checkpoint was pruned under it (each try follows ``latest`` to a newer one).
_READ_ATTEMPTS = 10


def _read_checkpoint(path: Path, map_location: str | torch.device) -> Checkpoint:
    iteration = checkpoint_iteration(path)
    try:
        meta = json.loads((path / META).read_text(encoding="utf-8"))
        flat = load_file(str(path / WEIGHTS), device=str(map_location))
        state = torch.load(path / STATE, map_location=map_location, weights_only=True)
    except (OSError, EOFError, ValueError, SafetensorError, pickle.UnpicklingError, RuntimeError) as exc:
        raise UserError(f"checkpoint {path} is unreadable or corrupt: {type(exc).__name__}: {exc}",
                        hint="delete that folder to fall back to an older checkpoint") from None
    weights: dict[str, dict[str, Tensor]] = {}
    for key, value in flat.items():
        module_name, _, param = key.partition(".")
        weights.setdefault(module_name, {})[param] = value
    return Checkpoint(path, iteration, weights, state, meta)
