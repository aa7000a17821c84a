"""Quality per compute: JS-1..4 reached in a fixed wall-clock training budget.

    python benchmarks/quality_budget.py                          # 20 minutes each, chargan then the port
    python benchmarks/quality_budget.py --budget-minutes 5 --out bench-out/

Trains the `cpu` preset's model on the Billion Word sample
(``../shared/corpora/billion_word/*.txt``; the demo corpus when it is absent)
for the same wall-clock budget twice: with chargan's `Trainer`, and with the
straightforward eager port of `bench_train_step.py` (same model classes,
same seed, same Adam settings, same data sampler). The two train in
alternating slices of ``--eval-seconds`` (so machine noise hits both alike),
and after each slice both are scored the same way (640 samples, JS-1..4
against the corpus's cached statistics); evaluation time is not counted in
the budget. Prints the final figures and the held-out floor, and writes
``quality_budget.json`` and ``quality_budget.png`` (JS-4 against training
seconds) into ``--out``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_train_step import port_iteration  # noqa: E402

from chargan import RowSampler, Trainer, get_preset  # noqa: E402
from chargan.corpora import load_corpus  # noqa: E402
from chargan.text.evaluation import generate_ids, score_ids  # noqa: E402
from chargan.text.pipeline import build_models, corpus_reference  # noqa: E402

SAMPLE_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "corpora" / "billion_word"


class Contender:
    """One implementation under test: its step function, training clock and JS curve."""

    def __init__(self, impl: str, corpus, reference) -> None:
        config = self.config = get_preset("cpu")
        self.impl, self.corpus, self.reference = impl, corpus, reference
        vocab_size = len(corpus.vocab)
        torch.manual_seed(config.train.seed)
        self.generator, self.critic = build_models(config.model, vocab_size)
        sampler = RowSampler(corpus.ids, seed=config.train.seed,
                             transform=lambda ids: F.one_hot(ids.long(), vocab_size).float())
        if impl == "chargan":
            self.step = Trainer(self.generator, self.critic, sampler, config.train, progress=False).train_iteration
        else:
            g_opt = torch.optim.Adam(self.generator.parameters(), lr=config.train.lr, betas=config.train.betas)
            d_opt = torch.optim.Adam(self.critic.parameters(), lr=config.train.lr, betas=config.train.betas)
            batch = lambda: sampler.sample(config.train.batch_size)  # noqa: E731
            self.step = lambda: port_iteration(self.generator, self.critic, g_opt, d_opt, batch, config)
        self.trained, self.iterations = 0.0, 0
        self.curve = [self.evaluate()]

    def evaluate(self) -> dict:
        ids = generate_ids(self.generator, self.config.eval.samples, seed=self.config.eval.seed)
        self.critic.train()
        return {"seconds": round(self.trained, 1), "iterations": self.iterations,
                **score_ids(ids, self.reference.stats, self.corpus.vocab)}

    def train_for(self, seconds: float) -> None:
        """Train until ``seconds`` more of training time have passed."""
        stop = self.trained + seconds
        while self.trained < stop:
            start = time.perf_counter()
            self.step()
            self.trained += time.perf_counter() - start
            self.iterations += 1


def race(impls: list[str], corpus, reference, budget_s: float, eval_s: float) -> dict[str, list[dict]]:
    """Train every implementation for ``budget_s`` seconds, in alternating slices of ``eval_s``.

    Alternating means a busy spell on a shared machine slows every contender
    alike, instead of whichever happened to be running.
    """
    contenders = [Contender(impl, corpus, reference) for impl in impls]
    while any(c.trained < budget_s for c in contenders):
        for c in contenders:
            if c.trained >= budget_s:
                continue
            c.train_for(min(eval_s, budget_s - c.trained))
            c.curve.append(c.evaluate())
            print(f"  {c.impl:<8} {c.trained:7.0f} s  {c.iterations:6d} it  js4 {c.curve[-1]['js4']:.4f}", flush=True)
    return {c.impl: c.curve for c in contenders}


def plot(curves: dict[str, list[dict]], floor: dict[str, float], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    for name, curve in curves.items():
        ax.plot([r["seconds"] / 60 for r in curve], [r["js4"] for r in curve], marker=".", label=name)
    ax.axhline(floor["js4"], color="gray", linestyle="--", label="held-out floor")
    ax.set_xlabel("training minutes (evaluation excluded)")
    ax.set_ylabel("JS-4 (bits)")
    ax.set_title("quality per compute: `cpu` preset on the Billion Word sample")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--budget-minutes", type=float, default=20.0)
    parser.add_argument("--eval-seconds", type=float, default=60.0, help="training seconds between evaluations")
    parser.add_argument("--impl", choices=["both", "chargan", "port"], default="both")
    parser.add_argument("--out", type=Path, default=Path("bench-out"))
    args = parser.parse_args()

    spec = SAMPLE_DIR if any(SAMPLE_DIR.glob("*.txt")) else "demo"
    corpus = load_corpus(spec, seq_len=32, max_lines=None, progress=False)
    config = get_preset("cpu")
    reference, _ = corpus_reference(corpus, config.eval)
    print(f"corpus: {corpus.description}; vocabulary {len(corpus.vocab)}; torch threads {torch.get_num_threads()}")
    print("floor: " + "  ".join(f"{k}={v:.4f}" for k, v in reference.floor.items()))
    impls = ["chargan", "port"] if args.impl == "both" else [args.impl]
    curves = race(impls, corpus, reference, args.budget_minutes * 60, args.eval_seconds)

    print(f"\nafter {args.budget_minutes:g} training minutes:")
    print(f"{'impl':<10}{'iterations':>12}" + "".join(f"{f'js{n}':>9}" for n in config.eval.orders))
    for impl, curve in curves.items():
        last = curve[-1]
        print(f"{impl:<10}{last['iterations']:>12}" + "".join(f"{last[f'js{n}']:>9.4f}" for n in config.eval.orders))
    print(f"{'floor':<10}{'':>12}" + "".join(f"{reference.floor[f'js{n}']:>9.4f}" for n in config.eval.orders))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "quality_budget.json").write_text(json.dumps({"floor": reference.floor, "curves": curves}, indent=1))
    plot(curves, reference.floor, args.out / "quality_budget.png")
    print(f"wrote {args.out / 'quality_budget.json'} and {args.out / 'quality_budget.png'}")


if __name__ == "__main__":
    main()
