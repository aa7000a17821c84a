"""This tree's training step against another release's, side by side on one machine.

Each round runs ``bench_train_step.py --config cpu`` of the other release
(its own interpreter, with that release installed) and then of this tree, in
turn, so both see the same load on a shared machine; every run also times
the eager port in the same process, so "x the port" is a figure each run
normalizes itself.

    python benchmarks/bench_releases.py --other-python /tmp/relvenv/bin/python \\
        --other-tree /tmp/release-0.1.0 --rounds 3 --variant fp32 --variant bf16-compile
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]
LINE = re.compile(r"^\s*(?P<name>.+?): +(?P<seconds>[\d.]+) s/it .* (?P<ratio>[\d.]+)x the port$")


def run(python: str, tree: Path, variants: list[str], repeats: int) -> dict[str, tuple[float, float]]:
    """``{contender: (seconds per iteration, times the port)}`` of one bench_train_step run."""
    command = [python, str(tree / "benchmarks" / "bench_train_step.py"), "--config", "cpu", "--repeats", str(repeats)]
    command += [arg for v in variants for arg in ("--variant", v)]
    out = subprocess.run(command, capture_output=True, text=True, check=True, cwd=tree).stdout
    found = {}
    for line in out.splitlines():
        match = LINE.match(line)
        if match:
            found[match["name"].strip()] = (float(match["seconds"]), float(match["ratio"]))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--other-python", required=True, help="interpreter with the other release installed")
    parser.add_argument("--other-tree", type=Path, required=True, help="the other release's source tree")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=20, help="timed iterations per run")
    parser.add_argument("--variant", action="append", default=None, help="bench_train_step variants (default fp32)")
    args = parser.parse_args()
    variants = args.variant or ["fp32"]
    results: dict[str, dict[str, list[tuple[float, float]]]] = {"other": {}, "this": {}}
    for r in range(args.rounds):
        for label, python, tree in (("other", args.other_python, args.other_tree), ("this", sys.executable, HERE)):
            for name, figures in run(python, tree, variants, args.repeats).items():
                results[label].setdefault(name, []).append(figures)
                print(f"round {r + 1} {label:>5} {name:>22}: {figures[0]:.3f} s/it  {figures[1]:.2f}x the port", flush=True)
    print(f"\nmedians over {args.rounds} rounds ({args.repeats} timed iterations each):")
    print(f"{'contender':>22} | {'other s/it':>10} | {'this s/it':>9} | {'other x port':>12} | {'this x port':>11}")
    for name in results["this"]:
        other, this = results["other"].get(name, []), results["this"][name]
        cells = [statistics.median(f[i] for f in runs) if runs else float("nan") for runs in (other, this) for i in (0, 1)]
        print(f"{name:>22} | {cells[0]:10.3f} | {cells[2]:9.3f} | {cells[1]:12.2f} | {cells[3]:11.2f}")


if __name__ == "__main__":
    main()
