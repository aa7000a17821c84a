"""What `--compile` costs a first run and a second run of the same config (issue 12: cold and warm).

    python benchmarks/bench_compile_cache.py                    # the cpu preset, 3 iterations per run
    python benchmarks/bench_compile_cache.py --config paper --iterations 1

Three ``chargan train`` processes of one config, each into a new run folder,
timed whole (start-up, corpus, the iteration-0 evaluation, a few
iterations): eager; ``--compile`` with an empty compile cache (cold); then
``--compile`` again with the cache the cold run filled (warm). torch's
Inductor keeps compiled kernels and graphs in ``$TORCHINDUCTOR_CACHE_DIR``
(by default under the system's temp folder, shared by every run of the
user), so a second run of the same model shapes skips most of the work.
Compile time is the difference from the eager run.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def timed_run(args: list[str], env: dict[str, str]) -> float:
    """Wall seconds of one ``chargan train`` process; exits on its failure with its output."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "chargan.cli", "train", *args], env=env, capture_output=True,
                          text=True)
    if done.returncode != 0:
        sys.exit(f"chargan train {' '.join(args)} failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="cpu")
    parser.add_argument("--iterations", type=int, default=3)
    parser.add_argument("--precision", choices=("fp32", "bf16"), default="bf16")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        env = {**os.environ, "TORCHINDUCTOR_CACHE_DIR": str(Path(scratch) / "inductor-cache")}
        common = ["--config", args.config, "--iterations", str(args.iterations), "--precision", args.precision,
                  "--checkpoint-every", "1000000", "--no-progress", "--device", "cpu"]
        rows = []
        for name, extra in (("eager", []), ("compile, cold cache", ["--compile"]),
                            ("compile, warm cache", ["--compile"])):
            seconds = timed_run([*common, *extra, "--run", str(Path(scratch) / name.replace(" ", "-"))], env)
            rows.append((name, seconds))
            print(f"{name}: {seconds:.1f} s", flush=True)
    eager = rows[0][1]
    print(f"\n{args.config}, {args.precision}, {args.iterations} iterations per run (whole process, wall clock)")
    print("| run | seconds | over eager |\n| --- | ---: | ---: |")
    for name, seconds in rows:
        print(f"| {name} | {seconds:.1f} | {seconds - eager:+.1f} |")


if __name__ == "__main__":
    main()
