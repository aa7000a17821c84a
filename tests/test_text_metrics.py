"""Word hit rate and copy rate on handmade cases with known answers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from chargan.text import metrics
from chargan.text.metrics import copy_rate, word_hit_rate, word_set
from chargan.corpora.units import Vocabulary


def test_word_set_splits_on_any_whitespace():
    assert word_set(["the cat  sat", "\tthe\tdog \n", ""]) == frozenset({"the", "cat", "sat", "dog"})
    assert word_set(iter(["a b", "b c"])) == {"a", "b", "c"}  # any iterable, e.g. a file


def test_word_hit_rate_counts_every_occurrence():
    ref = word_set(["the cat sat on the mat"])
    # words: the, cat, xyz | the, dgo -> hits: the, cat, the = 3 of 5
    assert word_hit_rate(["the cat xyz", "  the dgo  "], ref) == pytest.approx(3 / 5)
    assert word_hit_rate(["the the the"], ref) == 1.0
    assert word_hit_rate(["qq zz"], ref) == 0.0
    assert word_hit_rate(["The cat"], ref) == 0.5  # case-sensitive, like the corpus


def test_word_hit_rate_without_words_is_nan():
    ref = word_set(["a b"])
    assert math.isnan(word_hit_rate([], ref))
    assert math.isnan(word_hit_rate(["", "   "], ref))


def test_word_hit_rate_accepts_plain_collections_but_not_a_string():
    assert word_hit_rate(["a b c d"], ["a", "b"]) == 0.5
    with pytest.raises(TypeError):
        word_hit_rate(["a b"], "a b")


def test_word_hit_rate_on_decoded_samples():
    lines = ["hello world", "good day"]
    vocab = Vocabulary.from_lines(lines)
    ids = vocab.encode_batch(["hello dayz", "world"], 12)
    ids[0, 0] = 1  # unknown id decodes to U+FFFD, which is in no real word
    assert word_hit_rate(vocab.decode_batch(ids), word_set(lines)) == pytest.approx(1 / 3)


CORPUS = np.array(
    [
        [2, 3, 4, 0],
        [5, 6, 0, 0],
        [2, 3, 4, 0],  # duplicate corpus row
        [7, 7, 7, 7],
        [2, 3, 0, 0],
    ],
    dtype=np.uint8,
)


def test_copy_rate_known_answer():
    samples = np.array(
        [
            [2, 3, 4, 0],  # copy
            [2, 3, 4, 5],  # prefix of a corpus row plus one char: not a copy
            [5, 6, 0, 0],  # copy
            [5, 6, 0, 0],  # the same copy again counts again
            [0, 0, 0, 0],  # not a copy
            [7, 7, 7, 0],  # not a copy (padding differs)
        ],
        dtype=np.uint8,
    )
    assert copy_rate(samples, CORPUS) == pytest.approx(3 / 6)
    for chunk_rows in (1, 2, 3, 100):
        assert copy_rate(samples, CORPUS, chunk_rows=chunk_rows) == pytest.approx(3 / 6)


def test_copy_rate_extremes_and_dtypes():
    assert copy_rate(CORPUS, CORPUS) == 1.0
    assert copy_rate(CORPUS[:1].astype(np.uint16), CORPUS) == 1.0  # values compared, not dtypes
    assert copy_rate(np.array([[300, 3, 4, 0]], dtype=np.uint16), CORPUS) == 0.0
    assert copy_rate(CORPUS, CORPUS[:0]) == 0.0  # empty corpus: nothing is copied
    assert math.isnan(copy_rate(CORPUS[:0], CORPUS))  # empty batch: undefined
    with pytest.raises(ValueError, match="seq_len"):
        copy_rate(CORPUS[:, :3], CORPUS)


def test_copy_rate_is_exact_under_hash_collisions(monkeypatch):
    # Every row hashes to 0: all corpus rows become candidates, and only the
    # exact verification decides (single-hash and multi-row-per-hash paths).
    monkeypatch.setattr(metrics, "_row_hashes", lambda rows, mult: np.zeros(len(rows), dtype=np.uint64))
    samples = np.array([[2, 3, 4, 0], [2, 3, 4, 5], [5, 6, 0, 0]], dtype=np.uint8)
    assert copy_rate(samples, CORPUS, chunk_rows=2) == pytest.approx(2 / 3)
    assert copy_rate(samples[1:2], CORPUS) == 0.0


def test_copy_rate_random_against_set_reference(tmp_path):
    rng = np.random.default_rng(0)
    corpus = rng.integers(0, 4, size=(2000, 6)).astype(np.uint16)
    samples = np.concatenate([corpus[rng.integers(0, 2000, 30)], rng.integers(0, 4, size=(70, 6))]).astype(np.uint16)
    corpus_rows = {tuple(r) for r in corpus.tolist()}
    expected = np.mean([tuple(r) in corpus_rows for r in samples.tolist()])
    path = tmp_path / "corpus.u16"
    corpus.tofile(path)
    mapped = np.memmap(path, dtype=np.uint16, mode="r", shape=corpus.shape)
    assert copy_rate(samples, mapped, chunk_rows=128) == pytest.approx(expected)
