"""The genes family's generator: the shared conv generator, with an optional Gumbel-softmax output.

With ``output="gumbel"`` a training forward returns ``softmax((logits + g) / tau)``, ``g`` i.i.d.
Gumbel(0, 1) noise per position and symbol (Jang et al. 2017; FBGAN's generator, at tau 0.5): still a
point of the simplex at every position, sharper as tau falls. In eval mode (sampling, evaluation) it
returns the plain softmax, whose argmax is the noiseless logits' argmax. The Gumbel noise comes from
the generator's own random stream (``noise``), seeded from the run's seed and the rank and kept in
checkpoints by `TauSchedule`: a resumed run draws bit for bit the noise the uninterrupted one draws.

`tau_at` is the annealing schedule: ``tau(t) = max(tau_min, tau * exp(-tau_decay * t))`` after ``t``
generator iterations (constant for ``tau_decay = 0``), and `TauSchedule` the callback that applies it
(a pure function of the iteration, so a resumed run picks it up where it stopped), which also seeds,
saves and restores the noise stream.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor

from chargan.core import distributed
from chargan.core.callbacks import Callback, TrainerView
from chargan.sequence.models import ConvGenerator


class GumbelConvGenerator(ConvGenerator):
    """`ConvGenerator` whose training output is a Gumbel-softmax at temperature ``tau`` (see the module)."""

    def __init__(self, vocab_size: int, tau: float = 0.5, **arch: int | float) -> None:
        super().__init__(vocab_size, **arch)  # type: ignore[arg-type]
        if not tau > 0:
            raise ValueError(f"tau must be positive, got {tau!r}")
        self.tau = float(tau)
        self.noise: torch.Generator | None = None  # the Gumbel noise's stream (`seed_noise`)

    def seed_noise(self, seed: int, state: Tensor | None = None) -> None:
        """A fresh Gumbel noise stream on the weights' device, seeded with ``seed`` or set to a saved ``state``."""
        self.noise = torch.Generator(device=next(self.parameters()).device)
        self.noise.manual_seed(seed)
        if state is not None:
            self.noise.set_state(state)

    def forward(self, z: Tensor) -> Tensor:
        """Noise ``(batch, latent_dim)`` -> ``(batch, seq_len, vocab_size)`` rows on the simplex."""
        logits = self.logits(z)
        if not self.training:
            return logits.softmax(dim=-1)
        if self.noise is None or self.noise.device != logits.device:
            self.seed_noise(0)
        scores = logits.float()
        # -log(E), E ~ Exponential(1), is Gumbel(0, 1): torch's gumbel_softmax, but from this module's stream.
        gumbel = -torch.empty_like(scores).exponential_(generator=self.noise).log()
        return ((scores + gumbel) / self.tau).softmax(dim=-1).to(logits.dtype)


def tau_at(iteration: int, tau: float, decay: float, floor: float) -> float:
    """The Gumbel temperature after ``iteration`` generator iterations: ``max(floor, tau * exp(-decay * t))``."""
    if decay == 0:
        return tau
    return max(floor, tau * math.exp(-decay * iteration))


class TauSchedule(Callback):
    """Sets the generator's ``tau`` to `tau_at` of the trainer's iteration, before each iteration."""

    def __init__(self, generator: GumbelConvGenerator, tau: float, decay: float, floor: float) -> None:
        self.generator, self.tau, self.decay, self.floor = generator, tau, decay, floor
        self._saved_noise: Tensor | None = None

    def _apply(self, trainer: TrainerView) -> None:
        self.generator.tau = tau_at(trainer.iteration, self.tau, self.decay, self.floor)

    def on_fit_start(self, trainer: TrainerView) -> None:
        # Each rank its own noise (its rows of the batch differ too). One process resumes the saved stream;
        # ranks (whose streams the checkpoint does not hold) start new ones, distinct per rank and iteration.
        seed, rank = trainer.config.seed, distributed.rank()
        if distributed.world_size() == 1:
            self.generator.seed_noise(seed, self._saved_noise)
        else:
            self.generator.seed_noise(hash((seed, rank, trainer.iteration)) & 0x7FFF_FFFF_FFFF_FFFF)
        self._apply(trainer)

    def state_dict(self) -> dict[str, Any]:
        noise = self.generator.noise
        return {} if noise is None else {"noise": noise.get_state()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self._saved_noise = state.get("noise")

    def on_step_end(self, trainer: TrainerView) -> None:
        self._apply(trainer)
