"""Scoring generated text: character n-gram JS against the true data.

As in the reference: JS divergence (bits) between the n-gram distribution of
640 argmax-decoded samples and that of the corpus, n = 1..4, padding counted
as a character. The *floor* is the same figure for a held-out slice of real
lines of the same size: what a perfect generator would score.

Subword runs are scored on characters too, so that char and subword runs
compare on the same figures: samples are decoded to text and both they and
the corpus lines are cut to ``EvalConfig.chars`` characters (32, the char
model's length) and encoded with a character vocabulary of the corpus
(`CharProjection`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from torch import nn

from chargan.core.run import RunDirectory
from chargan.corpora.lines import chunked
from chargan.corpora.units import AnyVocabulary, CharCounts, SubwordVocabulary, Vocabulary
from chargan.errors import UserError
from chargan.sequence import reference
from chargan.sequence.decoding import generate_ids
from chargan.sequence.ngrams import NgramStats, ngram_js
from chargan.sequence.reference import ReferenceStats
from chargan.text import HEADLINE
from chargan.text.config import EvalConfig

__all__ = ["CharProjection", "ReferenceStats", "TextEvaluator", "generate_ids", "reference_stats", "score_ids",
           "subword_reference"]

#: Lines encoded per chunk when building the character view of a subword corpus.
_CHUNK_LINES = 8192


def reference_stats(
    ids: np.ndarray, vocab_size: int, config: EvalConfig, cache_dir: Path | None = None, tag: str = ""
) -> ReferenceStats:
    """N-gram statistics of ``ids`` ``(n_rows, seq_len)`` without a held-out slice of ``config.samples`` rows,
    and the floor (`chargan.sequence.reference.reference_stats`, cached in ``cache_dir``)."""
    return reference.reference_stats(ids, vocab_size, config.samples, config.orders, config.seed, cache_dir, tag)


@dataclass(frozen=True)
class CharProjection:
    """Subword ids -> character ids of the decoded text, for n-gram scoring.

    ``chars`` is a character vocabulary of the corpus; ``length`` the number
    of characters scored per sample.
    """

    pieces: SubwordVocabulary
    chars: Vocabulary
    length: int

    def __call__(self, ids: np.ndarray) -> np.ndarray:
        """``(batch, seq_len)`` piece ids -> ``(batch, length)`` character ids."""
        return self.chars.encode_batch(self.pieces.decode_batch(ids), self.length)


def subword_reference(
    lines: Callable[[], Iterator[str]],
    n_rows: int,
    pieces: SubwordVocabulary,
    config: EvalConfig,
    cache_dir: Path | None = None,
) -> tuple[ReferenceStats, CharProjection]:
    """The character reference of a subword corpus and the projection that matches it.

    ``lines()`` streams the corpus lines as encoded (the text of their
    pieces). Each is cut to ``config.chars`` characters; the characters are
    counted in one pass (the vocabulary: the 2048 most frequent) and encoded
    in a second. The vocabulary is cached beside the statistics.
    """
    tag = f"chars{config.chars}-{pieces.digest()[:16]}"
    cached = _cached_char_vocabulary(cache_dir, tag)
    if cached is not None:
        stats = reference.cached_reference(cache_dir, n_rows, len(cached), config.samples, config.orders,
                                           config.seed, tag)
        if stats is not None:
            return stats, CharProjection(pieces, cached, config.chars)
    counts = CharCounts()
    for chunk in chunked(lines(), _CHUNK_LINES):
        counts.add("".join(line[: config.chars] for line in chunk))
    chars = counts.vocabulary()
    ids = np.concatenate([chars.encode_batch(chunk, config.chars) for chunk in chunked(lines(), _CHUNK_LINES)])
    result = reference_stats(ids, len(chars), config, cache_dir, tag)
    if cache_dir is not None:
        with contextlib.suppress(OSError):
            chars.save(Path(cache_dir) / f"chars-{tag}.json")
    return result, CharProjection(pieces, chars, config.chars)


def _cached_char_vocabulary(cache_dir: Path | None, tag: str) -> Vocabulary | None:
    path = None if cache_dir is None else Path(cache_dir) / f"chars-{tag}.json"
    if path is None or not path.is_file():
        return None
    try:
        return Vocabulary.load(path)
    except UserError:
        return None


class TextEvaluator:
    """The trainer's evaluation callback: JS-1..4 of fresh samples, and a samples file.

    ``projection`` (subword runs) maps generated ids to the character ids the
    reference statistics count. Under torchrun every rank calls it
    (``across_ranks``) and generates its share of the samples; rank 0 writes.
    """

    across_ranks = True
    curves_label = "Jensen-Shannon divergence (bits)"  # the metrics plot's y axis
    headline = HEADLINE  # the figure the progress bar shows (the family's one constant)

    def __init__(
        self,
        reference: ReferenceStats,
        vocab: AnyVocabulary,
        config: EvalConfig,
        run: RunDirectory | None,
        projection: CharProjection | None = None,
    ) -> None:
        self.reference = reference
        self.vocab = vocab
        self.config = config
        self.run = run
        self.projection = projection
        self.last_samples: list[str] = []  # the newest evaluation's decoded samples, for loggers

    def __call__(self, generator: nn.Module, iteration: int) -> dict[str, float]:
        ids = generate_ids(generator, self.config.samples, seed=self.config.seed, across_ranks=True)
        metrics = score_ids(ids, self.reference.stats, self.vocab, self.projection)
        self.last_samples = self.vocab.decode_batch(ids)
        if self.run is not None:
            self.run.write_samples(iteration, self.last_samples)
        return metrics


def score_ids(
    ids: np.ndarray, stats: list[NgramStats], vocab: AnyVocabulary, projection: CharProjection | None = None
) -> dict[str, float]:
    """JS-n of generated ``(n, seq_len)`` ids against reference ``stats`` (on characters)."""
    if projection is None:
        return ngram_js(ids, stats, len(vocab))
    return ngram_js(projection(ids), stats, len(projection.chars))
