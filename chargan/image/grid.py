"""Sample grids: a batch of images tiled into one PNG."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
from matplotlib.image import imsave
from torch import Tensor

from chargan.core.atomic import atomic_write


def grid_rows(n: int) -> int:
    """Rows of the reference scripts' grid: the largest divisor of ``n`` not above sqrt(n) (128 -> 8 x 16)."""
    rows = max(int(math.isqrt(n)), 1)
    while n % rows:
        rows -= 1
    return rows


def to_uint8(images: Tensor, value_range: tuple[float, float] = (-1.0, 1.0)) -> np.ndarray:
    """``(batch, channels, height, width)`` floats in ``value_range`` -> uint8 ``(batch, height, width, channels)``."""
    low, high = value_range
    scaled = (images.detach().float().cpu() - low) / (high - low)
    return (scaled.clamp(0, 1) * 255).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()


def tile(images: np.ndarray, rows: int | None = None, padding: int = 1) -> np.ndarray:
    """uint8 ``(batch, height, width, channels)`` -> one ``(H, W, 3)`` uint8 picture, ``padding`` px apart."""
    n, h, w, c = images.shape
    rows = rows or grid_rows(n)
    cols = math.ceil(n / rows)
    out = np.zeros((rows * (h + padding) + padding, cols * (w + padding) + padding, 3), dtype=np.uint8)
    rgb = np.repeat(images, 3, axis=3) if c == 1 else images
    for i in range(n):
        r, k = divmod(i, cols)
        top, left = padding + r * (h + padding), padding + k * (w + padding)
        out[top:top + h, left:left + w] = rgb[i]
    return out


def save_grid(images: Tensor, path: str | Path, value_range: tuple[float, float] = (-1.0, 1.0)) -> Path:
    """Write ``images`` ``(batch, channels, height, width)`` (1 or 3 channels) as one PNG grid at ``path``."""
    picture = tile(to_uint8(images, value_range))
    atomic_write(path, lambda tmp: imsave(tmp, picture, format="png"))
    return Path(path)
