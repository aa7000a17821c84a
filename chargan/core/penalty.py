"""The gradient penalty of WGAN-GP, for inputs of any shape.

The penalty is per example: each example's gradient norm is taken over *all*
of its non-batch axes (for a sequence, the whole ``(seq_len, vocab)`` input).
Taking it over one axis only is the most common bug in public ports.

The gradient itself comes from autograd (``create_graph=True``, so the
penalty's weight gradient is a double backward), or from the critic when it
has a ``scores_and_input_gradient`` method (`has_input_gradient`): first-order
ops whose weight gradient is an ordinary backward, which ``torch.compile``
can take.
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
        eps = interpolation_weights(real.shape[0], real, generator)
    return torch.lerp(fake, real, eps)


def interpolation_weights(batch: int, like: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """``eps ~ U[0, 1]``, one per example: ``(batch, 1, ...)`` with ``like``'s rank, device and dtype."""
    shape = (batch,) + (1,) * (like.dim() - 1)
    return torch.rand(shape, device=like.device, dtype=like.dtype, generator=generator)


def gradient_norms(outputs: Tensor, inputs: Tensor) -> Tensor:
    """Per-example ``||d outputs[i] / d inputs[i]||_2`` over every non-batch axis.

    ``outputs`` is ``(batch,)`` (or ``(batch, 1)``) critic scores computed from
    ``inputs`` ``(batch, ...)``, which must require grad. The graph is kept
    (``create_graph=True``) so the penalty can be backpropagated into the
    critic's weights. Returns ``(batch,)`` norms in float32 at least, so a
    low-precision forward does not lose the penalty's precision.
    """
    (grads,) = torch.autograd.grad(outputs.sum(), inputs, create_graph=True)
    return per_example_norms(grads)


def per_example_norms(grads: Tensor) -> Tensor:
    """``(batch, ...)`` -> ``(batch,)`` L2 norms over every non-batch axis, in float32 at least."""
    return at_least_float32(grads.flatten(start_dim=1)).norm(2, dim=1)


def at_least_float32(x: Tensor) -> Tensor:
    """``x`` in float32 if it is in a lower precision (autocast's bfloat16), else unchanged."""
    return x.float() if x.dtype in (torch.float16, torch.bfloat16) else x


def has_input_gradient(critic: nn.Module) -> bool:
    """Whether ``critic`` computes its own input gradient: a ``scores_and_input_gradient(x, x_grad)`` method.

    That method returns ``critic(x)`` ``(n,)`` and ``d critic(x_grad).sum() / dx_grad``
    ``(m, ...)``, the latter written with first-order ops (see `chargan.ConvCritic`).
    """
    return callable(getattr(critic, "scores_and_input_gradient", None))


def scores_and_input_gradients(critic: nn.Module, x: Tensor, x_grad: Tensor) -> tuple[Tensor, Tensor]:
    """``critic(x)`` ``(n,)`` and ``d critic(x_grad).sum() / dx_grad`` ``(m, ...)``, both differentiable.

    A critic with its own input gradient (`has_input_gradient`) computes both
    itself and needs no double backward; any other scores ``x`` and
    goes through ``autograd.grad(create_graph=True)`` at ``x_grad``.
    """
    if has_input_gradient(critic):
        return critic.scores_and_input_gradient(x, x_grad)
    return critic(x), input_gradients(critic, x_grad)


def input_gradients(critic: nn.Module, x: Tensor) -> Tensor:
    """``d critic(x).sum() / dx`` ``(batch, ...)``, differentiable w.r.t. the critic's weights.

    A critic with its own input gradient (`has_input_gradient`) computes it
    from first-order ops; any other goes through ``autograd.grad(create_graph=True)``.
    """
    if has_input_gradient(critic):
        return critic.scores_and_input_gradient(x[:0], x)[1]
    x = x.detach().requires_grad_(True)
    (grads,) = torch.autograd.grad(critic(x).sum(), x, create_graph=True)
    return grads


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
    x_hat = interpolate(real.detach(), fake.detach(), generator)
    return weight * penalty_from_norms(per_example_norms(input_gradients(critic, x_hat)), one_sided)
