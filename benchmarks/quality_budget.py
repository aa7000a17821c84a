"""Quality per compute: JS-1..4 reached in a fixed wall-clock training budget (or a fixed number of iterations).

    python benchmarks/quality_budget.py                                # 20 minutes each: chargan bf16-fused vs the port
    python benchmarks/quality_budget.py --budget-minutes 10 --seed 0 --seed 1 --out bench-out/
    python benchmarks/quality_budget.py --iterations 1500 --impl chargan-fp32 --impl chargan-bf16-fused

Trains the `cpu` preset's model, with that preset's recipe before issue 12
(`bench_train_step.plain_cpu_config`: 5 critic steps, Adam 2e-3, a recipe the
port can follow), on the Billion Word sample
(``../shared/corpora/billion_word/*.txt``; the demo corpus when it is absent)
once per implementation and seed: chargan's `Trainer` in one of the
variants of `bench_train_step.py` (``chargan-fp32``, ``chargan-fp32-fused``,
``chargan-bf16-fused``), and that benchmark's straightforward eager port
(``port``: same model shapes, same seed, same Adam settings, same data
sampler). The contenders train in alternating slices of ``--eval-seconds``
(so machine noise hits them alike), and after each slice each is scored the
same way (640 samples, JS-1..4 against the corpus's cached statistics);
evaluation time is not counted in the budget. With ``--iterations`` each
trains that many iterations instead (slices of ``--eval-iterations``): the
way to compare precisions at equal steps.

Prints the final figures per seed, their mean, and the held-out floor, and
writes ``quality_budget.json`` and ``quality_budget.png`` (JS-4 against
training seconds, or iterations) into ``--out``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_train_step import VARIANTS, PortIteration, chargan_trainer, one_hot_sampler, plain_cpu_config  # noqa: E402

from chargan.corpora import load_corpus  # noqa: E402
from chargan.text.evaluation import generate_ids, score_ids  # noqa: E402
from chargan.text.corpus import corpus_reference  # noqa: E402

SAMPLE_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "corpora" / "billion_word"
IMPLS = ["port", *(f"chargan-{v}" for v in VARIANTS)]


class TimedSteps:
    """A contender's training clock: ``step()`` counted in ``trained`` seconds and ``iterations`` (set by the
    subclass), so that `race` can give every contender the same slices of training time."""

    step: Callable[[], object]
    trained: float
    iterations: int

    def train_for(self, seconds: float | None = None, iterations: int | None = None) -> None:
        """Train ``seconds`` more of training time, or ``iterations`` more iterations."""
        stop_time = self.trained + seconds if seconds is not None else float("inf")
        stop_iteration = self.iterations + iterations if iterations is not None else float("inf")
        while self.trained < stop_time and self.iterations < stop_iteration:
            start = time.perf_counter()
            self.step()
            self.trained += time.perf_counter() - start
            self.iterations += 1


class Contender(TimedSteps):
    """One implementation and seed under test: its step function, training clock and JS curve."""

    def __init__(self, impl: str, seed: int, corpus, reference) -> None:
        config = self.config = plain_cpu_config()
        self.impl, self.seed, self.corpus, self.reference = impl, seed, corpus, reference
        self.name = f"{impl} seed {seed}"
        vocab, rows = len(corpus.vocab), corpus.ids
        if impl == "port":
            sampler = one_hot_sampler(rows, config.model.seq_len, vocab, seed)
            port = PortIteration(config, lambda: sampler.sample(config.train.batch_size), seed, vocab)
            self.generator, self.step = port.generator, port
        else:
            trainer = chargan_trainer(config, rows, VARIANTS[impl.removeprefix("chargan-")], seed, vocab)
            self.generator, self.step = trainer.generator, trainer.train_iteration
        self.trained, self.iterations = 0.0, 0
        self.curve = [self.evaluate()]

    def evaluate(self) -> dict:
        ids = generate_ids(self.generator, self.config.eval.samples, seed=self.config.eval.seed)
        return {"seconds": round(self.trained, 1), "iterations": self.iterations,
                **score_ids(ids, self.reference.stats, self.corpus.vocab)}



def race(contenders: list[Contender], budget_s: float | None, eval_s: float,
         iterations: int | None, eval_iterations: int) -> None:
    """Train every contender to the budget (seconds or iterations), in alternating slices.

    Alternating means a busy spell on a shared machine slows every contender
    alike, instead of whichever happened to be running.
    """
    def done(c: Contender) -> bool:
        return c.iterations >= iterations if iterations is not None else c.trained >= budget_s

    while not all(done(c) for c in contenders):
        for c in contenders:
            if done(c):
                continue
            if iterations is not None:
                c.train_for(iterations=min(eval_iterations, iterations - c.iterations))
            else:
                c.train_for(seconds=min(eval_s, budget_s - c.trained))
            c.curve.append(c.evaluate())
            print(f"  {c.name:<28} {c.trained:7.0f} s  {c.iterations:6d} it  js4 {c.curve[-1]['js4']:.4f}", flush=True)


def plot(contenders: list[Contender], floor: dict[str, float], path: Path, by_iterations: bool) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    colors = {impl: f"C{i}" for i, impl in enumerate(dict.fromkeys(c.impl for c in contenders))}
    for c in contenders:
        x = [r["iterations"] if by_iterations else r["seconds"] / 60 for r in c.curve]
        first_of_impl = c is next(o for o in contenders if o.impl == c.impl)
        ax.plot(x, [r["js4"] for r in c.curve], marker=".", color=colors[c.impl], alpha=0.8,
                label=c.impl if first_of_impl else None)
    ax.axhline(floor["js4"], color="gray", linestyle="--", label="held-out floor")
    ax.set_xlabel("generator iterations" if by_iterations else "training minutes (evaluation excluded)")
    ax.set_ylabel("JS-4 (bits)")
    ax.set_title("`cpu` preset on the Billion Word sample" + (" (one line per seed)" if len(contenders) > len(colors) else ""))
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--budget-minutes", type=float, default=20.0, help="training minutes per contender")
    parser.add_argument("--eval-seconds", type=float, default=60.0, help="training seconds between evaluations")
    parser.add_argument("--iterations", type=int, default=None, help="train this many iterations instead of a budget")
    parser.add_argument("--eval-iterations", type=int, default=100, help="iterations between evaluations (--iterations)")
    parser.add_argument("--impl", action="append", choices=IMPLS,
                        help="implementations to race (default: chargan-bf16-fused and port)")
    parser.add_argument("--seed", action="append", type=int, help="seeds (default: 0); each seeds models, noise and data")
    parser.add_argument("--out", type=Path, default=Path("bench-out"))
    args = parser.parse_args()

    spec = SAMPLE_DIR if any(SAMPLE_DIR.glob("*.txt")) else "demo"
    corpus = load_corpus(spec, seq_len=32, max_lines=None, progress=False)
    config = plain_cpu_config()
    reference, _ = corpus_reference(corpus, config.eval)
    print(f"corpus: {corpus.description}; vocabulary {len(corpus.vocab)}; torch threads {torch.get_num_threads()}")
    print("floor: " + "  ".join(f"{k}={v:.4f}" for k, v in reference.floor.items()))
    impls = args.impl or ["chargan-bf16-fused", "port"]
    contenders = [Contender(impl, seed, corpus, reference) for seed in (args.seed or [0]) for impl in impls]
    race(contenders, args.budget_minutes * 60, args.eval_seconds, args.iterations, args.eval_iterations)

    budget = f"{args.iterations} iterations" if args.iterations else f"{args.budget_minutes:g} training minutes"
    orders = [f"js{n}" for n in config.eval.orders]
    print(f"\nafter {budget}:")
    print(f"{'contender':<30}{'iterations':>11}{'seconds':>9}" + "".join(f"{k:>9}" for k in orders))
    for c in contenders:
        last = c.curve[-1]
        print(f"{c.name:<30}{last['iterations']:>11}{last['seconds']:>9.0f}" + "".join(f"{last[k]:>9.4f}" for k in orders))
    summary = {}
    for impl in impls:
        finals = [c.curve[-1] for c in contenders if c.impl == impl]
        summary[impl] = {k: statistics.mean(f[k] for f in finals) for k in ["iterations", "seconds", *orders]}
        print(f"{impl + ' (mean)':<30}{summary[impl]['iterations']:>11.0f}{summary[impl]['seconds']:>9.0f}"
              + "".join(f"{summary[impl][k]:>9.4f}" for k in orders))
    print(f"{'held-out floor':<30}{'':>20}" + "".join(f"{reference.floor[k]:>9.4f}" for k in orders))
    args.out.mkdir(parents=True, exist_ok=True)
    result = {"budget": budget, "floor": reference.floor, "mean": summary,
              "curves": {c.name: c.curve for c in contenders}}
    (args.out / "quality_budget.json").write_text(json.dumps(result, indent=1))
    plot(contenders, reference.floor, args.out / "quality_budget.png", by_iterations=args.iterations is not None)
    print(f"wrote {args.out / 'quality_budget.json'} and {args.out / 'quality_budget.png'}")


if __name__ == "__main__":
    main()
