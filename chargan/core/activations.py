"""ReLU and leaky ReLU whose backward is cheap to differentiate again.

The gradient penalty differentiates the critic's input gradient with respect
to the critic's weights: a double backward. Through ``F.relu`` that double
backward is wasteful: autograd's formula for ``threshold_backward`` sends a
zero tensor (``zeros_like``) back into the *forward* graph, and every
convolution before it then runs its full backward on zeros. That is one
extra critic backward per penalty (the paper config executes 7.17 instead of
6.20 TFLOP per iteration; its penalty step takes 1.5x as long in float32 and
1.7x in bfloat16 on a CPU, BENCHMARKS.md).

Here the forward is torch's own kernel, and the backward is torch's own
``threshold_backward`` (``leaky_relu_backward``) applied to a *detached*
output: the output is only a mask there, so the double backward is linear in
the incoming gradient and stops at the mask. Values and first derivatives
(0 at 0 for the ReLU, ``negative_slope`` for the leaky one) equal torch's.
The equivalent ``torch.where(x > 0, x, 0)`` has the same property but runs
20-30x slower than ``F.relu`` on some CPU builds (boolean kernels).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn
from torch.nn import functional as F


class _MaskedLeakyReLU(torch.autograd.Function):
    """``leaky_relu(x, slope)`` (``slope == 0``: ``relu``) whose backward treats the output as a constant mask."""

    @staticmethod
    def forward(x: Tensor, negative_slope: float) -> Tensor:
        return F.relu(x) if negative_slope == 0 else F.leaky_relu(x, negative_slope)

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple[Tensor, float], output: Tensor) -> None:
        ctx.negative_slope = inputs[1]
        ctx.save_for_backward(output)
        # The double backward reaches this node with an undefined gradient (a convolution's input
        # gradient does not depend on its input); materialized as zeros it would run on into the forward graph.
        ctx.set_materialize_grads(False)

    @staticmethod
    def backward(ctx: Any, grad: Tensor | None) -> tuple[Tensor | None, None]:
        if grad is None:
            return None, None
        (output,) = ctx.saved_tensors
        return relu_input_gradient(grad, output, ctx.negative_slope), None


def relu_input_gradient(grad: Tensor, output: Tensor, negative_slope: float = 0.0) -> Tensor:
    """The gradient at a (leaky) ReLU's input, from ``grad`` at its ``output`` (same shapes).

    ``output`` is used only as a mask, detached: the result is linear in
    ``grad`` and differentiating it never reaches the forward graph. This is
    the backward of `penalty_relu` / `penalty_leaky_relu`, and the ReLU step of
    explicit input gradients (`chargan.ConvCritic.input_gradient`).
    """
    mask = output.detach()
    if negative_slope == 0:
        return torch.ops.aten.threshold_backward(grad, mask, 0)
    # With a positive slope the output has the input's sign, so it serves as the mask (self_is_result).
    return torch.ops.aten.leaky_relu_backward(grad, mask, negative_slope, True)


def penalty_relu(x: Tensor) -> Tensor:
    """``max(x, 0)``, elementwise, any shape; a drop-in for ``F.relu`` in critics (see the module doc)."""
    return _MaskedLeakyReLU.apply(x, 0.0)


def penalty_leaky_relu(x: Tensor, negative_slope: float = 0.2) -> Tensor:
    """``x`` where ``x > 0``, else ``negative_slope * x``; any shape, same values as ``F.leaky_relu``.

    ``negative_slope`` must be positive (0 is `penalty_relu`).
    """
    if negative_slope <= 0:
        raise ValueError(f"negative_slope must be positive, got {negative_slope}")
    return _MaskedLeakyReLU.apply(x, negative_slope)


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
