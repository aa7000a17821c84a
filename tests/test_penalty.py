"""The gradient penalty against closed forms, and the interpolates."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from chargan import gradient_penalty, interpolate
from chargan.core.penalty import gradient_norms, penalty_from_norms


class LinearCritic(nn.Module):
    """D(x) = <w, x> over all non-batch axes: its input gradient is w for every example."""

    def __init__(self, w: torch.Tensor) -> None:
        super().__init__()
        self.w = nn.Parameter(w)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x * self.w).flatten(1).sum(1)


def _simplex_batch(batch: int, seq_len: int, vocab: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    real = torch.nn.functional.one_hot(torch.randint(vocab, (batch, seq_len), generator=g), vocab).double()
    fake = torch.randn(batch, seq_len, vocab, generator=g, dtype=torch.float64).softmax(-1)
    return real, fake


@pytest.mark.parametrize("scale", [0.3, 1.0, 2.5])
def test_linear_critic_penalty_is_closed_form(scale: float) -> None:
    g = torch.Generator().manual_seed(0)
    w = torch.randn(7, 5, generator=g, dtype=torch.float64)
    w = w / w.norm() * scale  # ||w|| over the whole (seq_len, vocab) input = scale
    real, fake = _simplex_batch(16, 7, 5, seed=1)
    gp = gradient_penalty(LinearCritic(w), real, fake, weight=10.0)
    assert gp.item() == pytest.approx(10.0 * (scale - 1.0) ** 2, abs=1e-12)


@pytest.mark.parametrize("scale, expected", [(0.4, 0.0), (1.0, 0.0), (3.0, 4.0)])
def test_one_sided_penalty_only_penalizes_norms_above_one(scale: float, expected: float) -> None:
    w = torch.ones(4, 3, dtype=torch.float64)
    w = w / w.norm() * scale
    real, fake = _simplex_batch(8, 4, 3, seed=2)
    gp = gradient_penalty(LinearCritic(w), real, fake, weight=10.0, one_sided=True)
    assert gp.item() == pytest.approx(10.0 * expected, abs=1e-12)


def test_norm_covers_every_non_batch_axis() -> None:
    # A norm over the sequence axis only (a common port bug) would give per-position norms, not ||w||.
    w = torch.arange(1.0, 13.0, dtype=torch.float64).reshape(3, 4)
    x = torch.rand(5, 3, 4, dtype=torch.float64, requires_grad=True)
    norms = gradient_norms(LinearCritic(w)(x), x)
    assert torch.allclose(norms, torch.full((5,), w.norm().item(), dtype=torch.float64))


def test_penalty_reaches_critic_weights() -> None:
    w = torch.full((2, 3), 1.0, dtype=torch.float64)
    critic = LinearCritic(w)
    real, fake = _simplex_batch(4, 2, 3, seed=3)
    gradient_penalty(critic, real, fake, weight=1.0).backward()
    # d/dw (||w|| - 1)^2 = 2 (||w|| - 1) w / ||w||
    n = w.norm()
    assert torch.allclose(critic.w.grad, 2 * (n - 1) * w / n)


def test_penalty_from_norms_values() -> None:
    norms = torch.tensor([0.0, 1.0, 2.0, 3.0])
    assert penalty_from_norms(norms).item() == pytest.approx((1 + 0 + 1 + 4) / 4)
    assert penalty_from_norms(norms, one_sided=True).item() == pytest.approx((0 + 0 + 1 + 4) / 4)


def test_interpolates_stay_on_the_simplex_and_between_endpoints() -> None:
    real, fake = _simplex_batch(32, 6, 9, seed=4)
    x_hat = interpolate(real, fake, torch.Generator().manual_seed(5))
    assert torch.allclose(x_hat.sum(-1), torch.ones(32, 6, dtype=torch.float64))
    assert (x_hat >= 0).all()
    # One epsilon per example: x_hat - fake = eps * (real - fake) with a single eps per row.
    eps = (x_hat - fake).flatten(1) / (real - fake).flatten(1)
    assert torch.allclose(eps, eps[:, :1].expand_as(eps))
    assert ((eps >= 0) & (eps <= 1)).all()
    assert eps[:, 0].std() > 0.1  # different per example


def test_interpolate_rejects_mismatched_shapes() -> None:
    with pytest.raises(ValueError, match="shape"):
        interpolate(torch.zeros(2, 3), torch.zeros(2, 4))
