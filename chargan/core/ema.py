"""A weight average of the generator (an exponential moving average), as one callback.

After every generator update the average moves toward the trained weights::

    average <- d_n * average + (1 - d_n) * weights        (n = updates done before this one, from 0)

with ``d_n = decay``, or with a warm-up ``d_n = min(decay, (1 + n) / (10 + n))``
(TensorFlow's ``ExponentialMovingAverage(num_updates=n)``: 0.1 at the first
update, 0.5 at the 9th, 0.9 at the 81st), so a short run's average is not
dominated by its random start. It starts as a copy of the generator; buffers
(batch-norm statistics) are copied, not averaged. With a constant decay,
after k updates from weights ``w_0``: ``average = d^k w_0 + sum_i (1 - d) d^(k - i) w_i``.

Evaluation (metrics, sample files) uses the average; the raw generator's
headline metric is logged beside it as ``<headline>_raw`` (``js4_raw``), so a
run shows what the average buys. Checkpoints keep the average's weights in
``weights.safetensors`` under `AVERAGE` (``generator_ema.<param>``), beside
the raw ``generator``'s, and the update count in ``state.pt``: a resumed run
continues bit for bit, and loaders (`chargan sample`, ``eval``, ``export``)
pick the average unless asked for the raw weights.
"""

from __future__ import annotations

import copy
from typing import Any

import torch
from torch import nn

from chargan.core.callbacks import Callback, TrainerView

#: The name of the average's weights in a checkpoint (``weights.safetensors`` keys ``generator_ema.*``).
AVERAGE = "generator_ema"
#: What the raw generator's metrics are logged as: ``<metric>`` + this.
RAW_SUFFIX = "_raw"


def average_decay(decay: float, updates: int, warmup: bool) -> float:
    """The decay of update ``updates`` (0-based): ``decay``, or with ``warmup`` ``min(decay, (1 + n) / (10 + n))``."""
    return min(decay, (1 + updates) / (10 + updates)) if warmup else decay


class GeneratorAverage(Callback):
    """An exponential moving average of ``generator``'s weights (see the module docstring).

    ``average`` is a copy of ``generator`` (same device, eval mode) that
    evaluation uses in its place. Runs on every rank, so the averages agree.
    """

    def __init__(self, generator: nn.Module, decay: float, warmup: bool = False) -> None:
        if not 0 < decay < 1:
            raise ValueError(f"decay must be in (0, 1), got {decay}")
        self.generator = generator
        self.decay = decay
        self.warmup = warmup
        self.updates = 0
        self.average = copy.deepcopy(generator).eval().requires_grad_(False)
        self._raw_metrics: dict[str, float] = {}

    @torch.no_grad()
    def update(self) -> None:
        """One step of the average toward the generator's current weights."""
        weight = 1.0 - average_decay(self.decay, self.updates, self.warmup)
        averaged = [p for p in self.average.parameters() if p.is_floating_point()]
        current = [p.detach() for p in self.generator.parameters() if p.is_floating_point()]
        if averaged:
            torch._foreach_lerp_(averaged, current, weight)  # average += weight * (current - average)
        for mine, theirs in zip(self.average.buffers(), self.generator.buffers()):
            mine.copy_(theirs)
        self.updates += 1

    # ---------------------------------------------------------------- the hooks
    def on_step_end(self, trainer: TrainerView) -> None:
        self.update()

    def evaluation_generator(self, trainer: TrainerView, generator: nn.Module) -> nn.Module:
        """Evaluates ``generator`` (the raw one) first, for its ``_raw`` figures, then hands over the average.

        The raw evaluation runs first so that what the evaluator leaves behind
        (the sample file of this iteration, TensorBoard's text) is the average's.
        """
        raw = trainer.evaluate_generator(generator)
        headline = getattr(trainer.evaluate, "headline", None)
        keep = [headline] if headline in raw else list(raw)  # no headline: every figure
        self._raw_metrics = {k + RAW_SUFFIX: raw[k] for k in keep}
        return self.average

    def evaluation_metrics(self, trainer: TrainerView, metrics: dict[str, float]) -> dict[str, float]:
        """The evaluation's metrics (the average's) and the raw generator's headline beside them."""
        extra, self._raw_metrics = self._raw_metrics, {}
        return {**metrics, **extra}

    def modules(self) -> dict[str, nn.Module]:
        return {AVERAGE: self.average}

    def state_dict(self) -> dict[str, Any]:
        # The weights go into weights.safetensors (`modules`); the count decides the next warm-up decay.
        return {"updates": self.updates}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.updates = int(state["updates"])


__all__ = ["AVERAGE", "GeneratorAverage", "RAW_SUFFIX", "average_decay"]
