"""Each objective against closed-form values; weight clipping; penalty-free objectives."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from chargan import OBJECTIVES, ConvCritic, ConvGenerator, RowSampler, Trainer, TrainConfig

REAL = torch.tensor([2.0, 0.0])
FAKE = torch.tensor([-1.0, 1.0])


def softplus(x: float) -> float:
    return math.log1p(math.exp(x))


@pytest.mark.parametrize(
    "name, critic, generator",
    [
        ("wgan-gp", (-1 + 1) / 2 - (2 + 0) / 2, -(-1 + 1) / 2),
        ("wgan-lp", -1.0, 0.0),
        ("wgan-clip", -1.0, 0.0),
        # -log sigmoid(r) - log(1 - sigmoid(f)) = softplus(-r) + softplus(f)
        ("gan", (softplus(-2) + softplus(0)) / 2 + (softplus(-1) + softplus(1)) / 2, (softplus(1) + softplus(-1)) / 2),
        ("lsgan", 0.5 * ((2 - 1) ** 2 + (0 - 1) ** 2) / 2 + 0.5 * (1 + 1) / 2, 0.5 * ((-1 - 1) ** 2 + 0) / 2),
    ],
)
def test_losses_match_closed_forms(name: str, critic: float, generator: float) -> None:
    objective = OBJECTIVES[name]
    assert objective.critic_loss(REAL, FAKE).item() == pytest.approx(critic, abs=1e-6)
    assert objective.generator_loss(FAKE).item() == pytest.approx(generator, abs=1e-6)


def make_trainer(**config) -> Trainer:
    torch.manual_seed(0)
    rows = np.random.default_rng(0).integers(0, 4, size=(64, 6))
    data = RowSampler(rows, transform=lambda ids: F.one_hot(ids, 4).float())
    generator = ConvGenerator(4, 6, dim=8, latent_dim=4, n_blocks=1, kernel_size=3)
    critic = ConvCritic(4, 6, dim=8, n_blocks=1, kernel_size=3)
    return Trainer(generator, critic, data, TrainConfig(batch_size=8, critic_iters=2, device="cpu", **config), progress=False)


def test_weight_clipping_bounds_every_critic_weight() -> None:
    trainer = make_trainer(objective="wgan-clip", clip_value=0.01, optimizer="rmsprop", lr=5e-5)
    assert isinstance(trainer.critic_optimizer, torch.optim.RMSprop)
    assert max(p.abs().max().item() for p in trainer.critic.parameters()) > 0.01  # default init exceeds c
    stats = trainer.train_iteration()
    assert all(p.abs().max().item() <= 0.01 for p in trainer.critic.parameters())
    assert stats["gradient_penalty"].item() == 0.0


@pytest.mark.parametrize("name", ["gan", "lsgan"])
def test_penalty_free_objectives_train_without_a_penalty(name: str) -> None:
    trainer = make_trainer(objective=name)
    before = [p.clone() for p in trainer.critic.parameters()]
    stats = trainer.train_iteration()
    assert stats["gradient_penalty"].item() == 0.0 and stats["grad_norm"].item() == 0.0
    assert any(not torch.equal(a, b) for a, b in zip(before, trainer.critic.parameters()))
    assert math.isfinite(stats["generator_loss"].item())
