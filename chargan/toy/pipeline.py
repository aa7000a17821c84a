"""Train, sample and evaluate a toy 2-D GAN run (what ``chargan train --config 8gaussians`` calls)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from chargan.core.checkpoint import latest_checkpoint, load_checkpoint
from chargan.core.device import resolve_device
from chargan.core.run import RunDirectory, open_run
from chargan.core.trainer import Trainer, TrainResult, progress_echo
from chargan.corpora.toy import ToySampler, sample_toy
from chargan.errors import UserError
from chargan.toy.config import ToyGANConfig
from chargan.toy.evaluation import ToyEvaluator, toy_metrics
from chargan.toy.models import FixedGenerator, ToyCritic, ToyGenerator, generate_points

FAMILY = "toy"  # written into config.json, so `chargan sample` / `eval` know what a run holds


def build_toy_models(config: ToyGANConfig) -> tuple[nn.Module, ToyCritic]:
    """The generator (an MLP, or `FixedGenerator` when ``data.fixed_generator``) and the critic MLP."""
    m = config.model
    if config.data.fixed_generator:
        generator: nn.Module = FixedGenerator(config.data.dataset, config.data.noise_std)
    else:
        generator = ToyGenerator(m.dim, m.hidden_layers, m.latent_dim)
    return generator, ToyCritic(m.dim, m.hidden_layers)


@dataclass
class ToyRun:
    """A finished (or interrupted) toy training call."""

    run: RunDirectory
    config: ToyGANConfig
    result: TrainResult


def train_toy_model(
    config: ToyGANConfig,
    run_dir: str | Path | None = None,
    *,
    resume: bool = False,
    runs_root: str | Path = "runs",
    progress: bool = True,
    download: bool = True,
    echo: Callable[[str], None] = print,
) -> ToyRun:
    """Train the toy GAN of ``config`` in ``run_dir`` (a new ``runs/<name>-<time>`` by default).

    Each evaluation logs ``modes_covered`` and ``high_quality`` (Gaussian
    mixtures) and ``w1`` to ``metrics.jsonl`` and draws
    ``plots/toy_<iteration>.png``. With ``resume``, the run must exist and
    keep its settings (``iterations``, logging intervals and device may change).
    ``download`` is part of every family's train signature; toy data is
    generated, so there is nothing to fetch.
    """
    config = config.validate()
    run = open_run(run_dir, runs_root=runs_root, prefix=config.name, resume=resume,
                   saved_guard=lambda root: load_toy_config(root).guard(), guard=config.guard(),
                   iterations=config.train.iterations)

    device = resolve_device(config.train.device)
    torch.manual_seed(config.train.seed)
    generator, critic = build_toy_models(config)
    sampler = ToySampler(config.data.dataset, device, seed=config.train.seed)
    evaluator = ToyEvaluator(config.data.dataset, config.eval, critic, device, run)
    trainer = Trainer(generator, critic, sampler, config.train, run=run, evaluate=evaluator, guard=config.guard(),
                      progress=progress, echo=progress_echo(progress, echo))
    what = "a fixed generator (data + noise)" if config.data.fixed_generator else "an MLP generator"
    echo(f"toy {config.data.dataset}: {what}, device {device}; run {run.root}")
    if resume and trainer.resume():
        echo(f"resumed at iteration {trainer.iteration} of {config.train.iterations}")
    else:
        run.truncate_metrics(-1)
    run.write_config({**config.to_dict(), "family": FAMILY})
    return ToyRun(run, config, trainer.fit())


def load_toy_config(run_dir: str | Path) -> ToyGANConfig:
    """The resolved config a toy run was trained with."""
    saved = RunDirectory(run_dir).read_config()
    if saved.get("family") != FAMILY:
        raise UserError(f"{run_dir} is not a toy run")
    return ToyGANConfig.from_dict({k: v for k, v in saved.items() if k != "family"}).validate()


def load_toy_models(run_dir: str | Path, device: str = "auto") -> tuple[nn.Module, ToyCritic, ToyGANConfig, int]:
    """The newest checkpointed generator and critic of a toy run, its config and iteration."""
    run = RunDirectory(run_dir)
    config = load_toy_config(run_dir)
    if latest_checkpoint(run.checkpoints_dir) is None:
        raise UserError(f"run {run.root} has no checkpoint yet", hint="train it first (checkpoints are written every --checkpoint-every iterations)")
    ckpt = load_checkpoint(run.checkpoints_dir)
    generator, critic = build_toy_models(config)
    try:
        generator.load_state_dict(ckpt.weights.get("generator", {}))
        critic.load_state_dict(ckpt.weights["critic"])
    except (KeyError, RuntimeError) as exc:
        raise UserError(f"checkpoint {ckpt.path} does not match the run's config: {str(exc).splitlines()[0]}") from None
    target = resolve_device(device)
    return generator.to(target), critic.to(target), config, ckpt.iteration


def sample_points(run_dir: str | Path, n: int = 20, seed: int | None = None, device: str = "auto") -> Tensor:
    """``n`` generated points ``(n, 2)`` from a toy run's newest generator."""
    if n < 1:
        raise UserError(f"the number of samples must be positive, got {n}")
    generator, _, _, _ = load_toy_models(run_dir, device)
    return generate_points(generator, n, seed=seed, device=resolve_device(device))


def evaluate_toy_run(run_dir: str | Path, n: int | None = None, seed: int | None = None, device: str = "auto") -> dict[str, Any]:
    """``modes_covered``, ``high_quality`` and ``w1`` of ``n`` generated points (default: the run's eval settings)."""
    generator, _, config, iteration = load_toy_models(run_dir, device)
    n = config.eval.samples if n is None else n
    if n < 1:
        raise UserError(f"the number of samples must be positive, got {n}")
    seed = config.eval.seed if seed is None else seed
    fake = generate_points(generator, n, seed=seed, device=resolve_device(device))
    real = sample_toy(config.data.dataset, n, seed=seed)
    metrics = toy_metrics(fake, real, config.data.dataset, min(config.eval.w1_points, n))
    return {"run": str(run_dir), "iteration": iteration, "dataset": config.data.dataset, "samples": n, **metrics}
