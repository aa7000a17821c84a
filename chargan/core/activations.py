"""ReLU and leaky ReLU whose backward is cheap to differentiate again.

The gradient penalty differentiates the critic's input gradient with respect
to the critic's weights: a double backward. Through ``F.relu`` that double
backward is wasteful: autograd's formula for ``threshold_backward`` sends a
zero tensor (``zeros_like``) back into the *forward* graph, and every
convolution before it then runs its full backward on zeros. That is one
extra critic backward per penalty (the paper config executes 7.17 instead of
6.20 TFLOP per iteration; its penalty step takes 1.5x as long in float32 and
1.7x in bfloat16 on a CPU, BENCHMARKS.md).

``torch.where(x > 0, x, 0)`` has the same values and the same first
derivative, but its backward (``where(mask, grad, 0)``) depends on ``x`` only
through a boolean mask that carries no gradient, so the double backward
stops there. The mask is also a quarter of the memory ``F.relu`` keeps for
backward (bool, not float).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


def penalty_relu(x: Tensor) -> Tensor:
    """``max(x, 0)``, elementwise, any shape; a drop-in for ``F.relu`` in critics (see the module doc)."""
    return torch.where(x > 0, x, 0.0)


def penalty_leaky_relu(x: Tensor, negative_slope: float = 0.2) -> Tensor:
    """``x`` where ``x > 0``, else ``negative_slope * x``; any shape, same values as ``F.leaky_relu``."""
    return torch.where(x > 0, x, negative_slope * x)


class PenaltyReLU(nn.Module):
    """Module form of `penalty_relu`."""

    def forward(self, x: Tensor) -> Tensor:
        return penalty_relu(x)


class PenaltyLeakyReLU(nn.Module):
    """Module form of `penalty_leaky_relu`."""

    def __init__(self, negative_slope: float = 0.2) -> None:
        super().__init__()
        self.negative_slope = negative_slope

    def forward(self, x: Tensor) -> Tensor:
        return penalty_leaky_relu(x, self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"
