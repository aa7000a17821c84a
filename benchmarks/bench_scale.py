"""Scale of the corpus layer: preparation memory and time vs corpus size, and
training speed on a small vs a large memory-mapped corpus.

    python benchmarks/bench_scale.py                       # prepare 100k, 1M, 3M lines; train on 100k vs 10M
    python benchmarks/bench_scale.py --prepare 100000 1000000 --train-sizes 100000 1000000
    python benchmarks/bench_scale.py --units subword --prepare 100000 1000000 --train-sizes

Part 1, preparation: for each size N, a corpus of N lines (the real Billion
Word sample repeated, as `bench_corpus.py` makes it) is encoded on an empty
cache in a child process; the child reports the seconds in `load_corpus` and
its peak RSS (``ru_maxrss``), next to a baseline child that only imports. A
least-squares line through the measured points extrapolates both to the full
benchmark's 30,301,028 training lines.

Part 2, training: the `cpu` preset trains on a corpus of each size (the same
lines repeated), in one process, alternating corpora in rounds so that
machine noise hits both alike. Reported: the median seconds of one
`RowSampler.sample(64)` draw (a random read of 64 rows of the memmap) and of
one whole generator iteration.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_corpus import write_corpus  # noqa: E402

from chargan.corpora.units import UNITS  # noqa: E402

FULL_CORPUS_LINES = 30_301_028

CHILD = r"""
import json, resource, sys, time
path, cache, units = sys.argv[1], sys.argv[2], sys.argv[3]
import numpy
import chargan.corpora
from chargan.corpora import load_corpus
out = {}
if path != "-":
    t = time.perf_counter()
    corpus = load_corpus(path, cache_dir=cache, units=units, max_lines=None, progress=False)
    out["load_s"] = time.perf_counter() - t
    out["n_lines"] = corpus.n_lines
    out["cache_mb"] = sum(p.stat().st_size for p in corpus.cache_path.iterdir()) / 1e6
out["maxrss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(out))
"""


def child(path: str, cache: Path, units: str) -> dict:
    proc = subprocess.run([sys.executable, "-c", CHILD, path, str(cache), units], capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"child failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def fit(xs: list[float], ys: list[float]) -> tuple[float, float]:
    """Least-squares ``y = a + b x``."""
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    b = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx if sxx else 0.0
    return my - b * mx, b


def prepare_part(sizes: list[int], work: Path, units: str) -> None:
    print(f"== preparation ({units} units): peak RSS and time of a first load_corpus")
    base = child("-", work / "cache-base", units)["maxrss_mb"]
    print(f"baseline (imports only): peak RSS {base:.1f} MB")
    print(f"{'lines':>12}{'text MB':>10}{'load s':>10}{'peak RSS MB':>14}{'above base MB':>15}{'cache MB':>10}")
    points = []
    for n in sizes:
        text = work / f"corpus-{n}.txt"
        size = write_corpus(text, n) if not text.exists() else text.stat().st_size
        cache = work / f"cache-prep-{units}-{n}"
        r = child(str(text), cache, units)
        points.append((n, r["load_s"], r["maxrss_mb"]))
        print(f"{n:>12,}{size / 1e6:>10.1f}{r['load_s']:>10.2f}{r['maxrss_mb']:>14.1f}"
              f"{r['maxrss_mb'] - base:>15.1f}{r['cache_mb']:>10.1f}")
        subprocess.run(["rm", "-rf", str(cache)], check=False)
    if units == "subword":
        from chargan.corpora.units import TRAIN_SAMPLE_LINES

        print(f"(subword: SentencePiece trains on a random sample of at most {TRAIN_SAMPLE_LINES:,} lines, so its "
              "memory stops growing there; the streaming passes add time, not memory)")
    elif len(points) >= 2:
        ns = [p[0] for p in points]
        a_t, b_t = fit(ns, [p[1] for p in points])
        a_m, b_m = fit(ns, [p[2] for p in points])
        print(f"extrapolated to the full corpus ({FULL_CORPUS_LINES:,} lines): "
              f"{a_t + b_t * FULL_CORPUS_LINES:,.0f} s, peak RSS {a_m + b_m * FULL_CORPUS_LINES:,.0f} MB "
              f"(slope {b_m * 1e6:.2f} MB per million lines)")


def train_part(sizes: list[int], work: Path, rounds: int, iterations: int) -> None:
    import torch

    from chargan import get_preset
    from chargan.core.data import RowSampler
    from chargan.core.trainer import Trainer
    from chargan.corpora import load_corpus
    from chargan.text.family import build_models, one_hot

    torch.set_num_threads(2)
    print(f"\n== training speed vs corpus size (`cpu` preset, {iterations} iterations x {rounds} rounds each)")
    config = get_preset("cpu")
    setups = []
    for n in sizes:
        text = work / f"corpus-{n}.txt"
        if not text.exists():
            write_corpus(text, n)
        t = time.perf_counter()
        corpus = load_corpus(text, cache_dir=work / "cache-train", max_lines=None, progress=False)
        print(f"{n:>12,} lines: corpus ready in {time.perf_counter() - t:.1f} s ({corpus.ids.nbytes / 1e6:.0f} MB of ids)")
        torch.manual_seed(0)
        generator, critic = build_models(config.model, len(corpus.vocab))
        vocab_size = len(corpus.vocab)
        sampler = RowSampler(corpus.ids, seed=0, transform=lambda ids, v=vocab_size: one_hot(ids, v))
        trainer = Trainer(generator, critic, sampler, config.train, progress=False)
        setups.append((n, sampler, trainer, [], []))
    for _ in range(rounds):
        for n, sampler, trainer, draw_s, iter_s in setups:
            for _ in range(200):
                t = time.perf_counter()
                sampler.sample(64)
                draw_s.append(time.perf_counter() - t)
            for _ in range(iterations):
                t = time.perf_counter()
                trainer.train_iteration()
                iter_s.append(time.perf_counter() - t)
    print(f"{'lines':>12}{'sample(64) ms':>16}{'iteration s':>14}")
    for n, _, _, draw_s, iter_s in setups:
        print(f"{n:>12,}{statistics.median(draw_s) * 1e3:>16.3f}{statistics.median(iter_s):>14.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--prepare", type=int, nargs="*", default=[100_000, 1_000_000, 3_000_000],
                        help="corpus sizes (lines) to prepare")
    parser.add_argument("--train-sizes", type=int, nargs="*", default=[100_000, 10_000_000],
                        help="corpus sizes (lines) to train on")
    parser.add_argument("--units", choices=UNITS, default="char")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--iterations", type=int, default=10, help="generator iterations per round")
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="chargan-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    print(f"python {sys.version.split()[0]}; work dir {work}")
    try:
        if args.prepare:
            prepare_part(args.prepare, work, args.units)
        if args.train_sizes:
            train_part(args.train_sizes, work, args.rounds, args.iterations)
    finally:
        if args.workdir is None:
            subprocess.run(["rm", "-rf", str(work)], check=False)


if __name__ == "__main__":
    main()
