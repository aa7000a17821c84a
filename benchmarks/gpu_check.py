"""The GPU path in one command: the CUDA tests, the paper config's step time per variant, and a short training.

    benchmarks/gpu_check.sh                          # on one GPU: under 8 minutes
    benchmarks/gpu_check.sh --device cpu --tiny      # the same steps, tiny sizes, on a CPU (the test suite runs it)
    benchmarks/gpu_check.sh --corpus PATH            # a Billion Word folder, a folder of *.txt or a text file

Run it through ``gpu_check.sh``, which makes chargan importable where it is not installed. Steps, each
recorded in ``<out>/gpu_check.json`` and ``<out>/gpu_check.md`` as soon as it ends (a step that fails
keeps its traceback's tail under ``"error"``, and the next step still runs):

1. ``pytest -m cuda tests/test_cuda.py``: bf16, compile, fused Adam, the explicit penalty gradient against
   autograd's, resume within tolerance, one-GPU DDP over NCCL, CUDA graphs (skipped, with their reason,
   without a GPU). At most ``TEST_SECONDS``; stopped and recorded as timed out past that.
2. Milliseconds per generator iteration of the `paper` config (DIM 512, 10 critic steps, batch 64) in
   fp32, bf16 (+ fused Adam), bf16 + ``torch.compile`` and, on CUDA, + ``--cuda-graphs``: the median of ``--repeats`` iterations after the
   warm-up, the device synchronized around each; the warm-up's first iteration (compilation) is reported
   apart. A variant that would not leave time for the training is left out (the compiled ones first).
   Issue 12's target on an H100/H200-class GPU: at most 50 ms.
3. The fastest variant trains from scratch for ``--train-minutes`` (shortened so the whole command stays
   within ``--budget-minutes``; left out under ``TRAIN_MIN_SECONDS``) on ``--corpus``, by default the
   Billion Word sample (``../shared/corpora/billion_word``), else the demo corpus, with a warning: its
   JS-4 is not comparable with Billion Word figures. JS-1..4 of 640 samples against the corpus, beside the
   held-out floor.

``--tiny`` shrinks the model (DIM 8, one block, batch 8), the repeats and the training to seconds, and
compiles with the ``aot_eager`` backend (no minute of C++ code generation): it proves the plumbing, not
the speed. Exit status: 0 when every step that ran passed, 1 otherwise (no GPU, a failed test or step).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import time
import traceback
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import torch

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
try:
    from bench_train_step import build, one_hot_sampler

    import chargan
    from chargan import Trainer, get_preset
    from chargan.core import steps as steps_module
    from chargan.corpora import load_corpus
    from chargan.text.corpus import corpus_reference
    from chargan.text.evaluation import generate_ids, score_ids
    IMPORT_ERROR: str | None = None
except Exception:  # written to the JSON by main(): a broken install still leaves a file that says why
    IMPORT_ERROR = traceback.format_exc()

SAMPLE_DIR = ROOT.parent / "shared" / "corpora" / "billion_word"
#: The official Billion Word layout's top folder: a --corpus holding it (or being it) loads as ``billion_word``.
BW_ROOT = "1-billion-word-language-modeling-benchmark-r13output"
#: The timed variants: TrainConfig overrides.
VARIANTS = {
    "fp32": {},
    "bf16": {"precision": "bf16", "fused_optimizer": True},
    "bf16+compile": {"precision": "bf16", "fused_optimizer": True, "compile": True},
    "bf16+compile+graphs": {"precision": "bf16", "fused_optimizer": True, "compile": True, "cuda_graphs": True},
}
TINY = {"dim": 8, "n_blocks": 1, "batch_size": 8, "critic_iters": 2}
#: The CUDA tests' limit (less when the budget has less left): they compile 3 small models.
TEST_SECONDS = 180.0
#: Below this many seconds of training left, the training is left out.
TRAIN_MIN_SECONDS = 20.0
#: Held back from the training for scoring the samples and writing the files.
RESERVE_SECONDS = 30.0
#: A compiled variant's first iteration before one has been measured (inductor at the paper size on a GPU).
COMPILE_GUESS_SECONDS = {False: 90.0, True: 20.0}  # by --tiny
#: Issue 12's target on an H100/H200-class GPU, ms per generator iteration at the paper config.
TARGET_MS = 50.0


class Stop(Exception):
    """SIGTERM: the files are written (``finally``) before the process ends."""


def error_tail(limit: int = 3000) -> str:
    """The current exception's traceback, its last ``limit`` characters (the end says what failed)."""
    return traceback.format_exc()[-limit:]


def last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else ""


def run_tests(out: Path, device: str, seconds: float) -> dict:
    """The CUDA-marked tests in a subprocess, for at most ``seconds``: counts of passed, failed, skipped (with
    the skip reasons). ``device`` cpu hides the GPUs, so the tests skip as on a CPU machine.

    Not pytest-timeout (it may be absent): the subprocess is a session of its own, killed whole at the limit
    (the DDP test's child too), and the verbose log says what finished before it.
    """
    report, log = out / "cuda_tests.xml", out / "cuda_tests.log"
    report.unlink(missing_ok=True)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    if device == "cpu":
        env["CUDA_VISIBLE_DEVICES"] = ""
    # cwd: not the repository, whose ./chargan (without corpora/ and cli/) would shadow the importable one.
    command = [sys.executable, "-m", "pytest", "-v", "-m", "cuda", str(ROOT / "tests" / "test_cuda.py"),
               f"--rootdir={ROOT}", f"--junitxml={report}", "-p", "no:cacheprovider"]
    started = time.perf_counter()
    timed_out = False
    with open(log, "w") as sink:
        child = subprocess.Popen(command, cwd=out, env=env, stdout=sink, stderr=subprocess.STDOUT,
                                 start_new_session=True)
        try:
            child.wait(timeout=max(1.0, seconds))
        except subprocess.TimeoutExpired:
            timed_out = True
        finally:
            if child.poll() is None:  # the limit, or this process stopping: the tests and their children go
                os.killpg(child.pid, signal.SIGKILL)
                child.wait()
    output = log.read_text(errors="replace")
    counts: dict[str, Any] = {"passed": 0, "failed": 0, "skipped": 0, "exit_code": child.returncode,
                              "skip_reasons": [], "seconds": round(time.perf_counter() - started, 1),
                              "limit_s": round(seconds), "timed_out": timed_out}
    if report.is_file() and not timed_out:
        for case in ET.parse(report).getroot().iter("testcase"):
            skipped = case.find("skipped")
            if case.find("failure") is not None or case.find("error") is not None:
                counts["failed"] += 1
            elif skipped is not None:
                counts["skipped"] += 1
                counts["skip_reasons"] = sorted({*counts["skip_reasons"], skipped.get("message", "")})
            else:
                counts["passed"] += 1
    else:  # stopped before the report: what the verbose log says finished
        for outcome, reason in re.findall(r"::\S+ (PASSED|FAILED|ERROR|SKIPPED)(?: \((.*?)\))?", output):
            key = {"PASSED": "passed", "SKIPPED": "skipped"}.get(outcome, "failed")
            counts[key] += 1
            if reason and outcome == "SKIPPED":
                counts["skip_reasons"] = sorted({*counts["skip_reasons"], reason})
        counts["failed"] += 1  # the test that was running, or the run that wrote no report
        counts["error"] = (f"the tests ran past their {seconds:.0f} s and were stopped" if timed_out
                           else f"pytest wrote no report (exit code {child.returncode})")
    if counts["failed"]:
        counts["output"] = output[-4000:]
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


def release(device: str) -> None:
    """Drop the compiled graphs and cached GPU memory of the step before (a failed one's too)."""
    torch._dynamo.reset()
    if device.startswith("cuda"):
        torch.cuda.empty_cache()


def time_variant(config, corpus, device: str, overrides: dict, repeats: int) -> dict:
    """First iteration's seconds (compilation included) and the median ms of ``repeats`` iterations after it."""
    release(device)
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
    release(device)
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


def corpus_choice(path: Path | None) -> tuple[str, str | None, str | None]:
    """``(spec, data_dir, warning)`` of load_corpus for ``--corpus``: the official Billion Word layout (the
    ``...-r13output`` folder or its parent) loads as ``billion_word``; another folder or a file as itself;
    none, the sample beside the repository, else the demo corpus with a warning."""
    if path is not None:
        path = path.expanduser().resolve()
        if not path.exists():
            return "demo", None, (f"--corpus {path} does not exist: training on the DEMO corpus (Python's help "
                                  "text), whose JS-4 is not comparable with Billion Word figures")
        if path.is_dir() and (path.name == BW_ROOT or (path / BW_ROOT).is_dir()):
            return "billion_word", str(path), None
        return str(path), None, None
    if any(SAMPLE_DIR.glob("*.txt")):
        return str(SAMPLE_DIR), None, None
    return "demo", None, (f"no --corpus, and no Billion Word sample in {SAMPLE_DIR}: training on the DEMO corpus "
                          "(Python's help text), whose JS-4 is not comparable with Billion Word figures; "
                          "pass --corpus PATH (a Billion Word folder or a text file)")


def markdown(result: dict) -> str:
    """The JSON as a table; every part optional, so a run stopped at any step still reads."""
    lines = [f"# GPU check: {result.get('device_name') or result['device']}", ""]
    if result.get("error"):
        lines += [f"**Stopped:** {last_line(result['error'])}", ""]
    state = "" if result.get("finished") else " (unfinished: the steps below are those that ended)"
    lines += [f"torch {result['torch']}; config `paper`{' (tiny)' if result['tiny'] else ''}; "
              f"corpus {result.get('corpus') or '(not loaded)'}; {result['total_s']:.0f} s in all{state}."]
    lines += [f"\n**Warning:** {warning}" for warning in result.get("warnings", [])]
    tests = result.get("tests")
    if tests:
        line = f"CUDA tests: {tests['passed']} passed, {tests['failed']} failed, {tests['skipped']} skipped"
        line += f" ({'; '.join(tests['skip_reasons'])})" if tests.get("skip_reasons") else ""
        line += f"; {tests['error']}" if tests.get("error") else ""
        lines += ["", line]
    if result.get("timings"):
        target = "" if result["tiny"] or not result["device"].startswith("cuda") else f" (target ≤ {TARGET_MS:.0f})"
        lines += ["", f"| variant | ms per generator iteration{target} | first iteration (s) |", "| --- | --- | --- |"]
        for name, t in result["timings"].items():
            if "ms_per_iteration" in t:
                lines.append(f"| {name} | {t['ms_per_iteration']:.1f} | {t['first_iteration_s']:.1f} |")
            elif "error" in t:
                lines.append(f"| {name} | failed: {last_line(t['error'])[:150]} | |")
            else:
                lines.append(f"| {name} | left out: {t.get('skipped', '?')} | |")
    train = result.get("training")
    if train and "js4" in train:
        orders = [k for k in ("js1", "js2", "js3", "js4") if k in train]
        lines += ["", f"Training `{result['best']}` for {train['seconds']:.0f} s: {train['iterations']} iterations.",
                  "", "| | " + " | ".join(orders) + " |", "| --- |" + " --- |" * len(orders),
                  "| generator | " + " | ".join(f"{train[k]:.4f}" for k in orders) + " |"]
        if result.get("floor"):
            lines.append("| held-out floor | " + " | ".join(f"{result['floor'][k]:.4f}" for k in orders) + " |")
    elif train:
        what = f"failed: {last_line(train['error'])}" if "error" in train else f"left out: {train.get('skipped')}"
        lines += ["", f"Training: {what}"]
    return "\n".join(lines) + "\n"


def write_atomic(path: Path, text: str) -> None:
    """Whole or not at all: a kill mid-write leaves the previous file."""
    part = path.with_name(path.name + ".part")
    part.write_text(text)
    os.replace(part, path)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cuda", help="cuda (default), cuda:N or cpu")
    parser.add_argument("--tiny", action="store_true", help="tiny sizes and seconds of training: the plumbing only")
    parser.add_argument("--repeats", type=int, default=None, help="timed iterations per variant (default 20; tiny 2)")
    parser.add_argument("--train-minutes", type=float, default=3.0, help="training of the fastest variant")
    parser.add_argument("--budget-minutes", type=float, default=7.5, help="the whole command's limit")
    parser.add_argument("--corpus", type=Path, default=None,
                        help="a Billion Word folder (the ...-r13output folder or its parent), a folder of *.txt "
                             "or a text file (default: the sample in ../shared/corpora/billion_word, else demo)")
    parser.add_argument("--max-lines", type=int, default=300_000,
                        help="the corpus's first lines only (loading and its n-gram reference stay seconds)")
    parser.add_argument("--skip-tests", action="store_true", help="leave out step 1")
    parser.add_argument("--out", type=Path, default=ROOT / "bench-out" / "gpu_check")
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    started = time.perf_counter()
    deadline = started + args.budget_minutes * 60

    def remaining() -> float:
        return deadline - time.perf_counter()

    args.out = args.out.resolve()
    args.out.mkdir(parents=True, exist_ok=True)
    on_gpu = args.device.startswith("cuda")
    result: dict[str, Any] = {
        "device": args.device, "device_name": None, "torch": torch.__version__, "python": sys.version.split()[0],
        "chargan": None, "tiny": args.tiny, "budget_s": round(args.budget_minutes * 60), "corpus": None,
        "warnings": [], "tests": None, "timings": {}, "best": None, "training": None, "floor": None,
        "total_s": 0.0, "finished": False}

    def save() -> None:
        result["total_s"] = round(time.perf_counter() - started, 1)
        write_atomic(args.out / "gpu_check.json", json.dumps(result, indent=1))
        write_atomic(args.out / "gpu_check.md", markdown(result))

    def stop(signum: int, frame: Any) -> None:
        raise Stop(f"stopped by signal {signum}")

    signal.signal(signal.SIGTERM, stop)
    try:
        if IMPORT_ERROR is not None:
            result["error"] = IMPORT_ERROR[-3000:]
            print(f"error: chargan is not importable (run benchmarks/gpu_check.sh):\n{IMPORT_ERROR}", file=sys.stderr)
            return 1
        result["chargan"] = str(Path(chargan.__file__).parent)  # where it came from: the .sh's copy, or installed
        if on_gpu and not torch.cuda.is_available():
            result["error"] = ("no CUDA GPU here (torch.cuda.is_available() is False): nothing was run; "
                               "use --device cpu --tiny to check the plumbing")
            print(f"error: {result['error']}", file=sys.stderr)
            return 1
        result["device_name"] = torch.cuda.get_device_name(args.device) if on_gpu else f"CPU ({os.cpu_count()} cores)"
        save()

        # 1. The CUDA tests.
        if args.skip_tests:
            result["tests"] = {"passed": 0, "failed": 0, "skipped": 0, "skip_reasons": ["--skip-tests"]}
        else:
            limit = min(TEST_SECONDS, max(1.0, remaining() - 60))
            try:
                result["tests"] = run_tests(args.out, args.device, limit)
            except Exception:
                result["tests"] = {"passed": 0, "failed": 1, "skipped": 0, "skip_reasons": [], "error": error_tail()}
        tests = result["tests"]
        print(f"CUDA tests: {tests['passed']} passed, {tests['failed']} failed, {tests['skipped']} skipped"
              + (f" ({tests['error']})" if tests.get("error") else ""), flush=True)
        save()

        # The config and the corpus: without them nothing can be timed.
        config = get_preset("paper")
        if args.tiny:
            config = config.with_overrides(**TINY)
            steps_module.COMPILE_BACKEND = "aot_eager"  # tiny: the plumbing, without inductor's minute of codegen
        spec, data_dir, warning = corpus_choice(args.corpus)
        try:
            corpus = load_corpus(spec, data_dir=data_dir, seq_len=config.model.seq_len, max_lines=args.max_lines,
                                 progress=False)
        except Exception:
            if spec == "demo":
                raise
            result["corpus_error"] = error_tail()
            warning = (f"--corpus {spec} could not be loaded ({last_line(result['corpus_error'])}): training on the "
                       "DEMO corpus, whose JS-4 is not comparable with Billion Word figures")
            spec = "demo"
            corpus = load_corpus("demo", seq_len=config.model.seq_len, max_lines=args.max_lines, progress=False)
        if warning:
            result["warnings"].append(warning)
            print(f"WARNING: {warning}", file=sys.stderr, flush=True)
        result["corpus"] = corpus.description
        reference, _ = corpus_reference(corpus, config.eval)
        result["floor"] = reference.floor
        save()

        # 2. The timed variants, each only where the time left allows it and the training after it.
        repeats = args.repeats or (2 if args.tiny else 20)
        timings: dict[str, dict] = result["timings"]
        compile_s = COMPILE_GUESS_SECONDS[args.tiny]
        for name, overrides in VARIANTS.items():
            skip = None
            if "cuda_graphs" in overrides and not on_gpu:
                skip = "CUDA graphs are CUDA's"
            elif name != "fp32" and on_gpu and not torch.cuda.is_bf16_supported():
                skip = "this GPU has no bfloat16"
            elif "cuda_graphs" in overrides and "error" in timings.get("bf16+compile", {}):
                skip = "bf16+compile failed"
            else:
                slowest = max((t["ms_per_iteration"] for t in timings.values() if "ms_per_iteration" in t), default=0)
                needed = (repeats + 2) * slowest / 1000 + 5 + (compile_s if overrides.get("compile") else 0)
                if remaining() < needed + TRAIN_MIN_SECONDS + RESERVE_SECONDS:
                    skip = f"short of time: {remaining():.0f} s left, about {needed:.0f} s needed and the training's"
            if skip:
                timings[name] = {"skipped": skip}
                print(f"{name:>19}: left out ({skip})", flush=True)
                save()
                continue
            try:
                timings[name] = time_variant(config, corpus, args.device, overrides, repeats)
                print(f"{name:>19}: {timings[name]['ms_per_iteration']:9.1f} ms per generator iteration "
                      f"(first {timings[name]['first_iteration_s']:.1f} s)", flush=True)
                if overrides.get("compile"):  # the next compiled variant's first iteration: about this one's
                    compile_s = timings[name]["first_iteration_s"]
            except Exception:
                timings[name] = {"error": error_tail()}
                print(f"{name:>19}: FAILED\n{timings[name]['error']}", file=sys.stderr, flush=True)
            save()
        release(args.device)

        # 3. The fastest variant, trained for what is left.
        timed = [n for n, t in timings.items() if "ms_per_iteration" in t]
        if not timed:
            result["training"] = {"skipped": "no variant was timed"}
        else:
            best = result["best"] = min(timed, key=lambda n: timings[n]["ms_per_iteration"])
            # Less the new model's first iteration (about the timed one's; the compile cache may shorten it).
            left = remaining() - timings[best]["first_iteration_s"] - RESERVE_SECONDS
            seconds = min(3.0 if args.tiny else args.train_minutes * 60, left)
            if left < (1.0 if args.tiny else TRAIN_MIN_SECONDS):
                result["training"] = {"skipped": f"short of time: {max(0.0, left):.0f} s left for it"}
            else:
                try:
                    result["training"] = train_and_score(config, corpus, reference, args.device, VARIANTS[best],
                                                         seconds)
                    training = result["training"]
                    print(f"trained {best} for {seconds:.0f} s: {training['iterations']} iterations, js4 "
                          f"{training['js4']:.4f} (floor {reference.floor['js4']:.4f})", flush=True)
                except Exception:
                    result["training"] = {"error": error_tail()}
                    print(f"training FAILED\n{result['training']['error']}", file=sys.stderr, flush=True)
        if "skipped" in result["training"]:
            print(f"training left out: {result['training']['skipped']}", flush=True)
        result["finished"] = True
        failed = (tests["failed"] or any("error" in t for t in timings.values())
                  or "error" in result["training"])
        return 1 if failed else 0
    except (Exception, Stop):
        result["error"] = error_tail()
        print(f"gpu_check stopped:\n{result['error']}", file=sys.stderr, flush=True)
        return 1
    finally:
        save()
        print(f"wrote {args.out / 'gpu_check.json'} and {args.out / 'gpu_check.md'} ({result['total_s']:.0f} s)",
              flush=True)


if __name__ == "__main__":
    sys.exit(main())
