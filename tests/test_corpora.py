"""The data layer: finding, reading, encoding and caching corpora."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import chargan.corpora.build as build_mod
import chargan.corpora.lines as lines_mod
from chargan.corpora import (
    demo_sentences,
    heldout_shards,
    load_corpus,
    locate_billion_word,
    training_shards,
)
from chargan.corpora.billion_word import ROOT_DIRNAME, TRAIN_DIRNAME, train_shard_name
from chargan.errors import UserError
from chargan.corpora.units import PAD_ID, UNK_ID


def expected_lines(*raw: bytes, seq_len: int) -> list[str]:
    """What the reader should keep from raw file bytes: non-blank lines, cut."""
    out = []
    for data in raw:
        for line in data.decode("utf-8").split("\n"):
            line = line.removesuffix("\r")
            if line.strip():
                out.append(line[:seq_len])
    return out


def corpora_entries(cache: Path) -> list[str]:
    folder = cache / "corpora"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# ----------------------------------------------------------------------------- Billion Word: finding it
def test_billion_word_found_via_data_dir_root_and_parent(billion_word_root, billion_word_sample, fresh_cache_dir):
    for data_dir in (billion_word_root, billion_word_root.parent, str(billion_word_root)):
        assert locate_billion_word(data_dir) == billion_word_root.resolve()
    corpus = load_corpus("billion_word", data_dir=billion_word_root.parent, progress=False)
    assert corpus.name == "billion_word"
    assert corpus.n_lines == len(expected_lines(*billion_word_sample, seq_len=32))
    assert "training shards 1-2 of 99" in corpus.description
    assert [Path(p).name for p in corpus.source["paths"]] == [train_shard_name(1), train_shard_name(2)]
    assert corpus.source["kind"] == "billion_word"
    json.dumps(corpus.source)  # JSON-able
    again = load_corpus("billion_word", data_dir=billion_word_root, progress=False)
    assert again.cache_path == corpus.cache_path  # both forms are the same corpus


def test_billion_word_found_via_env_and_user_data_dir(billion_word_layout, monkeypatch, fresh_cache_dir):
    root = billion_word_layout()
    monkeypatch.setenv("CHARGAN_DATA_DIR", str(root.parent))
    assert locate_billion_word() == root.resolve()
    monkeypatch.setenv("CHARGAN_DATA_DIR", str(root))
    assert locate_billion_word() == root.resolve()
    monkeypatch.delenv("CHARGAN_DATA_DIR")
    user_root = billion_word_layout(parent=fresh_cache_dir / "data")
    assert locate_billion_word() == user_root.resolve()
    assert load_corpus("billion_word", max_lines=10, progress=False).n_lines == 10


def test_billion_word_missing_lists_every_place_looked(tmp_path, monkeypatch, fresh_cache_dir):
    nowhere = tmp_path / "nowhere"
    with pytest.raises(UserError) as err:
        load_corpus("billion_word", data_dir=nowhere, progress=False)
    msg = str(err.value)
    assert str(nowhere) in msg and str(nowhere / ROOT_DIRNAME) in msg
    assert "statmt.org/lm-benchmark" in err.value.hint

    env_dir = tmp_path / "env"
    env_dir.mkdir()
    monkeypatch.setenv("CHARGAN_DATA_DIR", str(env_dir))
    with pytest.raises(UserError) as err:
        locate_billion_word()
    msg = err.value.message
    for place in (env_dir, env_dir / ROOT_DIRNAME, fresh_cache_dir / "data", fresh_cache_dir / "data" / ROOT_DIRNAME):
        assert str(place) in msg
    assert "--data-dir" in err.value.hint and "statmt.org/lm-benchmark" in err.value.hint
    assert "\n" not in msg  # the CLI prints it as one line

    monkeypatch.delenv("CHARGAN_DATA_DIR")
    with pytest.raises(UserError, match=r"CHARGAN_DATA_DIR \(not set\)"):
        locate_billion_word()


def test_explicit_data_dir_does_not_fall_back_to_env(billion_word_root, tmp_path, monkeypatch):
    monkeypatch.setenv("CHARGAN_DATA_DIR", str(billion_word_root))
    with pytest.raises(UserError, match="not found"):
        locate_billion_word(tmp_path / "typo")


def test_missing_shard_is_named(billion_word_layout, fresh_cache_dir):
    root = billion_word_layout(shards=(1, 2, 4, 6))
    with pytest.raises(UserError) as err:
        load_corpus("billion_word", data_dir=root, progress=False)
    assert train_shard_name(3) in str(err.value) and train_shard_name(5) in str(err.value)
    assert train_shard_name(4) not in err.value.message
    assert corpora_entries(fresh_cache_dir) == []


def test_no_shards_and_empty_shard(billion_word_layout, tmp_path):
    root = tmp_path / "bw" / ROOT_DIRNAME
    (root / TRAIN_DIRNAME).mkdir(parents=True)
    with pytest.raises(UserError, match="no One Billion Word training shards"):
        training_shards(root)
    root = billion_word_layout(parent=tmp_path / "bw2", contents={2: b""})
    with pytest.raises(UserError) as err:
        load_corpus("billion_word", data_dir=root, progress=False)
    assert train_shard_name(2) in str(err.value) and "empty" in str(err.value)
    root = billion_word_layout(parent=tmp_path / "bw3", contents={2: b"\n  \n\n"})
    with pytest.raises(UserError, match=rf"{train_shard_name(2)} holds no text lines"):
        load_corpus("billion_word", data_dir=root, progress=False)


def test_heldout_shards_are_listed(billion_word_root):
    assert [p.name for p in heldout_shards(billion_word_root)] == ["news.en.heldout-00000-of-00050"]


def test_non_utf8_shard_names_file_line_and_offset(billion_word_layout, billion_word_sample, fresh_cache_dir):
    good = b"First line .\nSecond line .\n"
    bad = good + b"Caf\xe9 au lait .\n"
    root = billion_word_layout(contents={2: bad})
    with pytest.raises(UserError) as err:
        load_corpus("billion_word", data_dir=root, progress=False)
    msg = str(err.value)
    assert train_shard_name(2) in msg and "line 3" in msg and f"byte offset {len(good) + 3}" in msg
    assert "UTF-8" in msg and "utf-8" in err.value.hint.lower()
    assert corpora_entries(fresh_cache_dir) == []  # nothing half-written


# ----------------------------------------------------------------------------- encoding
def test_rows_decode_to_cut_lines(billion_word_root, billion_word_sample, fresh_cache_dir):
    seq_len = 24
    corpus = load_corpus("billion_word", data_dir=billion_word_root, seq_len=seq_len, progress=False)
    want = expected_lines(*billion_word_sample, seq_len=seq_len)
    assert corpus.ids.shape == (len(want), seq_len)
    assert isinstance(corpus.ids, np.memmap) and not corpus.ids.flags.writeable
    assert corpus.ids.dtype == corpus.vocab.dtype
    assert list(corpus.lines()) == want
    assert list(corpus.lines(limit=3)) == want[:3]
    decoded = corpus.vocab.decode_batch(corpus.ids[:2000])
    checked = 0
    for line, text in zip(want[:2000], decoded, strict=True):
        if all(corpus.vocab.id_of(c) != UNK_ID for c in line):
            assert text == line
            checked += 1
    assert checked > 1900


def test_padding_unknown_and_vocabulary_size(tmp_path, fresh_cache_dir):
    path = write_lines(tmp_path / "t.txt", ["aaaa bbb", "abb", "zq aaa qqqqqqqqqq"])
    corpus = load_corpus(path, seq_len=6, max_vocab=4, progress=False)
    # counts over the cut lines (as the reference counts): a=8, b=3, ' '=2, z=1, q=1
    # -> pad, unk, 'a', 'b'; the q's past the cut do not count
    assert corpus.vocab.chars == ("a", "b")
    a, b = corpus.vocab.id_of("a"), corpus.vocab.id_of("b")
    np.testing.assert_array_equal(
        corpus.ids,
        [[a, a, a, a, UNK_ID, b], [a, b, b, PAD_ID, PAD_ID, PAD_ID], [UNK_ID, UNK_ID, UNK_ID, a, a, a]],
    )
    assert corpus.ids.dtype == np.uint8
    assert list(corpus.lines()) == ["aaaa b", "abb", "zq aaa"]


def test_large_vocabulary_uses_uint16(tmp_path):
    chars = [chr(0x4E00 + i) for i in range(400)]
    path = write_lines(tmp_path / "cjk.txt", ["".join(chars[i : i + 20]) for i in range(0, 400, 20)])
    corpus = load_corpus(path, seq_len=20, progress=False)
    assert len(corpus.vocab) == 402 and corpus.ids.dtype == np.uint16
    assert corpus.vocab.decode_batch(corpus.ids)[0] == "".join(chars[:20])


def test_blank_lines_crlf_and_bom(tmp_path):
    path = tmp_path / "w.txt"
    path.write_bytes("\ufeffHello there\r\n\r\n   \nSecond line\r\nno newline at end".encode())
    corpus = load_corpus(path, seq_len=40, progress=False)
    assert list(corpus.lines()) == ["Hello there", "Second line", "no newline at end"]


def test_tiny_read_blocks_split_lines_and_characters_anywhere(tmp_path, monkeypatch):
    text = "Größe über alles .\r\nnaïve café — ok 😀 .\n\nthird line here\nlast without newline ✓"
    path = tmp_path / "u.txt"
    path.write_bytes(text.encode("utf-8"))
    want = expected_lines(text.encode(), seq_len=12)
    for block in (1, 2, 3, 5, 7, 64):
        monkeypatch.setattr("chargan.corpora.sources.BLOCK_BYTES", block)
        monkeypatch.setattr(lines_mod, "LINES_BLOCK_BYTES", block)
        corpus = load_corpus(path, seq_len=12, cache_dir=tmp_path / f"c{block}", progress=False)
        assert list(corpus.lines()) == want
        assert corpus.vocab.decode_batch(corpus.ids) == want
    bad = tmp_path / "bad.txt"
    head = "ünïcödé line .\nsecond ".encode()
    bad.write_bytes(head + b"\xff line\n")
    offset = len(head)
    for block in (1, 4, 1 << 20):
        monkeypatch.setattr("chargan.corpora.sources.BLOCK_BYTES", block)
        with pytest.raises(UserError, match=f"line 2 is not valid UTF-8 .* byte offset {offset} "):
            load_corpus(bad, progress=False)


def test_overlong_line_is_refused(tmp_path, monkeypatch, fresh_cache_dir):
    monkeypatch.setattr("chargan.corpora.sources.MAX_LINE_BYTES", 1000)
    monkeypatch.setattr("chargan.corpora.sources.BLOCK_BYTES", 64)
    path = tmp_path / "long.txt"
    path.write_bytes(b"short line\n" + b"x" * 5000)
    with pytest.raises(UserError, match=r"long\.txt: line 2 is longer than"):
        load_corpus(path, progress=False)
    assert corpora_entries(fresh_cache_dir) == []


def test_max_lines_keeps_the_first_lines(billion_word_root, billion_word_sample):
    first = expected_lines(billion_word_sample[0], seq_len=32)
    corpus = load_corpus("billion_word", data_dir=billion_word_root, max_lines=100, progress=False)
    assert corpus.n_lines == 100 and list(corpus.lines()) == first[:100]
    # across the shard boundary
    n = len(first) + 5
    corpus = load_corpus("billion_word", data_dir=billion_word_root, max_lines=n, progress=False)
    assert list(corpus.lines())[-6:] == expected_lines(*billion_word_sample, seq_len=32)[n - 6 : n]
    # more than there is: everything
    total = len(expected_lines(*billion_word_sample, seq_len=32))
    assert load_corpus("billion_word", data_dir=billion_word_root, max_lines=10**9, progress=False).n_lines == total


@pytest.mark.parametrize(
    "kwargs, what",
    [
        ({"max_lines": 0}, "max_lines"),
        ({"max_lines": -3}, "max_lines"),
        ({"seq_len": 0}, "seq_len"),
        ({"seq_len": 3.5}, "seq_len"),
        ({"max_vocab": 2}, "max_vocab"),
        ({"max_vocab": 70000}, "max_vocab"),
        ({"max_lines": True}, "max_lines"),
    ],
)
def test_bad_settings_are_user_errors(kwargs, what):
    with pytest.raises(UserError, match=what):
        load_corpus("demo", progress=False, **kwargs)


# ----------------------------------------------------------------------------- local files
def test_folder_of_txt_files_in_name_order(tmp_path):
    folder = tmp_path / "texts"
    folder.mkdir()
    write_lines(folder / "b.txt", ["bravo one", "bravo two"])
    write_lines(folder / "a.txt", ["alpha one"])
    (folder / "empty.txt").write_text("\n\n")
    (folder / "notes.md").write_text("ignored\n")
    (folder / "sub").mkdir()
    write_lines(folder / "sub" / "c.txt", ["not read"])
    corpus = load_corpus(folder, progress=False)
    assert list(corpus.lines()) == ["alpha one", "bravo one", "bravo two"]
    assert corpus.source["kind"] == "text_folder"
    assert "3 text files" in corpus.description


def test_missing_path_and_empty_inputs(tmp_path):
    with pytest.raises(UserError) as err:
        load_corpus(str(tmp_path / "nope.txt"), progress=False)
    assert str(tmp_path / "nope.txt") in err.value.message and "demo" in err.value.hint
    (tmp_path / "empty.txt").write_bytes(b"")
    with pytest.raises(UserError, match="no text lines"):
        load_corpus(tmp_path / "empty.txt", progress=False)
    (tmp_path / "blank.txt").write_bytes(b"\n \n\t\n")
    with pytest.raises(UserError, match="no text lines"):
        load_corpus(tmp_path / "blank.txt", progress=False)
    (tmp_path / "dir").mkdir()
    with pytest.raises(UserError, match=r"no \*\.txt or \*\.gz files"):
        load_corpus(tmp_path / "dir", progress=False)
    (tmp_path / "dir" / "e.txt").write_bytes(b"\n")
    with pytest.raises(UserError, match="no text lines"):
        load_corpus(tmp_path / "dir", progress=False)


def test_folder_holding_billion_word_hints_at_the_spec(billion_word_root):
    with pytest.raises(UserError) as err:
        load_corpus(billion_word_root, progress=False)
    assert "billion_word" in err.value.hint


def test_non_utf8_text_file(tmp_path, fresh_cache_dir):
    path = tmp_path / "latin1.txt"
    path.write_bytes("Ligne une .\nDeuxième ligne .\n".encode("latin-1"))
    with pytest.raises(UserError) as err:
        load_corpus(path, progress=False)
    msg = str(err.value)
    assert "latin1.txt" in msg and "line 2" in msg and "byte offset 17" in msg
    assert "iconv" in err.value.hint
    assert corpora_entries(fresh_cache_dir) == []


def test_binary_file_is_refused(tmp_path, fresh_cache_dir):
    path = tmp_path / "blob.txt"
    path.write_bytes(b"looks like text\n" + bytes(range(256)) * 4)
    with pytest.raises(UserError, match=r"blob\.txt"):
        load_corpus(path, progress=False)
    nul = tmp_path / "nul.txt"
    nul.write_bytes(b"ok line\nbad\x00line\n")
    with pytest.raises(UserError, match=r"line 2 holds a NUL byte \(byte offset 11 of the file\)"):
        load_corpus(nul, progress=False)
    assert corpora_entries(fresh_cache_dir) == []


def test_error_late_in_a_big_file_leaves_no_cache(tmp_path, fresh_cache_dir, monkeypatch):
    monkeypatch.setattr("chargan.corpora.sources.BLOCK_BYTES", 1 << 12)  # many blocks
    good = "\n".join(f"sentence number {i} ." for i in range(5000)) + "\n"
    path = tmp_path / "late.txt"
    path.write_bytes(good.encode() + b"bad \xff byte\n")
    with pytest.raises(UserError, match="line 5001"):
        load_corpus(path, progress=False)
    assert corpora_entries(fresh_cache_dir) == []


def test_error_while_encoding_leaves_no_cache(tmp_path, fresh_cache_dir, monkeypatch):
    path = write_lines(tmp_path / "t.txt", ["one line", "two lines"])

    def boom(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(build_mod.np.lib.format, "open_memmap", boom)
    with pytest.raises(UserError, match="No space left on device"):
        load_corpus(path, progress=False)
    assert corpora_entries(fresh_cache_dir) == []


# ----------------------------------------------------------------------------- demo
def test_demo_corpus_is_english_and_offline(monkeypatch):
    corpus = load_corpus("demo", progress=False)
    sentences = demo_sentences()
    assert corpus.name == "demo" and corpus.n_lines == len(sentences) > 1000
    assert "not Billion Word" in corpus.description and f"{len(sentences):,}" in corpus.description
    assert demo_sentences.__wrapped__() == sentences  # deterministic
    text = " ".join(sentences)
    letters = sum(c.isalpha() or c == " " for c in text) / len(text)
    assert letters > 0.85
    words = text.lower().split()
    for common in ("the", "is", "of", "a", "to"):
        assert words.count(common) > 100
    assert all(s[0].isupper() and len(s) >= 20 for s in sentences)
    assert not any("::=" in s or ">>>" in s for s in sentences)
    assert corpus.source["kind"] == "demo" and corpus.source["python"]
    assert list(corpus.lines(2)) == [s[:32] for s in sentences[:2]]
    # the demo needs no files: no data dir, nothing but the cache
    monkeypatch.setenv("CHARGAN_DATA_DIR", "/nonexistent")
    assert load_corpus(progress=False).cache_path == corpus.cache_path


def test_demo_name_wins_over_a_file_called_demo(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_lines(tmp_path / "demo", ["a local file named demo"])
    assert load_corpus("demo", progress=False).name == "demo"
    assert load_corpus("./demo", progress=False).n_lines == 1


def test_demo_cache_depends_on_the_python_version(monkeypatch, fresh_cache_dir):
    here = load_corpus("demo", progress=False)
    monkeypatch.setattr("chargan.corpora.builtin.sys.version", "3.99.0 (imaginary)")
    other = load_corpus("demo", progress=False)
    assert other.cache_path != here.cache_path
    assert other.n_lines == here.n_lines
