"""Kill training at random moments, resume, and check that nothing was lost (issue 14).

    python benchmarks/crash_trials.py --trials 30 --seed 0

Each trial starts a small run, sends it ``kill -9`` after a random delay
(during set-up, training, an evaluation or a checkpoint write: wherever the
moment falls) one to three times, resuming in place after each (or starting
again, when it died before its first record), then lets it finish. While the
last leg trains, a reader runs ``chargan sample`` in a loop against the
run, as a user watching it would.

Invariants checked per trial, against one uninterrupted run of the same
config:
- every leg after a kill starts (no "not a chargan run", no "not an empty folder");
- the final ``metrics.jsonl`` equals the uninterrupted one value for value
  (timing fields aside), with no duplicated or out-of-order iteration;
- the final weights are bit-identical;
- no temporary file or folder is left in the run;
- no reader failed.
Prints one line per trial and a summary; exits 1 if any invariant broke.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import torch

from chargan.core.checkpoint import checkpoint_iteration, latest_checkpoint, load_checkpoint

ITERATIONS = 60
ARGS = ["--dim", "16", "--seq-len", "16", "--batch-size", "16", "--critic-iters", "2", "--iterations", str(ITERATIONS),
        "--log-every", "7", "--eval-every", "20", "--checkpoint-every", "5", "--eval-samples", "64",
        "--keep-checkpoints", "1", "--threads", "1", "--no-progress"]
TIMING = ("seconds", "it_per_sec")
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}


def chargan(*args: str, **kwargs) -> subprocess.Popen:  # noqa: ANN003
    return subprocess.Popen([sys.executable, "-m", "chargan.cli", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=ENV, **kwargs)


def train_leg(run: Path) -> list[str]:
    again = ["--resume"] if (run / "config.json").exists() else []
    return ["train", *again, "--run", str(run), *ARGS]


def finished(run: Path) -> bool:
    """A leg killed after its last checkpoint (while it printed its closing lines) finished the run."""
    newest = latest_checkpoint(run / "checkpoints")
    return newest is not None and checkpoint_iteration(newest) >= ITERATIONS


def records(run: Path) -> list[dict]:
    lines = (run / "metrics.jsonl").read_text(encoding="utf-8").splitlines()
    return [{k: v for k, v in json.loads(line).items() if k not in TIMING} for line in lines]


def same_weights(a: Path, b: Path) -> bool:
    wa, wb = load_checkpoint(a / "checkpoints").weights, load_checkpoint(b / "checkpoints").weights
    return wa.keys() == wb.keys() and all(
        wa[m].keys() == wb[m].keys() and all(torch.equal(wa[m][k], wb[m][k]) for k in wa[m]) for m in wa)


def leftovers(run: Path) -> list[str]:
    return sorted(str(p.relative_to(run)) for p in run.rglob(".*") if p.name not in (".lock", ".lock.owner"))


class Reader(threading.Thread):
    """`chargan sample` in a loop against a training run; counts successes and failures."""

    def __init__(self, run_dir: Path) -> None:
        super().__init__(daemon=True)
        self.run_dir, self.stop, self.ok, self.failures = run_dir, threading.Event(), 0, []

    def run(self) -> None:
        while not self.stop.is_set():
            if not (self.run_dir / "checkpoints").exists():
                time.sleep(0.2)
                continue
            done = subprocess.run([sys.executable, "-m", "chargan.cli", "sample", "-n", "2", "--run",
                                   str(self.run_dir)], capture_output=True, text=True, env=ENV)
            if done.returncode == 0:
                self.ok += 1
            else:
                self.failures.append(done.stdout + done.stderr)


def trial(rng: random.Random, reference: Path, root: Path, max_delay: float) -> tuple[bool, str]:
    run = root / "run"
    kills, notes = rng.randint(1, 3), []
    for _ in range(kills):
        if finished(run):
            break
        process = chargan(*train_leg(run))
        delay = rng.uniform(0.3, max_delay)
        try:
            process.wait(timeout=delay)
            out = process.stdout.read() if process.stdout else ""
            if process.returncode != 0:
                return False, f"a leg failed after a kill: {out.strip().splitlines()[-1:]}"
            notes.append(f"finished before {delay:.1f}s")
            break
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGKILL)
            process.wait()
            notes.append(f"killed at {delay:.1f}s")
    reader = Reader(run)
    if finished(run):
        notes.append("finished by the last killed leg")
    else:
        reader.start()
        process = chargan(*train_leg(run))
        out = process.communicate(timeout=600)[0]
        reader.stop.set()
        reader.join(timeout=120)
        if process.returncode != 0:
            return False, f"the last leg failed: {out.strip().splitlines()[-1:]}"
    problems = []
    got, want = records(run), records(reference)
    its = [r["iteration"] for r in got]
    # Iteration 0 has two records (the data's floor, then the first evaluation); every later one is unique.
    if its != sorted(its) or len(its) != len(set(its)) + its.count(0) - 1:
        problems.append(f"duplicated or out-of-order iterations: {its}")
    if got != want:
        problems.append("metrics differ from the uninterrupted run")
    if not same_weights(run, reference):
        problems.append("weights differ")
    if leftovers(run):
        problems.append(f"left behind: {leftovers(run)}")
    if reader.failures:
        problems.append(f"{len(reader.failures)} reader failures, e.g. {reader.failures[0].strip()[:200]}")
    summary = f"{', '.join(notes)}; reader {reader.ok} ok"
    return not problems, summary + ("" if not problems else "; " + "; ".join(problems))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-delay", type=float, default=12.0, help="seconds: kills fall uniformly in [0.3, this]")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        reference = Path(tmp) / "reference"
        started = time.perf_counter()
        out = chargan("train", "--run", str(reference), *ARGS).communicate()[0]
        if not (reference / "config.json").exists():
            raise SystemExit(f"the uninterrupted run failed:\n{out}")
        print(f"uninterrupted run: {time.perf_counter() - started:.1f} s (60 iterations, checkpoints every 5, "
              f"records every 7)")
        passed = 0
        for i in range(args.trials):
            root = Path(tmp) / f"trial{i}"
            root.mkdir()
            ok, summary = trial(rng, reference, root, args.max_delay)
            passed += ok
            print(f"trial {i + 1:3d}: {'ok  ' if ok else 'FAIL'} {summary}", flush=True)
        print(f"\n{passed} of {args.trials} trials kept every invariant")
        sys.exit(0 if passed == args.trials else 1)


if __name__ == "__main__":
    main()
