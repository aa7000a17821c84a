"""Vectorized n-gram statistics and JS divergence against a slow dict reference."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest

from chargan.sequence import ngrams as ngrams_module
from chargan.sequence.ngrams import NgramError, NgramStats, js_divergence, ngram_js, ngram_stats
from chargan.corpora.units import Vocabulary

# ----------------------------------------------------------------- reference


def dict_counts(ids: np.ndarray, order: int) -> Counter:
    """The reference's counting: tuples of ids within each row, padding included."""
    counts: Counter = Counter()
    for row in ids.tolist():
        for i in range(len(row) - order + 1):
            counts[tuple(row[i : i + order])] += 1
    return counts


def dict_js(a: Counter, b: Counter) -> float:
    """JS in bits over the union of n-grams: 0.5 KL(p||m) + 0.5 KL(q||m)."""
    na, nb = sum(a.values()), sum(b.values())
    kl_p = kl_q = 0.0
    for g in set(a) | set(b):
        p, q = a.get(g, 0) / na, b.get(g, 0) / nb
        m = (p + q) / 2
        if p:
            kl_p += p * math.log2(p / m)
        if q:
            kl_q += q * math.log2(q / m)
    return 0.5 * kl_p + 0.5 * kl_q


def stats_as_counter(stats: NgramStats) -> Counter:
    return Counter({tuple(g): int(c) for g, c in zip(stats.ngrams().tolist(), stats.counts.tolist())})


def random_ids(rng, n_rows, seq_len, n_symbols, *, skewed=False, padded=False, dtype=np.uint8, low=2):
    if skewed:  # Zipf-like: a few symbols dominate, many are rare
        weights = 1.0 / np.arange(1, n_symbols + 1) ** 1.3
        ids = rng.choice(np.arange(low, low + n_symbols), size=(n_rows, seq_len), p=weights / weights.sum())
    else:
        ids = rng.integers(low, low + n_symbols, size=(n_rows, seq_len))
    if padded:  # right padding of random length, as the encoder produces
        lengths = rng.integers(0, seq_len + 1, size=n_rows)
        ids[np.arange(seq_len)[None, :] >= lengths[:, None]] = 0
    return ids.astype(dtype)


@pytest.fixture(params=["dense", "sort"])
def counting_path(request, monkeypatch):
    """Run a test through both counting paths (bincount and sort)."""
    if request.param == "sort":
        monkeypatch.setattr(ngrams_module, "_DENSE_MAX", 0)
    return request.param


# ------------------------------------------------------------------ counting


@pytest.mark.parametrize("order", [1, 2, 3, 4])
@pytest.mark.parametrize("skewed,padded", [(False, False), (True, False), (False, True), (True, True)])
def test_counts_match_dict_reference(order, skewed, padded, counting_path):
    rng = np.random.default_rng(order * 10 + 2 * skewed + padded)
    ids = random_ids(rng, 60, 12, 9, skewed=skewed, padded=padded)
    stats = NgramStats.from_ids(ids, order, vocab_size=11)
    assert stats_as_counter(stats) == dict_counts(ids, order)
    assert stats.total == 60 * (12 - order + 1)
    assert np.all(np.diff(stats.keys) > 0)


@pytest.mark.parametrize("order", [1, 2, 3, 6])
def test_a_skipped_id_leaves_out_every_ngram_holding_it(order, counting_path):
    rng = np.random.default_rng(order)
    ids = random_ids(rng, 80, 14, 4, padded=True, low=1)
    ids[::7, 3] = 0  # padding inside rows too: windows across it are left out as well
    stats = ngram_stats(ids, 5, orders=(order,), skip=0)[0]
    expected = Counter({g: c for g, c in dict_counts(ids, order).items() if 0 not in g})
    assert stats_as_counter(stats) == expected and expected  # the test data holds padding-free windows
    assert stats_as_counter(ngram_stats(ids, 5, orders=(order,))[0]) != expected  # without skip, padding counts
    assert ngram_js(ids, [stats], 5, skip=0) == {f"js{order}": 0.0}


def test_key_packing_convention():
    # key = sum_k id_k * vocab_size**k, id_k the k-th character of the n-gram
    ids = np.array([[3, 1, 4, 1]], dtype=np.uint8)
    stats = NgramStats.from_ids(ids, 3, vocab_size=10)
    # n-grams (3, 1, 4) -> 3 + 1*10 + 4*100 and (1, 4, 1) -> 1 + 4*10 + 1*100
    assert stats.keys.tolist() == [141, 413]
    assert stats.ngrams().tolist() == [[1, 4, 1], [3, 1, 4]]


def test_ngrams_never_cross_rows():
    ids = np.array([[2, 3], [4, 5]], dtype=np.uint8)
    assert stats_as_counter(NgramStats.from_ids(ids, 2, 6)) == Counter({(2, 3): 1, (4, 5): 1})


@pytest.mark.parametrize("order", [1, 2, 3, 4])
@pytest.mark.parametrize("eager_merge", [False, True])
def test_chunked_equals_single_chunk(order, eager_merge, counting_path, monkeypatch):
    if eager_merge:  # merge every chunk table into the total as soon as it arrives
        monkeypatch.setattr(ngrams_module, "_PENDING_MIN", 1)
    rng = np.random.default_rng(7)
    ids = random_ids(rng, 301, 16, 40, skewed=True, padded=True)
    whole = NgramStats.from_ids(ids, order, 50, chunk_rows=len(ids))
    for chunk_rows in (1, 7, 100):
        assert NgramStats.from_ids(ids, order, 50, chunk_rows=chunk_rows) == whole


def test_uint16_large_vocabulary(counting_path):
    rng = np.random.default_rng(3)
    ids = random_ids(rng, 80, 10, 2000, low=48, dtype=np.uint16)
    ids[:, 0] = 2049  # the largest id of a 2050-symbol vocabulary
    for order in (1, 2, 3, 4):
        stats = NgramStats.from_ids(ids, order, vocab_size=2050)
        assert stats_as_counter(stats) == dict_counts(ids, order)
        # uint8/uint16/int64 inputs with the same values give the same stats
        assert NgramStats.from_ids(ids.astype(np.int64), order, 2050) == stats
        assert NgramStats.from_ids(ids.astype(np.uint64), order, 2050) == stats


def test_sparse_use_of_a_large_vocabulary(monkeypatch):
    # 2050**2 keys are too many to bincount for 90 rows, but only 9 ids occur:
    # the relabelled (compact) bincount path must give the dict counts.
    calls = []
    original = ngrams_module._Chunk.compact
    monkeypatch.setattr(ngrams_module._Chunk, "compact", lambda self: calls.append(1) or original(self))
    rng = np.random.default_rng(11)
    symbols = np.array([0, 5, 77, 300, 1024, 1500, 2000, 2048, 2049], dtype=np.uint16)
    ids = symbols[rng.integers(0, len(symbols), size=(90, 7))]
    for order in (2, 3, 4):
        assert stats_as_counter(NgramStats.from_ids(ids, order, 2050)) == dict_counts(ids, order)
    assert calls  # the compact path was taken


def test_memmap_input(tmp_path):
    rng = np.random.default_rng(4)
    ids = random_ids(rng, 500, 8, 20, padded=True)
    path = tmp_path / "ids.u8"
    ids.tofile(path)
    mapped = np.memmap(path, dtype=np.uint8, mode="r", shape=ids.shape)
    assert ngram_stats(mapped, 22, chunk_rows=64) == ngram_stats(ids, 22)


def test_overflow_and_bad_input_raise():
    ids = np.zeros((2, 8), dtype=np.uint16)
    NgramStats.from_ids(ids, 5, vocab_size=2050)  # 2050**5 < 2**63: fine
    with pytest.raises(ValueError, match="int64"):
        NgramStats.from_ids(ids, 6, vocab_size=2050)
    with pytest.raises(ValueError, match="int64"):
        ngram_stats(ids, 2**32, orders=(1, 2))
    with pytest.raises(ValueError):
        NgramStats.from_ids(ids, 0, vocab_size=10)
    with pytest.raises(ValueError, match=r"\[0, 10\)"):
        NgramStats.from_ids(np.full((2, 4), 10, dtype=np.uint8), 1, vocab_size=10)
    with pytest.raises(ValueError, match="got -1"):
        NgramStats.from_ids(np.array([[2, -1]], dtype=np.int16), 1, vocab_size=10)
    with pytest.raises(ValueError, match="shape"):
        NgramStats.from_ids(np.zeros(5, dtype=np.uint8), 1, vocab_size=10)
    assert issubclass(NgramError, ValueError)


def test_rows_shorter_than_order_give_empty_stats():
    stats = NgramStats.from_ids(np.ones((3, 2), dtype=np.uint8), 3, vocab_size=5)
    assert len(stats) == 0 and stats.total == 0
    with pytest.raises(ValueError, match="empty"):
        js_divergence(stats, stats)


def test_stats_are_read_only():
    stats = NgramStats.from_ids(np.array([[2, 3, 2]], dtype=np.uint8), 1, 5)
    with pytest.raises(ValueError):
        stats.counts[0] = 99


# ---------------------------------------------------------------- divergence


@pytest.mark.parametrize("order", [1, 2, 3, 4])
def test_js_identical_is_zero_and_disjoint_is_one(order):
    rng = np.random.default_rng(order)
    a = random_ids(rng, 50, 10, 10, skewed=True, low=2)  # ids 2..11
    b = random_ids(rng, 70, 10, 10, low=20)  # ids 20..29: no shared n-gram
    sa = NgramStats.from_ids(a, order, 32)
    sb = NgramStats.from_ids(b, order, 32)
    assert js_divergence(sa, sa) == 0.0
    # same distribution from a different number of rows (every row repeated)
    assert abs(js_divergence(sa, NgramStats.from_ids(np.repeat(a, 3, axis=0), order, 32))) <= 1e-12
    assert abs(js_divergence(sa, sb) - 1.0) <= 1e-12


@pytest.mark.parametrize("order", [1, 2, 3, 4])
@pytest.mark.parametrize("skewed,padded", [(False, False), (True, False), (False, True), (True, True)])
def test_js_matches_dict_reference(order, skewed, padded):
    rng = np.random.default_rng(100 + order)
    a = random_ids(rng, 40, 10, 6, skewed=skewed, padded=padded)
    b = random_ids(rng, 25, 10, 8, skewed=not skewed, padded=padded)
    sa, sb = NgramStats.from_ids(a, order, 12), NgramStats.from_ids(b, order, 12)
    got = js_divergence(sa, sb)
    assert got == pytest.approx(dict_js(dict_counts(a, order), dict_counts(b, order)), abs=1e-12)
    assert 0.0 < got < 1.0
    assert js_divergence(sb, sa) == got  # symmetric


def test_js_rejects_mismatched_stats():
    ids = np.array([[2, 3, 4]], dtype=np.uint8)
    with pytest.raises(ValueError, match="cannot compare"):
        js_divergence(NgramStats.from_ids(ids, 1, 5), NgramStats.from_ids(ids, 2, 5))
    with pytest.raises(ValueError, match="cannot compare"):
        js_divergence(NgramStats.from_ids(ids, 1, 5), NgramStats.from_ids(ids, 1, 6))


def test_ngram_js_on_encoded_text():
    lines = ["the cat sat on the mat", "a dog ran", "the end"]
    vocab = Vocabulary.from_lines(lines)
    true_ids = vocab.encode_batch(lines, 16)
    reference = ngram_stats(true_ids, len(vocab))
    assert [s.order for s in reference] == [1, 2, 3, 4]

    same = ngram_js(true_ids, reference, len(vocab))
    assert list(same) == ["js1", "js2", "js3", "js4"]
    assert all(v == 0.0 for v in same.values())

    other_ids = vocab.encode_batch(["zzz zzz", "tac eht"], 16)
    other = ngram_js(other_ids, reference, len(vocab))
    for order in (1, 2, 3, 4):
        expected = dict_js(dict_counts(other_ids, order), dict_counts(true_ids, order))
        assert other[f"js{order}"] == pytest.approx(expected, abs=1e-12)
    assert ngram_js(true_ids, reference[2:3], len(vocab)).keys() == {"js3"}
    with pytest.raises(ValueError, match="symbols"):
        ngram_js(true_ids, reference, len(vocab) + 1)


# --------------------------------------------------------------- persistence


def test_save_load_round_trip(tmp_path):
    rng = np.random.default_rng(5)
    stats = NgramStats.from_ids(random_ids(rng, 30, 9, 300, low=2, dtype=np.uint16), 3, 2050)
    path = tmp_path / "true3.npz"
    stats.save(path)
    loaded = NgramStats.load(path)
    assert loaded == stats
    assert (loaded.order, loaded.vocab_size) == (3, 2050)
    assert loaded.keys.dtype == np.int64 and loaded.counts.dtype == np.int64


def test_load_rejects_missing_and_foreign_files(tmp_path):
    with pytest.raises(NgramError, match="not found"):
        NgramStats.load(tmp_path / "missing.npz")
    np.savez(tmp_path / "other.npz", keys=np.arange(3))
    with pytest.raises(NgramError, match="corrupt"):
        NgramStats.load(tmp_path / "other.npz")
    (tmp_path / "junk.npz").write_bytes(b"not a zip file")
    with pytest.raises(NgramError):
        NgramStats.load(tmp_path / "junk.npz")
