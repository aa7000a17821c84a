"""Units: how lines become rows of ids, for every family (the data side of the seam).

    from chargan.corpora.units import Vocabulary, SubwordVocabulary, Alphabet, load_vocabulary, UNITS

- `Vocabulary` (``chars``): characters fitted to a corpus, most frequent first;
- `SubwordVocabulary` (``pieces``): a SentencePiece model trained on a corpus;
- `Alphabet` (``alphabet``): a fixed alphabet (DNA, RNA, protein, or any symbols).

Each vocabulary keeps id 0 for padding and saves to a JSON file that
`load_vocabulary` reads back by its format tag. `UNITS` lists the unit kinds
`chargan.corpora.load_corpus` accepts; `chargan.corpora.units.base` is the
protocol the cache build talks to a kind through.
"""

from chargan.corpora.units.alphabet import ALPHABETS, Alphabet
from chargan.corpora.units.base import MAX_VOCAB_LIMIT, UnitFit, UnitKind, UnitVocabulary
from chargan.corpora.units.chars import (
    PAD_ID,
    UNK_DISPLAY,
    UNK_ID,
    CharCounts,
    Vocabulary,
    VocabularyError,
    read_vocabulary_file,
)
from chargan.corpora.units.pieces import MAX_PIECE_CHARS, TRAIN_SAMPLE_LINES, AnyVocabulary, SubwordVocabulary
from chargan.corpora.units.registry import KINDS, UNITS, load_vocabulary, unit_kind

__all__ = [
    "ALPHABETS",
    "KINDS",
    "MAX_PIECE_CHARS",
    "MAX_VOCAB_LIMIT",
    "PAD_ID",
    "TRAIN_SAMPLE_LINES",
    "UNITS",
    "UNK_DISPLAY",
    "UNK_ID",
    "Alphabet",
    "AnyVocabulary",
    "CharCounts",
    "SubwordVocabulary",
    "UnitFit",
    "UnitKind",
    "UnitVocabulary",
    "Vocabulary",
    "VocabularyError",
    "load_vocabulary",
    "read_vocabulary_file",
    "unit_kind",
]
