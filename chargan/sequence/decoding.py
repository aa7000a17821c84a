"""Turning a generator's per-position softmax into symbol ids: argmax (the paper) or a draw from it.

The paper decodes by argmax. Drawing each position from the softmax,
optionally sharpened or flattened by a temperature, is a departure from it:
it shows the spread the generator puts on other symbols, which argmax hides.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import Tensor, nn

from chargan.core.family import DECODINGS
from chargan.core.sampling import generate, noise_rng


def id_dtype(vocab_size: int) -> type:
    """The smallest unsigned integer type of ids over ``vocab_size`` symbols."""
    return np.uint8 if vocab_size <= 256 else np.uint16


def generate_ids(generator: nn.Module, n: int, seed: int | None = None, batch_size: int = 640,
                 across_ranks: bool = False) -> np.ndarray:
    """Argmax-decoded ids ``(n, seq_len)`` from ``n`` noise vectors (fixed by ``seed``).

    ``across_ranks``: split the work over the data-parallel ranks (see `generate`).
    """
    ids = generate(generator, n, seed, batch_size, transform=lambda probs: probs.argmax(dim=-1),
                   across_ranks=across_ranks).numpy()
    return ids.astype(id_dtype(generator.vocab_size))


def draw(probs: Tensor, temperature: float, rng: torch.Generator | None) -> Tensor:
    """One symbol per position drawn from ``probs ** (1 / temperature)``, renormalized.

    ``probs`` is ``(batch, seq_len, vocab)`` on the simplex; returns ``(batch, seq_len)`` ids.
    """
    # p^(1/T) renormalized is softmax(log p / T); the clamp keeps log finite where p underflowed to 0.
    weights = torch.softmax(probs.float().clamp_min(1e-30).log() / temperature, dim=-1)
    ids = torch.multinomial(weights.reshape(-1, weights.shape[-1]), 1, generator=rng)
    return ids.reshape(weights.shape[:-1])


def sample_ids(generator: nn.Module, n: int, seed: int | None = None, decode: str = "argmax",
               temperature: float = 1.0) -> np.ndarray:
    """``(n, seq_len)`` ids of ``n`` samples decoded by ``decode`` (see `DECODINGS`).

    The noise is fixed by ``seed`` (fresh when None), and so are the draws of
    ``decode="sample"``, which come from a stream of their own (``seed + 1``),
    so the same seed gives the same noise under either decoding.
    """
    if decode == "argmax":
        return generate_ids(generator, n, seed=seed)
    if decode != "sample":
        raise ValueError(f"decode must be one of {', '.join(DECODINGS)}, got {decode!r}")
    if not temperature > 0:
        raise ValueError(f"temperature must be positive, got {temperature!r}")
    device = next(generator.parameters()).device
    rng = noise_rng(device, None if seed is None else seed + 1)
    transform: Callable[[Tensor], Tensor] = lambda probs: draw(probs, temperature, rng)  # noqa: E731
    ids = generate(generator, n, seed, transform=transform).numpy()
    return ids.astype(id_dtype(generator.vocab_size))
