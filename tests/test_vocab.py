"""Character vocabulary: order, encoding, padding, unknowns, persistence."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from chargan.corpora.units import PAD_ID, UNK_DISPLAY, UNK_ID, Vocabulary, VocabularyError


def test_most_frequent_characters_first_and_capped() -> None:
    vocab = Vocabulary.build(Counter("aaaabbbcc d"), max_size=5)
    assert vocab.chars == ("a", "b", "c")  # 5 = pad + unk + 3 chars
    assert len(vocab) == 5
    assert vocab.id_of("a") == 2 and vocab.id_of("d") == UNK_ID


def test_round_trip_with_padding_and_truncation() -> None:
    lines = ["hello world", "héllo", "", "a much longer line than the sequence"]
    vocab = Vocabulary.from_lines(lines)
    ids = vocab.encode_batch(lines, seq_len=12)
    assert ids.shape == (4, 12) and ids.dtype == np.uint8
    assert vocab.decode_batch(ids) == ["hello world", "héllo", "", "a much longe"]
    assert (ids[2] == PAD_ID).all()
    assert ids[0, 11] == PAD_ID  # right-padded


def test_unknown_characters_map_to_unk_and_print_visibly() -> None:
    vocab = Vocabulary.from_lines(["abc"])
    ids = vocab.encode("abz", seq_len=4)
    assert ids.tolist() == [vocab.id_of("a"), vocab.id_of("b"), UNK_ID, PAD_ID]
    assert vocab.decode(ids) == "ab" + UNK_DISPLAY


def test_large_vocabularies_use_uint16() -> None:
    chars = [chr(0x4E00 + i) for i in range(300)]
    vocab = Vocabulary.from_lines(["".join(chars)])
    assert len(vocab) == 302 and vocab.dtype == np.uint16
    assert vocab.decode(vocab.encode(chars[299] + chars[0], 2)) == chars[299] + chars[0]


def test_save_and_load(tmp_path: Path) -> None:
    vocab = Vocabulary.from_lines(["zebra ünïcode"])
    vocab.save(tmp_path / "vocab.json")
    assert Vocabulary.load(tmp_path / "vocab.json") == vocab


def test_bad_vocabulary_files(tmp_path: Path) -> None:
    with pytest.raises(VocabularyError, match="not found"):
        Vocabulary.load(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(VocabularyError, match="corrupt"):
        Vocabulary.load(tmp_path / "bad.json")
    (tmp_path / "other.json").write_text('{"format": "something else"}')
    with pytest.raises(VocabularyError, match="not a chargan vocabulary"):
        Vocabulary.load(tmp_path / "other.json")


def test_invalid_sizes() -> None:
    with pytest.raises(VocabularyError):
        Vocabulary.build(Counter("abc"), max_size=2)
    with pytest.raises(ValueError):
        Vocabulary.from_lines(["abc"]).encode_batch(["abc"], seq_len=0)
