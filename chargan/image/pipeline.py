"""Train and sample the image GANs (MNIST, CIFAR-10) on the one core `Trainer`.

The run directory is the language model's (config.json, metrics.jsonl,
checkpoints/, plots/metrics.png); ``samples/`` holds a PNG grid per
evaluation instead of text files.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path

import numpy as np
import torch
from torch import nn

from chargan.core import distributed
from chargan.core.checkpoint import latest_checkpoint, load_checkpoint
from chargan.core.data import RowSampler
from chargan.core.device import resolve_device
from chargan.core.run import RunDirectory, open_run
from chargan.core.sampling import generate
from chargan.core.trainer import Trainer, TrainResult, progress_echo
from chargan.errors import UserError
from chargan.image.config import IMAGE_CONFIGS, ImageGANConfig, get_image_config, with_overrides
from chargan.image.evaluation import ImageEvaluator, InceptionMetrics, pixel_range, scale_pixels
from chargan.image.grid import save_grid
from chargan.image.inception import (
    INCEPTION_ENV,
    NVIDIA_INCEPTION_URL,
    inception_weights_path,
    load_inception,
    weights_fingerprint,
)
from chargan.image.models import build_image_models

#: What a run's config.json says in ``"family"`` (see `chargan.configs`).
FAMILY = "image"


def build_models(config: ImageGANConfig) -> tuple[nn.Module, nn.Module]:
    """The (generator, critic) pair ``config.model`` describes for the dataset's image shape."""
    m = config.model
    return build_image_models(m.arch, config.image_shape, m.dim, m.latent_dim, m.generator_norm, m.critic_norm, m.output)


@dataclass
class ImageRun:
    """A finished (or interrupted) training call."""

    run: RunDirectory
    config: ImageGANConfig
    result: TrainResult


def train_image_model(
    config: ImageGANConfig,
    run_dir: str | Path | None = None,
    *,
    resume: bool = False,
    runs_root: str | Path = "runs",
    progress: bool = True,
    download: bool = True,
    echo: Callable[[str], None] = print,
) -> ImageRun:
    """Train ``config`` in ``run_dir`` (a new ``runs/<name>-<time>`` by default).

    The dataset is read from ``config.data.data_dir`` (or the usual data
    folders) and, with ``download``, fetched first when missing. With
    ``resume``, training continues from the run's newest checkpoint; the
    model, data, optimizer and evaluation settings must be the run's
    (``iterations``, the logging intervals, the device, ``data_dir`` and the
    Inception weights path may change).
    """
    from chargan.corpora.images import load_images

    config = _absolute_paths(config.validate())
    run = open_run(run_dir, runs_root=runs_root, prefix=config.name, resume=resume,  # before reading any data
                   saved_guard=lambda root: load_run_config(root).guard(), guard=config.guard(),
                   iterations=config.train.iterations)

    with distributed.main_process_first():  # one download, shared by every rank
        data = load_images(config.data.dataset, config.data.data_dir, config.data.split,
                           download=download, progress=progress, echo=echo)
    images = data.images[: config.data.max_images]
    device = resolve_device(config.train.device)
    echo(f"data: {data.description}" + (f"; using the first {len(images):,}" if len(images) < len(data.images) else ""))
    echo(f"config {config.name}: {config.model.arch}, dim {config.model.dim}; device {device}; run {run.root}")

    torch.manual_seed(config.train.seed)
    generator, critic = build_models(config)
    sampler = RowSampler(images, device, seed=config.train.seed, transform=partial(scale_pixels, output=config.model.output))
    metrics = _inception_metrics(config, images, device, progress, echo)
    evaluator = ImageEvaluator(config.eval, run, config.model.output, metrics)
    trainer = Trainer(generator, critic, sampler, config.train, run=run, evaluate=evaluator, guard=config.guard(),
                      progress=progress, echo=progress_echo(progress, echo))
    if resume and trainer.resume():
        echo(f"resumed at iteration {trainer.iteration} of {config.train.iterations}")
    else:
        # A fresh run, or a resumed one that died before its first checkpoint: start clean.
        run.truncate_metrics(-1)
        if metrics is not None:
            run.log({"iteration": 0, "real_inception_score": float(metrics.real["inception_score"])})
    dataset = {"description": data.description, "source": str(data.source), "images": len(images)}
    run.write_config({**config.to_dict(), "family": FAMILY, "dataset": dataset})
    result = trainer.fit()
    return ImageRun(run, config, result)


def _inception_metrics(config: ImageGANConfig, images: np.ndarray, device: torch.device, progress: bool,
                       echo: Callable[[str], None]) -> InceptionMetrics | None:
    """IS / FID scoring when Inception weights are configured; None (said once) when not."""
    from chargan.corpora.locations import cache_root

    path = inception_weights_path(config.eval.inception_weights)
    if path is None:
        echo(f"Inception Score and FID skipped: no Inception weights; sample grids only (to enable them, download "
             f"{NVIDIA_INCEPTION_URL} and point ${INCEPTION_ENV} or the eval inception_weights setting at it)")
        return None
    extractor = load_inception(path, device)
    key = f"{config.data.dataset}-{config.data.split}-{len(images)}-{config.eval.metric_samples}-{config.eval.seed}-{weights_fingerprint(path)}"
    cache_file = cache_root() / "image-stats" / f"{key}.npz"
    if not cache_file.is_file():
        echo(f"computing Inception statistics of {min(config.eval.metric_samples, len(images)):,} real images (cached in {cache_file.parent})")
    metrics = InceptionMetrics.from_real_images(extractor, images, config.eval, config.model.output, device, cache_file)
    echo(f"Inception Score of real images: {float(metrics.real['inception_score']):.3f}")
    return metrics


def _absolute_paths(config: ImageGANConfig) -> ImageGANConfig:
    """Store the data folder absolute, so `--resume` works from any folder."""
    data_dir = config.data.data_dir
    return replace(config, data=replace(config.data, data_dir=None if data_dir is None else str(Path(data_dir).expanduser().resolve())))


def load_run_config(run_dir: str | Path) -> ImageGANConfig:
    """The resolved config an image run was trained with."""
    # from_dict reads the config sections; the "dataset" record beside them is ignored.
    saved = RunDirectory(run_dir).read_config()
    if saved.get("family") != FAMILY:
        raise UserError(f"run {run_dir} is not an image run (its config.json is of family {saved.get('family', 'text')!r})")
    saved.pop("dataset", None)
    saved.pop("family", None)
    return ImageGANConfig.from_dict(saved).validate()


def load_image_generator(run_dir: str | Path, device: str = "auto") -> tuple[nn.Module, ImageGANConfig, int]:
    """The newest checkpointed generator of an image run (in eval mode), its config and iteration."""
    run = RunDirectory(run_dir)
    config = load_run_config(run_dir)
    if latest_checkpoint(run.checkpoints_dir) is None:
        raise UserError(f"run {run.root} has no checkpoint yet", hint="train it first (checkpoints are written every --checkpoint-every iterations)")
    ckpt = load_checkpoint(run.checkpoints_dir)
    generator, _ = build_models(config)
    try:
        generator.load_state_dict(ckpt.weights["generator"])
    except (KeyError, RuntimeError) as exc:
        raise UserError(f"checkpoint {ckpt.path} does not match the run's config: {str(exc).splitlines()[0]}") from None
    return generator.to(resolve_device(device)).eval(), config, ckpt.iteration


def sample_image_grid(run_dir: str | Path, path: str | Path, n: int = 128, seed: int | None = None,
                      device: str = "auto") -> Path:
    """Write a PNG grid of ``n`` images from the run's newest generator to ``path``; returns it."""
    if n < 1:
        raise UserError(f"the number of samples must be positive, got {n}")
    generator, config, _ = load_image_generator(run_dir, device)
    images = generate(generator, n, seed, batch_size=n)
    return save_grid(images, path, pixel_range(config.model.output))


__all__ = ["IMAGE_CONFIGS", "ImageGANConfig", "ImageRun", "build_models", "get_image_config", "load_image_generator",
           "load_run_config", "sample_image_grid", "train_image_model", "with_overrides"]
