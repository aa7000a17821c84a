"""GAN objectives as pure functions of critic scores.

Every loss here takes critic outputs and returns a scalar tensor; none of them
touches an optimizer. The trainer decides when to step what.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from torch import Tensor

from chargan.errors import UserError


def wasserstein_critic_loss(real_scores: Tensor, fake_scores: Tensor) -> Tensor:
    """``E[D(fake)] - E[D(real)]``: minimizing it widens the critic's margin."""
    return fake_scores.mean() - real_scores.mean()


def wasserstein_generator_loss(fake_scores: Tensor) -> Tensor:
    """``-E[D(G(z))]``."""
    return -fake_scores.mean()


@dataclass(frozen=True)
class Objective:
    """A critic loss, a generator loss and the penalty that goes with them."""

    name: str
    critic_loss: Callable[[Tensor, Tensor], Tensor]
    generator_loss: Callable[[Tensor], Tensor]
    penalty: str | None  # "two-sided", "one-sided" or None


OBJECTIVES: dict[str, Objective] = {
    "wgan-gp": Objective("wgan-gp", wasserstein_critic_loss, wasserstein_generator_loss, "two-sided"),
    # The paper's appendix: penalize only gradient norms above 1.
    "wgan-lp": Objective("wgan-lp", wasserstein_critic_loss, wasserstein_generator_loss, "one-sided"),
}


def get_objective(name: str) -> Objective:
    try:
        return OBJECTIVES[name]
    except KeyError:
        raise UserError(
            f"unknown objective {name!r}", hint=f"choose one of: {', '.join(sorted(OBJECTIVES))}"
        ) from None
