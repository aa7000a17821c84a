"""GAN objectives as pure functions of critic scores.

``wgan-gp`` (the paper), ``wgan-lp`` (one-sided penalty), ``wgan-clip``
(weight clipping), ``gan`` (non-saturating) and ``lsgan`` (least squares).

Every loss here takes critic outputs and returns a scalar tensor; none of them
touches an optimizer. The trainer decides when to step what.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from chargan.errors import UserError

if TYPE_CHECKING:  # the losses use tensor methods only: configs list the objectives without importing torch
    from torch import Tensor


def softplus(x: Tensor) -> Tensor:
    """``log(1 + exp(x))``, stable for large ``|x|`` (torch's ``F.softplus``, in tensor methods)."""
    return x.clamp(min=0) + (-x.abs()).exp().log1p()


def wasserstein_critic_loss(real_scores: Tensor, fake_scores: Tensor) -> Tensor:
    """``E[D(fake)] - E[D(real)]``: minimizing it widens the critic's margin."""
    return fake_scores.mean() - real_scores.mean()


def wasserstein_generator_loss(fake_scores: Tensor) -> Tensor:
    """``-E[D(G(z))]``."""
    return -fake_scores.mean()


def gan_critic_loss(real_scores: Tensor, fake_scores: Tensor) -> Tensor:
    """The standard GAN discriminator loss on logits: ``-log D(real) - log(1 - D(fake))``."""
    return softplus(-real_scores).mean() + softplus(fake_scores).mean()


def gan_generator_loss(fake_scores: Tensor) -> Tensor:
    """The non-saturating generator loss: ``-log D(G(z))``."""
    return softplus(-fake_scores).mean()


def lsgan_critic_loss(real_scores: Tensor, fake_scores: Tensor) -> Tensor:
    """Least squares (Mao et al. 2017, a=0, b=1): ``(D(real) - 1)^2 / 2 + D(fake)^2 / 2``."""
    return 0.5 * (real_scores - 1).pow(2).mean() + 0.5 * fake_scores.pow(2).mean()


def lsgan_generator_loss(fake_scores: Tensor) -> Tensor:
    """Least squares, c=1: ``(D(G(z)) - 1)^2 / 2``."""
    return 0.5 * (fake_scores - 1).pow(2).mean()


@dataclass(frozen=True)
class Objective:
    """A critic loss, a generator loss and the Lipschitz constraint that goes with them.

    ``estimate`` names what the negated critic loss (penalty left out)
    measures, the key it is logged under: the Wasserstein-1 estimate for the
    WGANs, the minimax value ``E log D(x) + E log(1 - D(G(z)))`` for ``gan``.
    """

    name: str
    critic_loss: Callable[[Tensor, Tensor], Tensor]
    generator_loss: Callable[[Tensor], Tensor]
    penalty: str | None  # "two-sided", "one-sided" or None
    weight_clip: bool = False  # clip critic weights to [-c, c] after each step (the original WGAN)
    estimate: str = "wasserstein"


OBJECTIVES: dict[str, Objective] = {
    "wgan-gp": Objective("wgan-gp", wasserstein_critic_loss, wasserstein_generator_loss, "two-sided"),
    # The paper's appendix: penalize only gradient norms above 1.
    "wgan-lp": Objective("wgan-lp", wasserstein_critic_loss, wasserstein_generator_loss, "one-sided"),
    # The original WGAN (Arjovsky et al. 2017): weight clipping instead of a penalty.
    "wgan-clip": Objective("wgan-clip", wasserstein_critic_loss, wasserstein_generator_loss, None, weight_clip=True),
    "gan": Objective("gan", gan_critic_loss, gan_generator_loss, None, estimate="gan_value"),
    "lsgan": Objective("lsgan", lsgan_critic_loss, lsgan_generator_loss, None, estimate="neg_lsgan_loss"),
}


def get_objective(name: str) -> Objective:
    try:
        return OBJECTIVES[name]
    except KeyError:
        raise UserError(
            f"unknown objective {name!r}", hint=f"choose one of: {', '.join(sorted(OBJECTIVES))}"
        ) from None
