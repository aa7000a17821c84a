"""A fixed alphabet: symbols known in advance (DNA, RNA, protein), not fitted to a corpus.

    from chargan.corpora.units import Alphabet
    dna = Alphabet.named("dna")                  # A C G T, ids 1..4; 0 is padding
    ids = dna.encode_batch(["ACGTTA", "GG"], 8)  # (2, 8) uint8
    dna.decode_batch(ids)                        # ["ACGTTA", "GG"]

Id 0 is padding (`PAD_ID`, as in every vocabulary here) and prints as the
``pad`` symbol (default ``-``, a gap); the alphabet's symbols follow in the
order given, from id 1. There is no unknown id: a symbol outside the alphabet
is a `VocabularyError` naming the line, the position and the symbol, since in
a sequence of bases a wrong letter is a wrong input, not a rare word. A pad
symbol inside a line is accepted and encodes as padding (an alignment gap).

`ALPHABET_UNITS` plugs it into the cache build (`chargan.corpora.units.base`)
under ``units="alphabet"``, with the alphabet in the settings; it is not
(yet) one of the `UNITS` that `chargan.corpora.load_corpus` accepts.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from chargan.corpora.units.base import ENCODE_CHUNK_IDS, MAX_VOCAB_LIMIT, id_dtype
from chargan.corpora.units.chars import PAD_ID, VocabularyError, padded_codepoints, read_vocabulary_file

FORMAT = "chargan.alphabet/1"
#: The built-in alphabets, by name. Protein: the 20 standard amino acids (one-letter codes).
ALPHABETS = {"dna": "ACGT", "rna": "ACGU", "protein": "ACDEFGHIKLMNPQRSTVWY"}
DEFAULT_PAD = "-"
_BAD = -1  # lookup-table entry of a codepoint outside the alphabet


@dataclass(frozen=True)
class Alphabet:
    """A fixed, ordered set of single-character symbols: id 0 pads, ``symbols[i]`` is id ``i + 1``.

    ``name`` is for messages ("dna", "protein", or "custom").
    """

    symbols: str
    name: str = "custom"
    pad: str = DEFAULT_PAD
    _table: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.symbols, str) or not self.symbols:
            raise VocabularyError("an alphabet needs at least one symbol")
        if len(set(self.symbols)) != len(self.symbols):
            raise VocabularyError(f"the symbols of an alphabet must be unique, got {self.symbols!r}")
        if len(self.symbols) + 1 > MAX_VOCAB_LIMIT:
            raise VocabularyError(f"an alphabet holds at most {MAX_VOCAB_LIMIT - 1} symbols")
        if not isinstance(self.pad, str) or len(self.pad) != 1 or self.pad in self.symbols:
            raise VocabularyError(f"the pad symbol must be one character outside the alphabet, got {self.pad!r}")
        if "\0" in self.symbols + self.pad or "\n" in self.symbols + self.pad:
            raise VocabularyError("an alphabet cannot hold NUL or a newline")
        # Codepoint -> id; everything else is _BAD. Built once: encoding is one lookup per batch.
        table = np.full(max(ord(c) for c in self.symbols + self.pad) + 1, _BAD, dtype=np.int32)
        for i, c in enumerate(self.symbols):
            table[ord(c)] = i + 1
        table[ord(self.pad)] = PAD_ID
        object.__setattr__(self, "_table", table)

    @classmethod
    def named(cls, name: str, pad: str = DEFAULT_PAD) -> Alphabet:
        """A built-in alphabet (``dna``, ``rna``, ``protein``; any case)."""
        symbols = ALPHABETS.get(name.lower()) if isinstance(name, str) else None
        if symbols is None:
            raise VocabularyError(f"unknown alphabet {name!r}", hint=f"choose one of: {', '.join(ALPHABETS)}, "
                                                                     "or give the symbols themselves")
        return cls(symbols, name.lower(), pad)

    @classmethod
    def parse(cls, spec: str, pad: str = DEFAULT_PAD) -> Alphabet:
        """A built-in alphabet by name, else ``spec`` itself as the symbols."""
        if isinstance(spec, str) and spec.lower() in ALPHABETS:
            return cls.named(spec, pad)
        return cls(spec, "custom", pad)

    # --------------------------------------------------------------- properties
    def __len__(self) -> int:
        return len(self.symbols) + 1

    @property
    def dtype(self) -> np.dtype:
        """Smallest unsigned integer type that holds every id (uint8 for every built-in alphabet)."""
        return id_dtype(len(self))

    # ---------------------------------------------------------------- encoding
    def encode(self, line: str, seq_len: int) -> np.ndarray:
        """One line -> ``(seq_len,)`` ids, cut and right-padded."""
        return self.encode_batch([line], seq_len)[0]

    def encode_batch(self, lines: Sequence[str], seq_len: int, *, first_line: int = 1) -> np.ndarray:
        """Lines -> ``(len(lines), seq_len)`` ids of `dtype`, cut to ``seq_len`` and right-padded with 0.

        Only the kept part of a line is checked. A symbol outside the alphabet
        raises `VocabularyError` naming the line (``lines[0]`` is line
        ``first_line``), the 1-based position in it and the symbol.
        """
        codepoints = padded_codepoints(lines, seq_len)
        inside = codepoints < self._table.size
        ids = np.where(inside, self._table[np.where(inside, codepoints, 0)], _BAD)
        # Padding is where the line ended, not a NUL it might hold (that is as wrong as any other symbol).
        lengths = np.fromiter((min(len(line), seq_len) for line in lines), dtype=np.int64, count=len(lines))
        kept = np.arange(seq_len) < lengths[:, None]
        bad = np.argwhere(kept & (ids == _BAD))
        if bad.size:
            row, col = (int(v) for v in bad[0])
            raise VocabularyError(
                f"line {first_line + row}, position {col + 1}: {lines[row][col]!r} is not in the "
                f"{self.name} alphabet ({self.symbols})",
                hint="fix or remove that line, or choose an alphabet that holds the symbol",
            )
        ids[~kept] = PAD_ID
        return ids.astype(self.dtype)

    # ---------------------------------------------------------------- decoding
    def decode(self, ids: Sequence[int] | np.ndarray) -> str:
        """``(seq_len,)`` ids -> symbols; inner padding prints as ``pad``, trailing padding is dropped."""
        symbols = (self.pad, *self.symbols)
        return "".join(symbols[i] for i in np.asarray(ids).tolist()).rstrip(self.pad)

    def decode_batch(self, ids: np.ndarray) -> list[str]:
        """``(batch, seq_len)`` ids -> one string per row."""
        return [self.decode(row) for row in np.asarray(ids)]

    # ------------------------------------------------------------- persistence
    def to_json(self) -> dict:
        return {"format": FORMAT, "pad_id": PAD_ID, "name": self.name, "symbols": self.symbols, "pad": self.pad}

    @classmethod
    def from_json(cls, data: dict) -> Alphabet:
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise VocabularyError(f"not a chargan alphabet (expected format {FORMAT!r})")
        symbols, name, pad = data.get("symbols"), data.get("name", "custom"), data.get("pad", DEFAULT_PAD)
        if not isinstance(symbols, str) or not isinstance(name, str):
            raise VocabularyError("a chargan alphabet needs 'symbols', a string of single characters")
        return cls(symbols, name, pad)

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_json(), ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> Alphabet:
        return cls.from_json(read_vocabulary_file(path))


# ------------------------------------------------------------------ the unit kind
class _FixedFit:
    """Nothing to learn: the alphabet comes from the settings."""

    note = None

    def __init__(self, alphabet: Alphabet) -> None:
        self.alphabet = alphabet

    def add(self, lines: Sequence[str]) -> None:
        pass

    def vocabulary(self, lines: Iterator[str]) -> Alphabet:
        return self.alphabet


class AlphabetUnits:
    """``units="alphabet"``: one id per symbol of a fixed alphabet, lines cut to ``seq_len`` symbols.

    Its part of the cache settings is ``alphabet`` (the symbols) and ``alphabet_name``.
    """

    name = "alphabet"
    decoded_lines = False  # the pass-1 lines, cut to seq_len symbols, are the rows' text

    def key_settings(self, requested: Mapping[str, Any]) -> dict[str, Any]:
        alphabet = Alphabet.parse(requested.get("alphabet", "dna"))
        return {"alphabet": alphabet.symbols, "alphabet_name": alphabet.name}

    def pass1_chars(self, seq_len: int) -> int:
        return seq_len

    def start_fit(self, settings: Mapping[str, Any]) -> _FixedFit:
        return _FixedFit(Alphabet(settings["alphabet"], settings.get("alphabet_name", "custom")))

    def chunk_lines(self, seq_len: int) -> int:
        return max(1, ENCODE_CHUNK_IDS // seq_len)

    def encode(self, vocab: Alphabet, lines: Sequence[str], seq_len: int, *, first_row: int = 0) -> np.ndarray:
        return vocab.encode_batch(lines, seq_len, first_line=first_row + 1)


ALPHABET_UNITS = AlphabetUnits()
