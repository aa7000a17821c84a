"""What an image run does at each evaluation: a PNG grid, and IS / FID when it can.

`ImageEvaluator` is the `chargan.core.trainer.Evaluator` of the image
family. It always writes ``samples/samples_<iteration>.png``, a grid of
images from fixed noise (so successive grids show the same latent points).
With an `InceptionMetrics` it also returns ``inception_score``,
``inception_score_std`` and ``fid`` for metrics.jsonl.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

from chargan.core.atomic import atomic_write
from chargan.core.run import RunDirectory
from chargan.image import HEADLINE
from chargan.image.config import ImageEvalConfig
from chargan.image.grid import save_grid
from chargan.image.inception import FeatureExtractor, extract, feature_statistics, frechet_distance, inception_score


def pixel_range(output: str) -> tuple[float, float]:
    """The range of pixel values a generator with this output makes: sigmoid [0, 1], tanh [-1, 1]."""
    return (0.0, 1.0) if output == "sigmoid" else (-1.0, 1.0)


def scale_pixels(images: Tensor, output: str = "tanh") -> Tensor:
    """uint8 images ``(batch, C, H, W)`` -> float in the generator's range (runs on the device)."""
    return images.float() / 255 if output == "sigmoid" else images.float() / 127.5 - 1


def _to_symmetric(images: Tensor, output: str) -> Tensor:
    """Generator output -> [-1, 1], what the Inception extractor takes."""
    return images * 2 - 1 if output == "sigmoid" else images


def _noise(n: int, latent_dim: int, seed: int, device: torch.device) -> Tensor:
    rng = torch.Generator(device=device).manual_seed(seed)
    return torch.randn(n, latent_dim, device=device, generator=rng)


class InceptionMetrics:
    """IS and FID of a generator against precomputed real-image statistics.

    ``real`` holds the real images' feature mean and covariance (``mu``,
    ``sigma``) and their own Inception Score (``inception_score``), the
    figure a perfect generator would reach.
    """

    def __init__(self, extractor: FeatureExtractor, real: dict[str, np.ndarray], config: ImageEvalConfig, output: str) -> None:
        self.extractor = extractor
        self.real = real
        self.config = config
        self.output = output

    @classmethod
    def from_real_images(cls, extractor: FeatureExtractor, images: np.ndarray, config: ImageEvalConfig, output: str,
                         device: torch.device, cache_file: Path | None = None) -> InceptionMetrics:
        """Statistics of ``config.metric_samples`` real images ``(n, C, H, W)`` uint8, cached in ``cache_file``."""
        if cache_file is not None and cache_file.is_file():
            try:
                with np.load(cache_file) as saved:
                    return cls(extractor, {k: saved[k] for k in ("mu", "sigma", "inception_score")}, config, output)
            except (OSError, ValueError, KeyError):
                pass  # damaged: recompute and replace it
        n = min(config.metric_samples, len(images))
        picked = np.sort(np.random.default_rng(config.seed).choice(len(images), size=n, replace=False))

        def real(start: int, count: int) -> Tensor:
            batch = torch.from_numpy(np.ascontiguousarray(images[picked[start:start + count]])).to(device)
            return batch.float() / 127.5 - 1

        features, probs = extract(extractor, real, n, config.batch_size)
        mu, sigma = feature_statistics(features)
        stats = {"mu": mu.numpy(), "sigma": sigma.numpy(),
                 "inception_score": np.array(inception_score(probs, min(config.is_splits, n))[0])}
        if cache_file is not None:
            def save(tmp: Path) -> None:
                with tmp.open("wb") as f:  # a file object: np.savez would add ".npz" to a name
                    np.savez(f, **stats)

            atomic_write(cache_file, save)
        return cls(extractor, stats, config, output)

    def score(self, generator: nn.Module) -> dict[str, float]:
        """``inception_score``, ``inception_score_std`` and ``fid`` of ``config.metric_samples`` generated images."""
        device = next(generator.parameters()).device
        z = _noise(self.config.metric_samples, generator.latent_dim, self.config.seed + 1, device)
        features, probs = extract(self.extractor, lambda s, c: _to_symmetric(generator(z[s:s + c]), self.output),
                                  self.config.metric_samples, self.config.batch_size)
        mean, std = inception_score(probs, self.config.is_splits)
        mu, sigma = feature_statistics(features)
        fid = frechet_distance(mu, sigma, torch.from_numpy(self.real["mu"]), torch.from_numpy(self.real["sigma"]))
        return {"inception_score": mean, "inception_score_std": std, "fid": fid}


class ImageEvaluator:
    """Writes a sample grid per evaluation; returns IS / FID when ``metrics`` is given."""

    def __init__(self, config: ImageEvalConfig, run: RunDirectory, output: str = "tanh",
                 metrics: InceptionMetrics | None = None) -> None:
        self.config = config
        self.run = run
        self.output = output
        self.metrics = metrics
        self._fixed: Tensor | None = None
        self.headline = HEADLINE if metrics is not None else None  # the figure the progress bar shows

    def grid_path(self, iteration: int) -> Path:
        return self.run.samples_dir / f"samples_{iteration:08d}.png"

    def __call__(self, generator: nn.Module, iteration: int) -> dict[str, float]:
        device = next(generator.parameters()).device
        if self._fixed is None or self._fixed.device != device:
            self._fixed = _noise(self.config.grid_samples, generator.latent_dim, self.config.seed, device)
        save_grid(generator(self._fixed), self.grid_path(iteration), pixel_range(self.output))
        return self.metrics.score(generator) if self.metrics is not None else {}


__all__ = ["ImageEvaluator", "InceptionMetrics", "pixel_range", "scale_pixels"]
