"""`load_corpus`: a corpus spec and settings in, an `EncodedCorpus` out."""

from __future__ import annotations

import os
from pathlib import Path

from chargan.corpora.billion_word import BillionWordSource, locate_billion_word
from chargan.corpora.builtin import DemoSource
from chargan.corpora.cache import EncodedCorpus, open_or_build
from chargan.corpora.errors import CorpusError
from chargan.corpora.locations import corpora_cache_dir
from chargan.corpora.sources import CorpusSource
from chargan.corpora.text_files import text_source

#: Names that are not paths. To load a file called ``demo``, write ``./demo``.
BUILTIN_SPECS = ("demo", "billion_word")
_ALIASES = {"billion-word": "billion_word", "billionword": "billion_word", "1b": "billion_word"}

#: Largest vocabulary an ``uint16`` id can hold.
MAX_VOCAB_LIMIT = 1 << 16


def canonical_spec(spec: str) -> str:
    """A built-in corpus's canonical name, or a local path made absolute.

    What a run records, so that it can be resumed or evaluated from any folder.
    """
    name = _ALIASES.get(spec, spec)
    return name if name in BUILTIN_SPECS else str(Path(spec).expanduser().resolve())


def resolve_source(
    spec: str | os.PathLike[str] = "demo",
    *,
    data_dir: str | os.PathLike[str] | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
) -> CorpusSource:
    """The source a spec names: ``"demo"``, ``"billion_word"`` or a path.

    ``data_dir`` is where to look for Billion Word (ignored by other specs).
    """
    if isinstance(spec, str):
        if not spec.strip():
            raise CorpusError("the corpus spec is empty", hint="use 'demo', 'billion_word' or a path")
        name = _ALIASES.get(spec, spec)
        if name == "demo":
            return DemoSource()
        if name == "billion_word":
            return BillionWordSource(locate_billion_word(data_dir, cache_dir))
    elif not isinstance(spec, os.PathLike):
        raise CorpusError(f"the corpus spec must be a name or a path, not {type(spec).__name__}")
    return text_source(spec)


def _check_int(name: str, value: object, minimum: int, maximum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise CorpusError(f"{name} must be an integer, got {value!r}")
    if value < minimum or (maximum is not None and value > maximum):
        bound = f"at least {minimum}" if maximum is None else f"between {minimum} and {maximum}"
        raise CorpusError(f"{name} must be {bound}, got {value}")
    return int(value)


def corpus_settings(seq_len: int = 32, max_lines: int | None = None, max_vocab: int = 2048) -> dict:
    """Validated settings, as recorded in a cache manifest."""
    return {
        "seq_len": _check_int("seq_len", seq_len, 1),
        "max_lines": None if max_lines is None else _check_int("max_lines", max_lines, 1),
        "max_vocab": _check_int("max_vocab", max_vocab, 3, MAX_VOCAB_LIMIT),
    }


def load_corpus(
    spec: str | os.PathLike[str] = "demo",
    *,
    data_dir: str | Path | None = None,
    seq_len: int = 32,
    max_lines: int | None = None,
    max_vocab: int = 2048,
    cache_dir: Path | None = None,
    progress: bool = True,
) -> EncodedCorpus:
    """Load a corpus encoded for the character GAN, from the cache when possible.

    spec:       ``"demo"`` (offline, Python's help text), ``"billion_word"``
                (the unpacked One Billion Word benchmark, see ``data_dir``), or a
                path to a UTF-8 text file or a folder of ``*.txt`` files, one
                sentence per line (blank lines are skipped).
    data_dir:   where the Billion Word benchmark is (the unpacked
                ``1-billion-word-language-modeling-benchmark-r13output`` folder
                or its parent); default ``$CHARGAN_DATA_DIR``, then
                ``<cache root>/data``.
    seq_len:    each line is cut to this many characters and right-padded with id 0.
    max_lines:  keep only the first lines, in source order (>= 1); None keeps all.
    max_vocab:  vocabulary size including pad and unk: the most frequent
                characters; rarer ones encode as unk (id 1).
    cache_dir:  cache root (default ``$CHARGAN_CACHE_DIR``, then
                ``$XDG_CACHE_HOME/chargan``, then ``~/.cache/chargan``).
    progress:   show progress bars on stderr while encoding a large corpus.

    Raises `chargan.errors.UserError` (a `CorpusError`) for anything the user
    can fix: a missing corpus or shard, a non-UTF-8 file, a bad setting, an
    unwritable cache.
    """
    settings = corpus_settings(seq_len, max_lines, max_vocab)
    source = resolve_source(spec, data_dir=data_dir, cache_dir=cache_dir)
    return open_or_build(source, settings, corpora_cache_dir(cache_dir), progress=progress)
