"""`load_corpus`: a corpus spec and settings in, an `EncodedCorpus` out."""

from __future__ import annotations

import os
from pathlib import Path

from chargan.corpora.billion_word import BillionWordSource, locate_billion_word
from chargan.corpora.builtin import DemoSource
from chargan.corpora.cache import EncodedCorpus, open_or_build
from chargan.corpora.errors import CorpusError, checked_int
from chargan.corpora.hf import HFSource, billion_word_hf, is_hf_spec, parse_hf_spec
from chargan.corpora.locations import corpora_cache_dir
from chargan.corpora.sources import ERROR_POLICIES, CorpusSource
from chargan.corpora.text_files import text_source
from chargan.corpora.units import UNITS, unit_kind

#: Names that are not paths. To load a file called ``demo``, write ``./demo``.
BUILTIN_SPECS = ("demo", "billion_word")
_ALIASES = {"billion-word": "billion_word", "billionword": "billion_word", "1b": "billion_word"}

#: Where ``billion_word`` comes from: the official tarball, or the hub's parquet export.
BILLION_WORD_SOURCES = ("tarball", "hf")


def canonical_spec(spec: str) -> str:
    """A built-in corpus's canonical name, or a local path made absolute.

    What a run records, so that it can be resumed or evaluated from any folder.
    """
    name = _ALIASES.get(spec, spec)
    if name in BUILTIN_SPECS:
        return name
    if is_hf_spec(spec):
        local = parse_hf_spec(spec).local
        return spec if local is None else f"hf:{local}"
    if any(c in spec for c in "*?[") and not Path(spec).expanduser().exists():
        return str(Path(spec).expanduser().absolute())  # a glob: made absolute, not resolved
    return str(Path(spec).expanduser().resolve())


def resolve_source(
    spec: str | os.PathLike[str] = "demo",
    *,
    data_dir: str | os.PathLike[str] | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    errors: str = "strict",
    source: str = "tarball",
    split: str = "train",
    text_column: str = "text",
) -> CorpusSource:
    """The source a spec names: ``"demo"``, ``"billion_word"``, ``"hf:..."`` or a path / glob.

    ``data_dir`` is where to look for Billion Word and ``source`` where it comes
    from (``"tarball"`` or ``"hf"``); ``split`` and ``text_column`` apply to
    ``hf:`` specs; ``errors`` is the invalid-UTF-8 policy of text files.
    """
    if errors not in ERROR_POLICIES:
        raise CorpusError(f"errors must be one of {', '.join(ERROR_POLICIES)}, got {errors!r}")
    if source not in BILLION_WORD_SOURCES:
        raise CorpusError(f"the Billion Word source must be one of {', '.join(BILLION_WORD_SOURCES)}, got {source!r}")
    if isinstance(spec, str):
        if not spec.strip():
            raise CorpusError("the corpus spec is empty", hint="use 'demo', 'billion_word', 'hf:<dataset>' or a path")
        name = _ALIASES.get(spec, spec)
        if name == "demo":
            return DemoSource()
        if name == "billion_word":
            if source == "hf":
                return billion_word_hf()
            return BillionWordSource(locate_billion_word(data_dir, cache_dir), errors)
        if is_hf_spec(spec):
            return HFSource(parse_hf_spec(spec, split, text_column))
    elif not isinstance(spec, os.PathLike):
        raise CorpusError(f"the corpus spec must be a name or a path, not {type(spec).__name__}")
    return text_source(spec, errors)


def corpus_settings(
    seq_len: int = 32,
    max_lines: int | None = None,
    max_vocab: int = 2048,
    *,
    units: str = "char",
    vocab_size: int = 8000,
    errors: str = "strict",
) -> dict:
    """Validated settings, as recorded in a cache manifest.

    Only the vocabulary knob of the chosen units is kept (``max_vocab`` for
    characters, ``vocab_size`` for pieces; the unit kind's ``key_settings``
    decides), so it alone decides the cache.
    """
    if units not in UNITS:
        raise CorpusError(f"units must be one of {', '.join(UNITS)}, got {units!r}")
    if errors not in ERROR_POLICIES:
        raise CorpusError(f"errors must be one of {', '.join(ERROR_POLICIES)}, got {errors!r}")
    settings = {
        "seq_len": checked_int("seq_len", seq_len, 1),
        "max_lines": None if max_lines is None else checked_int("max_lines", max_lines, 1),
        "units": units,
        "max_vocab": None,
        "vocab_size": None,
    }
    # The kind's entries replace their None in place: the key order (and so the manifest) is as before.
    settings.update(unit_kind(units).key_settings({"max_vocab": max_vocab, "vocab_size": vocab_size}))
    settings["errors"] = errors
    return settings


def load_corpus(
    spec: str | os.PathLike[str] = "demo",
    *,
    data_dir: str | Path | None = None,
    seq_len: int = 32,
    max_lines: int | None = None,
    max_vocab: int = 2048,
    units: str = "char",
    vocab_size: int = 8000,
    errors: str = "strict",
    source: str = "tarball",
    split: str = "train",
    text_column: str = "text",
    cache_dir: Path | None = None,
    progress: bool = True,
) -> EncodedCorpus:
    """Load a corpus encoded for the GAN, from the cache when possible.

    spec:       ``"demo"`` (offline, Python's help text), ``"billion_word"``
                (the One Billion Word benchmark, see ``data_dir`` and ``source``),
                ``"hf:<dataset>[:<config>][@<revision>]"`` (a Hugging Face dataset,
                streamed; or a local folder saved with ``save_to_disk``), or a
                path to a UTF-8 text file (plain or gzip), a folder of ``*.txt``
                / ``*.gz`` files, or a glob pattern; one sentence per line
                (blank lines are skipped).
    data_dir:   where the Billion Word benchmark is (the unpacked
                ``1-billion-word-language-modeling-benchmark-r13output`` folder
                or its parent); default ``$CHARGAN_DATA_DIR``, then
                ``<cache root>/data``.
    seq_len:    each line is cut to this many symbols (characters or pieces)
                and right-padded with id 0.
    max_lines:  keep only the first lines, in source order (>= 1); None keeps all.
    max_vocab:  characters: vocabulary size including pad and unk, the most
                frequent characters; rarer ones encode as unk (id 1).
    units:      ``"char"`` (the paper) or ``"subword"`` (a SentencePiece model
                trained on the corpus, cached with it).
    vocab_size: subword units: the SentencePiece vocabulary size (pad and unk included).
    errors:     invalid UTF-8 in text files: ``"strict"`` (an error naming the
                place) or ``"replace"`` (read as U+FFFD; counted in the manifest).
    source:     Billion Word from the official ``"tarball"`` or the hub's
                parquet export (``"hf"``).
    split, text_column: the rows and column of an ``hf:`` dataset.
    cache_dir:  cache root (default ``$CHARGAN_CACHE_DIR``, then
                ``$XDG_CACHE_HOME/chargan``, then ``~/.cache/chargan``).
    progress:   show progress bars on stderr while encoding a large corpus.

    Raises `chargan.errors.UserError` (a `CorpusError`) for anything the user
    can fix: a missing corpus or shard, a non-UTF-8 file, a bad setting, an
    unwritable or full cache disk, an unreachable dataset.
    """
    settings = corpus_settings(seq_len, max_lines, max_vocab, units=units, vocab_size=vocab_size, errors=errors)
    resolved = resolve_source(spec, data_dir=data_dir, cache_dir=cache_dir, errors=errors, source=source,
                              split=split, text_column=text_column)
    return open_or_build(resolved, settings, corpora_cache_dir(cache_dir), progress=progress)
