"""Each step's loss as one module call, so DDP and ``torch.compile`` can wrap it whole."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from chargan.core.objectives import Objective
from chargan.core.penalty import (at_least_float32, interpolate, penalty_from_norms, per_example_norms,
                                  scores_and_input_gradients)


class CriticLoss(nn.Module):
    """``forward(real, fake, eps) -> (loss, penalty, grad_norm)``, scalars in float32 (at least).

    ``real`` and ``fake`` are ``(batch, ...)`` (``fake`` detached),
    ``eps`` ``(batch, 1, ...)`` the interpolation weights (None for an
    objective without a penalty). ``loss`` is the objective's critic loss,
    ``penalty`` the weighted gradient penalty at ``eps * real + (1 - eps) * fake``
    (0 without one), ``grad_norm`` the mean gradient norm there (detached).
    The step minimizes ``loss + penalty`` with one backward.

    Real and fake share one critic call (the critic is per-example, so this
    is two calls' math in one larger batch). A critic with its own input
    gradient (`chargan.ConvCritic`) returns their scores and the
    interpolates' gradient together and needs no double backward. Any other
    takes the interpolates in a call of their own, so that autograd's input
    gradient covers their rows alone (differentiating one call of all three
    is 2x slower on a CPU). DDP sees one forward per backward either way.
    """

    def __init__(self, critic: nn.Module, objective: Objective, lambda_gp: float = 10.0) -> None:
        super().__init__()
        self.critic = critic
        self.objective = objective
        self.lambda_gp = lambda_gp

    def forward(self, real: Tensor, fake: Tensor, eps: Tensor | None = None) -> tuple[Tensor, Tensor, Tensor]:
        scored = torch.cat([real, fake])
        if self.objective.penalty is None:
            loss = self.objective.critic_loss(*at_least_float32(self.critic(scored)).split(len(real)))
            zero = torch.zeros((), device=loss.device)
            return loss, zero, zero
        if eps is None:
            raise ValueError(f"objective {self.objective.name!r} has a penalty: pass the interpolation weights eps")
        scores, grads = scores_and_input_gradients(self.critic, scored, interpolate(real, fake, eps=eps))
        loss = self.objective.critic_loss(*at_least_float32(scores).split(len(real)))
        norms = per_example_norms(grads)
        penalty = self.lambda_gp * penalty_from_norms(norms, one_sided=self.objective.penalty == "one-sided")
        return loss, penalty, norms.detach().mean()


class GeneratorLoss(nn.Module):
    """``forward(z) -> loss``: the objective's generator loss on ``critic(generator(z))``, in float32 (at least).

    ``z`` is ``(batch, latent_dim)``. One module for both networks, so
    ``torch.compile`` makes one graph of the generator step (the critic's
    weights take no gradient there: the trainer freezes them).
    """

    def __init__(self, generator: nn.Module, critic: nn.Module, objective: Objective) -> None:
        super().__init__()
        self.generator = generator
        self.critic = critic
        self.objective = objective

    def forward(self, z: Tensor) -> Tensor:
        return self.objective.generator_loss(at_least_float32(self.critic(self.generator(z))))
