"""Vectorized n-gram statistics and Jensen-Shannon divergence over rows of symbol ids (characters, bases, ...).

This replaces the reference's ``language_helpers.NgramLanguageModel``, which
counts tuples of characters in Python dicts, with numpy: every n-gram of an
``(n_rows, seq_len)`` id array is packed into one int64 key

    key = sum_k ids[row, i + k] * vocab_size**k        (k = 0 .. order-1)

and the keys are counted with a sort (or a bincount when the key space is
small). Statistics are then two sorted arrays, ``keys`` and ``counts``, and
the divergence between two of them is a pair of ``searchsorted`` lookups.

Conventions, as in the reference:

* n-grams never cross rows: row ``r`` contributes positions
  ``i = 0 .. seq_len - order``, i.e. ``seq_len - order + 1`` n-grams;
* padding (id 0) is an ordinary character (the reference pads lines with
  a backtick and counts it), unless a ``skip`` id is given: n-grams holding
  it are left out (the genes family skips padding: JS-k measures content);
* divergences are in bits, so they lie in ``[0, 1]``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from chargan.errors import UserError

#: Rows per chunk: ~4M int64 keys (32 MiB) per order at seq_len 32, so memory
#: stays bounded however many rows a (memory-mapped) corpus has.
DEFAULT_CHUNK_ROWS = 1 << 17
#: A dense bincount is used when the (compacted) key space has at most this
#: many entries (128 MiB of int64 counts) and is not much larger than the
#: number of keys in the chunk; otherwise keys are sorted.
_DENSE_MAX = 1 << 24
#: Chunk tables of at least this many keys in all are merged into the running
#: total even while it is smaller (see `_Accumulator`).
_PENDING_MIN = 1 << 22
_INT64_MAX = int(np.iinfo(np.int64).max)
_FORMAT = "chargan.ngrams/1"


class NgramError(UserError, ValueError):
    """Invalid n-gram request (order, vocabulary, ids) or a corrupt stats file."""


def check_key_range(vocab_size: int, order: int) -> None:
    """Raise `NgramError` unless every ``order``-gram key fits in an int64.

    The largest key is ``vocab_size**order - 1``; 2050**4 ~ 1.8e13, far below
    2**63, but e.g. ``order=6`` with 2050 symbols would wrap around silently.
    """
    if int(order) != order or order < 1:
        raise NgramError(f"n-gram order must be a positive integer, got {order!r}")
    if int(vocab_size) != vocab_size or vocab_size < 1:
        raise NgramError(f"vocab_size must be a positive integer, got {vocab_size!r}")
    if int(vocab_size) ** int(order) - 1 > _INT64_MAX:
        raise NgramError(
            f"{order}-grams over {vocab_size} symbols do not fit in an int64 key "
            f"({vocab_size}**{order} > 2**63)",
            hint="use a smaller n-gram order or vocabulary",
        )


def _as_2d(ids: np.ndarray) -> np.ndarray:
    if not isinstance(ids, np.ndarray):  # keep np.memmap as is: chunks are read lazily
        ids = np.asarray(ids)
    if ids.ndim != 2:
        raise NgramError(f"ids must have shape (n_rows, seq_len), got shape {ids.shape}")
    if ids.dtype.kind not in "ui":
        raise NgramError(f"ids must be an integer array, got dtype {ids.dtype}")
    return ids


def _pack(chunk: np.ndarray, order: int, base: int) -> np.ndarray:
    """``(rows, seq_len)`` digits -> flat int64 keys ``sum_k d[:, i+k] * base**k``.

    Horner's rule from the last position of the window, so the id at window
    offset ``k`` ends up multiplied by ``base**k``.
    """
    width = chunk.shape[1] - order + 1
    key = chunk[:, order - 1 : order - 1 + width].astype(np.int64)
    for k in range(order - 2, -1, -1):
        key *= base
        key += chunk[:, k : k + width]
    return key.ravel()


def _unpack(keys: np.ndarray, order: int, base: int) -> np.ndarray:
    """Inverse of `_pack`: ``(n,)`` keys -> ``(n, order)`` digits."""
    digits = np.empty((keys.size, order), dtype=np.int64)
    rest = keys.astype(np.int64, copy=True)
    for k in range(order):
        rest, digits[:, k] = np.divmod(rest, base)
    return digits


class _Chunk:
    """One chunk of rows and its symbol histogram, shared by every order."""

    def __init__(self, rows: np.ndarray, vocab_size: int) -> None:
        if rows.dtype.kind == "u" and rows.dtype.itemsize == 8:
            rows = rows.astype(np.int64)  # bincount refuses uint64; >= 2**63 turns negative below
        if rows.dtype.kind == "i" and rows.size and int(rows.min()) < 0:
            raise NgramError(f"ids must lie in [0, {vocab_size}), got {int(rows.min())}")
        self.rows = rows
        self.vocab_size = vocab_size
        # The histogram is the 1-gram count, tells which ids occur (see
        # `_compact`) and, by its length, whether any id is out of range.
        self.hist = np.bincount(rows.ravel(), minlength=vocab_size)
        if len(self.hist) > vocab_size:
            raise NgramError(f"ids must lie in [0, {vocab_size}), got {len(self.hist) - 1}")
        self.present = np.flatnonzero(self.hist)
        self._compact: np.ndarray | None = None

    def compact(self) -> np.ndarray:
        """The rows relabelled so the ids present become ``0 .. a-1`` (order kept)."""
        if self._compact is None:
            table = np.zeros(self.vocab_size, dtype=self.rows.dtype)
            table[self.present] = np.arange(len(self.present), dtype=self.rows.dtype)
            self._compact = table[self.rows]
        return self._compact

    def count(self, order: int) -> tuple[np.ndarray, np.ndarray]:
        """Sorted unique keys of this chunk's ``order``-grams and their counts."""
        n_rows, seq_len = self.rows.shape
        if n_rows == 0 or seq_len < order:
            return np.empty(0, np.int64), np.empty(0, np.int64)
        if order == 1:
            return self.present.astype(np.int64), self.hist[self.present].astype(np.int64)
        # A bincount over the key space is O(n) but costs memory and a scan of
        # the whole space, so use it only when the space is not much larger
        # than the number of keys; otherwise sort, O(n log n).
        limit = min(_DENSE_MAX, max(1 << 16, 4 * n_rows * (seq_len - order + 1)))
        vocab_size = self.vocab_size
        if vocab_size**order <= limit:
            dense = np.bincount(_pack(self.rows, order, vocab_size), minlength=vocab_size**order)
            keys = np.flatnonzero(dense)
            return keys.astype(np.int64), dense[keys].astype(np.int64)
        # Text rarely uses all of a 2048-symbol vocabulary: over the a ids that
        # occur, the space a**order is often small enough to bincount after all.
        a = len(self.present)
        if a**order <= limit:
            dense = np.bincount(_pack(self.compact(), order, a), minlength=a**order)
            nonzero = np.flatnonzero(dense)
            # Map each digit back to its id; the relabelling is monotonic, so
            # the repacked keys come out sorted like `nonzero`.
            keys = _repack(self.present[_unpack(nonzero, order, a)], vocab_size)
            return keys, dense[nonzero].astype(np.int64)
        keys = _pack(self.rows, order, vocab_size)
        keys.sort()
        return _reduce_sorted(keys)


def _repack(digits: np.ndarray, base: int) -> np.ndarray:
    """``(n, order)`` offset-ordered digits -> keys ``sum_k digits[:, k] * base**k``."""
    key = np.zeros(digits.shape[0], dtype=np.int64)
    for k in range(digits.shape[1] - 1, -1, -1):
        key *= base
        key += digits[:, k]
    return key


class _Accumulator:
    """Sum of many sorted-unique (keys, counts) tables, merged lazily.

    Merging every chunk into the running total costs O(total) per chunk, i.e.
    quadratic over a big corpus with millions of distinct 4-grams. Instead
    chunk tables wait in `pending` until they are as large as the total (or
    `_PENDING_MIN` keys), then everything is merged at once: each key is
    merged O(log n_chunks) times and memory stays within ~2x the final table.
    """

    def __init__(self) -> None:
        self.keys = np.empty(0, np.int64)
        self.counts = np.empty(0, np.int64)
        self.pending: list[tuple[np.ndarray, np.ndarray]] = []
        self.pending_size = 0

    def add(self, keys: np.ndarray, counts: np.ndarray) -> None:
        self.pending.append((keys, counts))
        self.pending_size += keys.size
        if self.pending_size >= max(self.keys.size, _PENDING_MIN):
            self.flush()

    def flush(self) -> tuple[np.ndarray, np.ndarray]:
        if self.pending:
            keys = np.concatenate([self.keys, *(k for k, _ in self.pending)])
            counts = np.concatenate([self.counts, *(c for _, c in self.pending)])
            # A stable argsort is numpy's timsort, which finds the sorted runs
            # (one per table) and merges them instead of sorting from scratch.
            order = np.argsort(keys, kind="stable")
            self.keys, self.counts = _reduce_sorted(keys[order], counts[order])
            self.pending, self.pending_size = [], 0
        return self.keys, self.counts


def _reduce_sorted(keys: np.ndarray, counts: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Sorted keys (repeats allowed) and their counts (default 1 each) -> unique keys, summed counts.

    Written out rather than ``np.unique`` because, depending on the numpy
    version and arguments, ``np.unique`` may switch to a hash table that is
    far slower than a sort on millions of distinct int64 keys.
    """
    if keys.size == 0:
        return keys.astype(np.int64), np.empty(0, np.int64)
    starts = np.flatnonzero(np.concatenate([[True], keys[1:] != keys[:-1]]))
    if counts is None:
        return keys[starts], np.diff(np.append(starts, keys.size)).astype(np.int64)
    return keys[starts], np.add.reduceat(counts, starts).astype(np.int64)


@dataclass(frozen=True, eq=False)
class NgramStats:
    """Counts of the character n-grams of one order in a set of id rows.

    ``keys`` (``(n_unique,)`` int64, sorted, unique) are packed n-grams,
    ``key = sum_k id_k * vocab_size**k`` with ``id_k`` the k-th character of
    the n-gram; ``counts`` (``(n_unique,)`` int64, all > 0) how often each
    occurs. Build with `from_ids` or `ngram_stats`.
    """

    order: int
    vocab_size: int
    keys: np.ndarray
    counts: np.ndarray

    def __post_init__(self) -> None:
        check_key_range(self.vocab_size, self.order)
        keys = np.asarray(self.keys, dtype=np.int64)
        counts = np.asarray(self.counts, dtype=np.int64)
        if keys.ndim != 1 or keys.shape != counts.shape:
            raise NgramError(f"keys and counts must be 1-d of equal length, got {keys.shape} and {counts.shape}")
        if keys.size and (np.any(np.diff(keys) <= 0) or keys[0] < 0 or keys[-1] > self.vocab_size**self.order - 1):
            raise NgramError("n-gram keys must be sorted, unique and within the key range")
        if counts.size and counts.min() <= 0:
            raise NgramError("n-gram counts must be positive")
        # Read-only so a shared reference statistic cannot be altered by accident.
        keys.flags.writeable = False
        counts.flags.writeable = False
        object.__setattr__(self, "keys", keys)
        object.__setattr__(self, "counts", counts)

    # ----------------------------------------------------------------- building
    @classmethod
    def from_ids(
        cls, ids: np.ndarray, order: int, vocab_size: int, chunk_rows: int = DEFAULT_CHUNK_ROWS
    ) -> NgramStats:
        """Count the ``order``-grams of ``ids`` (``(n_rows, seq_len)``, uint8/uint16/any int).

        Rows are read ``chunk_rows`` at a time (so ``ids`` may be a
        ``np.memmap`` far larger than memory) and the chunk counts merged.
        Raises `NgramError` (a ValueError) for an order whose keys would
        overflow int64 or ids outside ``[0, vocab_size)``.
        """
        return ngram_stats(ids, vocab_size, orders=(order,), chunk_rows=chunk_rows)[0]

    # --------------------------------------------------------------- properties
    @property
    def total(self) -> int:
        """Number of n-gram occurrences (``rows * (seq_len - order + 1)``)."""
        return int(self.counts.sum())

    def __len__(self) -> int:
        """Number of distinct n-grams."""
        return int(self.keys.size)

    def ngrams(self) -> np.ndarray:
        """The distinct n-grams as ids, ``(n_unique, order)`` int64, in `keys` order."""
        return _unpack(self.keys, self.order, self.vocab_size)

    def without(self, symbol: int) -> NgramStats:
        """These statistics less every n-gram that holds the id ``symbol``."""
        keep = ~np.any(self.ngrams() == symbol, axis=1)
        return NgramStats(self.order, self.vocab_size, self.keys[keep], self.counts[keep])

    def frequencies(self) -> np.ndarray:
        """``counts / total`` as float64 (``(n_unique,)``, sums to 1)."""
        return self.counts / max(self.total, 1)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, NgramStats):
            return NotImplemented
        return (
            self.order == other.order
            and self.vocab_size == other.vocab_size
            and np.array_equal(self.keys, other.keys)
            and np.array_equal(self.counts, other.counts)
        )

    __hash__ = None  # type: ignore[assignment]  # mutable-content arrays: not hashable

    # -------------------------------------------------------------- persistence
    def save(self, path: str | Path) -> None:
        """Write an uncompressed ``.npz`` (numpy appends ``.npz`` if missing)."""
        np.savez(path, format=np.array(_FORMAT), order=np.array(self.order, dtype=np.int64),
                 vocab_size=np.array(self.vocab_size, dtype=np.int64), keys=self.keys, counts=self.counts)

    @classmethod
    def load(cls, path: str | Path) -> NgramStats:
        """Read a file written by `save`; `NgramError` if missing or not n-gram stats."""
        try:
            with np.load(path, allow_pickle=False) as data:
                if str(data["format"]) != _FORMAT:
                    raise NgramError(f"{path} is not chargan n-gram stats (format {str(data['format'])!r})")
                return cls(order=int(data["order"]), vocab_size=int(data["vocab_size"]), keys=data["keys"],
                           counts=data["counts"])
        except FileNotFoundError:
            raise NgramError(f"n-gram stats file not found: {path}") from None
        except (KeyError, ValueError, OSError) as exc:
            if isinstance(exc, NgramError):
                raise
            raise NgramError(f"n-gram stats file {path} is corrupt: {exc}") from None


def ngram_stats(
    ids: np.ndarray,
    vocab_size: int,
    orders: Sequence[int] = (1, 2, 3, 4),
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    skip: int | None = None,
) -> list[NgramStats]:
    """`NgramStats` of each order in ``orders`` for ``ids`` (``(n_rows, seq_len)``).

    One pass over the rows serves every order, so a memory-mapped corpus is
    read once. N-grams holding the id ``skip`` (e.g. padding) are not counted.
    """
    ids = _as_2d(ids)
    orders = [int(o) for o in orders]
    for order in orders:
        check_key_range(vocab_size, order)
    if chunk_rows < 1:
        raise NgramError(f"chunk_rows must be positive, got {chunk_rows}")
    totals = [_Accumulator() for _ in orders]
    for start in range(0, ids.shape[0], chunk_rows):
        chunk = _Chunk(np.asarray(ids[start : start + chunk_rows]), int(vocab_size))
        for j, order in enumerate(orders):
            totals[j].add(*chunk.count(order))
    stats = [NgramStats(order, int(vocab_size), *total.flush()) for order, total in zip(orders, totals)]
    return stats if skip is None else [s.without(skip) for s in stats]


def js_divergence(p: NgramStats, q: NgramStats) -> float:
    """Jensen-Shannon divergence, in bits, between two n-gram distributions.

    ``JS = KL(p || m) / 2 + KL(q || m) / 2`` with ``m = (p + q) / 2`` over the
    union of both key sets, p and q the normalised counts; 0 for identical
    distributions, 1 for disjoint ones. Each KL only needs the keys of its own
    side (terms with p = 0 vanish), so the other side's frequency is found by
    `np.searchsorted` in its sorted keys: no loop over n-grams.
    """
    if p.order != q.order or p.vocab_size != q.vocab_size:
        raise NgramError(
            f"cannot compare {p.order}-grams over {p.vocab_size} symbols "
            f"with {q.order}-grams over {q.vocab_size} symbols"
        )
    if p.total == 0 or q.total == 0:
        raise NgramError("JS divergence is undefined for an empty n-gram set (rows shorter than the order?)")
    fp, fq = p.frequencies(), q.frequencies()
    return 0.5 * (_kl_to_mixture(p.keys, fp, q.keys, fq) + _kl_to_mixture(q.keys, fq, p.keys, fp))


def _kl_to_mixture(keys: np.ndarray, f: np.ndarray, other_keys: np.ndarray, other_f: np.ndarray) -> float:
    """``sum_x f(x) log2(f(x) / m(x))`` over ``keys``, ``m = (f + other_f) / 2``."""
    pos = np.searchsorted(other_keys, keys)
    pos_clipped = np.minimum(pos, other_keys.size - 1)
    found = other_keys[pos_clipped] == keys
    g = np.where(found, other_f[pos_clipped], 0.0)
    # 2f / (f + g) is exactly 1 when g == f and exactly 2 when g == 0, so
    # identical sets give exactly 0 and disjoint sets exactly 1 (up to the sum).
    return float(np.sum(f * np.log2(2.0 * f / (f + g))))


def ngram_js(
    sample_ids: np.ndarray,
    reference: Sequence[NgramStats],
    vocab_size: int,
    skip: int | None = None,
) -> dict[str, float]:
    """JS divergence (bits) of the samples' n-grams to each reference statistic.

    ``sample_ids`` is ``(batch, seq_len)``; returns ``{"js1": ..., "js4": ...}``
    keyed by the orders of ``reference`` (in its order), as the reference logs
    them. ``skip``: as `ngram_stats`'s (the reference must have been counted so); samples with no n-gram
    of an order left (all skipped) score 1.0 against a non-empty reference.
    """
    for ref in reference:
        if ref.vocab_size != vocab_size:
            raise NgramError(
                f"reference {ref.order}-gram stats were built for {ref.vocab_size} symbols, not {vocab_size}",
                hint="rebuild the reference statistics with the current vocabulary",
            )
    samples = ngram_stats(sample_ids, vocab_size, orders=[ref.order for ref in reference], skip=skip)
    return {f"js{ref.order}": 1.0 if s.total == 0 < ref.total else js_divergence(s, ref)
            for s, ref in zip(samples, reference)}
