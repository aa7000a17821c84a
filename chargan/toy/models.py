"""The reference toy script's ReLU MLPs, and the fixed "generator" of the paper's Figure 1.

Points are ``(batch, 2)``; the critic returns one score per point, ``(batch,)``.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from chargan.core import activations
from chargan.core.sampling import generate
from chargan.corpora.toy import NOISE_DIMS, transform


def relu_mlp(in_dim: int, dim: int, hidden_layers: int, out_dim: int) -> nn.Sequential:
    """``hidden_layers`` Linear+ReLU layers of width ``dim``, then a linear output layer.

    Initialized as the reference (tflib): He-uniform weights before each ReLU,
    LeCun-uniform on the output layer, zero biases.
    """
    layers: list[nn.Module] = []
    width = in_dim
    for _ in range(hidden_layers):
        linear = nn.Linear(width, dim)
        nn.init.kaiming_uniform_(linear.weight, nonlinearity="relu")
        layers += [linear, activations.PenaltyReLU()]
        width = dim
    out = nn.Linear(width, out_dim)
    bound = math.sqrt(3.0 / width)
    nn.init.uniform_(out.weight, -bound, bound)
    layers.append(out)
    for layer in layers:
        if isinstance(layer, nn.Linear):
            nn.init.zeros_(layer.bias)
    return nn.Sequential(*layers)


class ToyGenerator(nn.Module):
    """Noise ``(batch, latent_dim)`` -> points ``(batch, 2)`` (reference: 2-D noise, 3 hidden layers of 512)."""

    def __init__(self, dim: int = 512, hidden_layers: int = 3, latent_dim: int = 2) -> None:
        super().__init__()
        self.latent_dim = latent_dim
        self.net = relu_mlp(latent_dim, dim, hidden_layers, 2)

    def forward(self, z: Tensor) -> Tensor:
        return self.net(z)


class ToyCritic(nn.Module):
    """Points ``(batch, 2)`` -> scores ``(batch,)``; per example (no normalization), as the penalty needs."""

    def __init__(self, dim: int = 512, hidden_layers: int = 3) -> None:
        super().__init__()
        self.net = relu_mlp(2, dim, hidden_layers, 1)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x).squeeze(-1)

    def linear_layers(self) -> list[nn.Linear]:
        """The linear layers, input first (the gradient-norm experiment reads them)."""
        return [m for m in self.net if isinstance(m, nn.Linear)]


class FixedGenerator(nn.Module):
    """Real data plus Gaussian noise, as a "generator" with no parameters (the paper's Figure 1).

    ``forward(z)`` with ``z`` ``(batch, NOISE_DIMS + 2)`` standard normal: the
    first ``NOISE_DIMS`` columns draw a point of ``dataset`` (see
    `chargan.corpora.toy.transform`), the last two add ``noise_std`` times
    Gaussian noise. Its randomness is the trainer's noise stream, so a resumed
    run stays exact; the trainer leaves a generator without parameters alone.
    """

    def __init__(self, dataset: str, noise_std: float = 1.0) -> None:
        super().__init__()
        self.dataset = dataset
        self.noise_std = noise_std
        self.latent_dim = NOISE_DIMS + 2

    def forward(self, z: Tensor) -> Tensor:
        return transform(self.dataset, z[:, :NOISE_DIMS]) + self.noise_std * z[:, NOISE_DIMS:]


def generate_points(generator: nn.Module, n: int, seed: int | None = None, device: torch.device | str = "cpu",
                    batch_size: int = 10_000, across_ranks: bool = False) -> Tensor:
    """``n`` points ``(n, 2)`` on the CPU from ``generator``, with noise fixed by ``seed`` (fresh when None).

    ``across_ranks``: split the work over the data-parallel ranks (see `generate`).
    """
    return generate(generator, n, seed, batch_size, transform=lambda points: points.float(), device=device,
                    across_ranks=across_ranks)
