"""The genes family's generator: the shared conv generator, with an optional Gumbel-softmax output.

With ``output="gumbel"`` a training forward returns ``softmax((logits + g) / tau)``, ``g`` i.i.d.
Gumbel(0, 1) noise per position and symbol (Jang et al. 2017; FBGAN's generator, at tau 0.5): still a
point of the simplex at every position, sharper as tau falls. In eval mode (sampling, evaluation) it
returns the plain softmax, whose argmax is the noiseless logits' argmax. The Gumbel noise comes from
torch's global random stream, not the trainer's noise stream: a resumed run continues the same
distribution, not bit for bit the same draws.

`tau_at` is the annealing schedule: ``tau(t) = max(tau_min, tau * exp(-tau_decay * t))`` after ``t``
generator iterations (constant for ``tau_decay = 0``), and `TauSchedule` the callback that applies it
(a pure function of the iteration, so a resumed run picks it up where it stopped).
"""

from __future__ import annotations

import math

from torch import Tensor
from torch.nn import functional as F

from chargan.core.callbacks import Callback, TrainerView
from chargan.sequence.models import ConvGenerator


class GumbelConvGenerator(ConvGenerator):
    """`ConvGenerator` whose training output is a Gumbel-softmax at temperature ``tau`` (see the module)."""

    def __init__(self, vocab_size: int, tau: float = 0.5, **arch: int | float) -> None:
        super().__init__(vocab_size, **arch)  # type: ignore[arg-type]
        if not tau > 0:
            raise ValueError(f"tau must be positive, got {tau!r}")
        self.tau = float(tau)

    def forward(self, z: Tensor) -> Tensor:
        """Noise ``(batch, latent_dim)`` -> ``(batch, seq_len, vocab_size)`` rows on the simplex."""
        logits = self.logits(z)
        if not self.training:
            return logits.softmax(dim=-1)
        return F.gumbel_softmax(logits.float(), tau=self.tau, hard=False, dim=-1).to(logits.dtype)


def tau_at(iteration: int, tau: float, decay: float, floor: float) -> float:
    """The Gumbel temperature after ``iteration`` generator iterations: ``max(floor, tau * exp(-decay * t))``."""
    if decay == 0:
        return tau
    return max(floor, tau * math.exp(-decay * iteration))


class TauSchedule(Callback):
    """Sets the generator's ``tau`` to `tau_at` of the trainer's iteration, before each iteration."""

    def __init__(self, generator: GumbelConvGenerator, tau: float, decay: float, floor: float) -> None:
        self.generator, self.tau, self.decay, self.floor = generator, tau, decay, floor

    def _apply(self, trainer: TrainerView) -> None:
        self.generator.tau = tau_at(trainer.iteration, self.tau, self.decay, self.floor)

    def on_fit_start(self, trainer: TrainerView) -> None:
        self._apply(trainer)

    def on_step_end(self, trainer: TrainerView) -> None:
        self._apply(trainer)
