"""True-data n-gram statistics of a set of encoded rows, with the held-out floor, cached beside the corpus.

The *floor* is the JS divergence of a held-out slice of real rows (as many
as an evaluation generates) against the rest: what a perfect generator would
score, with the same sampling noise as the generator's figures. The text and
genes families both score their samples against a `ReferenceStats`.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from chargan.errors import UserError
from chargan.sequence.ngrams import NgramError, NgramStats, ngram_js, ngram_stats


@dataclass(frozen=True)
class ReferenceStats:
    """True-data n-gram statistics and the held-out floor."""

    stats: list[NgramStats]
    floor: dict[str, float]  # js<n> of a held-out slice against the rest


def heldout_rows(n_rows: int, samples: int, seed: int) -> np.ndarray:
    """Sorted indices ``(held,)`` of the held-out slice: ``samples`` random rows (at most half), fixed by ``seed``."""
    held = min(samples, max(n_rows // 2, 1))
    return np.sort(np.random.default_rng(seed).choice(n_rows, size=held, replace=False))


def reference_stats(ids: np.ndarray, vocab_size: int, samples: int, orders: Sequence[int], seed: int,
                    cache_dir: Path | None = None, tag: str = "", skip: int | None = None) -> ReferenceStats:
    """N-gram statistics of ``ids`` ``(n_rows, seq_len)`` without a held-out slice, and the floor.

    The held-out slice is `heldout_rows` (``samples`` rows, fixed ``seed``).
    With ``cache_dir`` (the encoded corpus's cache folder, whose name already
    fixes the corpus content), the statistics are computed once and loaded
    from there afterwards; ``tag`` tells apart several views of one corpus.
    N-grams holding the id ``skip`` are not counted (`ngram_stats`).
    """
    folder = _reference_folder(cache_dir, len(ids), vocab_size, samples, orders, seed, tag, skip)
    cached = _load_reference(folder, orders)
    if cached is not None:
        return cached
    too_small = UserError(f"the corpus gives {len(ids):,} row(s), too few to hold some out for the floor and "
                          "score against the rest",
                          hint="use a corpus of many lines (thousands; the n-gram figures are noisy below that)")
    if len(ids) < 2:
        raise too_small
    picked = heldout_rows(len(ids), samples, seed)
    heldout = np.asarray(ids[picked])
    heldout_stats = ngram_stats(heldout, vocab_size, orders, skip=skip)
    full = ngram_stats(ids, vocab_size, orders, skip=skip)
    rest = [_subtract(whole, part) for whole, part in zip(full, heldout_stats)]
    try:
        result = ReferenceStats(rest, ngram_js(heldout, rest, vocab_size, skip=skip))
    except NgramError:  # the held-out rows or the rest hold no n-gram of some order
        raise too_small from None
    if folder is not None:
        _save_reference(result, folder)
    return result


def cached_reference(cache_dir: Path | None, n_rows: int, vocab_size: int, samples: int, orders: Sequence[int],
                     seed: int, tag: str = "", skip: int | None = None) -> ReferenceStats | None:
    """What `reference_stats` cached for these arguments (``n_rows`` rows), or None."""
    return _load_reference(_reference_folder(cache_dir, n_rows, vocab_size, samples, orders, seed, tag, skip), orders)


def _reference_folder(cache_dir: Path | None, rows: int, vocab_size: int, samples: int, orders: Sequence[int],
                      seed: int, tag: str, skip: int | None = None) -> Path | None:
    if cache_dir is None:
        return None
    fields = {"format": 1, "rows": rows, "vocab_size": vocab_size, "samples": samples, "orders": list(orders),
              "seed": seed, "tag": tag}
    if skip is not None:  # absent otherwise, so the statistics cached before skipping existed stay valid
        fields["skip"] = skip
    key = hashlib.sha256(json.dumps(fields).encode())
    return Path(cache_dir) / f"ngrams-{key.hexdigest()[:16]}"


def _load_reference(folder: Path | None, orders: Sequence[int]) -> ReferenceStats | None:
    if folder is None or not (folder / "floor.json").is_file():
        return None
    try:
        stats = [NgramStats.load(folder / f"order{n}.npz") for n in orders]
        return ReferenceStats(stats, json.loads((folder / "floor.json").read_text(encoding="utf-8")))
    except (NgramError, OSError, ValueError):
        return None  # damaged: the caller recomputes and replaces it


def _save_reference(result: ReferenceStats, folder: Path) -> None:
    """Write the statistics into a temporary folder, then rename it into place.

    It is a cache: where it cannot be written (a read-only corpus cache), the
    next run computes the statistics again.
    """
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    except OSError:
        return
    try:
        for stats in result.stats:
            stats.save(tmp / f"order{stats.order}.npz")
        (tmp / "floor.json").write_text(json.dumps(result.floor), encoding="utf-8")
        if folder.exists():
            shutil.rmtree(folder)
        tmp.rename(folder)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)


def _subtract(full: NgramStats, part: NgramStats) -> NgramStats:
    """Counts of ``full`` minus those of ``part`` (``part`` counted from a subset of ``full``'s rows)."""
    counts = full.counts.copy()
    counts[np.searchsorted(full.keys, part.keys)] -= part.counts
    keep = counts > 0
    return NgramStats(order=full.order, vocab_size=full.vocab_size, keys=full.keys[keep], counts=counts[keep])
