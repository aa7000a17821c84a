"""Scores for generated 2-D points: mode coverage, and the Wasserstein-1 distance by exact optimal transport.

All functions take point sets ``(n, 2)`` in data units and return plain numbers.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor


def mode_coverage(points: Tensor, centers: Tensor, std: float, threshold: float = 3.0,
                  min_share: float = 0.1) -> tuple[int, float]:
    """``(modes_covered, high_quality)`` of ``points`` ``(n, 2)`` against mixture ``centers`` ``(k, 2)``.

    As in the mode-collapse literature (VEEGAN, PacGAN), a point is *high
    quality* when it lies within ``threshold`` standard deviations (``std``,
    per axis) of its nearest center; ``high_quality`` is their fraction. A mode
    is *covered* when at least ``min_share`` of its fair share (``n / k``) of
    points are high-quality points nearest to it (10% by default, our choice:
    a handful of stray points does not capture a mode, a blurry but balanced
    generator does not either).
    """
    if len(points) == 0:
        return 0, 0.0
    distance, nearest = torch.cdist(points.float(), centers.float().to(points.device)).min(dim=1)
    good = distance <= threshold * std
    counts = torch.bincount(nearest[good], minlength=len(centers))
    needed = max(1.0, min_share * len(points) / len(centers))
    return int((counts >= needed).sum()), float(good.float().mean())


def wasserstein1(x: Tensor, y: Tensor, epsilon: float = 1e-3) -> float:
    """The Wasserstein-1 distance (Euclidean ground cost) between equal-size point sets ``x`` and ``y`` ``(n, d)``.

    Exact optimal transport between the two empirical measures (uniform
    weights), which for equal sizes is an assignment problem, solved by
    Bertsekas' auction algorithm with epsilon-scaling, vectorized over the
    bidders: the mean cost of the final assignment is within ``epsilon`` (data
    units) of the optimum. Time and memory grow as ``n**2`` plus the rounds of
    bidding: about 1 s for 1,000 points a side and 2.5 s for 2,000 on a
    CPU core. Two independent samples of one distribution are not at
    distance 0: the figure has a sampling floor that shrinks as ``n`` grows
    (about 0.14 at 1,000 and 0.065 at 2,000 points for the toy sets).
    """
    if x.shape != y.shape or x.ndim != 2:
        raise ValueError(f"expected two point sets of one shape (n, d), got {tuple(x.shape)} and {tuple(y.shape)}")
    # numpy, not torch: the late rounds touch a handful of bidders each, where per-call overhead dominates.
    cost = torch.cdist(x.double().cpu(), y.double().cpu()).numpy()
    n = len(cost)
    if n < 2:
        return float(cost.sum())
    prices = np.zeros(n)
    eps = max(float(cost.max()) / 8, epsilon)
    while True:
        # One auction per epsilon; prices carry over, so later auctions start near the answer.
        assigned = _auction(cost, prices, eps)
        if eps <= epsilon:
            break
        eps = max(eps / 5, epsilon)
    return float(cost[np.arange(n), assigned].mean())


def _auction(cost: np.ndarray, prices: np.ndarray, eps: float) -> np.ndarray:
    """Assign rows (bidders) to columns (objects) of ``cost`` ``(n, n)``; updates ``prices`` in place.

    Every free bidder bids for its best object at once (Jacobi auction); each
    object goes to its highest bid, whose bidder displaces the previous owner.
    Returns the object of each bidder, ``(n,)``.
    """
    n = len(cost)
    assigned = np.full(n, -1)
    owner = np.full(n, -1)
    while True:
        free = np.flatnonzero(assigned < 0)
        if len(free) == 0:
            return assigned
        values = -cost[free] - prices
        top2 = np.argpartition(values, -2, axis=1)[:, -2:]
        pair = np.take_along_axis(values, top2, axis=1)
        first = pair[:, 1] >= pair[:, 0]
        objects = np.where(first, top2[:, 1], top2[:, 0])
        # Raise the price until the second-best object is as good, plus eps (which ends price wars).
        bids = prices[objects] + np.abs(pair[:, 1] - pair[:, 0]) + eps
        best = np.full(n, -np.inf)
        np.maximum.at(best, objects, bids)
        wins = bids >= best[objects]
        winner = np.full(n, -1)
        winner[objects[wins]] = free[wins]
        won = np.flatnonzero(winner >= 0)
        previous = owner[won]
        assigned[previous[previous >= 0]] = -1
        owner[won] = winner[won]
        assigned[winner[won]] = won
        prices[won] = best[won]
