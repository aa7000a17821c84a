"""Benchmark: vectorized n-gram JS evaluation vs the reference's Python dicts.

Builds ``--lines`` lines by replicating the real Billion Word sample in
``../shared/corpora/billion_word/*.txt`` (random sentences if it is absent),
then times

  (a) building the true-data n-gram statistics, n = 1..4, and
  (b) one evaluation of ``--samples`` generated lines against them (the JS
      divergence the reference logs as js1..js4),

with chargan (`chargan.text.ngrams`) and with the reference's approach
(caogang/wgan-gp ``language_helpers.NgramLanguageModel``: a Python dict of
character-tuple n-grams over lines padded with '`', JS by looping over the
true model's unique n-grams). Both must give the same JS values; the script
checks it. Copy rate and word hit rate are timed as extras.

    python benchmarks/bench_ngrams.py --lines 1000000
"""

from __future__ import annotations

import argparse
import collections
import glob
import math
import os
import platform
import time
from pathlib import Path

import numpy as np

from chargan.corpora.units import Vocabulary
from chargan.text.metrics import copy_rate, word_hit_rate, word_set
from chargan.text.ngrams import ngram_js, ngram_stats

REPO = Path(__file__).resolve().parents[1]
CORPUS_GLOB = str(REPO.parent / "shared" / "corpora" / "billion_word" / "*.txt")
PAD_CHAR = "`"  # the reference pads lines with a backtick


# ---------------------------------------------------------------- reference
class DictNgramModel:
    """The reference's NgramLanguageModel (character mode), ported to Python 3."""

    def __init__(self, n: int, samples: list[tuple[str, ...]]) -> None:
        self._n = n
        self._ngram_counts: collections.defaultdict = collections.defaultdict(int)
        self._total_ngrams = 0
        for sample in samples:
            for i in range(len(sample) - n + 1):
                self._ngram_counts[sample[i : i + n]] += 1
                self._total_ngrams += 1

    def unique_ngrams(self) -> set:
        return set(self._ngram_counts.keys())

    def log_likelihood(self, ngram: tuple[str, ...]) -> float:
        if ngram not in self._ngram_counts:
            return -np.inf
        return np.log(self._ngram_counts[ngram]) - np.log(self._total_ngrams)

    def js_with(self, p: DictNgramModel) -> float:
        with np.errstate(divide="ignore", invalid="ignore"):
            log_p = np.array([p.log_likelihood(g) for g in p.unique_ngrams()])
            log_q = np.array([self.log_likelihood(g) for g in p.unique_ngrams()])
            log_m = np.logaddexp(log_p - np.log(2), log_q - np.log(2))
            kl_p_m = np.sum(np.exp(log_p) * (log_p - log_m))

            log_p = np.array([p.log_likelihood(g) for g in self.unique_ngrams()])
            log_q = np.array([self.log_likelihood(g) for g in self.unique_ngrams()])
            log_m = np.logaddexp(log_p - np.log(2), log_q - np.log(2))
            # 0 * (-inf) terms are NaN in the reference too; nansum keeps them at 0
            kl_q_m = np.nansum(np.exp(log_q) * (log_q - log_m))
        return float(0.5 * (kl_p_m + kl_q_m) / np.log(2))


def pad_tuple(line: str, seq_len: int) -> tuple[str, ...]:
    line = line[:seq_len]
    return tuple(line) + (PAD_CHAR,) * (seq_len - len(line))


# -------------------------------------------------------------------- data
def load_lines(n_lines: int, seed: int) -> tuple[list[str], str]:
    files = sorted(glob.glob(CORPUS_GLOB))
    base: list[str] = []
    for path in files:
        with open(path, encoding="utf-8") as f:
            base.extend(line.rstrip("\n") for line in f)
    base = [line for line in base if line and PAD_CHAR not in line]  # backtick is the reference's pad
    if base:
        source = f"{len(base)} real lines from {os.path.dirname(files[0])}, replicated"
    else:
        rng = np.random.default_rng(seed)
        words = ["the", "of", "and", "to", "a", "in", "is", "was", "he", "for", "it", "with", "as", "his", "on",
                 "be", "at", "by", "I", "had", "year", "market", "said", "new", "people", ",", "."]
        base = [" ".join(rng.choice(words, size=rng.integers(4, 20))) for _ in range(20000)]
        source = f"{len(base)} random sentences (corpus not found at {CORPUS_GLOB}), replicated"
    reps = math.ceil(n_lines / len(base))
    return (base * reps)[:n_lines], source


def make_samples(lines: list[str], n: int, seed: int) -> list[str]:
    """Stand-in generator output: real lines with ~10% of characters replaced."""
    rng = np.random.default_rng(seed)
    alphabet = "abcdefghijklmnopqrstuvwxyz ,.'"
    out = []
    for i in rng.integers(0, len(lines), n):
        chars = list(lines[i])
        for j in np.flatnonzero(rng.random(len(chars)) < 0.1):
            chars[j] = alphabet[rng.integers(len(alphabet))]
        out.append("".join(chars))
    return out


def timed(fn):
    t0 = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - t0


# -------------------------------------------------------------------- main
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=1_000_000, help="true-data lines (default 1M)")
    parser.add_argument("--samples", type=int, default=640, help="generated lines per evaluation")
    parser.add_argument("--seq-len", type=int, default=32)
    parser.add_argument("--orders", type=int, nargs="+", default=[1, 2, 3, 4])
    parser.add_argument("--skip-dict", action="store_true", help="time chargan only")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cpus, numpy {np.__version__}")
    lines, source = load_lines(args.lines, args.seed)
    samples_text = make_samples(lines, args.samples, args.seed + 1)
    print(f"data: {len(lines):,} lines ({source}), seq_len {args.seq_len}, "
          f"{args.samples} samples, orders {args.orders}")

    # ------------------------------------------------------------ chargan
    vocab, t_vocab = timed(lambda: Vocabulary.from_lines(lines))
    true_ids, t_enc = timed(lambda: vocab.encode_batch(lines, args.seq_len))
    print(f"\nchargan: vocabulary ({len(vocab)} ids) {t_vocab:.2f} s, "
          f"encode {t_enc:.2f} s -> {true_ids.shape} {true_ids.dtype}")
    true_stats, t_build = timed(lambda: ngram_stats(true_ids, len(vocab), orders=args.orders))
    for s in true_stats:
        print(f"  {s.order}-grams: {len(s):>9,} distinct of {s.total:,}")
    sample_ids = vocab.encode_batch(samples_text, args.seq_len)
    ngram_js(sample_ids, true_stats, len(vocab))  # warm-up (imports, caches)
    reps = 20
    _, t_eval_total = timed(lambda: [ngram_js(sample_ids, true_stats, len(vocab)) for _ in range(reps)])
    js_fast = ngram_js(sample_ids, true_stats, len(vocab))
    t_eval = t_eval_total / reps
    print(f"  (a) build true stats n={args.orders}: {t_build:8.3f} s")
    print(f"  (b) evaluate {args.samples} samples:     {t_eval:8.4f} s  (mean of {reps})")
    print("  JS:", {k: round(v, 4) for k, v in js_fast.items()})

    # extras: copy rate and word hit rate for the same evaluation
    cr, t_copy = timed(lambda: copy_rate(sample_ids, true_ids))
    true_rows = true_ids[:: max(1, len(true_ids) // args.samples)][: args.samples]
    cr_copies = copy_rate(true_rows, true_ids)  # sanity: real rows are all copies
    words, t_words = timed(lambda: word_set(lines))
    whr, t_whr = timed(lambda: word_hit_rate(vocab.decode_batch(sample_ids), words))
    print(f"  extra: copy_rate over {len(true_ids):,} rows {t_copy:.3f} s "
          f"(rate {cr:.3f}; on true rows {cr_copies:.3f})")
    print(f"  extra: word_set of {len(lines):,} lines {t_words:.3f} s ({len(words):,} words), "
          f"word_hit_rate {t_whr:.4f} s (rate {whr:.3f})")

    if args.skip_dict:
        return

    # ---------------------------------------------------------- reference
    padded, t_pad = timed(lambda: [pad_tuple(line, args.seq_len) for line in lines])
    print(f"\ndict (reference): pad lines to tuples {t_pad:.2f} s")
    dict_lms, t_dict_build = timed(lambda: [DictNgramModel(n, padded) for n in args.orders])
    sample_tuples = [pad_tuple(line, args.seq_len) for line in samples_text]
    js_dict, t_dict_eval = timed(
        lambda: {f"js{n}": DictNgramModel(n, sample_tuples).js_with(lm) for n, lm in zip(args.orders, dict_lms)}
    )
    print(f"  (a) build true stats n={args.orders}: {t_dict_build:8.3f} s")
    print(f"  (b) evaluate {args.samples} samples:     {t_dict_eval:8.4f} s")
    print("  JS:", {k: round(v, 4) for k, v in js_dict.items()})

    diff = max(abs(js_fast[k] - js_dict[k]) for k in js_fast)
    print(f"\nmax |JS chargan - JS dict| = {diff:.2e}")
    print(f"speed-up (a) build: {t_dict_build / t_build:7.1f}x   ({t_dict_build:.2f} s -> {t_build:.2f} s)")
    print(f"speed-up (b) eval:  {t_dict_eval / t_eval:7.1f}x   ({t_dict_eval:.3f} s -> {t_eval:.4f} s)")
    assert diff < 1e-9, "chargan and the dict reference disagree"


if __name__ == "__main__":
    main()
