"""Drawing from a generator with reproducible noise, in evaluation mode."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn


def noise_rng(device: torch.device | str, seed: int | None) -> torch.Generator:
    """A random stream on ``device``: fixed by ``seed``, fresh when it is None."""
    rng = torch.Generator(device=torch.device(device))
    if seed is None:
        rng.seed()
    else:
        rng.manual_seed(seed)
    return rng


def generate(
    generator: nn.Module,
    n: int,
    seed: int | None = None,
    batch_size: int = 640,
    transform: Callable[[Tensor], Tensor] | None = None,
    device: torch.device | str | None = None,
) -> Tensor:
    """``generator`` applied to ``n`` noise vectors ``(n, latent_dim)``, on the CPU.

    The noise is fixed by ``seed`` (fresh randomness when None) and drawn in
    chunks of ``batch_size`` on the generator's device; ``transform`` runs on
    each chunk's output there first (an argmax, say, so only ids are copied
    back). The generator runs in eval mode under ``no_grad`` and keeps its
    training flag afterwards. ``device`` defaults to that of the generator's
    parameters (give it for a generator without any).
    """
    device = torch.device(device) if device is not None else next(generator.parameters()).device
    rng = noise_rng(device, seed)
    was_training = generator.training
    generator.eval()
    chunks = []
    try:
        with torch.no_grad():
            for start in range(0, n, batch_size):
                z = torch.randn(min(batch_size, n - start), generator.latent_dim, device=device, generator=rng)
                out = generator(z)
                chunks.append((transform(out) if transform is not None else out).cpu())
    finally:
        generator.train(was_training)
    return torch.cat(chunks)
