"""chargan's (leaky) ReLU: the same function as torch's, and a penalty whose double backward skips the forward graph."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from chargan import ConvCritic
from chargan.core import activations
from chargan.core.penalty import gradient_norms, penalty_from_norms
from chargan.image.models import DCGANCritic
from chargan.sequence import models as text_models


def _points() -> torch.Tensor:
    x = torch.randn(1000, generator=torch.Generator().manual_seed(0))
    x[:10] = 0.0  # the kink: both take the derivative there as 0 (relu) and slope (leaky)
    return x


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
@pytest.mark.parametrize(("ours", "theirs"), [
    (activations.penalty_relu, F.relu),
    (lambda x: activations.penalty_leaky_relu(x, 0.2), lambda x: F.leaky_relu(x, 0.2)),
])
def test_same_values_and_first_derivative_as_torch(ours, theirs, dtype: torch.dtype) -> None:
    x = _points().to(dtype).requires_grad_(True)
    a, b = ours(x), theirs(x)
    assert a.dtype == b.dtype == dtype
    assert torch.equal(a, b)
    (ga,) = torch.autograd.grad(a.sum(), x)
    (gb,) = torch.autograd.grad(b.sum(), x)
    assert torch.equal(ga, gb)


def _penalty_and_grads(critic: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
    x = x.clone().requires_grad_(True)
    penalty = penalty_from_norms(gradient_norms(critic(x), x))
    critic.zero_grad()
    penalty.backward()
    # A weight the penalty does not depend on (a bias) gets no gradient (None) from chargan's relu, zeros from F.relu.
    return penalty.detach(), [torch.zeros_like(p) if p.grad is None else p.grad.clone() for p in critic.parameters()]


def _simplex(batch: int = 6, seq_len: int = 8, vocab: int = 7) -> torch.Tensor:
    return torch.randn(batch, seq_len, vocab, generator=torch.Generator().manual_seed(1)).softmax(-1)


def test_conv_critic_penalty_and_its_weight_gradients_equal_the_f_relu_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    torch.manual_seed(0)
    critic = ConvCritic(7, 8, 16, 2).double()
    x = _simplex().double()
    ours, our_grads = _penalty_and_grads(critic, x)
    monkeypatch.setattr(text_models, "penalty_relu", F.relu)
    theirs, their_grads = _penalty_and_grads(critic, x)
    assert ours.item() > 0
    torch.testing.assert_close(ours, theirs, rtol=1e-12, atol=0)
    for a, b in zip(our_grads, their_grads):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-14)


def test_dcgan_critic_leaky_relu_penalty_equals_torchs() -> None:
    torch.manual_seed(0)
    critic = DCGANCritic(1, 28, dim=4).double()
    x = torch.rand(3, 1, 28, 28, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    ours, our_grads = _penalty_and_grads(critic, x)
    for i, layer in enumerate(critic.features):
        if isinstance(layer, activations.PenaltyLeakyReLU):
            critic.features[i] = nn.LeakyReLU(layer.negative_slope)
    theirs, their_grads = _penalty_and_grads(critic, x)
    torch.testing.assert_close(ours, theirs, rtol=1e-12, atol=0)
    for a, b in zip(our_grads, their_grads):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-14)


def _gradients_reaching_forward_activations() -> list[torch.Tensor | None]:
    """What the penalty's backward sends into the critic's first hidden activations."""
    torch.manual_seed(0)
    critic = ConvCritic(7, 8, 16, 2)
    x = _simplex().requires_grad_(True)
    hidden = critic.embed(x.transpose(1, 2))
    seen: list[torch.Tensor | None] = []
    hidden.register_hook(lambda grad: seen.append(grad))
    scores = critic.score(critic.blocks(hidden).flatten(1)).squeeze(-1)
    (grads,) = torch.autograd.grad(scores.sum(), x, create_graph=True)
    seen.clear()  # the first backward legitimately passes through them
    penalty_from_norms(grads.flatten(1).norm(dim=1)).backward()
    return seen


def test_penalty_double_backward_does_not_run_back_through_the_forward_graph(monkeypatch: pytest.MonkeyPatch) -> None:
    # chargan's relu: nothing (at most an undefined gradient) reaches the forward activations.
    assert all(grad is None for grad in _gradients_reaching_forward_activations())
    # F.relu's double backward sends a zero tensor there, and the convolutions before it run on it.
    monkeypatch.setattr(text_models, "penalty_relu", F.relu)
    seen = _gradients_reaching_forward_activations()
    assert seen and all(grad is not None and not grad.any() for grad in seen)


def test_leaky_relu_needs_a_positive_slope() -> None:
    with pytest.raises(ValueError, match="negative_slope"):
        activations.penalty_leaky_relu(torch.ones(3), 0.0)
