"""Subword units: a SentencePiece model with the `Vocabulary` interface.

With ``--units subword`` a corpus is cut into SentencePiece pieces instead of
characters: the generator then writes a softmax over pieces at each of
``seq_len`` positions, and the relaxed critic reads it exactly as it reads
characters. Ids keep the character vocabulary's layout: 0 is padding, 1 is
unknown, pieces follow (SentencePiece is trained with ``pad_id=0, unk_id=1``
and no BOS/EOS), so padding, one-hot encoding and the n-gram code need no
special case.

The model is trained with identity normalization and without whitespace
clean-up, so decoding pieces gives back the text they encode (characters
outside the model's coverage become unknown, as rare characters do in the
character vocabulary). The serialized model travels inside ``vocab.json``
(base64), so a run directory or a corpus cache stays self-contained.
`SUBWORD_UNITS` is the kind the cache build uses for ``units="subword"``
(see `chargan.corpora.units.base`).
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from chargan.corpora.units.base import ENCODE_CHUNK_IDS, checked_size, id_dtype
from chargan.corpora.units.chars import PAD_ID, UNK_DISPLAY, UNK_ID, Vocabulary, VocabularyError

FORMAT = "chargan.subword/1"
#: Longest piece SentencePiece makes (its ``max_sentencepiece_length`` default):
#: ``seq_len`` pieces never span more than ``seq_len * MAX_PIECE_CHARS`` characters.
MAX_PIECE_CHARS = 16
#: Lines the trainer samples from the corpus: bounds its memory (about 1 GB
#: for Billion Word sentences, BENCHMARKS.md) whatever the corpus size.
TRAIN_SAMPLE_LINES = 300_000


@dataclass(frozen=True)
class SubwordVocabulary:
    """A SentencePiece model: pieces <-> ids, with pad 0 and unk 1.

    ``model`` is the serialized model proto. Equality compares the model bytes.
    """

    model: bytes
    _processor: object = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        import sentencepiece as spm  # here, not at the top: `import chargan.corpora` stays light

        try:
            processor = spm.SentencePieceProcessor(model_proto=self.model)
        except (RuntimeError, TypeError, ValueError) as exc:
            raise VocabularyError(f"not a usable SentencePiece model: {exc}") from None
        if processor.pad_id() != PAD_ID or processor.unk_id() != UNK_ID:
            raise VocabularyError(
                f"a chargan subword model needs pad id {PAD_ID} and unk id {UNK_ID}, "
                f"this one has {processor.pad_id()} and {processor.unk_id()}"
            )
        object.__setattr__(self, "_processor", processor)

    # ------------------------------------------------------------------ building
    @classmethod
    def train(
        cls,
        lines: Iterable[str],
        vocab_size: int,
        *,
        sample_lines: int = TRAIN_SAMPLE_LINES,
        model_type: str = "unigram",
        threads: int = 2,
    ) -> SubwordVocabulary:
        """Train a model of at most ``vocab_size`` ids (pad and unk included) on ``lines``.

        ``lines`` is streamed; the trainer keeps a random sample of at most
        ``sample_lines`` of them. On a small corpus the model may end up with
        fewer pieces than asked for (the limit is soft).
        """
        import sentencepiece as spm  # here, not at the top: `import chargan.corpora` stays light

        if vocab_size < 3:
            raise VocabularyError(f"the subword vocabulary size must be at least 3, got {vocab_size}")
        writer = io.BytesIO()
        try:
            spm.SentencePieceTrainer.train(
                sentence_iterator=iter(lines), model_writer=writer, vocab_size=vocab_size, model_type=model_type,
                pad_id=PAD_ID, unk_id=UNK_ID, bos_id=-1, eos_id=-1,
                normalization_rule_name="identity", remove_extra_whitespaces=False,
                input_sentence_size=sample_lines, shuffle_input_sentence=True, hard_vocab_limit=False,
                max_sentencepiece_length=MAX_PIECE_CHARS, num_threads=threads, minloglevel=2,
            )
        except RuntimeError as exc:
            raise VocabularyError(f"SentencePiece could not train a {vocab_size}-piece model: "
                                  f"{str(exc).strip().splitlines()[-1]}") from None
        return cls(writer.getvalue())

    # --------------------------------------------------------------- properties
    def __len__(self) -> int:
        return int(self._processor.get_piece_size())

    @property
    def dtype(self) -> np.dtype:
        """Smallest unsigned integer type that holds every id."""
        return id_dtype(len(self))

    @property
    def pieces(self) -> tuple[str, ...]:
        """Every id's piece, in id order (``<pad>``, ``<unk>``, then pieces; ``▁`` is a space)."""
        return tuple(self._processor.id_to_piece(i) for i in range(len(self)))

    def digest(self) -> str:
        return hashlib.sha256(self.model).hexdigest()

    # ---------------------------------------------------------------- encoding
    def encode_batch(self, lines: Sequence[str], seq_len: int, threads: int = 1) -> np.ndarray:
        """Lines -> ``(len(lines), seq_len)`` piece ids, cut after ``seq_len`` pieces, right-padded with 0."""
        if seq_len < 1:
            raise ValueError(f"seq_len must be positive, got {seq_len}")
        out = np.zeros((len(lines), seq_len), dtype=self.dtype)
        if not lines:
            return out
        # A line longer than seq_len pieces can ever cover is cut first: encoding stays linear in seq_len.
        bound = seq_len * MAX_PIECE_CHARS
        encoded = self._processor.encode([line[:bound] for line in lines], out_type=int, num_threads=threads)
        lengths = np.fromiter((min(len(ids), seq_len) for ids in encoded), dtype=np.int64, count=len(encoded))
        flat = np.fromiter((i for ids in encoded for i in ids[:seq_len]), dtype=self.dtype, count=int(lengths.sum()))
        out[np.arange(seq_len) < lengths[:, None]] = flat
        return out

    def encode(self, line: str, seq_len: int) -> np.ndarray:
        return self.encode_batch([line], seq_len)[0]

    # ---------------------------------------------------------------- decoding
    def decode(self, ids: Sequence[int] | np.ndarray) -> str:
        """``(seq_len,)`` ids -> text; padding is dropped, unknown pieces print as U+FFFD."""
        return self.decode_batch(np.asarray(ids)[None])[0]

    def decode_batch(self, ids: np.ndarray) -> list[str]:
        """``(batch, seq_len)`` ids -> one string per row."""
        rows = [[int(i) for i in row if i != PAD_ID] for row in np.asarray(ids).tolist()]
        # SentencePiece prints unknown as " ⁇ "; keep the character vocabulary's U+FFFD instead.
        texts = []
        for row in rows:
            parts, start = [], 0
            for k, i in enumerate(row):
                if i == UNK_ID:
                    parts.append(self._processor.decode(row[start:k]))
                    parts.append(UNK_DISPLAY)
                    start = k + 1
            parts.append(self._processor.decode(row[start:]))
            texts.append("".join(parts))
        return texts

    # ------------------------------------------------------------- persistence
    def to_json(self) -> dict:
        return {"format": FORMAT, "pad_id": PAD_ID, "unk_id": UNK_ID, "size": len(self),
                "model": base64.b64encode(self.model).decode("ascii")}

    @classmethod
    def from_json(cls, data: dict) -> SubwordVocabulary:
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise VocabularyError(f"not a chargan subword vocabulary (expected format {FORMAT!r})")
        try:
            model = base64.b64decode(data["model"], validate=True)
        except (KeyError, TypeError, ValueError):
            raise VocabularyError("a chargan subword vocabulary needs 'model', a base64 SentencePiece model") from None
        return cls(model)

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_json()), encoding="utf-8")


#: The vocabularies of text units (what a text run directory's ``vocab.json`` holds).
AnyVocabulary = Vocabulary | SubwordVocabulary


# ------------------------------------------------------------------ the unit kind
def threads() -> int:
    """Threads for SentencePiece: the cores this process may use, at most 16."""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, min(16, usable))


class _PieceFit:
    """Trains SentencePiece on the pass-1 lines (a bounded random sample of them) once they are all read."""

    def __init__(self, vocab_size: int) -> None:
        self.vocab_size = vocab_size
        self.note = f"training a {vocab_size}-piece SentencePiece model"

    def add(self, lines: Sequence[str]) -> None:
        pass  # the trainer samples the pass-1 file itself

    def vocabulary(self, lines: Iterator[str]) -> SubwordVocabulary:
        try:
            return SubwordVocabulary.train(lines, self.vocab_size, threads=threads())
        except VocabularyError as exc:
            hint = "choose another --vocab-size (a small corpus supports only a small one)"
            raise VocabularyError(exc.message, hint=hint) from None


class SubwordUnits:
    """``units="subword"``: a ``vocab_size``-piece SentencePiece model trained on the corpus.

    Pieces are cut after encoding, so pass 1 keeps every character ``seq_len``
    pieces could span, and ``lines.txt`` gets the text of each row's pieces.
    """

    name = "subword"
    decoded_lines = True

    def key_settings(self, requested: Mapping[str, Any]) -> dict[str, Any]:
        return {"vocab_size": checked_size("vocab_size", requested.get("vocab_size"))}

    def pass1_chars(self, seq_len: int) -> int:
        return seq_len * MAX_PIECE_CHARS

    def start_fit(self, settings: Mapping[str, Any]) -> _PieceFit:
        return _PieceFit(int(settings["vocab_size"]))

    def chunk_lines(self, seq_len: int) -> int:
        # 8x the characters' chunk: enough lines per call to keep SentencePiece's threads busy.
        return max(1, ENCODE_CHUNK_IDS // seq_len) * 8

    def encode(self, vocab: SubwordVocabulary, lines: Sequence[str], seq_len: int, *, first_row: int = 0) -> np.ndarray:
        # SentencePiece's C++ encoder runs one thread per core.
        return vocab.encode_batch(lines, seq_len, threads=threads())


SUBWORD_UNITS = SubwordUnits()
