"""Character units: a vocabulary fitted to a corpus, and the ``char`` unit kind.

Id 0 is padding and id 1 is the unknown symbol; the remaining ids are the
corpus characters, most frequent first (as in the reference script, which
keeps the 2048 most frequent characters plus ``unk``). `CHAR_UNITS` is the
kind the cache build uses for ``units="char"`` (see `chargan.corpora.units.base`).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from chargan.corpora.units.base import ENCODE_CHUNK_IDS, checked_size, id_dtype
from chargan.errors import UserError

PAD_ID = 0
UNK_ID = 1
#: How padding and unknown ids print when decoded for display.
UNK_DISPLAY = "\N{REPLACEMENT CHARACTER}"
# Codepoint used to pad lines inside the vectorized encoder; NUL never
# survives into a vocabulary (see `Vocabulary.build`).
_PAD_CODEPOINT = 0


def padded_codepoints(lines: Sequence[str], seq_len: int) -> np.ndarray:
    """``(len(lines), seq_len)`` uint32 codepoints of each line cut to ``seq_len`` and right-padded with NUL.

    All lines are decoded in one buffer, so no Python work happens per character.
    """
    if seq_len < 1:
        raise ValueError(f"seq_len must be positive, got {seq_len}")
    fixed = "".join(line[:seq_len].ljust(seq_len, "\0") for line in lines)
    return np.frombuffer(fixed.encode("utf-32-le", "surrogatepass"), dtype=np.uint32).reshape(len(lines), seq_len)


class CharCounts:
    """Character frequencies over a stream of text, one vectorized count per piece added.

    ``counts[c]`` is how often codepoint ``c`` occurred; adding a chunk of
    many lines at once (joined) costs one ``bincount``, not a loop per character.
    """

    def __init__(self) -> None:
        self.counts = np.zeros(0x110000, dtype=np.int64)

    def add(self, text: str) -> None:
        codepoints = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
        if codepoints.size:
            binned = np.bincount(codepoints)
            self.counts[: binned.size] += binned

    def vocabulary(self, max_size: int = 2048) -> Vocabulary:
        """`Vocabulary.build` on these counts."""
        return Vocabulary.build({chr(c): int(self.counts[c]) for c in np.flatnonzero(self.counts).tolist()}, max_size)


class VocabularyError(UserError):
    """A vocabulary file is missing, malformed or incompatible."""


@dataclass(frozen=True)
class Vocabulary:
    """An ordered character set with padding (id 0) and unknown (id 1).

    ``chars[i]`` is the character of id ``i + 2``.
    """

    chars: tuple[str, ...]
    _index: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if len(set(self.chars)) != len(self.chars):
            raise VocabularyError("vocabulary characters must be unique")
        if any(len(c) != 1 or c == "\0" for c in self.chars):
            raise VocabularyError("vocabulary entries must be single non-NUL characters")
        object.__setattr__(self, "_index", {c: i + 2 for i, c in enumerate(self.chars)})

    # ------------------------------------------------------------------ building
    @classmethod
    def build(cls, counts: Counter[str] | dict[str, int], max_size: int = 2048) -> Vocabulary:
        """Keep the ``max_size - 2`` most frequent characters (ties: by codepoint)."""
        if max_size < 3:
            raise VocabularyError(f"max_size must be at least 3 (pad, unk, one char), got {max_size}")
        usable = [(c, n) for c, n in counts.items() if len(c) == 1 and c not in "\0\n\r"]
        usable.sort(key=lambda item: (-item[1], item[0]))
        return cls(tuple(c for c, _ in usable[: max_size - 2]))

    @classmethod
    def from_lines(cls, lines: Iterable[str], max_size: int = 2048) -> Vocabulary:
        counts = CharCounts()
        for line in lines:
            counts.add(line)
        return counts.vocabulary(max_size)

    # --------------------------------------------------------------- properties
    def __len__(self) -> int:
        return len(self.chars) + 2

    @property
    def dtype(self) -> np.dtype:
        """Smallest unsigned integer type that holds every id."""
        return id_dtype(len(self))

    def id_of(self, char: str) -> int:
        return self._index.get(char, UNK_ID)

    # ---------------------------------------------------------------- encoding
    def encode(self, line: str, seq_len: int) -> np.ndarray:
        """One line -> ``(seq_len,)`` ids, truncated and right-padded."""
        return self.encode_batch([line], seq_len)[0]

    def encode_batch(self, lines: Sequence[str], seq_len: int) -> np.ndarray:
        """Lines -> ``(len(lines), seq_len)`` ids of `dtype`, vectorized.

        Each line is cut to ``seq_len`` characters and right-padded, then all
        lines are decoded to codepoints in one buffer and mapped through a
        lookup table, so no Python work happens per character.
        """
        return self._lookup()[padded_codepoints(lines, seq_len)]

    def _lookup(self) -> np.ndarray:
        table = self.__dict__.get("_table")
        if table is None:
            size = max(0x10FFFF, *(ord(c) for c in self.chars)) + 1
            table = np.full(size, UNK_ID, dtype=self.dtype)
            table[_PAD_CODEPOINT] = PAD_ID
            for c, i in self._index.items():
                table[ord(c)] = i
            object.__setattr__(self, "_table", table)
        return table

    # ---------------------------------------------------------------- decoding
    def decode(self, ids: Sequence[int] | np.ndarray) -> str:
        """``(seq_len,)`` ids -> text; padding is dropped, unknown prints as U+FFFD."""
        symbols = self._symbols()
        return "".join(symbols[i] for i in np.asarray(ids).tolist())

    def decode_batch(self, ids: np.ndarray) -> list[str]:
        """``(batch, seq_len)`` ids -> one string per row."""
        return [self.decode(row) for row in np.asarray(ids)]

    def _symbols(self) -> tuple[str, ...]:
        return ("", UNK_DISPLAY, *self.chars)

    # ------------------------------------------------------------- persistence
    def to_json(self) -> dict:
        return {"format": "chargan.vocab/1", "pad_id": PAD_ID, "unk_id": UNK_ID, "chars": list(self.chars)}

    @classmethod
    def from_json(cls, data: dict) -> Vocabulary:
        if not isinstance(data, dict) or data.get("format") != "chargan.vocab/1":
            raise VocabularyError("not a chargan vocabulary (expected format 'chargan.vocab/1')")
        chars = data.get("chars")
        if not isinstance(chars, list) or not all(isinstance(c, str) for c in chars):
            raise VocabularyError("a chargan vocabulary needs 'chars', a list of single characters")
        return cls(tuple(chars))

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_json(), ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> Vocabulary:
        return cls.from_json(read_vocabulary_file(path))


def read_vocabulary_file(path: str | Path) -> object:
    """The JSON of a saved vocabulary, or a `VocabularyError` saying it is missing or corrupt."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise VocabularyError(f"vocabulary file not found: {path}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise VocabularyError(f"vocabulary file {path} is corrupt: {exc}") from None


# ------------------------------------------------------------------ the unit kind
class _CharFit:
    """Counts the codepoints of the cut lines (as the reference script counts its cut lines)."""

    note = None

    def __init__(self, max_vocab: int) -> None:
        self.max_vocab = max_vocab
        self.counts = CharCounts()

    def add(self, lines: Sequence[str]) -> None:
        self.counts.add("".join(lines))  # one bincount per chunk, not one per line

    def vocabulary(self, lines: Iterator[str]) -> Vocabulary:
        return self.counts.vocabulary(self.max_vocab)


class CharUnits:
    """``units="char"``: the ``max_vocab`` most frequent characters; lines are cut to ``seq_len`` at once."""

    name = "char"
    decoded_lines = False  # the pass-1 lines, cut to seq_len characters, are the rows' text

    def key_settings(self, requested: Mapping[str, Any]) -> dict[str, Any]:
        return {"max_vocab": checked_size("max_vocab", requested.get("max_vocab"))}

    def pass1_chars(self, seq_len: int) -> int:
        return seq_len

    def start_fit(self, settings: Mapping[str, Any]) -> _CharFit:
        return _CharFit(int(settings["max_vocab"]))

    def chunk_lines(self, seq_len: int) -> int:
        return max(1, ENCODE_CHUNK_IDS // seq_len)

    def encode(self, vocab: Vocabulary, lines: Sequence[str], seq_len: int, *, first_row: int = 0) -> np.ndarray:
        # One vectorized lookup: already faster than the disk, no threads needed.
        return vocab.encode_batch(lines, seq_len)


CHAR_UNITS = CharUnits()
