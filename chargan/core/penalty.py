"""The gradient penalty of WGAN-GP, for inputs of any shape.

The penalty is per example: each example's gradient norm is taken over *all*
of its non-batch axes (for a sequence, the whole ``(seq_len, vocab)`` input).
Taking it over one axis only is the most common bug in public ports.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


def interpolate(real: Tensor, fake: Tensor, generator: torch.Generator | None = None, *,
                eps: Tensor | None = None) -> Tensor:
    """``eps * real + (1 - eps) * fake`` with one ``eps ~ U[0, 1]`` per example.

    Shapes: ``real`` and ``fake`` are ``(batch, ...)``; so is the result. When
    both inputs lie on a probability simplex (one-hot and softmax rows), so do
    the interpolates: a convex combination of two distributions is one.
    ``eps`` ``(batch, 1, ...)``, when given, replaces the draw from ``generator``.
    """
    if real.shape != fake.shape:
        raise ValueError(f"real {tuple(real.shape)} and fake {tuple(fake.shape)} differ in shape")
    if eps is None:
        eps_shape = (real.shape[0],) + (1,) * (real.dim() - 1)
        eps = torch.rand(eps_shape, device=real.device, dtype=real.dtype, generator=generator)
    return torch.lerp(fake, real, eps)


def gradient_norms(outputs: Tensor, inputs: Tensor) -> Tensor:
    """Per-example ``||d outputs[i] / d inputs[i]||_2`` over every non-batch axis.

    ``outputs`` is ``(batch,)`` (or ``(batch, 1)``) critic scores computed from
    ``inputs`` ``(batch, ...)``, which must require grad. The graph is kept
    (``create_graph=True``) so the penalty can be backpropagated into the
    critic's weights. Returns ``(batch,)`` norms in float32 at least, so a
    low-precision forward does not lose the penalty's precision.
    """
    (grads,) = torch.autograd.grad(outputs.sum(), inputs, create_graph=True)
    grads = grads.flatten(start_dim=1)
    if grads.dtype in (torch.float16, torch.bfloat16):
        grads = grads.float()
    return grads.norm(2, dim=1)


def penalty_from_norms(norms: Tensor, one_sided: bool = False, target: float = 1.0) -> Tensor:
    """``mean((norm - target)^2)``; the one-sided form penalizes only norms above target."""
    excess = norms - target
    if one_sided:
        excess = excess.clamp(min=0)
    return excess.pow(2).mean()


def gradient_penalty(
    critic: nn.Module,
    real: Tensor,
    fake: Tensor,
    weight: float = 10.0,
    one_sided: bool = False,
    generator: torch.Generator | None = None,
) -> Tensor:
    """``weight * E[(||grad D(x_hat)|| - 1)^2]`` at random interpolates of real and fake.

    ``critic`` maps ``(batch, ...)`` to ``(batch,)`` scores. ``fake`` is
    detached: the penalty trains the critic only.
    """
    x_hat = interpolate(real.detach(), fake.detach(), generator).requires_grad_(True)
    return weight * penalty_from_norms(gradient_norms(critic(x_hat), x_hat), one_sided)
