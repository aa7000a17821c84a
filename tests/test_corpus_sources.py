"""Corpus sources beyond plain files: gzip, globs, invalid UTF-8 policy,
Hugging Face datasets, subword units, a full disk, prepared caches."""

from __future__ import annotations

import errno
import gzip
import json
from pathlib import Path

import numpy as np
import pytest
import torch

import chargan.corpora.build as build_mod
import chargan.corpora.cache as cache_mod
import chargan.corpora.manifest as manifest_mod
from chargan.core.data import RowSampler
from chargan.corpora import canonical_spec, load_corpus, resolve_source
from chargan.corpora.hf import LM1B_DATASET, LM1B_REVISION, HFSource, parse_hf_spec
from chargan.corpora.units import PAD_ID, UNK_DISPLAY, SubwordVocabulary, load_vocabulary
from chargan.errors import UserError


def sample_lines(billion_word_sample: tuple[bytes, bytes], n: int) -> list[str]:
    lines = [line for line in billion_word_sample[0].decode("utf-8").split("\n") if line.strip()]
    return lines[:n]


def cache_entries(cache: Path) -> list[str]:
    folder = cache / "corpora"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


# --------------------------------------------------------------------- gzip and globs
def test_gzip_file_reads_like_the_plain_file(tmp_path, billion_word_sample, fresh_cache_dir):
    text = billion_word_sample[0][:20_000].rsplit(b"\n", 1)[0] + b"\n"
    (tmp_path / "plain.txt").write_bytes(text)
    (tmp_path / "packed.txt.gz").write_bytes(gzip.compress(text))
    plain = load_corpus(tmp_path / "plain.txt", seq_len=24, progress=False)
    packed = load_corpus(tmp_path / "packed.txt.gz", seq_len=24, progress=False)
    assert packed.n_lines == plain.n_lines > 50
    assert np.array_equal(np.asarray(packed.ids), np.asarray(plain.ids))
    assert list(packed.lines()) == list(plain.lines())


def test_folder_reads_txt_and_gz_files_in_name_order(tmp_path, fresh_cache_dir):
    folder = tmp_path / "texts"
    folder.mkdir()
    (folder / "b.txt.gz").write_bytes(gzip.compress(b"bravo\n"))
    (folder / "a.txt").write_text("alpha\n")
    (folder / "c.md").write_text("not read\n")
    assert list(load_corpus(folder, progress=False).lines()) == ["alpha", "bravo"]


def test_truncated_gzip_is_a_clear_error_and_caches_nothing(tmp_path, fresh_cache_dir):
    packed = gzip.compress(("a sentence of text\n" * 5000).encode())
    (tmp_path / "cut.gz").write_bytes(packed[: len(packed) // 2])
    with pytest.raises(UserError, match=r"cut\.gz is a damaged gzip file") as info:
        load_corpus(tmp_path / "cut.gz", progress=False)
    assert "truncated or corrupt" in info.value.hint
    assert cache_entries(fresh_cache_dir) == []


def test_glob_pattern_matches_files_sorted_by_path(tmp_path, fresh_cache_dir):
    for name, line in [("part-2.txt", "second"), ("part-1.txt", "first"), ("other.txt", "skipped")]:
        (tmp_path / name).write_text(line + "\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "part-3.txt").write_text("third\n")
    corpus = load_corpus(str(tmp_path / "part-*.txt"), progress=False)
    assert list(corpus.lines()) == ["first", "second"]
    assert corpus.source["kind"] == "text_glob" and "2 files" in corpus.description
    deep = load_corpus(str(tmp_path / "**" / "part-*.txt"), progress=False)
    assert list(deep.lines()) == ["first", "second", "third"]
    # A new matching file is a new corpus.
    (tmp_path / "part-0.txt").write_text("zeroth\n")
    assert list(load_corpus(str(tmp_path / "part-*.txt"), progress=False).lines())[0] == "zeroth"
    assert canonical_spec(str(tmp_path / "part-*.txt")) == str(tmp_path / "part-*.txt")


def test_glob_without_matches_is_an_error(tmp_path):
    with pytest.raises(UserError, match="no files match the corpus pattern"):
        load_corpus(str(tmp_path / "*.nothing"), progress=False)


# ------------------------------------------------------------------ invalid UTF-8 policy
def test_errors_replace_reads_invalid_bytes_as_replacement_and_reports_them(tmp_path, fresh_cache_dir, caplog):
    path = tmp_path / "mixed.txt"
    path.write_bytes(b"good line\ncaf\xe9 au lait\nfine \xef\xbf\xbd already\nbad \xff\xfe twice\n")
    with pytest.raises(UserError, match=r"line 2 is not valid UTF-8") as info:
        load_corpus(path, progress=False)
    assert "--errors replace" in info.value.hint
    with caplog.at_level("WARNING", logger="chargan.corpora"):
        corpus = load_corpus(path, errors="replace", progress=False)
    assert list(corpus.lines()) == ["good line", "caf\ufffd au lait", "fine \ufffd already", "bad \ufffd\ufffd twice"]
    replaced = json.loads(corpus.manifest_path.read_text())["replaced_utf8"]
    # Three invalid sequences in two lines; the U+FFFD already in line 3 is not counted.
    assert replaced["replaced"] == 3 and replaced["lines"] == 2
    assert "line 2 (byte offset 13 of the file)" in replaced["first"]
    assert "3 invalid UTF-8 sequences in 2 lines" in caplog.text
    assert corpus.settings["errors"] == "replace"


def test_nul_bytes_stay_an_error_under_replace(tmp_path, fresh_cache_dir):
    path = tmp_path / "blob.txt"
    path.write_bytes(b"text\nbinary\x00data\n")
    with pytest.raises(UserError, match="NUL byte"):
        load_corpus(path, errors="replace", progress=False)


def test_bad_errors_policy_is_refused(tmp_path):
    (tmp_path / "a.txt").write_text("a line\n")
    with pytest.raises(UserError, match="errors must be one of strict, replace"):
        load_corpus(tmp_path / "a.txt", errors="ignore", progress=False)


# -------------------------------------------------------------------- a full disk
def test_disk_full_while_preparing_leaves_nothing_behind(tmp_path, fresh_cache_dir, monkeypatch):
    (tmp_path / "big.txt").write_text("".join(f"sentence number {i} of the corpus\n" for i in range(20_000)))
    real_open = open

    class FillingFile:
        """A file that accepts 64 KiB, then fails as a full disk does."""

        def __init__(self, f):
            self.f, self.left = f, 64 << 10

        def write(self, data):
            self.left -= len(data)
            if self.left < 0:
                raise OSError(errno.ENOSPC, "No space left on device")
            return self.f.write(data)

        def __getattr__(self, name):
            return getattr(self.f, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()

    def filling_open(path, mode="r", *args, **kwargs):
        f = real_open(path, mode, *args, **kwargs)
        return FillingFile(f) if "w" in mode or "+" in mode else f

    monkeypatch.setattr(build_mod, "open", filling_open, raising=False)
    with pytest.raises(UserError, match="No space left on device") as info:
        load_corpus(tmp_path / "big.txt", progress=False)
    assert "enough free space" in info.value.hint
    assert cache_entries(fresh_cache_dir) == []  # no cache, no temporary folder
    monkeypatch.setattr(build_mod, "open", real_open, raising=False)
    assert load_corpus(tmp_path / "big.txt", progress=False).n_lines == 20_000


# ------------------------------------------------------------------- Hugging Face
def test_hf_dataset_saved_to_disk(tmp_path, fresh_cache_dir):
    datasets = pytest.importorskip("datasets")
    rows = {"text": ["First sentence .", "", "Second one\nand a third", None, "  "], "label": [0, 1, 2, 3, 4]}
    datasets.Dataset.from_dict(rows).save_to_disk(str(tmp_path / "saved"))
    corpus = load_corpus(f"hf:{tmp_path / 'saved'}", seq_len=16, progress=False)
    assert list(corpus.lines()) == ["First sentence .", "Second one", "and a third"]
    assert corpus.source["kind"] == "hf"
    with pytest.raises(UserError, match=r"no column 'body'; the dataset has text, label"):
        load_corpus(f"hf:{tmp_path / 'saved'}", text_column="body", progress=False)
    with pytest.raises(UserError, match="holds int64 values, not text|holds int values, not text"):
        load_corpus(f"hf:{tmp_path / 'saved'}", text_column="label", progress=False)


def test_hf_dataset_dict_split_and_local_parquet_folder(tmp_path, fresh_cache_dir):
    datasets = pytest.importorskip("datasets")
    splits = datasets.DatasetDict({
        "train": datasets.Dataset.from_dict({"sentence": ["train line one", "train line two"]}),
        "test": datasets.Dataset.from_dict({"sentence": ["test line"]}),
    })
    splits.save_to_disk(str(tmp_path / "dict"))
    spec = f"hf:{tmp_path / 'dict'}"
    assert list(load_corpus(spec, split="test", text_column="sentence", progress=False).lines()) == ["test line"]
    with pytest.raises(UserError, match=r"no split 'validation'; the saved dataset has train, test"):
        load_corpus(spec, split="validation", text_column="sentence", progress=False)
    # A folder of parquet files goes through load_dataset, streamed.
    (tmp_path / "pq").mkdir()
    splits["train"].to_parquet(str(tmp_path / "pq" / "train.parquet"))
    pq = load_corpus(f"hf:{tmp_path / 'pq'}", text_column="sentence", progress=False)
    assert list(pq.lines()) == ["train line one", "train line two"]


def test_hf_hub_dataset_offline_is_one_clear_error(fresh_cache_dir, monkeypatch):
    datasets = pytest.importorskip("datasets")
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True)
    with pytest.raises(UserError, match=r"cannot load hf:no-such-user/no-such-set") as info:
        load_corpus("hf:no-such-user/no-such-set", progress=False)
    assert "save_to_disk" in info.value.hint
    assert cache_entries(fresh_cache_dir) == []


def test_hf_specs_and_the_billion_word_parquet_source():
    spec = parse_hf_spec("hf:wikitext:wikitext-2-raw-v1@abc123", split="validation", text_column="page")
    assert (spec.dataset, spec.config, spec.revision, spec.split, spec.text_column) == (
        "wikitext", "wikitext-2-raw-v1", "abc123", "validation", "page")
    with pytest.raises(UserError, match="names no dataset"):
        parse_hf_spec("hf:")
    source = resolve_source("billion_word", source="hf")
    assert isinstance(source, HFSource)
    assert (source.spec.dataset, source.spec.revision, source.spec.split) == (LM1B_DATASET, LM1B_REVISION, "train")
    assert source.source_info()["kind"] == "hf"


# ------------------------------------------------------------------ subword units
@pytest.fixture(scope="module")
def subword_corpus(tmp_path_factory, billion_word_sample):
    folder = tmp_path_factory.mktemp("subword")
    path = folder / "news.txt"
    path.write_text("\n".join(sample_lines(billion_word_sample, 2000)) + "\n", encoding="utf-8")
    corpus = load_corpus(path, seq_len=12, units="subword", vocab_size=400, cache_dir=folder / "cache", progress=False)
    return path, corpus


def test_subword_corpus_encodes_pieces_and_decodes_back(subword_corpus, billion_word_sample):
    path, corpus = subword_corpus
    vocab = corpus.vocab
    assert isinstance(vocab, SubwordVocabulary)
    assert 300 < len(vocab) <= 400 and corpus.ids.dtype == np.uint16
    assert corpus.settings["units"] == "subword" and corpus.settings["max_vocab"] is None
    rows = np.asarray(corpus.ids)
    lines = list(corpus.lines())
    originals = sample_lines(billion_word_sample, 2000)
    # lines.txt holds the text of each row's pieces: a prefix of the original line (longer than 12 chars).
    assert lines == vocab.decode_batch(rows)
    exact = sum(o.startswith(line) for o, line in zip(originals, lines))
    assert exact >= 0.95 * len(lines)
    assert np.mean([len(line) for line in lines]) > 24  # pieces span more than one character each
    # Round trip: whole lines encode to pieces that decode to the same text (unless a character is unknown).
    whole = vocab.decode_batch(vocab.encode_batch(originals[:300], 200))
    same = [d == o for d, o in zip(whole, originals[:300])]
    assert all(same[i] for i, d in enumerate(whole) if UNK_DISPLAY not in d) and sum(same) >= 280
    # Saved and loaded through the generic loader.
    assert load_vocabulary(corpus.cache_path / "vocab.json") == vocab


def test_subword_vocabulary_padding_unknown_and_persistence(tmp_path):
    vocab = SubwordVocabulary.train(["the cat sat on the mat"] * 50 + ["a dog ran"] * 50, vocab_size=30)
    ids = vocab.encode_batch(["the cat", "zebra"], 8)
    assert ids.shape == (2, 8) and ids[0, -1] == PAD_ID
    assert vocab.decode(ids[0]) == "the cat"
    assert UNK_DISPLAY in vocab.decode(ids[1])  # 'z', 'e', 'b' were never seen
    vocab.save(tmp_path / "v.json")
    assert load_vocabulary(tmp_path / "v.json") == vocab
    (tmp_path / "bad.json").write_text(json.dumps({"format": "chargan.subword/1", "model": "not base64!"}))
    with pytest.raises(UserError, match="base64 SentencePiece model"):
        load_vocabulary(tmp_path / "bad.json")


def test_subword_settings_get_their_own_cache(subword_corpus):
    path, corpus = subword_corpus
    chars = load_corpus(path, seq_len=12, cache_dir=corpus.cache_path.parents[1], progress=False)
    assert chars.cache_path != corpus.cache_path and chars.settings["units"] == "char"


def test_subword_language_model_trains_and_is_scored_on_characters(subword_corpus, tmp_path, monkeypatch):
    from chargan import evaluate, get_preset, sample, train

    path, corpus = subword_corpus
    config = get_preset("cpu").with_overrides(corpus=str(path), units="subword", vocab_size=400, seq_len=12,
                            dim=16, n_blocks=1, iterations=4, critic_iters=2, batch_size=16, eval_every=4,
                            checkpoint_every=4, eval_samples=64, eval_chars=20).validate()
    monkeypatch.setenv("CHARGAN_CACHE_DIR", str(corpus.cache_path.parents[1]))  # the fixture's cache: no rebuild
    outcome = train(config, tmp_path / "run", progress=False, echo=lambda s: None)
    metrics = outcome.result.metrics
    assert {"js1", "js4"} <= set(metrics) and 0 < metrics["js1"] <= 1
    # The floor is on 20-character prefixes of real lines: well below an untrained generator.
    assert outcome.floor["js1"] < metrics["js1"]
    run_config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert run_config["data"]["units"] == "subword" and run_config["corpus"]["source"]["kind"] == "text_file"
    samples = sample(tmp_path / "run", 5, seed=0)
    assert len(samples) == 5 and all(isinstance(s, str) for s in samples)
    scored = evaluate(tmp_path / "run", n=64)
    assert scored["js1"] == pytest.approx(metrics["js1"], abs=1e-9)  # same noise seed, same generator


def test_subword_vocab_size_too_small_for_the_corpus_is_a_clear_error(tmp_path, fresh_cache_dir):
    (tmp_path / "a.txt").write_text("".join(f"line {i} with some words\n" for i in range(50)))
    with pytest.raises(UserError, match="SentencePiece could not train a 3-piece model"):
        load_corpus(tmp_path / "a.txt", units="subword", vocab_size=3, progress=False)
    assert cache_entries(fresh_cache_dir) == []


# --------------------------------------------------------------- prepared caches
def test_prepared_cache_gives_the_same_batches_as_a_fresh_build(tmp_path, billion_word_sample, fresh_cache_dir,
                                                                 monkeypatch):
    from click.testing import CliRunner

    from chargan.cli.main import cli

    path = tmp_path / "news.txt"
    path.write_text("\n".join(sample_lines(billion_word_sample, 3000)) + "\n", encoding="utf-8")
    # The `cpu` preset reads at most 1,000,000 lines: prepare with the settings training will ask for.
    result = CliRunner().invoke(cli, ["data", "prepare", str(path), "--seq-len", "16", "--max-vocab", "64",
                                      "--max-lines", "1000000"])
    assert result.exit_code == 0, result.output
    # Uncached: the same corpus encoded from scratch into another cache.
    fresh = load_corpus(path, seq_len=16, max_vocab=64, max_lines=1_000_000, cache_dir=tmp_path / "other",
                        progress=False)

    def no_build(*args, **kwargs):
        raise AssertionError("the prepared cache should have been used")

    monkeypatch.setattr(cache_mod, "build", no_build)
    prepared = load_corpus(path, seq_len=16, max_vocab=64, max_lines=1_000_000, progress=False)
    draws = [RowSampler(c.ids, seed=7).sample(64) for c in (prepared, fresh)]
    assert torch.equal(*draws)

    from chargan import get_preset, train

    config = get_preset("cpu").with_overrides(corpus=str(path), seq_len=16, max_vocab=64, dim=8,
                            n_blocks=1, iterations=2, critic_iters=1, batch_size=8, eval_every=2, eval_samples=32)
    outcome = train(config.validate(), tmp_path / "run", progress=False, echo=lambda s: None)
    assert outcome.result.iteration == 2


def test_cache_of_an_older_format_is_not_reused_and_is_replaced(tmp_path, fresh_cache_dir, monkeypatch):
    (tmp_path / "a.txt").write_text("first line\nsecond line\n")
    current = manifest_mod.FORMAT_VERSION
    monkeypatch.setattr(manifest_mod, "FORMAT_VERSION", current - 1)
    old = load_corpus(tmp_path / "a.txt", progress=False)
    monkeypatch.setattr(manifest_mod, "FORMAT_VERSION", current)

    def counting_build(*args, **kwargs):
        counting_build.calls += 1
        return real_build(*args, **kwargs)

    real_build, counting_build.calls = cache_mod.build, 0
    monkeypatch.setattr(cache_mod, "build", counting_build)
    new = load_corpus(tmp_path / "a.txt", progress=False)
    assert counting_build.calls == 1 and new.cache_path != old.cache_path
    assert json.loads(new.manifest_path.read_text())["format_version"] == manifest_mod.FORMAT_VERSION
    assert not old.cache_path.exists()  # superseded: same corpus and settings, older format
    assert cache_entries(fresh_cache_dir) == [new.cache_path.name]
