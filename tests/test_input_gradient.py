"""ConvCritic's own input gradient equals autograd's, and so does the penalty built on it."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from chargan import ConvCritic, CriticLoss, gradient_penalty
from chargan.core.objectives import get_objective
from chargan.core.penalty import has_input_gradient, input_gradients, penalty_from_norms, per_example_norms

SEQ, VOCAB = 8, 7


class AutogradOnly(nn.Module):
    """The same critic without its own input gradient: the penalty falls back to autograd's double backward."""

    def __init__(self, critic: nn.Module) -> None:
        super().__init__()
        self.critic = critic

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.critic(x)


def _critic(norm: str = "none", kernel_size: int = 5, seed: int = 0) -> ConvCritic:
    torch.manual_seed(seed)
    critic = ConvCritic(VOCAB, SEQ, dim=16, n_blocks=2, kernel_size=kernel_size, norm=norm).double()
    with torch.no_grad():  # move the layer norms' affine parameters off their (1, 0) initialization
        for p in critic.parameters():
            p.add_(0.1 * torch.randn_like(p))
    return critic


def _batch(rows: int = 6, seed: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    real = nn.functional.one_hot(torch.randint(VOCAB, (rows, SEQ), generator=g), VOCAB).double()
    fake = torch.randn(rows, SEQ, VOCAB, generator=g, dtype=torch.float64).softmax(-1)
    return real, fake


def _weight_grads(loss: torch.Tensor, critic: nn.Module) -> list[torch.Tensor]:
    grads = torch.autograd.grad(loss, list(critic.parameters()), allow_unused=True)
    return [torch.zeros_like(p) if g is None else g for g, p in zip(grads, critic.parameters())]


@pytest.mark.parametrize("norm", ["none", "layer"])
@pytest.mark.parametrize("kernel_size", [3, 5])
def test_input_gradient_and_its_weight_gradient_equal_autograds(norm: str, kernel_size: int) -> None:
    critic = _critic(norm, kernel_size)
    _, x = _batch()
    x = x.requires_grad_(True)
    (expected,) = torch.autograd.grad(critic(x).sum(), x, create_graph=True)
    ours = critic.input_gradient(x.detach())
    assert expected.abs().max() > 0.05
    torch.testing.assert_close(ours, expected, rtol=1e-12, atol=1e-14)
    # The penalty's weight gradient: an ordinary backward of ours, a double backward of autograd's.
    for a, b in zip(_weight_grads(penalty_from_norms(per_example_norms(ours)), critic),
                    _weight_grads(penalty_from_norms(per_example_norms(expected)), critic)):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-14)


def test_scores_and_input_gradient_in_one_pass() -> None:
    critic = _critic()
    real, fake = _batch()
    scores, grads = critic.scores_and_input_gradient(real, fake)
    torch.testing.assert_close(scores, critic(real), rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(grads, critic.input_gradient(fake), rtol=1e-12, atol=1e-14)
    assert has_input_gradient(critic) and not has_input_gradient(AutogradOnly(critic))
    torch.testing.assert_close(input_gradients(AutogradOnly(critic), fake), grads, rtol=1e-12, atol=1e-14)


def test_input_gradient_under_bf16_autocast_is_close_to_float32() -> None:
    critic = _critic().float()
    _, x = _batch()
    x = x.float().requires_grad_(True)
    (expected,) = torch.autograd.grad(critic(x).sum(), x)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        ours = critic.input_gradient(x.detach())
    assert ours.dtype == torch.bfloat16  # computed in low precision ...
    torch.testing.assert_close(ours.float(), expected, rtol=0.05, atol=0.02)  # ... to its precision
    assert per_example_norms(ours).dtype == torch.float32  # the norm is float32


@pytest.mark.parametrize("objective", ["wgan-gp", "wgan-lp", "wgan-clip"])
def test_critic_loss_equals_the_autograd_path(objective: str) -> None:
    critic = _critic()
    real, fake = _batch()
    eps = torch.rand(len(real), 1, 1, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    eps = eps if get_objective(objective).penalty else None
    ours = CriticLoss(critic, get_objective(objective), lambda_gp=10.0)(real, fake, eps)
    theirs = CriticLoss(AutogradOnly(critic), get_objective(objective), lambda_gp=10.0)(real, fake, eps)
    for a, b in zip(ours, theirs):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-14)
    for a, b in zip(_weight_grads(ours[0] + ours[1], critic), _weight_grads(theirs[0] + theirs[1], critic)):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-14)
    if objective == "wgan-gp":
        assert ours[1] > 0 and ours[0].dtype == torch.float64
    if eps is not None:
        with pytest.raises(ValueError, match="eps"):
            CriticLoss(critic, get_objective(objective))(real, fake)


def test_gradient_penalty_uses_the_critics_own_gradient() -> None:
    critic = _critic()
    real, fake = _batch()
    ours = gradient_penalty(critic, real, fake, generator=torch.Generator().manual_seed(3))
    theirs = gradient_penalty(AutogradOnly(critic), real, fake, generator=torch.Generator().manual_seed(3))
    torch.testing.assert_close(ours, theirs, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize(("dim", "n_blocks"), [(16, 1), (160, 1), (16, 0)])
def test_one_pass_and_two_passes_agree(dim: int, n_blocks: int) -> None:
    # Up to ONE_PASS_MAX_DIM channels the scored rows and the interpolates share the blocks' calls.
    torch.manual_seed(0)
    critic = ConvCritic(VOCAB, SEQ, dim=dim, n_blocks=n_blocks, kernel_size=3).double()
    real, fake = _batch()
    scores, grads = critic.scores_and_input_gradient(real, fake)
    x = fake.clone().requires_grad_(True)
    (expected,) = torch.autograd.grad(critic(x).sum(), x)
    torch.testing.assert_close(scores, critic(real), rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(grads, expected, rtol=1e-12, atol=1e-14)
