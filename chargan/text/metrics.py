"""Sample-quality metrics beyond n-gram divergence: real words and copies.

* `word_hit_rate`: how many generated "words" (whitespace-separated tokens)
  exist in the training corpus -- a cheap check that the model spells words
  rather than plausible character soup.
* `copy_rate`: how many generated rows are verbatim corpus rows -- a check
  that the model is not simply memorising its training data.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence, Set

import numpy as np

from chargan.sequence.ngrams import DEFAULT_CHUNK_ROWS, NgramError

# Fixed seed: row hashes must be the same for samples and every corpus chunk.
_HASH_SEED = 0x5EED_C0DE


def word_set(lines: Iterable[str]) -> frozenset[str]:
    """The distinct whitespace-separated words of ``lines``.

    ``set.update(line.split())`` keeps the per-word work in C, so tens of
    millions of lines take seconds, and only distinct words are held in memory
    (the lines can be a lazily-read file).
    """
    words: set[str] = set()
    for line in lines:
        words.update(line.split())
    return frozenset(words)


def word_hit_rate(samples: Sequence[str], reference_words: Set[str]) -> float:
    """Fraction of the samples' whitespace-separated words found in ``reference_words``.

    ``samples`` are decoded text lines (padding removed; unknown characters
    shown as U+FFFD never match a real word). Every word occurrence counts,
    so a word repeated three times weighs three. ``reference_words`` is a set
    of words, e.g. from `word_set`. Returns NaN when the samples contain no
    word at all (a ratio over nothing is undefined, and 0.0 would be
    indistinguishable from "every word is wrong").
    """
    if isinstance(reference_words, str):
        raise TypeError("reference_words must be a set of words, not one string (see word_set)")
    if not isinstance(reference_words, Set):
        reference_words = frozenset(reference_words)
    n_words = 0
    n_hits = 0
    for sample in samples:
        words = sample.split()
        n_words += len(words)
        n_hits += sum(1 for w in words if w in reference_words)
    return n_hits / n_words if n_words else float("nan")


def _row_hashes(rows: np.ndarray, multipliers: np.ndarray) -> np.ndarray:
    """``(n, seq_len)`` ids -> ``(n,)`` uint64 hashes (random linear map mod 2**64).

    Equal rows get equal hashes; distinct rows collide with negligible
    probability, and `copy_rate` verifies every hash match exactly anyway.
    """
    return (rows.astype(np.uint64) * multipliers).sum(axis=1, dtype=np.uint64)


def copy_rate(
    sample_ids: np.ndarray,
    corpus_ids: np.ndarray,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
) -> float:
    """Fraction of generated rows that are exactly equal to some corpus row.

    ``sample_ids`` is ``(batch, seq_len)`` and ``corpus_ids`` ``(n_rows,
    seq_len)``, both integer ids (uint8/uint16; dtypes may differ, values are
    compared). Padding is part of the row, as in the encoded corpus. The corpus
    (possibly a ``np.memmap`` of millions of rows) is read ``chunk_rows`` at a
    time: each chunk is hashed, the hashes are looked up among the samples'
    with `np.searchsorted`, and the few matches are verified element by
    element, so the answer is exact. Returns NaN for an empty batch; an empty
    corpus gives 0.0.
    """
    samples = np.asarray(sample_ids)
    if not isinstance(corpus_ids, np.ndarray):  # keep np.memmap as is: read per chunk
        corpus_ids = np.asarray(corpus_ids)
    if samples.ndim != 2 or corpus_ids.ndim != 2:
        raise NgramError(
            f"sample_ids and corpus_ids must be 2-d (rows, seq_len), got shapes {samples.shape} and {corpus_ids.shape}"
        )
    if samples.shape[1] != corpus_ids.shape[1]:
        raise NgramError(f"samples have seq_len {samples.shape[1]} but corpus rows have {corpus_ids.shape[1]}")
    if chunk_rows < 1:
        raise NgramError(f"chunk_rows must be positive, got {chunk_rows}")
    if samples.shape[0] == 0:
        return float("nan")

    # Work on the distinct sample rows; `inverse` maps each sample to its row.
    unique_rows, inverse = np.unique(samples.astype(np.int64), axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    multipliers = np.random.default_rng(_HASH_SEED).integers(
        0, np.iinfo(np.uint64).max, size=samples.shape[1], dtype=np.uint64, endpoint=True
    ) | np.uint64(1)
    hashes = _row_hashes(unique_rows, multipliers)
    order = np.argsort(hashes, kind="stable")
    sorted_hashes = hashes[order]
    copied = np.zeros(len(unique_rows), dtype=bool)

    for start in range(0, corpus_ids.shape[0], chunk_rows):
        chunk = np.asarray(corpus_ids[start : start + chunk_rows])
        chunk_hashes = _row_hashes(chunk, multipliers)
        # Look every chunk hash up among the sorted sample hashes at once.
        lo = np.searchsorted(sorted_hashes, chunk_hashes, side="left")
        candidates = np.flatnonzero(sorted_hashes[np.minimum(lo, len(sorted_hashes) - 1)] == chunk_hashes)
        if candidates.size == 0:
            continue
        lo = lo[candidates]
        hi = np.searchsorted(sorted_hashes, chunk_hashes[candidates], side="right")
        # Usually one sample row per hash: verify those in one comparison.
        single = hi - lo == 1
        target = order[lo[single]]
        equal = np.all(chunk[candidates[single]] == unique_rows[target], axis=1)
        copied[target[equal]] = True
        # Two distinct sample rows sharing a hash is ~2**-64 unlikely; handle it
        # exactly with a small loop rather than assume it away.
        for c, a, b in zip(candidates[~single], lo[~single], hi[~single]):
            for t in order[a:b]:
                if np.array_equal(chunk[c], unique_rows[t]):
                    copied[t] = True
        if copied.all():
            break  # every sample is already a copy: no need to read further
    return float(copied[inverse].mean())
