"""The paper's 2-D toy distributions: ``8gaussians``, ``25gaussians``, ``swissroll``.

They follow the reference ``gan_toy.py`` (same centers, spreads and
rescaling), but each is written as a deterministic map of standard normal
noise, ``transform(name, u)`` with ``u`` ``(batch, NOISE_DIMS)``. One map
serves two uses: the seeded real-data sampler below draws ``u`` from its
own resumable stream, and the fixed "generator" of the paper's Figure 1
(real data plus Gaussian noise) draws ``u`` from the trainer's noise, so a
resumed run stays exact for both.

Differences from the reference, none of which changes the distribution:
uniform draws come from normals through the normal CDF; ``25gaussians``
samples a fresh point per draw instead of cycling a shuffled set of 100k
points; ``swissroll`` reimplements scikit-learn's ``make_swiss_roll``
(noise 0.25, columns x and z) without the dependency.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

from chargan.errors import UserError

#: Standard normal inputs per point: two for the within-mode noise, one for the mode / roll position.
NOISE_DIMS = 3


@dataclass(frozen=True)
class ToyDataset:
    """One toy distribution: its name, what it looks like, and its modes (if it is a mixture)."""

    name: str
    description: str
    centers: tuple[tuple[float, float], ...] = ()  # mixture means, in data units
    std: float = 0.0  # per-axis standard deviation of each mixture component

    @property
    def is_mixture(self) -> bool:
        return bool(self.centers)

    def centers_tensor(self) -> Tensor:
        """``(n_modes, 2)`` float32 mode centers."""
        return torch.tensor(self.centers, dtype=torch.float32).reshape(-1, 2)


def _eight_centers() -> tuple[tuple[float, float], ...]:
    s = 1.0 / math.sqrt(2.0)
    unit = [(1, 0), (-1, 0), (0, 1), (0, -1), (s, s), (s, -s), (-s, s), (-s, -s)]
    # The reference scales by 2, then divides the data by 1.414 (its "stdev").
    return tuple((2.0 * x / 1.414, 2.0 * y / 1.414) for x, y in unit)


def _grid_centers() -> tuple[tuple[float, float], ...]:
    return tuple((2.0 * x / 2.828, 2.0 * y / 2.828) for x in range(-2, 3) for y in range(-2, 3))


TOY_DATASETS: dict[str, ToyDataset] = {
    "8gaussians": ToyDataset("8gaussians", "8 Gaussians on a circle of radius 1.41 (std 0.014)",
                             _eight_centers(), 0.02 / 1.414),
    "25gaussians": ToyDataset("25gaussians", "25 Gaussians on a 5x5 grid, spacing 0.71 (std 0.018)",
                              _grid_centers(), 0.05 / 2.828),
    "swissroll": ToyDataset("swissroll", "a 2-D Swiss roll (scikit-learn's, noise 0.25, scaled by 1/7.5)"),
}


def get_toy_dataset(name: str) -> ToyDataset:
    try:
        return TOY_DATASETS[name]
    except KeyError:
        raise UserError(f"unknown toy dataset {name!r}", hint=f"choose one of: {', '.join(TOY_DATASETS)}") from None


def _uniform(u: Tensor) -> Tensor:
    """Standard normal -> uniform on [0, 1) (the normal CDF), clamped away from 1."""
    return (0.5 * (1.0 + torch.erf(u / math.sqrt(2.0)))).clamp(0.0, 1.0 - 1e-7)


def transform(name: str, u: Tensor) -> Tensor:
    """Points ``(batch, 2)`` of toy distribution ``name`` from standard normals ``u`` ``(batch, NOISE_DIMS)``."""
    dataset = get_toy_dataset(name)
    if u.ndim != 2 or u.shape[1] != NOISE_DIMS:
        raise ValueError(f"expected noise of shape (batch, {NOISE_DIMS}), got {tuple(u.shape)}")
    if dataset.is_mixture:
        centers = dataset.centers_tensor().to(u.device, u.dtype)
        index = (_uniform(u[:, 2]) * len(centers)).long()
        return centers[index] + dataset.std * u[:, :2]
    # Swiss roll: t ~ U(1.5pi, 4.5pi); (t cos t, t sin t) + 0.25 N(0, I), all / 7.5.
    t = 1.5 * math.pi * (1.0 + 2.0 * _uniform(u[:, 2]))
    roll = torch.stack([t * torch.cos(t), t * torch.sin(t)], dim=1)
    return (roll + 0.25 * u[:, :2]) / 7.5


class ToySampler:
    """Batches ``(batch, 2)`` of a toy distribution, a ``BatchSource`` of the GAN core.

    The noise is a numpy PCG64 stream whose state is JSON-serializable, so a
    resumed run draws the very same batches.
    """

    def __init__(self, name: str, device: torch.device | str = "cpu", seed: int = 0) -> None:
        self.dataset = get_toy_dataset(name)
        self.device = torch.device(device)
        self.rng = np.random.Generator(np.random.PCG64(seed))

    def sample(self, batch_size: int) -> Tensor:
        u = torch.from_numpy(self.rng.standard_normal((batch_size, NOISE_DIMS), dtype=np.float32))
        return transform(self.dataset.name, u).to(self.device)

    def state_dict(self) -> dict[str, Any]:
        return {"bit_generator": self.rng.bit_generator.state}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.rng.bit_generator.state = state["bit_generator"]


def sample_toy(name: str, n: int, seed: int = 0) -> Tensor:
    """``n`` points ``(n, 2)`` of ``name``, reproducible from ``seed``."""
    return ToySampler(name, seed=seed).sample(n)
