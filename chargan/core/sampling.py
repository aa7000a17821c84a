"""Drawing from a generator with reproducible noise, in evaluation mode."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

from chargan.core import distributed


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
    across_ranks: bool = False,
) -> Tensor:
    """``generator`` applied to ``n`` noise vectors ``(n, latent_dim)``, on the CPU.

    The noise is fixed by ``seed`` (fresh randomness when None) and drawn in
    chunks of ``batch_size`` on the generator's device; ``transform`` runs on
    each chunk's output there first (an argmax, say, so only ids are copied
    back). The generator runs in eval mode under ``no_grad`` and keeps its
    training flag afterwards. ``device`` defaults to that of the generator's
    parameters (give it for a generator without any).

    ``across_ranks`` (data-parallel training; every rank must call it): every
    rank draws the same ``n`` noise vectors, runs the generator on its own
    ``ceil(n / world_size)`` of them, and the outputs are gathered, so each
    rank returns what one process would, at ``1 / world_size`` of the work.
    """
    device = torch.device(device) if device is not None else next(generator.parameters()).device
    rng = noise_rng(device, seed)
    # Drawn chunk by chunk, as always: the same seed gives the same noise for any split over ranks.
    z = torch.cat([torch.randn(min(batch_size, n - start), generator.latent_dim, device=device, generator=rng)
                   for start in range(0, n, batch_size)])
    gather = across_ranks and distributed.is_distributed()
    if gather:
        per_rank = -(-n // distributed.world_size())
        z = torch.cat([z, z.new_zeros(per_rank * distributed.world_size() - n, z.shape[1])])  # equal shares
        z = z[distributed.rank() * per_rank:(distributed.rank() + 1) * per_rank]
    was_training = generator.training
    generator.eval()
    chunks = []
    try:
        with torch.no_grad():
            for z_chunk in z.split(batch_size):
                out = generator(z_chunk)
                out = transform(out) if transform is not None else out
                chunks.append(out if gather else out.cpu())  # gathered on the device (NCCL needs it there)
    finally:
        generator.train(was_training)
    if gather:
        return distributed.all_gather(torch.cat(chunks))[:n].cpu()
    return torch.cat(chunks)
