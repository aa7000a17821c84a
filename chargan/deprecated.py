"""Release 0.1's per-family entry points, kept for one release: each warns, then calls the generic API.

``train_language_model``, ``train_toy_model`` and ``train_image_model`` are
`chargan.train`; ``load_generator``, ``sample_text``, ``evaluate_run`` and
``sample_image_grid`` are `chargan.load_run`, `chargan.sample`,
`chargan.evaluate` and the image family's ``write_grid``.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

from chargan.core.family import TrainedRun
from chargan.families import evaluate, load_run, sample, train
from chargan.image.family import write_grid
from chargan.text.family import run_vocabulary


def _deprecated(old: str, new: str) -> None:
    warnings.warn(f"chargan.{old} is deprecated and will be removed in the next release; use {new}",
                  DeprecationWarning, stacklevel=3)


def train_language_model(config: Any, run_dir: str | Path | None = None, **options: Any) -> TrainedRun:
    _deprecated("train_language_model", "chargan.train")
    return train(config, run_dir, **options)


def train_toy_model(config: Any, run_dir: str | Path | None = None, **options: Any) -> TrainedRun:
    _deprecated("train_toy_model", "chargan.train")
    return train(config, run_dir, **options)


def train_image_model(config: Any, run_dir: str | Path | None = None, **options: Any) -> TrainedRun:
    _deprecated("train_image_model", "chargan.train")
    return train(config, run_dir, **options)


def load_generator(run_dir: str | Path, device: str = "auto") -> tuple[Any, Any, Any, int]:
    """A language run's ``(generator, vocabulary, config, iteration)``."""
    _deprecated("load_generator", "chargan.load_run")
    loaded = load_run(run_dir, device)
    return loaded.generator, run_vocabulary(loaded.run), loaded.config, loaded.iteration


def sample_text(run_dir: str | Path, n: int = 20, seed: int | None = None, device: str = "auto") -> list[str]:
    _deprecated("sample_text", "chargan.sample")
    return sample(run_dir, n, seed=seed, device=device)


def evaluate_run(run_dir: str | Path, reference: str | Path | None = None, n: int = 640, seed: int | None = None,
                 device: str = "auto", progress: bool = False) -> dict[str, Any]:
    _deprecated("evaluate_run", "chargan.evaluate")
    return evaluate(run_dir, n, seed=seed, reference=reference, device=device, progress=progress)


def sample_image_grid(run_dir: str | Path, path: str | Path, n: int = 128, seed: int | None = None,
                      device: str = "auto") -> Path:
    _deprecated("sample_image_grid", "chargan.image.family.write_grid")
    return write_grid(load_run(run_dir, device), path, n, seed)
