"""Scoring generated text: character n-gram JS against the true data.

As in the reference: JS divergence (bits) between the n-gram distribution of
640 argmax-decoded samples and that of the corpus, n = 1..4, padding counted
as a character. The *floor* is the same figure for a held-out slice of real
lines of the same size: what a perfect generator would score.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from chargan.core.run import RunDirectory
from chargan.text.config import EvalConfig
from chargan.text.ngrams import NgramError, NgramStats, ngram_js, ngram_stats
from chargan.text.vocab import Vocabulary


def generate_ids(generator: nn.Module, n: int, seed: int | None = None, batch_size: int = 640) -> np.ndarray:
    """Argmax-decoded ids ``(n, seq_len)`` from ``n`` noise vectors (fixed by ``seed``)."""
    device = next(generator.parameters()).device
    rng = torch.Generator(device=device)
    if seed is None:
        rng.seed()
    else:
        rng.manual_seed(seed)
    was_training = generator.training
    generator.eval()
    chunks = []
    with torch.no_grad():
        for start in range(0, n, batch_size):
            z = torch.randn(min(batch_size, n - start), generator.latent_dim, device=device, generator=rng)
            chunks.append(generator(z).argmax(dim=-1).cpu())
    generator.train(was_training)
    ids = torch.cat(chunks).numpy()
    return ids.astype(np.uint8 if generator.vocab_size <= 256 else np.uint16)


@dataclass(frozen=True)
class ReferenceStats:
    """True-data n-gram statistics and the held-out floor."""

    stats: list[NgramStats]
    floor: dict[str, float]  # js<n> of a held-out slice against the rest


def reference_stats(
    ids: np.ndarray, vocab_size: int, config: EvalConfig, cache_dir: Path | None = None
) -> ReferenceStats:
    """N-gram statistics of ``ids`` ``(n_rows, seq_len)`` without a held-out slice, and the floor.

    The held-out slice (``config.samples`` random rows, fixed seed) is as
    large as the generated sample set, so the floor has the same sampling
    noise as the generator's figures. With ``cache_dir`` (the encoded
    corpus's cache folder, whose name already fixes the corpus content), the
    statistics are computed once and loaded from there afterwards.
    """
    key = hashlib.sha256(json.dumps({"format": 1, "rows": len(ids), "vocab_size": vocab_size, "samples": config.samples,
                                     "orders": list(config.orders), "seed": config.seed}).encode()).hexdigest()[:16]
    folder = None if cache_dir is None else Path(cache_dir) / f"ngrams-{key}"
    if folder is not None and (folder / "floor.json").is_file():
        try:
            stats = [NgramStats.load(folder / f"order{n}.npz") for n in config.orders]
            return ReferenceStats(stats, json.loads((folder / "floor.json").read_text(encoding="utf-8")))
        except (NgramError, OSError, ValueError):
            pass  # damaged: recompute and replace it below
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


class TextEvaluator:
    """The trainer's evaluation callback: JS-1..4 of fresh samples, and a samples file."""

    def __init__(self, reference: ReferenceStats, vocab: Vocabulary, config: EvalConfig, run: RunDirectory | None) -> None:
        self.reference = reference
        self.vocab = vocab
        self.config = config
        self.run = run

    def __call__(self, generator: nn.Module, iteration: int) -> dict[str, float]:
        ids = generate_ids(generator, self.config.samples, seed=self.config.seed)
        metrics = ngram_js(ids, self.reference.stats, len(self.vocab))
        if self.run is not None:
            self.run.write_samples(iteration, self.vocab.decode_batch(ids))
        return metrics
