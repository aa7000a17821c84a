"""The image GANs' side of the family contract (`chargan.core.family.Family`).

``build`` reads MNIST or CIFAR-10 (fetching it when allowed), makes the
DCGAN or ResNet pair and an evaluator that writes a sample grid per
evaluation, plus IS / FID when Inception weights are configured. The run
directory is every family's; ``samples/`` holds PNG grids.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from chargan.core import distributed
from chargan.core.data import RowSampler
from chargan.core.family import BuildContext, LoadedRun, Parts, refuse_decoding
from chargan.core.run import RunDirectory
from chargan.core.sampling import generate
from chargan.corpora.images import load_images
from chargan.corpora.locations import cache_root
from chargan.errors import UsageError
from chargan.image.config import ImageGANConfig
from chargan.image.evaluation import ImageEvaluator, InceptionMetrics, pixel_range, scale_pixels
from chargan.image.grid import save_grid
from chargan.image.inception import INCEPTION_ENV, NVIDIA_INCEPTION_URL, inception_weights_path, load_inception, weights_fingerprint
from chargan.image.models import build_image_models


def build_models(config: ImageGANConfig) -> tuple[nn.Module, nn.Module]:
    """The (generator, critic) pair ``config.model`` describes for the dataset's image shape."""
    m = config.model
    return build_image_models(m.arch, config.image_shape, m.dim, m.latent_dim, m.generator_norm, m.critic_norm, m.output)


def prepare(config: ImageGANConfig) -> ImageGANConfig:
    """Store the data folder absolute, so `--resume` works from any folder."""
    data_dir = config.data.data_dir
    return replace(config, data=replace(config.data, data_dir=None if data_dir is None else str(Path(data_dir).expanduser().resolve())))


def run_prefix(config: ImageGANConfig) -> str:
    return config.name


def build(config: ImageGANConfig, context: BuildContext) -> Parts:
    """The images, the networks and the grid (and IS / FID) evaluator of a run."""
    with distributed.main_process_first():  # one download, shared by every rank
        data = load_images(config.data.dataset, config.data.data_dir, config.data.split,
                           download=context.download, progress=context.progress, echo=context.echo)
    images = data.images[: config.data.max_images]
    generator, critic = build_models(config)
    batches = RowSampler(images, context.device, seed=config.train.seed,
                         transform=partial(scale_pixels, output=config.model.output))
    metrics = _inception_metrics(config, images, context.device, context.progress, context.echo)
    first = {} if metrics is None else {"real_inception_score": float(metrics.real["inception_score"])}
    used = f"; using the first {len(images):,}" if len(images) < len(data.images) else ""
    return Parts(
        generator, critic, batches, ImageEvaluator(config.eval, context.run, config.model.output, metrics),
        first_record=first,
        record={"dataset": {"description": data.description, "source": str(data.source), "images": len(images)}},
        summary=[f"data: {data.description}{used}",
                 f"config {config.name}: {config.model.arch}, dim {config.model.dim}; device {context.device}; "
                 f"run {context.run.root}"],
    )


def _inception_metrics(config: ImageGANConfig, images: np.ndarray, device: torch.device, progress: bool,
                       echo: Callable[[str], None]) -> InceptionMetrics | None:
    """IS / FID scoring when Inception weights are configured; None (said once) when not."""
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


def generator(config: ImageGANConfig, run: RunDirectory) -> nn.Module:
    return build_models(config)[0]


def write_grid(loaded: LoadedRun, path: str | Path, n: int = 128, seed: int | None = None) -> Path:
    """Write a PNG grid of ``n`` images of a loaded run to ``path``; returns it."""
    images = generate(loaded.generator, n, seed, batch_size=n)
    return save_grid(images, path, pixel_range(loaded.config.model.output))


def sample(loaded: LoadedRun, n: int, seed: int | None, decode: str = "argmax", temperature: float = 1.0,
           output: Path | None = None) -> list[str]:
    """Write a PNG grid of ``n`` images to ``output`` (default: a new file in the run's samples/ folder); the line names it."""
    refuse_decoding(decode, "images")
    path = output or loaded.run.samples_dir / f"sample_{datetime.now().strftime('%Y%m%d-%H%M%S')}.png"
    return [f"wrote {write_grid(loaded, path, n, seed)}"]


def evaluate(loaded: LoadedRun, n: int | None, seed: int | None, reference: str | None,
             progress: bool) -> dict[str, Any]:
    raise UsageError(f"`chargan eval` does not handle {loaded.family.NAME} runs yet; see the run's metrics.jsonl")
