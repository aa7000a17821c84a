"""Benchmark the corpus layer: first load (encode + write cache) vs cached load.

    python benchmarks/bench_corpus.py                # 1,000,000 lines
    python benchmarks/bench_corpus.py --lines 200000 --seq-len 64

Builds a text corpus of N lines by repeating the real One Billion Word sample
(``../shared/corpora/billion_word/*.txt``; generated sentences when absent),
then runs each phase in its own subprocess so peak RSS is per phase:

* baseline: ``import numpy, chargan.corpora`` only;
* first:    `load_corpus` on an empty cache (two streaming passes, writes the cache);
* cached:   `load_corpus` again (opens the memmap);
* scan:     cached load, then read every row of ``ids`` and stream every line of
            ``lines()`` (mapped pages of ``ids.npy`` count in RSS once touched: they
            are the kernel's page cache, shared and reclaimable, not heap).

Reports, per phase, the seconds spent in `load_corpus`, the wall time of the
whole child process (interpreter start and imports included), peak RSS
(``ru_maxrss``) and peak RSS above the baseline. Targets for 1M lines:
cached load under 2 s and under 64 MB above the baseline.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SAMPLE_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "corpora" / "billion_word"

CHILD = r"""
import json, resource, sys, time
phase, path, cache, seq_len = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
import numpy
import chargan.corpora
from chargan.corpora import load_corpus
out = {"phase": phase}
if phase != "baseline":
    t = time.perf_counter()
    corpus = load_corpus(path, cache_dir=cache, seq_len=seq_len, progress=False)
    out["load_s"] = time.perf_counter() - t
    out["n_lines"] = corpus.n_lines
    out["shape"] = list(corpus.ids.shape)
    out["dtype"] = str(corpus.ids.dtype)
    out["vocab"] = len(corpus.vocab)
    out["cache_mb"] = sum(p.stat().st_size for p in corpus.cache_path.iterdir()) / 1e6
    if phase == "scan":  # touch every row, then stream every line
        t = time.perf_counter()
        total = sum(int(corpus.ids[i : i + 65536].sum(dtype="int64")) for i in range(0, corpus.n_lines, 65536))
        out["scan_ids_s"] = time.perf_counter() - t
        t = time.perf_counter()
        out["n_text_lines"] = sum(1 for _ in corpus.lines())
        out["scan_lines_s"] = time.perf_counter() - t
with open("/proc/self/statm") as f:
    out["rss_now_mb"] = int(f.read().split()[1]) * resource.getpagesize() / 2**20
out["maxrss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB
print(json.dumps(out))
"""


def sample_lines() -> list[bytes]:
    files = sorted(SAMPLE_DIR.glob("news.en.heldout-*.txt"))
    if files:
        return [line for f in files for line in f.read_bytes().splitlines() if line.strip()]
    rng = random.Random(0)
    words = "the of and to a in for is on that by with said it was as at from he his but be have has".split()
    return [(" ".join(rng.choice(words) for _ in range(rng.randint(4, 40))) + " .").encode() for _ in range(20000)]


def write_corpus(path: Path, n_lines: int) -> int:
    lines = sample_lines()
    written = 0
    with open(path, "wb") as f:
        while written < n_lines:
            chunk = lines[: n_lines - written]
            f.write(b"\n".join(chunk) + b"\n")
            written += len(chunk)
    return path.stat().st_size


def run_phase(phase: str, path: Path, cache: Path, seq_len: int) -> dict:
    t = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, phase, str(path), str(cache), str(seq_len)],
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - t
    if proc.returncode != 0:
        sys.exit(f"phase {phase} failed:\n{proc.stderr}")
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    out["process_s"] = wall
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=1_000_000, help="corpus size in lines (default 1,000,000)")
    parser.add_argument("--seq-len", type=int, default=32)
    parser.add_argument(
        "--workdir", type=Path, default=None, help="where to put the corpus and cache (default: a temp dir)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the work dir")
    parser.add_argument("--repeat", type=int, default=3, help="cached-load repetitions (best and worst are shown)")
    args = parser.parse_args()

    work = args.workdir or Path(tempfile.mkdtemp(prefix="chargan-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        text = work / "corpus.txt"
        cache = work / "cache"
        shutil.rmtree(cache, ignore_errors=True)
        t = time.perf_counter()
        size = write_corpus(text, args.lines)
        took = time.perf_counter() - t
        print(f"corpus: {args.lines:,} lines, {size / 1e6:,.1f} MB of text ({text}); written in {took:.1f} s")
        print(f"python {sys.version.split()[0]}, seq_len {args.seq_len}")

        base = run_phase("baseline", text, cache, args.seq_len)
        first = run_phase("first", text, cache, args.seq_len)
        cached = [run_phase("cached", text, cache, args.seq_len) for _ in range(max(1, args.repeat))]
        scan = run_phase("scan", text, cache, args.seq_len)

        print(
            f"encoded: shape {tuple(first['shape'])} {first['dtype']}, vocab {first['vocab']}, "
            f"cache {first['cache_mb']:.1f} MB on disk"
        )
        print()
        print(f"{'phase':<10}{'load_corpus s':>15}{'process s':>12}{'peak RSS MB':>14}{'above baseline MB':>20}")
        rows = [("baseline", base), ("first", first)] + [(f"cached #{i + 1}", c) for i, c in enumerate(cached)]
        rows.append(("scan", scan))
        for name, r in rows:
            load = f"{r['load_s']:.3f}" if "load_s" in r else "-"
            above = r["maxrss_mb"] - base["maxrss_mb"]
            print(f"{name:<10}{load:>15}{r['process_s']:>12.2f}{r['maxrss_mb']:>14.1f}{above:>20.1f}")
        best = min(c["load_s"] for c in cached)
        worst_rss = max(c["maxrss_mb"] for c in cached) - base["maxrss_mb"]
        print()
        print(
            f"cached load: {best:.3f} s (target < 2 s: {'ok' if best < 2 else 'MISSED'}), "
            f"{worst_rss:.1f} MB above baseline (target < 64 MB: {'ok' if worst_rss < 64 else 'MISSED'})"
        )
        print(
            f"first load: {first['load_s']:.1f} s, {args.lines / first['load_s']:,.0f} lines/s, "
            f"peak {first['maxrss_mb'] - base['maxrss_mb']:.1f} MB above baseline"
        )
        print(
            f"scan after cached load: all ids rows {scan['scan_ids_s']:.3f} s, "
            f"all {scan['n_text_lines']:,} lines() {scan['scan_lines_s']:.2f} s"
        )
    finally:
        if not args.keep and args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
