"""Every unit kind by name, the kinds the corpus loader accepts, and reading any saved vocabulary."""

from __future__ import annotations

from pathlib import Path

from chargan.corpora.errors import CorpusError
from chargan.corpora.units.alphabet import ALPHABET_UNITS, Alphabet
from chargan.corpora.units.alphabet import FORMAT as ALPHABET_FORMAT
from chargan.corpora.units.base import UnitKind
from chargan.corpora.units.chars import CHAR_UNITS, Vocabulary, read_vocabulary_file
from chargan.corpora.units.pieces import FORMAT as SUBWORD_FORMAT
from chargan.corpora.units.pieces import SUBWORD_UNITS, SubwordVocabulary

#: Every kind the cache build can encode with, by its settings name.
KINDS: dict[str, UnitKind] = {kind.name: kind for kind in (CHAR_UNITS, SUBWORD_UNITS, ALPHABET_UNITS)}
#: The unit kinds `chargan.corpora.load_corpus` accepts: the one list of choices.
#: ``alphabet`` is left out: nothing yet says which alphabet a text corpus spec means.
UNITS: tuple[str, ...] = ("char", "subword")


def unit_kind(name: str) -> UnitKind:
    """The kind called ``name`` (any of `KINDS`, not only `UNITS`)."""
    try:
        return KINDS[name]
    except KeyError:
        raise CorpusError(f"units must be one of {', '.join(UNITS)}, got {name!r}") from None


def load_vocabulary(path: str | Path) -> Vocabulary | SubwordVocabulary | Alphabet:
    """Any vocabulary saved by its ``save``, told apart by its format tag.

    A file of no known format is read as a character vocabulary, whose
    error says what was expected.
    """
    data = read_vocabulary_file(path)
    tag = data.get("format") if isinstance(data, dict) else None
    if tag == SUBWORD_FORMAT:
        return SubwordVocabulary.from_json(data)
    if tag == ALPHABET_FORMAT:
        return Alphabet.from_json(data)
    return Vocabulary.from_json(data)
