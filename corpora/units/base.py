"""The units seam: what the corpus cache needs from a kind of unit.

A *unit kind* (characters, subword pieces, a fixed alphabet) decides how the
lines of a corpus become rows of integer ids. The cache build
(`chargan.corpora.build`) talks to every kind through `UnitKind` alone:

1. ``key_settings`` gives the kind's entries of the cache settings (and so its
   part of the cache key), from the vocabulary knobs the user passed;
2. pass 1 keeps ``pass1_chars(seq_len)`` characters of each line and shows
   every kept chunk to the `UnitFit` that ``start_fit`` returned;
3. ``fit.vocabulary(lines)`` builds the `UnitVocabulary` (its ``dtype`` is the
   id dtype of ``ids.npy``; ``lines`` re-reads the pass-1 lines, lazily);
4. pass 2 encodes chunks of ``chunk_lines(seq_len)`` lines with ``encode``;
   when ``decoded_lines`` is true, ``lines.txt`` gets each row's decoded text
   (pass 1 then writes ``raw.txt``), else the pass-1 file is ``lines.txt``.

A fitting or encoding mistake the user can fix is a `VocabularyError`; the
build adds the corpus name to it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from chargan.corpora.errors import checked_int

#: Largest vocabulary a ``uint16`` id can hold.
MAX_VOCAB_LIMIT = 1 << 16
#: Ids encoded per ``encode`` call for characters (lines = this // seq_len), so
#: a chunk and its temporaries (int64 indices inside the lookup) stay a few MB
#: whatever seq_len is. Bigger chunks are no faster.
ENCODE_CHUNK_IDS = 256 << 10


def checked_size(name: str, value: object) -> int:
    """A vocabulary size setting (pad and unk included): an int in 3..`MAX_VOCAB_LIMIT`, or a `CorpusError`."""
    return checked_int(name, value, 3, MAX_VOCAB_LIMIT)


def id_dtype(size: int) -> np.dtype:
    """Smallest unsigned integer dtype that holds ``size`` ids (0 .. size - 1)."""
    return np.dtype(np.uint8) if size <= 256 else np.dtype(np.uint16)


class UnitVocabulary(Protocol):
    """Symbols <-> ids, id 0 being padding (every vocabulary of this package is one)."""

    @property
    def dtype(self) -> np.dtype: ...

    def __len__(self) -> int: ...

    def encode_batch(self, lines: Sequence[str], seq_len: int) -> np.ndarray:
        """Lines -> ``(len(lines), seq_len)`` ids of `dtype`, cut and right-padded with 0."""
        ...

    def decode_batch(self, ids: np.ndarray) -> list[str]:
        """``(batch, seq_len)`` ids -> one string per row."""
        ...

    def to_json(self) -> dict: ...

    def save(self, path: str | Path) -> None: ...


class UnitFit(Protocol):
    """A vocabulary being fitted to one corpus (or a fixed one that ignores it)."""

    #: Said on stderr (with the corpus name) before a slow ``vocabulary``; None says nothing.
    note: str | None

    def add(self, lines: Sequence[str]) -> None:
        """See one chunk of pass-1 lines, already cut to ``pass1_chars``."""
        ...

    def vocabulary(self, lines: Iterator[str]) -> UnitVocabulary:
        """The fitted vocabulary; ``lines`` streams every pass-1 line again (consume it or not)."""
        ...


class UnitKind(Protocol):
    """One kind of unit, as the cache build sees it. Kinds are stateless: settings carry everything."""

    #: The ``units`` value of the settings and manifest ("char", "subword", ...).
    name: str
    #: True: ``lines.txt`` holds each row decoded; False: the pass-1 lines are ``lines.txt``.
    decoded_lines: bool

    def key_settings(self, requested: Mapping[str, Any]) -> dict[str, Any]:
        """This kind's entries of the cache settings, checked, from the knobs asked for.

        ``requested`` maps every vocabulary knob (``max_vocab``, ``vocab_size``,
        ...) to the value passed; the entries returned replace the unused
        knobs' None in the settings, so they alone are the kind's part of the key.
        """
        ...

    def pass1_chars(self, seq_len: int) -> int:
        """Characters of each line kept in pass 1: at least what ``seq_len`` units can span."""
        ...

    def start_fit(self, settings: Mapping[str, Any]) -> UnitFit:
        """A fit for a corpus encoded under ``settings``."""
        ...

    def chunk_lines(self, seq_len: int) -> int:
        """Lines per ``encode`` call in pass 2."""
        ...

    def encode(self, vocab: Any, lines: Sequence[str], seq_len: int, *, first_row: int = 0) -> np.ndarray:
        """``(len(lines), seq_len)`` ids of ``vocab.dtype``; ``first_row`` is ``lines[0]``'s row (for errors)."""
        ...
