"""Scoring generated genes and peptides against their corpus, at each evaluation and by `chargan eval`.

Per evaluation (640 argmax-decoded samples by default):

- ``js1`` .. ``js6``: k-mer JS divergence (bits) against the training rows,
  by the text family's vectorized n-gram code (`chargan.sequence.ngrams`);
  k-mers holding padding are left out (the lengths are scored apart), and
  samples with no k-mer of an order at all (all padding) score 1.0 there;
- ``valid_gene`` (DNA alphabets, `is_dna`): the fraction of valid genes
  (`chargan.genes.biology`);
- ``novelty_mean``, ``novelty_median``, ``novelty_copies``: each sample's
  edit distance to its nearest training sequence (``eval.novelty_train`` of
  them, drawn from every row the generator trains on, the held-out slice's
  included), and the fraction of exact copies (`chargan.genes.metrics`);
- ``length_js`` and ``length_mean``: the lengths after stripping padding,
  their JS divergence against the training lengths;
- ``composition_js``: the symbol composition (padding left out) against the
  training rows': the amino-acid composition for proteins, the base
  composition (GC content among it) for DNA.

Each has a *floor*: the same figure for a held-out slice of real rows as
large as the sample set, scored against the rest, i.e. what a perfect
generator would score (``floor_<metric>``, logged at iteration 0). The
novelty floor scores the held-out real sequences against a set of the same
size drawn from the rest only: fresh real genes, none of them in the set.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from torch import nn

from chargan.core.run import RunDirectory
from chargan.corpora.units import PAD_ID, Alphabet
from chargan.genes import HEADLINE
from chargan.genes.biology import valid_gene_fraction
from chargan.genes.config import EvalConfig
from chargan.genes.metrics import histogram_js, length_histogram, lengths, novelty, symbol_histogram
from chargan.sequence.decoding import generate_ids
from chargan.sequence.ngrams import ngram_js
from chargan.sequence.reference import ReferenceStats, heldout_rows, reference_stats

#: Rows read per chunk when counting a corpus's lengths and symbols.
_CHUNK_ROWS = 1 << 16


#: Symbols a DNA alphabet may hold: the bases and N (any base).
_DNA_SYMBOLS = frozenset("ACGTN")


def is_dna(alphabet: Alphabet) -> bool:
    """Whether the valid-gene figure applies: the ``dna`` alphabet, or custom symbols all among A, C, G, T, N.

    Holding A, C, G and T is not enough: those letters are amino acids too, so a protein alphabet holds them.
    """
    return alphabet.name == "dna" or set(alphabet.symbols) - {alphabet.pad} <= _DNA_SYMBOLS


@dataclass(frozen=True)
class GenesReference:
    """What samples are scored against: the training rows' k-mers, lengths and composition, the novelty set,
    and the floors of a held-out slice."""

    alphabet: Alphabet
    ngrams: ReferenceStats
    train: list[str]  # the novelty set: training sequences drawn from all rows (held-out ones too), decoded
    lengths: np.ndarray  # (seq_len + 1,) counts of the training rows' lengths
    symbols: np.ndarray  # (len(alphabet) - 1,) counts of the training rows' symbols
    floor: dict[str, float] = field(default_factory=dict)


def genes_reference(ids: np.ndarray, alphabet: Alphabet, config: EvalConfig, cache_dir: Path | None = None,
                    samples: int | None = None, train_ids: np.ndarray | None = None) -> GenesReference:
    """The reference of encoded rows ``ids`` ``(n, seq_len)`` with its floors.

    ``samples`` (default ``config.samples``) rows are held out; the k-mer
    statistics are cached in ``cache_dir`` (the corpus's cache folder). The
    novelty set and its floor come from ``train_ids`` ``(m, seq_len)``, the
    rows the generator trained on (default: ``ids``; `chargan eval
    --reference` scores k-mers, lengths and composition against another file,
    but copies against the run's own corpus).
    """
    samples = config.samples if samples is None else samples
    n = len(ids)
    ngrams = reference_stats(ids, len(alphabet), samples, config.orders, config.seed, cache_dir, tag="genes",
                             skip=PAD_ID)
    held = heldout_rows(n, samples, config.seed)
    rest = np.ones(n, dtype=bool)
    rest[held] = False
    lengths_hist = np.zeros(ids.shape[1] + 1, dtype=np.int64)
    symbols = np.zeros(len(alphabet) - 1, dtype=np.int64)
    for start in range(0, n, _CHUNK_ROWS):
        chunk = np.asarray(ids[start:start + _CHUNK_ROWS])[rest[start:start + _CHUNK_ROWS]]
        lengths_hist += length_histogram(chunk)
        symbols += symbol_histogram(chunk, len(alphabet))
    reference = GenesReference(alphabet, ngrams, [], lengths_hist, symbols)  # no novelty set yet: its floor is apart
    floor = {k: v for k, v in score_ids(np.asarray(ids[held]), reference).items() if not k.startswith("js")}
    train, novelty_floor = novelty_reference(ids if train_ids is None else train_ids, alphabet, config, samples)
    return replace(reference, train=train, floor={**ngrams.floor, **floor, **novelty_floor})


def novelty_reference(ids: np.ndarray, alphabet: Alphabet, config: EvalConfig,
                      samples: int) -> tuple[list[str], dict[str, float]]:
    """The novelty set of training rows ``ids`` ``(n, seq_len)``, decoded, and its floor.

    The set is ``config.novelty_train`` rows drawn from all of ``ids``: the
    generator trains on every row, so a copy of a held-out one is a copy too.
    The floor is the held-out slice (`heldout_rows`) scored against as many
    rows drawn from the rest only, i.e. against a set that holds none of them.
    """
    n = len(ids)
    if not config.novelty_train or n < 2:
        return [], {}
    rng = np.random.default_rng(config.seed + 1)
    size = min(config.novelty_train, n)
    train = alphabet.decode_batch(np.asarray(ids[np.sort(rng.choice(n, size=size, replace=False))]))
    held = heldout_rows(n, samples, config.seed)
    rest = np.ones(n, dtype=bool)
    rest[held] = False
    pool = np.flatnonzero(rest)
    others = np.sort(rng.choice(pool, size=min(size, len(pool)), replace=False))
    floor = novelty(alphabet.decode_batch(np.asarray(ids[held])), alphabet.decode_batch(np.asarray(ids[others])))
    return train, floor


def score_ids(ids: np.ndarray, reference: GenesReference) -> dict[str, float]:
    """Every figure of the module docstring for ``(n, seq_len)`` generated (or held-out) ids."""
    alphabet = reference.alphabet
    sequences = alphabet.decode_batch(ids)
    metrics = ngram_js(ids, reference.ngrams.stats, len(alphabet), skip=PAD_ID)
    if is_dna(alphabet):
        metrics["valid_gene"] = valid_gene_fraction(sequences)
    if reference.train:
        metrics.update(novelty(sequences, reference.train))
    metrics["length_js"] = histogram_js(length_histogram(ids), reference.lengths)
    metrics["length_mean"] = float(lengths(ids).mean())
    symbols = symbol_histogram(ids, len(alphabet))
    metrics["composition_js"] = histogram_js(symbols, reference.symbols) if symbols.sum() else 1.0
    return metrics


class GenesEvaluator:
    """The trainer's evaluation callback: the figures of `score_ids` for fresh samples, and a samples file.

    Under torchrun every rank calls it (``across_ranks``) and generates its
    share of the samples; rank 0 writes.
    """

    across_ranks = True
    curves_label = "JS divergence (bits) / fraction"
    headline = HEADLINE

    def __init__(self, reference: GenesReference, config: EvalConfig, run: RunDirectory | None) -> None:
        self.reference = reference
        self.config = config
        self.run = run
        orders = tuple(f"js{n}" for n in config.orders)
        extra = ("valid_gene",) if is_dna(reference.alphabet) else ()
        novel = ("novelty_copies",) if reference.train else ()
        self.curves = (*orders, *extra, "length_js", "composition_js", *novel)
        self.last_samples: list[str] = []

    def __call__(self, generator: nn.Module, iteration: int) -> dict[str, float]:
        ids = generate_ids(generator, self.config.samples, seed=self.config.seed, across_ranks=True)
        metrics = score_ids(ids, self.reference)
        self.last_samples = self.reference.alphabet.decode_batch(ids)
        if self.run is not None:
            self.run.write_samples(iteration, self.last_samples)
        return metrics


def floor_record(reference: GenesReference) -> dict[str, Any]:
    """The first metrics record of a run: every floor, as ``floor_<metric>``."""
    return {f"floor_{k}": v for k, v in reference.floor.items()}
