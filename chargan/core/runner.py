"""The one way every family trains: validate, open or resume the run, seed, build, fit.

`train` is generic over the family contract (`chargan.core.family.Family`);
`load` reads any run back. Neither knows what a family's data is.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from chargan.core import distributed
from chargan.core.checkpoint import latest_checkpoint, load_checkpoint, non_finite
from chargan.core.device import resolve_device, set_threads
from chargan.core.ema import AVERAGE
from chargan.core.memory import check_memory
from chargan.core.family import BuildContext, Family, LoadedRun, TrainedRun
from chargan.core.run import RunDirectory, open_run
from chargan.core.trainer import Trainer, progress_echo
from chargan.errors import UsageError, UserError


def train(
    family: Family,
    config: Any,
    run_dir: str | Path | None = None,
    *,
    resume: bool = False,
    runs_root: str | Path = "runs",
    progress: bool = True,
    download: bool = True,
    echo: Callable[[str], None] = print,
) -> TrainedRun:
    """Train ``config`` of ``family`` in ``run_dir`` (a new ``<runs_root>/<prefix>-<time>`` by default).

    With ``resume``, the run directory must hold a run of the same settings
    (only how long, how often, where and how fast may change: the fields
    declared ``resumable``); training continues from its newest checkpoint,
    or starts clean if it died before the first one. ``download`` lets a
    family fetch missing data.
    """
    config = family.prepare(config.validate())
    device = resolve_device(config.train.device)
    check_memory(config.memory_parts(training=True), device, "training this config")
    run = open_run(run_dir, runs_root=runs_root, prefix=family.run_prefix(config), resume=resume,
                   saved_guard=lambda root: read_config(family, root).guard(), guard=config.guard(),
                   iterations=config.train.iterations)
    threads = torch.get_num_threads()  # the run chooses its own (set_threads); the caller's count comes back after
    try:
        if run.note:
            echo(run.note)
        return _train_in(run, family, config, device, progress=progress, download=download, echo=echo)
    except BaseException:
        run.discard_failed_start()  # a start refused or stopped before its first record leaves nothing
        raise
    finally:
        run.unlock()
        torch.set_num_threads(threads)


def _train_in(run: RunDirectory, family: Family, config: Any, device: torch.device, *, progress: bool,
              download: bool, echo: Callable[[str], None]) -> TrainedRun:
    """`train`'s work once the run is opened and locked."""
    resume = run.resuming
    context = BuildContext(run, resume, device, progress=progress, download=download, echo=echo)
    torch.manual_seed(config.train.seed)  # the networks' initial weights
    parts = family.build(config, context)
    trainer = Trainer(parts.generator, parts.critic, parts.batches, config.train, run=run, evaluate=parts.evaluator,
                      guard=config.guard(), progress=progress, echo=progress_echo(progress, echo),
                      callbacks=parts.callbacks)
    for line in parts.summary:
        echo(line)
    if device.type == "cpu" or config.train.threads is not None:
        # CPU threads from the model's size and the machine's other load (an explicit --threads wins).
        weights = sum(p.numel() for m in (parts.generator, parts.critic) for p in m.parameters())
        echo(set_threads(config.train.threads, weights))
    if resume and trainer.resume():
        echo(f"resumed at iteration {trainer.iteration} of {config.train.iterations}")
    else:
        # A fresh run, or a resumed one that died before its first checkpoint: start clean.
        run.truncate_metrics(-1)
        if parts.first_record:
            run.log({"iteration": 0, **parts.first_record})
        if parts.save_files is not None and distributed.is_main_process():  # rank 0 alone writes the run
            parts.save_files(run)
    run.write_config({**config.to_dict(), "family": family.NAME, **parts.record, "cpu_threads": torch.get_num_threads()})
    return TrainedRun(run, config, trainer.fit(), family.NAME, dict(parts.first_record))


def read_config(family: Family, run_dir: str | Path) -> Any:
    """The validated config a run of ``family`` was trained with (its ``config.json``)."""
    run = RunDirectory(run_dir)
    try:
        return family.Config.from_dict(run.read_config()).validate()
    except UsageError as exc:  # a value no command accepts, in a file: the file is what is wrong (exit 1)
        raise UserError(f"{run.config_path} holds an impossible setting: {exc.message}",
                        hint="restore the run's config.json, or start a new run") from None


def load(family: Family, run_dir: str | Path, device: str = "auto", raw: bool = False) -> LoadedRun:
    """The newest checkpointed generator of a run of ``family`` (in eval mode), with its config and iteration.

    A run trained with a weight average (``--ema-decay``) loads the average, unless ``raw``: then the trained
    generator's own weights (`LoadedRun.weights` says which).
    """
    run = RunDirectory(run_dir)
    config = read_config(family, run.root)
    target = resolve_device(device)
    check_memory(config.memory_parts(training=False), target, f"loading run {run.root}")
    generator = family.generator(config, run)
    if latest_checkpoint(run.checkpoints_dir) is None:
        raise UserError(f"run {run.root} has no checkpoint yet",
                        hint="train it first (checkpoints are written every --checkpoint-every iterations)")
    ckpt = load_checkpoint(run.checkpoints_dir)
    weights = AVERAGE if AVERAGE in ckpt.weights and not raw else "generator"
    try:
        # A generator without parameters (the toy's fixed one) has no entry in the weights file.
        generator.load_state_dict(ckpt.weights.get(weights, {}))
    except RuntimeError as exc:
        raise UserError(f"checkpoint {ckpt.path} does not match the run's config: {str(exc).splitlines()[0]}") from None
    bad = non_finite(generator)
    if bad:  # samples of such weights are blank or garbage: say why instead
        raise UserError(f"checkpoint {ckpt.path} holds generator weights that are not finite ({bad[0]}, ...): "
                        "the run diverged", hint="use an older checkpoint, or train again with a lower --lr")
    return LoadedRun(run, family, config, generator.to(target).eval(), ckpt.iteration, target, weights)
