"""What the divergence guard costs: its two checks against one training iteration, at the cpu and paper sizes.

    python benchmarks/bench_guard.py [--rounds 200]

The guard checks the values of each logged record (already on the host: one
pass over a dict) and, before each checkpoint, every weight for a NaN or an
infinity. Neither runs per iteration, so the figure that matters is each
check's time against one iteration's (measured here too, interleaved).
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F

from chargan import ConvCritic, ConvGenerator, RowSampler, Trainer, TrainConfig
from chargan.core.checkpoint import non_finite
from chargan.core.trainer import _check_finite
from chargan.text.config import get_preset

SIZES = {"cpu": get_preset("cpu"), "paper": get_preset("paper")}
VOCAB = 64


def trainer_of(name: str) -> Trainer:
    config = SIZES[name]
    m = config.model
    rows = torch.randint(0, VOCAB, (2048, m.seq_len))
    return Trainer(ConvGenerator(VOCAB, m.seq_len, m.dim, m.latent_dim, m.n_blocks),
                   ConvCritic(VOCAB, m.seq_len, m.dim, m.n_blocks),
                   RowSampler(rows, transform=lambda ids: F.one_hot(ids, VOCAB).float()),
                   TrainConfig(batch_size=config.train.batch_size, critic_iters=config.train.critic_iters,
                               device="cpu"), progress=False)


def timed(fn, rounds: int) -> float:  # noqa: ANN001
    """Median seconds of ``fn()`` over ``rounds`` calls."""
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--iterations", type=int, default=5, help="training iterations timed per size")
    args = parser.parse_args()
    record = {"iteration": 10, "critic_loss": -1.5, "generator_loss": 0.3, "wasserstein": 1.7,
              "gradient_penalty": 0.2, "grad_norm": 1.01, "seconds": 3.2, "it_per_sec": 8.1}
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    print("| size | one iteration | record check | weights check (per checkpoint) | weights |")
    print("| --- | --- | --- | --- | --- |")
    for name in SIZES:
        trainer = trainer_of(name)
        trainer.train_iteration()  # warm-up
        iteration = timed(trainer.train_iteration, args.iterations)
        record_check = timed(lambda: _check_finite(record, 0), args.rounds)
        weights_check = timed(lambda: non_finite(trainer.generator) + non_finite(trainer.critic), 20)
        weights = sum(p.numel() for m in (trainer.generator, trainer.critic) for p in m.parameters())
        print(f"| {name} | {iteration * 1e3:.1f} ms | {record_check * 1e6:.1f} µs "
              f"({record_check / iteration:.1e} of it) | {weights_check * 1e3:.2f} ms "
              f"({weights_check / iteration:.1%} of one iteration) | {weights:,} |")


if __name__ == "__main__":
    main()
