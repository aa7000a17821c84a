"""Where one generator iteration's time goes: a per-phase breakdown of chargan's training step.

Runs the phases `Trainer.critic_steps` and `Trainer.generator_step` run,
with the same speed options, each timed on its own (phases are synchronized
on CUDA), and sums them per iteration:

- data: batches of real rows, one-hot encoded on the device
- generator (fakes): one generator forward for all the critic steps' fakes (no grad)
- critic forward + input gradient: `CriticLoss` (real and fake scored, the
  interpolates' input gradient from ``ConvCritic.scores_and_input_gradient``)
- critic backward: one backward of loss + penalty into the critic's weights
- optimizer: Adam steps of the critic (and of the generator)
- generator step: generator and critic forward, backward
- evaluation: 640 samples drawn, argmax-decoded and scored (JS-1..4), once per ``eval_every``

The sum matches the trainer's iteration within noise, which is printed beside it.

    python benchmarks/profile_iteration.py --config paper --precision bf16 --fused-optimizer
    python benchmarks/profile_iteration.py --config cpu --iterations 5 --precision bf16 --fused-optimizer --compile
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from chargan import Trainer, get_preset
from chargan.core.penalty import interpolation_weights
from chargan.text.evaluation import generate_ids
from chargan.text.ngrams import ngram_js, ngram_stats

from bench_train_step import build, one_hot_sampler  # the same models and data path (run from benchmarks/)

SAMPLE = Path(__file__).resolve().parents[2] / "shared" / "corpora" / "billion_word"


def real_rows(seq_len: int) -> tuple[np.ndarray, int]:
    """``(rows, vocab_size)``: the Billion Word sample encoded by chargan when present, else the demo corpus."""
    from chargan.corpora import load_corpus

    corpus = load_corpus(str(SAMPLE) if SAMPLE.is_dir() else "demo", seq_len=seq_len, progress=False)
    return np.asarray(corpus.ids), len(corpus.vocab)


class PhaseTimer:
    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.seconds: dict[str, float] = defaultdict(float)

    def __call__(self, name: str, fn: Callable[[], object]):
        if self.device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        out = fn()
        if self.device.type == "cuda":
            torch.cuda.synchronize()
        self.seconds[name] += time.perf_counter() - start
        return out


def profiled_iteration(trainer: Trainer, timer: PhaseTimer) -> None:
    """One iteration of `trainer`'s math, phase by phase (single process)."""
    cfg, dev = trainer.config, trainer.device
    reals = [timer("data", lambda: trainer.data.sample(cfg.batch_size).to(dev)) for _ in range(cfg.critic_iters)]

    def fakes():
        with torch.no_grad(), trainer.steps.autocast():
            return trainer.generator(trainer.noise(cfg.batch_size * cfg.critic_iters)).split(cfg.batch_size)

    for real, fake in zip(reals, timer("generator (fakes)", fakes)):
        eps = interpolation_weights(cfg.batch_size, real, trainer.rng)

        def forward():
            with trainer.steps.autocast():
                return trainer.steps.critic_loss(real, fake.to(real.dtype), eps)

        loss, penalty, _ = timer("critic forward + input gradient", forward)
        trainer.critic_optimizer.zero_grad(set_to_none=True)
        timer("critic backward", lambda: (loss + penalty).backward())
        timer("optimizer", trainer.critic_optimizer.step)

    def generator_step():
        trainer.critic.requires_grad_(False)
        with trainer.steps.autocast():
            g_loss = trainer.steps.generator_loss(trainer.noise(cfg.batch_size))
        trainer.generator_optimizer.zero_grad(set_to_none=True)
        g_loss.backward()
        trainer.critic.requires_grad_(True)

    timer("generator step", generator_step)
    timer("optimizer", trainer.generator_optimizer.step)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", choices=["cpu", "paper"], default="paper")
    parser.add_argument("--precision", choices=["fp32", "bf16"], default="fp32")
    parser.add_argument("--fused-optimizer", action="store_true")
    parser.add_argument("--compile", action="store_true")
    parser.add_argument("--iterations", type=int, default=2, help="profiled iterations (after one warm-up)")
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()

    cfg = get_preset(args.config)
    rows, vocab = real_rows(cfg.model.seq_len)
    generator, critic = build(cfg, seed=0, vocab=vocab)
    train = dataclasses.replace(cfg.train, device=args.device, precision=args.precision,
                                fused_optimizer=args.fused_optimizer, compile=args.compile)
    trainer = Trainer(generator, critic, one_hot_sampler(rows, cfg.model.seq_len, vocab), train, progress=False)
    trainer.data.device = trainer.device  # one-hot on the device, as the text pipeline does
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, device {trainer.device}, "
          f"{args.config} config (dim {cfg.model.dim}, batch {train.batch_size}, {train.critic_iters} critic steps), "
          f"{args.precision}{', fused Adam' if args.fused_optimizer else ''}{', compiled' if args.compile else ''}, "
          f"vocab {vocab}")

    timer = PhaseTimer(trainer.device)
    profiled_iteration(trainer, PhaseTimer(trainer.device))  # warm-up
    for _ in range(args.iterations):
        profiled_iteration(trainer, timer)
    per_iteration = {name: s / args.iterations for name, s in timer.seconds.items()}

    # Evaluation as the trainer's callback runs it: 640 samples, JS-1..4 against cached statistics.
    reference = ngram_stats(rows, vocab)
    eval_times = []
    for _ in range(3):
        start = time.perf_counter()
        ngram_js(generate_ids(trainer.generator, 640, seed=0), reference, vocab)
        eval_times.append(time.perf_counter() - start)
    evaluation = statistics.median(eval_times)

    trainer.train_iteration()  # warm-up (the compiled step meets the trainer's inputs)
    start = time.perf_counter()
    for _ in range(args.iterations):
        trainer.train_iteration()
    trainer_seconds = (time.perf_counter() - start) / args.iterations

    total = sum(per_iteration.values())
    print(f"\n{'phase':<32} {'s/iteration':>12} {'share':>7}")
    for name, seconds in per_iteration.items():
        print(f"{name:<32} {seconds:12.3f} {seconds / total:7.1%}")
    print(f"{'sum of phases':<32} {total:12.3f}")
    print(f"{'Trainer iteration':<32} {trainer_seconds:12.3f}   (the same math in one backward per step)")
    print(f"{'evaluation (640)':<32} {evaluation:12.3f}   once per eval_every iterations "
          f"({evaluation / trainer_seconds:.1%} of one iteration)")


if __name__ == "__main__":
    main()
