"""Sobolev-style smoothing of real one-hots (Mroueh et al. 2018, §6.1), a transform of the real batch.

The critic sees real rows as exact one-hots and the generator's rows as
softmaxes that never reach a vertex: it can tell them apart by how peaked
they are, not by what they say. Smoothing the real rows takes that cue away:

1. ``1 - s`` on the true symbol and ``s / (V - 1)`` on each of the others
   (`smooth_one_hots`; the paper's ``s`` is 0.1);
2. Gaussian noise of std ``sigma`` added to the logs of those rows, then a
   softmax (`noisy_rows`), with ``sigma`` annealed linearly from its
   start to 0 over ``anneal`` iterations (`annealed_sigma`; the paper: 30k).

Every row stays on the probability simplex (non-negative, summing to 1), so
the penalty's interpolates ``eps * real + (1 - eps) * fake`` stay on it too.
Nothing here knows of text: it sees ``(batch, seq_len, vocab)`` one-hots.
"""

from __future__ import annotations

import torch
from torch import Tensor


def smooth_one_hots(rows: Tensor, smoothing: float) -> Tensor:
    """``(batch, seq_len, vocab)`` one-hots -> ``1 - s`` on the true symbol, ``s / (vocab - 1)`` elsewhere.

    Exact for one-hot input: ``rows * (1 - s - s / (V - 1)) + s / (V - 1)``.
    """
    vocab = rows.shape[-1]
    if smoothing == 0 or vocab < 2:
        return rows
    other = smoothing / (vocab - 1)
    return rows * (1.0 - smoothing - other) + other


def annealed_sigma(sigma: float, iteration: int, anneal: int) -> float:
    """The noise std at generator iteration ``iteration`` (0-based): ``sigma`` at 0, linearly down to 0 at
    ``anneal`` and after: ``sigma * max(0, 1 - iteration / anneal)``."""
    return sigma * max(0.0, 1.0 - iteration / anneal)


def noisy_rows(rows: Tensor, sigma: float, noise: Tensor) -> Tensor:
    """``softmax(log(rows) + sigma * noise)`` over the last axis (``noise`` standard normal, ``rows``' shape).

    ``rows`` must be strictly positive where the noise should act (smoothed
    one-hots are): a zero stays zero.
    """
    if sigma == 0:
        return rows
    return torch.softmax(rows.log() + sigma * noise, dim=-1)


__all__ = ["annealed_sigma", "noisy_rows", "smooth_one_hots"]
