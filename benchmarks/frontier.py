"""The quality frontier: JS-1..4 against training wall clock, over model widths x training recipes x seeds.

    python benchmarks/frontier.py                                   # DIM 32/64/128 x 6 recipes x 3 seeds, 5 min each
    python benchmarks/frontier.py --minutes 20 --seeds 3 --out bench-out/frontier-20
    python benchmarks/frontier.py --minutes 1 --seeds 1 --width 32 --recipe cpu --recipe ema    # a quick look
    python benchmarks/frontier.py --pair 32:ttur-ema --pair 64:ema                                # chosen pairs
    python benchmarks/frontier.py --pair 32:ema --pair 128:ema:5e-4           # DIM 128 at a quarter of the lr

Every contender is the `cpu` preset's model at one width (``--width``; DIM
32 is the preset's) trained with one recipe (``--recipe``), each a change to
``cpu`` (`bench_train_step.plain_cpu_config`), so a recipe means the same
whatever the preset becomes:

- ``cpu``: the `cpu` preset's recipe before issue 12 (5 critic steps, Adam lr 2e-3, betas (0.5, 0.9));
- ``paper``: the reference's optimizer recipe at that width (10 critic steps, lr 1e-4);
- ``ttur``: one critic step, the critic's lr 3x the generator's (TTUR's ratio, at cpu's lr);
- ``ema``: cpu, evaluated with a warmed-up weight average of decay 0.999;
- ``smoothing``: ema with Sobolev-style smoothed real one-hots (s = 0.1) and log-space
  noise (``--noise``, annealed over ``--anneal`` iterations: by default the cpu preset's 15,000, half
  the paper's 30k, so a 20-minute run's noise ends after about 11 minutes);
- ``ttur-ema``: ttur + ema;
- ``ema-b128``: ema with batches of 128 rows (a small model's step costs far less than twice as much);
- ``best``: ttur + smoothing (with its average): today's `cpu` preset;
- ``best-slow-ema``: best with a longer average (decay 0.9995: the last ~2,000 iterations, not ~1,000);
- ``best-decay``: best with a learning rate falling linearly to 0 at ``--horizon`` iterations
  (``--lr-decay linear --iterations HORIZON``; pick the iterations the run will reach);
- ``port``: the eager float32 port of `bench_train_step.py` (the public ports' code), at cpu's numbers.

A pair may name a learning rate of its own (``--pair 128:ema:5e-4``): it replaces the recipe's rates,
keeping their ratio (TTUR's critic stays at 3x the generator's). The preset's 2e-3 collapses DIM 128.

Data: the Billion Word sample (``../shared/corpora/billion_word``; the demo
corpus when absent), less ``--heldout`` lines kept out of training. Each
evaluation scores 640 samples against the training lines (``js<n>``, as
chargan's runs do) and against the held-out lines (``heldout_js<n>``).
Contenders train in alternating slices of ``--eval-seconds`` (a busy spell
of a shared machine slows all alike); evaluation time is not counted.

Writes ``frontier.json`` (every curve), ``frontier.png`` (mean JS-4 against
training minutes, one panel per width, one line per recipe) and
``frontier.md`` (the final figures, mean and spread over seeds) into
``--out``. Run it at length on a quiet machine: two benchmarks at once on
the same cores halve each other's iterations.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import sys
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_train_step import VARIANTS, PortIteration, build, one_hot_sampler, plain_cpu_config  # noqa: E402
from quality_budget import TimedSteps, race  # noqa: E402

from chargan import Trainer, get_preset  # noqa: E402
from chargan.core.device import set_threads  # noqa: E402
from chargan.core.ema import GeneratorAverage  # noqa: E402
from chargan.corpora import load_corpus  # noqa: E402
from chargan.text.evaluation import generate_ids, reference_stats, score_ids  # noqa: E402
from chargan.text.ngrams import ngram_stats  # noqa: E402

SAMPLE_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "corpora" / "billion_word"


def recipes(noise: float, anneal: int, horizon: int) -> dict[str, dict]:
    """Recipe name -> TrainConfig overrides of `plain_cpu_config` (``port``: the eager port, no overrides)."""
    lr = plain_cpu_config().train.lr
    ttur = {"critic_iters": 1, "critic_lr": 3 * lr, "generator_lr": lr}
    ema = {"ema_decay": 0.999, "ema_warmup": True}
    smoothing = {"real_smoothing": 0.1, "real_noise": noise, "noise_anneal_iterations": anneal}
    best = {**ttur, **ema, **smoothing}
    return {"cpu": {}, "paper": {"critic_iters": 10, "lr": 1e-4}, "ttur": ttur, "ema": ema,
            "smoothing": {**ema, **smoothing}, "ttur-ema": {**ttur, **ema}, "ema-b128": {**ema, "batch_size": 128},
            "best": best, "best-decay": {**best, "lr_decay": "linear", "iterations": horizon},
            "best-slow-ema": {**best, "ema_decay": 0.9995}, "port": {}}


class Contender(TimedSteps):
    """One width, recipe and seed: its step, training clock and curve (the interface `quality_budget.race` drives)."""

    def __init__(self, width: int, recipe: str, overrides: dict, variant: str, seed: int, data: Data,
                 lr: float | None = None) -> None:
        config = plain_cpu_config(dim=width)
        self.config, self.data = config, data
        self.width, self.recipe, self.seed = width, recipe, seed
        self.label = recipe + (f" lr {lr:g}" if lr is not None else "")
        self.impl = f"DIM {width} {self.label}"
        if lr is not None:
            overrides = with_lr(overrides, lr, config.train.lr)
        self.overrides = overrides
        self.name = f"{self.impl} seed {seed}"
        vocab = len(data.corpus.vocab)
        if recipe == "port":
            sampler = one_hot_sampler(data.train_rows, config.model.seq_len, vocab, seed)
            port = PortIteration(config, lambda: sampler.sample(config.train.batch_size), seed, vocab)
            self.generator, self.step = port.generator, port
        else:
            generator, critic = build(config, seed, vocab=vocab)
            train = dataclasses.replace(config.train, device="cpu", seed=seed, **{**VARIANTS[variant], **overrides})
            trainer = Trainer(generator, critic, one_hot_sampler(data.train_rows, config.model.seq_len, vocab, seed),
                              train, progress=False)
            # The loop's callbacks do not run here: step the weight average by hand after each iteration.
            average = next((c for c in trainer.callbacks if isinstance(c, GeneratorAverage)), None)
            self.generator = trainer.generator if average is None else average.average
            self.step = trainer.train_iteration if average is None else _then(trainer.train_iteration, average.update)
        self.trained, self.iterations = 0.0, 0
        self.curve = [self.evaluate()]

    def evaluate(self) -> dict:
        was_training = self.generator.training
        ids = generate_ids(self.generator.eval(), self.config.eval.samples, seed=self.config.eval.seed)
        self.generator.train(was_training)
        vocab = self.data.corpus.vocab
        heldout = {f"heldout_{k}": v for k, v in score_ids(ids, self.data.heldout_stats, vocab).items()}
        return {"seconds": round(self.trained, 1), "iterations": self.iterations,
                **score_ids(ids, self.data.reference.stats, vocab), **heldout}


def with_lr(overrides: dict, lr: float, preset_lr: float) -> dict:
    """``overrides`` with its learning rates scaled so that the base rate is ``lr`` (their ratios kept)."""
    scale = lr / overrides.get("lr", preset_lr)
    scaled = {k: v * scale for k, v in overrides.items() if k in ("critic_lr", "generator_lr")}
    return {**overrides, **scaled, "lr": lr}


def _then(first: Callable[[], object], second: Callable[[], object]) -> Callable[[], None]:
    def both() -> None:
        first()
        second()
    return both


@dataclasses.dataclass
class Data:
    """The corpus, its training rows, and the reference statistics of training and held-out lines."""

    corpus: object
    train_rows: np.ndarray
    reference: object  # ReferenceStats of the training rows (stats, and their floor)
    heldout_stats: list


def load_data(heldout: int) -> Data:
    spec = SAMPLE_DIR if any(SAMPLE_DIR.glob("*.txt")) else "demo"
    corpus = load_corpus(spec, seq_len=32, max_lines=None, progress=False)
    ids = np.asarray(corpus.ids)
    order = np.random.default_rng(12).permutation(len(ids))
    held, kept = ids[np.sort(order[:heldout])], ids[np.sort(order[heldout:])]
    config = get_preset("cpu").eval
    reference = reference_stats(kept, len(corpus.vocab), config)
    return Data(corpus, kept, reference, ngram_stats(held, len(corpus.vocab), config.orders))


def summarize(contenders: list[Contender]) -> dict[str, dict]:
    """Per width and recipe: mean and sample standard deviation over seeds of each final figure."""
    groups: dict[str, list[dict]] = {}
    for c in contenders:
        groups.setdefault(c.impl, []).append(c.curve[-1])
    summary = {}
    for impl, finals in groups.items():
        summary[impl] = {k: (statistics.mean(f[k] for f in finals),
                             statistics.stdev(f[k] for f in finals) if len(finals) > 1 else 0.0)
                         for k in finals[0]}
    return summary


def markdown(summary: dict[str, dict], floor: dict[str, float], minutes: float, seeds: int) -> str:
    keys = ["js1", "js2", "js3", "js4", "heldout_js4"]
    lines = [f"After {minutes:g} training minutes (mean ± sd over {seeds} seed{'s' * (seeds > 1)}; evaluation "
             "not counted). js<n>: against the training lines; heldout_js4: against lines kept out of training.", "",
             "| width, recipe | iterations | " + " | ".join(keys) + " |", "| --- | --- |" + " --- |" * len(keys)]
    for impl, s in sorted(summary.items(), key=lambda kv: kv[1]["js4"][0]):
        lines.append(f"| {impl} | {s['iterations'][0]:.0f} | "
                     + " | ".join(f"{s[k][0]:.4f} ± {s[k][1]:.4f}" for k in keys) + " |")
    lines.append("| held-out floor | | " + " | ".join(f"{floor[k]:.4f}" if k in floor else "" for k in keys) + " |")
    return "\n".join(lines) + "\n"


def saved_runs(saved: dict[Path, dict]) -> list[SimpleNamespace]:
    """The curves of finished runs (``frontier.json`` path -> its content) as (width, label, curve); a label
    that two runs share (``best`` run at two settings) gets its run's folder name appended, ``best (run-a)``."""
    runs = []
    for path, result in saved.items():
        for name, curve in result["curves"].items():  # "DIM <width> <label> seed <seed>"
            head, _, _ = name.rpartition(" seed ")
            _, width, label = head.split(" ", 2)
            runs.append(SimpleNamespace(width=int(width), label=label, curve=curve, folder=path.parent.name))
    shared = {r.label for r in runs if len({o.folder for o in runs if o.label == r.label}) > 1}
    for r in runs:
        if r.label in shared:
            r.label = f"{r.label} ({r.folder})"
    return runs


def replot(saved: list[Path], out: Path) -> Path:
    """Draw ``frontier.png`` from finished runs' ``frontier.json`` files alone: beside the file for one, into
    ``out`` for several (their curves in one figure). Returns the figure's path."""
    results = {path: json.loads(path.read_text()) for path in saved}
    runs = saved_runs(results)
    widths = list(dict.fromkeys(r.width for r in runs))
    path = saved[0].with_name("frontier.png") if len(saved) == 1 else out / "frontier.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    plot(runs, widths, results[saved[0]]["floor"]["js4"], path)
    return path


def plot(contenders: list[Contender], widths: list[int], floor: float, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = list(dict.fromkeys(c.label for c in contenders))  # one colour per recipe (and rate) in every panel
    fig, axes = plt.subplots(1, len(widths), figsize=(5 * len(widths), 4), sharey=True, squeeze=False)
    for ax, width in zip(axes[0], widths):
        for i, label in enumerate(labels):
            runs = [c for c in contenders if c.width == width and c.label == label]
            if not runs:
                continue
            points = min(len(c.curve) for c in runs)  # alternating slices: every seed has these evaluations
            x = [statistics.mean(c.curve[j]["seconds"] for c in runs) / 60 for j in range(points)]
            y = [statistics.mean(c.curve[j]["js4"] for c in runs) for j in range(points)]
            ax.plot(x, y, marker=".", color=f"C{i}", label=label)
        ax.axhline(floor, color="gray", linestyle="--", label="held-out floor")
        ax.set_title(f"DIM {width}")
        ax.set_xlabel("training minutes (evaluation excluded)")
        ax.legend(fontsize="small")  # each panel names its own lines
    axes[0][0].set_ylabel("JS-4 (bits), mean over seeds")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def parse_pair(text: str) -> tuple[int, str, float | None]:
    """``WIDTH:RECIPE[:LR]`` -> (width, recipe, lr or None); ValueError when malformed."""
    width, recipe, *rest = text.split(":")
    if len(rest) > 1 or not recipe:
        raise ValueError(text)
    return int(width), recipe, float(rest[0]) if rest else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=5.0, help="training minutes per contender")
    parser.add_argument("--seeds", type=int, default=3, help="seeds per width and recipe (from --first-seed)")
    parser.add_argument("--first-seed", type=int, default=0, help="the first seed (to add seeds to an earlier run)")
    parser.add_argument("--width", action="append", type=int, help="model widths (default 32, 64, 128)")
    parser.add_argument("--recipe", action="append", help="recipes (default: all; see the module docstring)")
    parser.add_argument("--pair", action="append", metavar="WIDTH:RECIPE[:LR]",
                        help="contenders as width:recipe pairs (e.g. 64:ema, or 128:ema:5e-4 at a rate of its own), "
                             "instead of every --width x --recipe")
    parser.add_argument("--variant", default="bf16-fused", choices=list(VARIANTS),
                        help="chargan's speed options (bench_train_step.py's variants; the port is always fp32)")
    parser.add_argument("--noise", type=float, default=1.0, help="the smoothing recipe's --real-noise")
    parser.add_argument("--anneal", type=int, default=15_000,
                        help="the smoothing recipes' --noise-anneal-iterations (the cpu preset's; until 2026-12-03 "
                             "evening 2,000)")
    parser.add_argument("--horizon", type=int, default=20_000,
                        help="best-decay's --iterations: where its learning rate reaches 0")
    parser.add_argument("--eval-seconds", type=float, default=60.0, help="training seconds between evaluations")
    parser.add_argument("--heldout", type=int, default=2000, help="corpus lines kept out of training")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: chargan's choice)")
    parser.add_argument("--out", type=Path, default=Path("bench-out/frontier"))
    parser.add_argument("--replot", type=Path, nargs="+", metavar="FRONTIER_JSON",
                        help="only draw frontier.png again from finished runs' frontier.json: beside it for one "
                             "file, into --out for several (a recipe in two files is told apart by its folder)")
    args = parser.parse_args()
    if args.replot:
        print(f"wrote {replot(args.replot, args.out)}")
        return

    all_recipes = recipes(args.noise, args.anneal, args.horizon)
    if args.pair:
        if args.width or args.recipe:
            parser.error("give either --pair or --width/--recipe")
        try:
            pairs = [parse_pair(p) for p in args.pair]
        except ValueError:
            parser.error("--pair takes WIDTH:RECIPE or WIDTH:RECIPE:LR, e.g. 64:ema or 128:ema:5e-4")
    else:
        pairs = [(w, r, None) for w in args.width or [32, 64, 128] for r in args.recipe or list(all_recipes)]
    widths = list(dict.fromkeys(w for w, _, _ in pairs))
    names = list(dict.fromkeys(r for _, r, _ in pairs))
    unknown = set(names) - set(all_recipes)
    if unknown:
        parser.error(f"unknown recipe(s) {', '.join(sorted(unknown))}; choose from {', '.join(all_recipes)}")
    if "compile" in args.variant:
        torch._dynamo.config.cache_size_limit = max(64, 4 * len(widths) * len(names) * args.seeds)
    data = load_data(args.heldout)
    print(f"corpus: {data.corpus.description}; {len(data.train_rows)} training lines, {args.heldout} held out; "
          f"vocabulary {len(data.corpus.vocab)}")
    print("floor: " + "  ".join(f"{k}={v:.4f}" for k, v in data.reference.floor.items()))
    contenders = [Contender(w, r, all_recipes[r], args.variant, s, data, lr)
                  for s in range(args.first_seed, args.first_seed + args.seeds) for w, r, lr in pairs]
    largest = max(sum(p.numel() for p in c.generator.parameters()) * 2 for c in contenders)  # critic: about as large
    print(set_threads(args.threads, largest), flush=True)
    race(contenders, args.minutes * 60, args.eval_seconds, None, 0)

    summary = summarize(contenders)
    table = markdown(summary, data.reference.floor, args.minutes, args.seeds)
    print("\n" + table)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "frontier.json").write_text(json.dumps({
        "minutes": args.minutes, "seeds": args.seeds, "variant": args.variant,
        "recipes": {c.impl: c.overrides for c in contenders},
        "floor": data.reference.floor, "summary": summary, "curves": {c.name: c.curve for c in contenders}}, indent=1))
    (args.out / "frontier.md").write_text(table)
    plot(contenders, widths, data.reference.floor["js4"], args.out / "frontier.png")
    print(f"wrote frontier.json, frontier.md and frontier.png into {args.out}")


if __name__ == "__main__":
    main()
