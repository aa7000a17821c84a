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
import hashlib
import json
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from torch import nn

from chargan.core.run import RunDirectory
from chargan.core.sampling import generate
from chargan.corpora.lines import chunked
from chargan.corpora.units import AnyVocabulary, CharCounts, SubwordVocabulary, Vocabulary
from chargan.errors import UserError
from chargan.text import HEADLINE
from chargan.text.config import EvalConfig
from chargan.text.ngrams import NgramError, NgramStats, ngram_js, ngram_stats

#: Lines encoded per chunk when building the character view of a subword corpus.
_CHUNK_LINES = 8192


def generate_ids(generator: nn.Module, n: int, seed: int | None = None, batch_size: int = 640,
                 across_ranks: bool = False) -> np.ndarray:
    """Argmax-decoded ids ``(n, seq_len)`` from ``n`` noise vectors (fixed by ``seed``).

    ``across_ranks``: split the work over the data-parallel ranks (see `generate`).
    """
    ids = generate(generator, n, seed, batch_size, transform=lambda probs: probs.argmax(dim=-1),
                   across_ranks=across_ranks).numpy()
    return ids.astype(np.uint8 if generator.vocab_size <= 256 else np.uint16)


@dataclass(frozen=True)
class ReferenceStats:
    """True-data n-gram statistics and the held-out floor."""

    stats: list[NgramStats]
    floor: dict[str, float]  # js<n> of a held-out slice against the rest


def reference_stats(
    ids: np.ndarray, vocab_size: int, config: EvalConfig, cache_dir: Path | None = None, tag: str = ""
) -> ReferenceStats:
    """N-gram statistics of ``ids`` ``(n_rows, seq_len)`` without a held-out slice, and the floor.

    The held-out slice (``config.samples`` random rows, fixed seed) is as
    large as the generated sample set, so the floor has the same sampling
    noise as the generator's figures. With ``cache_dir`` (the encoded
    corpus's cache folder, whose name already fixes the corpus content), the
    statistics are computed once and loaded from there afterwards.
    """
    folder = _reference_folder(cache_dir, len(ids), vocab_size, config, tag)
    cached = _load_reference(folder, config)
    if cached is not None:
        return cached
    n_rows = len(ids)
    held = min(config.samples, max(n_rows // 2, 1))
    picked = np.sort(np.random.default_rng(config.seed).choice(n_rows, size=held, replace=False))
    heldout = np.asarray(ids[picked])
    heldout_stats = ngram_stats(heldout, vocab_size, config.orders)
    rest = [_subtract(full, part) for full, part in zip(ngram_stats(ids, vocab_size, config.orders), heldout_stats)]
    result = ReferenceStats(rest, ngram_js(heldout, rest, vocab_size))
    if folder is not None:
        _save_reference(result, folder)
    return result


def _reference_folder(cache_dir: Path | None, rows: int, vocab_size: int, config: EvalConfig, tag: str) -> Path | None:
    if cache_dir is None:
        return None
    key = hashlib.sha256(json.dumps({"format": 1, "rows": rows, "vocab_size": vocab_size, "samples": config.samples,
                                     "orders": list(config.orders), "seed": config.seed, "tag": tag}).encode())
    return Path(cache_dir) / f"ngrams-{key.hexdigest()[:16]}"


def _load_reference(folder: Path | None, config: EvalConfig) -> ReferenceStats | None:
    if folder is None or not (folder / "floor.json").is_file():
        return None
    try:
        stats = [NgramStats.load(folder / f"order{n}.npz") for n in config.orders]
        return ReferenceStats(stats, json.loads((folder / "floor.json").read_text(encoding="utf-8")))
    except (NgramError, OSError, ValueError):
        return None  # damaged: the caller recomputes and replaces it


def _save_reference(result: ReferenceStats, folder: Path) -> None:
    """Write the statistics into a temporary folder, then rename it into place.

    It is a cache: where it cannot be written (a read-only corpus cache), the
    next run computes the statistics again.
    """
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    except OSError:
        return
    try:
        for stats in result.stats:
            stats.save(tmp / f"order{stats.order}.npz")
        (tmp / "floor.json").write_text(json.dumps(result.floor), encoding="utf-8")
        if folder.exists():
            shutil.rmtree(folder)
        tmp.rename(folder)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)


def _subtract(full: NgramStats, part: NgramStats) -> NgramStats:
    """Counts of ``full`` minus those of ``part`` (``part`` counted from a subset of ``full``'s rows)."""
    counts = full.counts.copy()
    counts[np.searchsorted(full.keys, part.keys)] -= part.counts
    keep = counts > 0
    return NgramStats(order=full.order, vocab_size=full.vocab_size, keys=full.keys[keep], counts=counts[keep])


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
        stats = _load_reference(_reference_folder(cache_dir, n_rows, len(cached), config, tag), config)
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
