"""The GPU path in one command: the CUDA tests, the paper config's step time per variant, and a short training.

    benchmarks/gpu_check.sh                          # on one GPU: under 8 minutes
    benchmarks/gpu_check.sh --device cpu --tiny      # the same steps, tiny sizes, on a CPU (the test suite runs it)

Steps, each recorded in ``<out>/gpu_check.json`` and ``<out>/gpu_check.md``:

1. ``pytest -m cuda tests/test_cuda.py``: bf16, compile, fused Adam, the explicit penalty gradient against
   autograd's, resume within tolerance, one-GPU DDP over NCCL (skipped, with their reason, without a GPU).
2. Milliseconds per generator iteration of the `paper` config (DIM 512, 10 critic steps, batch 64) in
   fp32, bf16 (+ fused Adam), bf16 + ``torch.compile`` and, on CUDA, + ``--cuda-graphs``: the median of ``--repeats`` iterations after the
   warm-up, the device synchronized around each; the warm-up's first iteration (compilation) is reported
   apart. Issue 12's target on an H100/H200-class GPU: at most 50 ms.
3. The fastest variant trains from scratch for ``--train-minutes`` (shortened so the whole command stays
   within ``--budget-minutes``) on the Billion Word sample (``../shared/corpora/billion_word``; the demo
   corpus when absent); JS-1..4 of 640 samples against the corpus, beside the held-out floor.

``--tiny`` shrinks the model (DIM 8, one block, batch 8), the repeats and the training to seconds, and
compiles with the ``aot_eager`` backend (no minute of C++ code generation): it proves the plumbing, not
the speed.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
from bench_train_step import build, one_hot_sampler  # noqa: E402

from chargan import Trainer, get_preset  # noqa: E402
from chargan.core import steps as steps_module  # noqa: E402
from chargan.corpora import load_corpus  # noqa: E402
from chargan.text.corpus import corpus_reference  # noqa: E402
from chargan.text.evaluation import generate_ids, score_ids  # noqa: E402

SAMPLE_DIR = ROOT.parent / "shared" / "corpora" / "billion_word"
#: The timed variants: TrainConfig overrides.
VARIANTS = {
    "fp32": {},
    "bf16": {"precision": "bf16", "fused_optimizer": True},
    "bf16+compile": {"precision": "bf16", "fused_optimizer": True, "compile": True},
    "bf16+compile+graphs": {"precision": "bf16", "fused_optimizer": True, "compile": True, "cuda_graphs": True},
}
TINY = {"dim": 8, "n_blocks": 1, "batch_size": 8, "critic_iters": 2}


def run_tests(out: Path) -> dict:
    """The CUDA-marked tests in a subprocess: counts of passed, failed, skipped (with the skip reasons)."""
    report = out / "cuda_tests.xml"
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-m", "cuda", str(ROOT / "tests" / "test_cuda.py"),
                           f"--junitxml={report}", "-p", "no:cacheprovider"], cwd=ROOT, capture_output=True, text=True)
    counts = {"passed": 0, "failed": 0, "skipped": 0, "exit_code": done.returncode, "skip_reasons": []}
    if not report.is_file():
        counts["failed"] = 1
        counts["output"] = done.stdout[-2000:] + done.stderr[-2000:]
        return counts
    for case in ET.parse(report).getroot().iter("testcase"):
        skipped = case.find("skipped")
        if case.find("failure") is not None or case.find("error") is not None:
            counts["failed"] += 1
        elif skipped is not None:
            counts["skipped"] += 1
            counts["skip_reasons"] = sorted({*counts["skip_reasons"], skipped.get("message", "")})
        else:
            counts["passed"] += 1
    if counts["failed"]:
        counts["output"] = done.stdout[-4000:]
    return counts


def make_trainer(config, corpus, device: str, overrides: dict, seed: int = 0) -> Trainer:
    vocab = len(corpus.vocab)
    generator, critic = build(config, seed, vocab=vocab)
    train = dataclasses.replace(config.train, device=device, seed=seed, **overrides)
    data = one_hot_sampler(corpus.ids, config.model.seq_len, vocab, seed)
    return Trainer(generator, critic, data, train, progress=False)


def synchronize(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def time_variant(config, corpus, device: str, overrides: dict, repeats: int) -> dict:
    """First iteration's seconds (compilation included) and the median ms of ``repeats`` iterations after it."""
    torch._dynamo.reset()
    trainer = make_trainer(config, corpus, device, overrides)
    start = time.perf_counter()
    trainer.train_iteration()
    synchronize(device)
    first = time.perf_counter() - start
    trainer.train_iteration()  # a second warm-up: autotuning, allocator
    times = []
    for _ in range(repeats):
        synchronize(device)
        start = time.perf_counter()
        trainer.train_iteration()
        synchronize(device)
        times.append(time.perf_counter() - start)
    return {"first_iteration_s": round(first, 2), "ms_per_iteration": round(1000 * statistics.median(times), 2)}


def train_and_score(config, corpus, reference, device: str, overrides: dict, seconds: float) -> dict:
    """Train a fresh model for ``seconds`` of wall clock after its first iteration (compilation); JS-1..4 at the end."""
    torch._dynamo.reset()
    trainer = make_trainer(config, corpus, device, overrides)
    trainer.train_iteration()
    synchronize(device)
    iterations, end = 1, time.perf_counter() + seconds
    while time.perf_counter() < end:
        trainer.train_iteration()
        iterations += 1
    synchronize(device)
    ids = generate_ids(trainer.generator, config.eval.samples, seed=config.eval.seed)
    return {"seconds": round(seconds, 1), "iterations": iterations, **score_ids(ids, reference.stats, corpus.vocab)}


def markdown(result: dict) -> str:
    tests = result["tests"]
    lines = [f"# GPU check: {result['device_name']}", "",
             f"torch {result['torch']}; config `paper`{' (tiny)' if result['tiny'] else ''}; "
             f"corpus {result['corpus']}; {result['total_s']:.0f} s in all.", "",
             f"CUDA tests: {tests['passed']} passed, {tests['failed']} failed, {tests['skipped']} skipped"
             + (f" ({'; '.join(tests['skip_reasons'])})" if tests["skip_reasons"] else ""), "",
             "| variant | ms per generator iteration | first iteration (s) |", "| --- | --- | --- |"]
    lines += [f"| {name} | {t['ms_per_iteration']:.1f} | {t['first_iteration_s']:.1f} |"
              for name, t in result["timings"].items()]
    train = result["training"]
    orders = [k for k in ("js1", "js2", "js3", "js4") if k in train]
    lines += ["", f"Training `{result['best']}` for {train['seconds']:.0f} s: {train['iterations']} iterations.", "",
              "| | " + " | ".join(orders) + " |", "| --- |" + " --- |" * len(orders),
              "| generator | " + " | ".join(f"{train[k]:.4f}" for k in orders) + " |",
              "| held-out floor | " + " | ".join(f"{result['floor'][k]:.4f}" for k in orders) + " |"]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cuda", help="cuda (default), cuda:N or cpu")
    parser.add_argument("--tiny", action="store_true", help="tiny sizes and seconds of training: the plumbing only")
    parser.add_argument("--repeats", type=int, default=None, help="timed iterations per variant (default 20; tiny 2)")
    parser.add_argument("--train-minutes", type=float, default=3.0, help="training of the fastest variant")
    parser.add_argument("--budget-minutes", type=float, default=7.5, help="the whole command's limit")
    parser.add_argument("--skip-tests", action="store_true", help="leave out step 1")
    parser.add_argument("--out", type=Path, default=ROOT / "bench-out" / "gpu_check")
    args = parser.parse_args()
    started = time.perf_counter()
    args.out.mkdir(parents=True, exist_ok=True)
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print("error: no CUDA GPU here; use --device cpu --tiny to check the plumbing", file=sys.stderr)
        return 1

    skipped = {"passed": 0, "failed": 0, "skipped": 0, "skip_reasons": ["--skip-tests"]}
    tests = skipped if args.skip_tests else run_tests(args.out)
    print(f"CUDA tests: {tests['passed']} passed, {tests['failed']} failed, {tests['skipped']} skipped", flush=True)

    config = get_preset("paper")
    if args.tiny:
        config = config.with_overrides(**TINY)
        steps_module.COMPILE_BACKEND = "aot_eager"  # tiny: the plumbing, without inductor's minute of codegen
    spec = SAMPLE_DIR if any(SAMPLE_DIR.glob("*.txt")) else "demo"
    corpus = load_corpus(spec, seq_len=config.model.seq_len, max_lines=None, progress=False)
    reference, _ = corpus_reference(corpus, config.eval)

    repeats = args.repeats or (2 if args.tiny else 20)
    timings = {}
    for name, overrides in VARIANTS.items():
        if name != "fp32" and args.device.startswith("cuda") and not torch.cuda.is_bf16_supported():
            continue
        if "cuda_graphs" in overrides and not args.device.startswith("cuda"):
            continue  # CUDA graphs are CUDA's
        timings[name] = time_variant(config, corpus, args.device, overrides, repeats)
        print(f"{name:>14}: {timings[name]['ms_per_iteration']:9.1f} ms per generator iteration "
              f"(first {timings[name]['first_iteration_s']:.1f} s)", flush=True)
    best = min(timings, key=lambda n: timings[n]["ms_per_iteration"])

    # What is left of the budget, less the new model's compilation (as long as the timed one's) and 30 s for the rest.
    left = args.budget_minutes * 60 - (time.perf_counter() - started) - timings[best]["first_iteration_s"] - 30
    seconds = 3.0 if args.tiny else max(10.0, min(args.train_minutes * 60, left))
    training = train_and_score(config, corpus, reference, args.device, VARIANTS[best], seconds)
    print(f"trained {best} for {seconds:.0f} s: {training['iterations']} iterations, js4 {training['js4']:.4f} "
          f"(floor {reference.floor['js4']:.4f})", flush=True)

    on_gpu = args.device.startswith("cuda")
    device_name = torch.cuda.get_device_name(args.device) if on_gpu else f"CPU ({os.cpu_count()} cores)"
    result = {"device": args.device, "device_name": device_name, "torch": torch.__version__, "tiny": args.tiny,
              "corpus": corpus.description, "tests": tests, "timings": timings, "best": best,
              "training": training, "floor": reference.floor, "total_s": round(time.perf_counter() - started, 1)}
    (args.out / "gpu_check.json").write_text(json.dumps(result, indent=1))
    (args.out / "gpu_check.md").write_text(markdown(result))
    print(f"wrote {args.out / 'gpu_check.json'} and {args.out / 'gpu_check.md'} ({result['total_s']:.0f} s)")
    return 1 if tests["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
