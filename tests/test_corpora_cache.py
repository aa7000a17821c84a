"""The corpus cache: hits, keys, rebuilds of stale or damaged folders, locations, progress."""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path

import numpy as np
import pytest

import chargan.corpora.build as build_mod
import chargan.corpora.cache as cache_mod
import chargan.corpora.manifest as manifest_mod
from chargan.corpora import EncodedCorpus, cache_root, load_corpus
from chargan.corpora.units import Vocabulary
from chargan.errors import UserError
from test_corpora import corpora_entries, write_lines


# ----------------------------------------------------------------------------- cache
def test_second_load_hits_the_cache(billion_word_root, fresh_cache_dir, monkeypatch):
    first = load_corpus("billion_word", data_dir=billion_word_root, progress=False)
    manifest = first.manifest_path.read_bytes()
    assert first.cache_path.parent == fresh_cache_dir / "corpora"
    assert sorted(p.name for p in first.cache_path.iterdir()) == ["ids.npy", "lines.txt", "manifest.json", "vocab.json"]

    def no_rebuild(*args, **kwargs):
        raise AssertionError("rebuilt a valid cache")

    monkeypatch.setattr(cache_mod, "build", no_rebuild)
    start = time.perf_counter()
    second = load_corpus("billion_word", data_dir=billion_word_root, progress=False)
    assert time.perf_counter() - start < 0.5
    assert second.cache_path == first.cache_path and second.manifest_path.read_bytes() == manifest
    np.testing.assert_array_equal(second.ids, first.ids)
    assert second.vocab == first.vocab and second.description == first.description
    assert EncodedCorpus.open(first.cache_path).n_lines == first.n_lines


def test_settings_get_their_own_cache(tmp_path, fresh_cache_dir):
    path = write_lines(tmp_path / "t.txt", ["hello world"] * 3)
    a = load_corpus(path, seq_len=8, progress=False)
    b = load_corpus(path, seq_len=16, progress=False)
    c = load_corpus(path, seq_len=8, max_lines=2, progress=False)
    assert len({a.cache_path, b.cache_path, c.cache_path}) == 3
    assert b.seq_len == 16 and c.n_lines == 2
    manifest = json.loads(a.manifest_path.read_text())
    assert manifest["settings"] == {"seq_len": 8, "max_lines": None, "units": "char", "max_vocab": 2048,
                                    "vocab_size": None, "errors": "strict"}
    assert manifest["n_lines"] == 3 and manifest["format_version"] == manifest_mod.FORMAT_VERSION


def test_cache_rebuilt_when_the_source_changes(tmp_path, fresh_cache_dir):
    path = write_lines(tmp_path / "t.txt", ["old text one", "old text two"])
    old = load_corpus(path, progress=False)
    write_lines(path, ["new text", "new text", "and a third line"])
    os.utime(path, ns=(time.time_ns(), time.time_ns() + 10**9))
    new = load_corpus(path, progress=False)
    assert new.cache_path != old.cache_path
    assert list(new.lines()) == ["new text", "new text", "and a third line"]
    assert not old.cache_path.exists()  # the superseded cache is removed
    assert corpora_entries(fresh_cache_dir) == [new.cache_path.name]


@pytest.mark.parametrize(
    "damage",
    [
        lambda d: (d / "manifest.json").write_text("{not json"),
        lambda d: (d / "manifest.json").unlink(),
        lambda d: (d / "manifest.json").write_text(
            json.dumps({**json.loads((d / "manifest.json").read_text()), "key": "0" * 64})
        ),
        lambda d: (d / "manifest.json").write_text(
            json.dumps({**json.loads((d / "manifest.json").read_text()), "n_lines": 5})
        ),
        lambda d: (d / "ids.npy").write_bytes((d / "ids.npy").read_bytes()[:-7]),
        lambda d: (d / "vocab.json").write_text("[]"),
        lambda d: (d / "lines.txt").write_text("short\n"),
    ],
    ids=["bad-json", "no-manifest", "wrong-key", "wrong-count", "truncated-ids", "bad-vocab", "bad-lines"],
)
def test_damaged_cache_is_rebuilt(tmp_path, fresh_cache_dir, damage, caplog):
    path = write_lines(tmp_path / "t.txt", [f"line {i} of the corpus" for i in range(50)])
    first = load_corpus(path, progress=False)
    want = np.array(first.ids)
    del first
    cache_dir = next((fresh_cache_dir / "corpora").iterdir())
    damage(cache_dir)
    with caplog.at_level(logging.WARNING, logger="chargan.corpora"):
        again = load_corpus(path, progress=False)
    assert "rebuilding" in caplog.text
    np.testing.assert_array_equal(again.ids, want)
    assert list(again.lines()) == [f"line {i} of the corpus"[:32] for i in range(50)]
    assert corpora_entries(fresh_cache_dir) == [cache_dir.name]


def test_open_refuses_a_folder_that_is_not_a_cache(tmp_path):
    with pytest.raises(UserError, match="not a usable chargan corpus cache"):
        EncodedCorpus.open(tmp_path)


def test_interrupted_build_leaves_only_a_temporary_folder(tmp_path, fresh_cache_dir, monkeypatch):
    path = write_lines(tmp_path / "t.txt", ["some text", "more text"])
    real_build = Vocabulary.build

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(Vocabulary, "build", interrupt)
    with pytest.raises(KeyboardInterrupt):
        load_corpus(path, progress=False)
    assert corpora_entries(fresh_cache_dir) == []
    monkeypatch.setattr(Vocabulary, "build", real_build)
    assert load_corpus(path, progress=False).n_lines == 2


def test_cache_location_precedence(tmp_path, monkeypatch):
    monkeypatch.setenv("CHARGAN_CACHE_DIR", str(tmp_path / "env"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_root(tmp_path / "arg") == tmp_path / "arg"
    assert cache_root() == tmp_path / "env"
    monkeypatch.delenv("CHARGAN_CACHE_DIR")
    assert cache_root() == tmp_path / "xdg" / "chargan"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert cache_root() == Path.home() / ".cache" / "chargan"
    path = write_lines(tmp_path / "t.txt", ["text here"])
    corpus = load_corpus(path, cache_dir=tmp_path / "arg", progress=False)
    assert corpus.cache_path.parent == tmp_path / "arg" / "corpora"


def test_unwritable_cache_is_a_user_error(tmp_path):
    blocker = tmp_path / "file-not-dir"
    blocker.write_text("x")
    path = write_lines(tmp_path / "t.txt", ["text here"])
    with pytest.raises(UserError, match="cannot write the corpus cache"):
        load_corpus(path, cache_dir=blocker, progress=False)


def test_progress_bars(billion_word_root, tmp_path, capfd, monkeypatch, fresh_cache_dir):
    load_corpus(write_lines(tmp_path / "a.txt", ["quiet please"] * 10), progress=False)
    load_corpus(write_lines(tmp_path / "b.txt", ["quiet please"] * 10), progress=True)  # fast: within the delay
    assert capfd.readouterr() == ("", "")
    monkeypatch.setattr(build_mod, "PROGRESS_DELAY", 0)
    load_corpus("billion_word", data_dir=billion_word_root, max_lines=50, progress=False)
    assert capfd.readouterr() == ("", "")
    load_corpus("billion_word", data_dir=billion_word_root, max_lines=60, progress=True)
    out, err = capfd.readouterr()
    assert out == "" and "reading billion_word" in err and "encoding billion_word" in err and "lines" in err
    load_corpus("billion_word", data_dir=billion_word_root, max_lines=60, progress=True)  # cached: silent
    load_corpus("demo", progress=True)  # built here (fresh cache), yet quiet
    assert capfd.readouterr() == ("", "")




def test_leftovers_of_crashed_builds_are_cleaned(tmp_path, fresh_cache_dir):
    corpora = fresh_cache_dir / "corpora"
    old = corpora / ".tmp-t-0123456789abcdef-crashed"
    recent = corpora / ".tmp-t-0123456789abcdef-running"
    for d in (old, recent):
        d.mkdir(parents=True)
        (d / "lines.txt").write_text("partial\n")
    two_days_ago = time.time() - 2 * 24 * 3600
    os.utime(old, (two_days_ago, two_days_ago))
    load_corpus(write_lines(tmp_path / "t.txt", ["some text"]), progress=False)
    assert not old.exists() and recent.exists()  # a recent one may be a build in progress
