"""Sequence metrics beyond k-mer JS: novelty (edit distance to the nearest training sequence) and the JS
divergence of two histograms (lengths, amino-acid composition).

Novelty uses ``rapidfuzz.process.extractOne`` (the optional extra
``chargan[bio]``): each sample's Levenshtein distance (unit-cost
insertions, deletions and substitutions) to its nearest training sequence,
computed in C with bit-parallel rows. Candidates are taken nearest length
first and the best distance found so far bounds the rest of the search (a
cut-off all-pairs ``cdist`` cannot use), so one thread beats ``cdist`` on
two cores (figures in BENCHMARKS.md; ``benchmarks/bench_genes.py novelty``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from chargan.corpora.seqfiles import BIO_HINT
from chargan.errors import UserError


#: Candidates of nearest length scored first, for a bound on the search of the rest.
_FIRST_CANDIDATES = 50


def nearest_distances(samples: Sequence[str], train: Sequence[str]) -> np.ndarray:
    """``(len(samples),)`` int: each sample's Levenshtein distance to its nearest sequence of ``train``.

    Exact, and cheaper than all pairs: a sample's candidates are taken in
    order of length difference (a lower bound of the distance), the first
    `_FIRST_CANDIDATES` of them give a bound, and the rest are searched only
    as far as their length difference stays within it, by rapidfuzz's
    ``extractOne``, which stops each comparison once it exceeds the best
    distance found.
    """
    try:
        from rapidfuzz import process
        from rapidfuzz.distance import Levenshtein
    except ImportError:
        raise UserError("the novelty figures need rapidfuzz, which is not installed", hint=BIO_HINT) from None
    if not samples:
        return np.zeros(0, dtype=np.int64)
    if not train:
        raise ValueError("novelty needs at least one training sequence")
    train = list(train)
    train_lengths = np.array([len(t) for t in train])
    by_length: dict[int, tuple[list[str], np.ndarray]] = {}  # sample length -> candidates, length differences
    nearest = np.empty(len(samples), dtype=np.int64)
    for i, sample in enumerate(samples):
        if len(sample) not in by_length:
            gap = np.abs(train_lengths - len(sample))
            order = np.argsort(gap, kind="stable")
            by_length[len(sample)] = [train[j] for j in order], gap[order]
        candidates, gaps = by_length[len(sample)]
        # extractOne returns (choice, distance, index) of the lowest distance for a distance scorer.
        best = process.extractOne(sample, candidates[:_FIRST_CANDIDATES], scorer=Levenshtein.distance)[1]
        stop = int(np.searchsorted(gaps, best, side="right"))  # farther lengths cannot come closer than best
        if stop > _FIRST_CANDIDATES:
            closer = process.extractOne(sample, candidates[_FIRST_CANDIDATES:stop], scorer=Levenshtein.distance,
                                        score_cutoff=best)
            best = min(best, closer[1]) if closer is not None else best
        nearest[i] = best
    return nearest


def novelty(samples: Sequence[str], train: Sequence[str]) -> dict[str, float]:
    """``novelty_mean``, ``novelty_median`` (edit distance to the nearest training sequence) and
    ``novelty_copies`` (the fraction at distance 0: exact copies of a training sequence)."""
    nearest = nearest_distances(samples, train)
    if nearest.size == 0:
        return {"novelty_mean": float("nan"), "novelty_median": float("nan"), "novelty_copies": float("nan")}
    return {"novelty_mean": float(nearest.mean()), "novelty_median": float(np.median(nearest)),
            "novelty_copies": float((nearest == 0).mean())}


def histogram_js(p: np.ndarray, q: np.ndarray) -> float:
    """Jensen-Shannon divergence (bits, in [0, 1]) between two histograms of counts over the same bins."""
    p = np.asarray(p, dtype=np.float64)
    q = np.asarray(q, dtype=np.float64)
    if p.shape != q.shape or p.sum() <= 0 or q.sum() <= 0:
        raise ValueError(f"need two non-empty histograms of one shape, got {p.shape} and {q.shape}")
    p, q = p / p.sum(), q / q.sum()
    m = (p + q) / 2

    def kl(a: np.ndarray) -> float:
        nz = a > 0
        return float(np.sum(a[nz] * np.log2(a[nz] / m[nz])))

    return 0.5 * (kl(p) + kl(q))


def lengths(ids: np.ndarray) -> np.ndarray:
    """``(n,)``: each row's length after stripping its trailing padding (id 0) from ``(n, seq_len)`` ids."""
    ids = np.asarray(ids)
    kept = ids != 0
    last = ids.shape[1] - np.argmax(kept[:, ::-1], axis=1)
    return np.where(kept.any(axis=1), last, 0)


def length_histogram(ids: np.ndarray) -> np.ndarray:
    """``(seq_len + 1,)`` counts of the rows' lengths (`lengths`)."""
    return np.bincount(lengths(ids), minlength=np.asarray(ids).shape[1] + 1)


def symbol_histogram(ids: np.ndarray, vocab_size: int) -> np.ndarray:
    """``(vocab_size - 1,)`` counts of each symbol (padding, id 0, left out)."""
    return np.bincount(np.asarray(ids).ravel(), minlength=vocab_size)[1:]
