"""Seconds per generator iteration (n_critic critic steps + 1 generator step).

Times chargan's `Trainer.train_iteration` against a straightforward eager
port of the reference ``gan_language.py`` training step, written here the way
public ports write it: separate critic calls on real, fake and interpolates,
``autograd.grad`` for the penalty, ``.backward()`` on each term. Both use the
same model classes and the same random data, in float32, on this machine.

    python benchmarks/bench_train_step.py                  # cpu preset and paper config
    python benchmarks/bench_train_step.py --config paper --repeats 2
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np
import torch
import torch.nn.functional as F

from chargan import ConvCritic, ConvGenerator, RowSampler, Trainer, get_preset

VOCAB = 100  # about what Billion Word's character set gives after the 2048 cap of rare symbols


def port_iteration(generator, critic, g_opt, d_opt, real_batches, cfg) -> None:
    """One generator iteration as a plain port of the reference script does it."""
    batch, latent = cfg.train.batch_size, generator.latent_dim
    for p in critic.parameters():
        p.requires_grad = True
    for _ in range(cfg.train.critic_iters):
        real = real_batches()
        critic.zero_grad()
        d_real = critic(real).mean()
        with torch.no_grad():
            fake = generator(torch.randn(batch, latent))
        d_fake = critic(fake).mean()
        alpha = torch.rand(batch, 1, 1)
        interpolates = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
        scores = critic(interpolates)
        grads = torch.autograd.grad(scores, interpolates, grad_outputs=torch.ones_like(scores), create_graph=True)[0]
        penalty = ((grads.flatten(1).norm(2, dim=1) - 1) ** 2).mean() * cfg.train.lambda_gp
        (d_fake - d_real + penalty).backward()
        d_opt.step()
    for p in critic.parameters():
        p.requires_grad = False
    generator.zero_grad()
    (-critic(generator(torch.randn(batch, latent))).mean()).backward()
    g_opt.step()


def build(cfg, seed: int = 0):
    torch.manual_seed(seed)
    m = cfg.model
    generator = ConvGenerator(VOCAB, m.seq_len, m.dim, m.latent_dim, m.n_blocks, m.kernel_size, m.residual_scale)
    critic = ConvCritic(VOCAB, m.seq_len, m.dim, m.n_blocks, m.kernel_size, m.residual_scale)
    return generator, critic


def time_it(step, repeats: int) -> float:
    step()  # warm-up: allocator, kernels
    start = time.perf_counter()
    for _ in range(repeats):
        step()
    return (time.perf_counter() - start) / repeats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", action="append", choices=["cpu", "paper"], help="preset(s) to time (default: both)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, float32, vocab {VOCAB}")
    rows = np.random.default_rng(0).integers(0, VOCAB, size=(10_000, 32)).astype(np.uint8)
    for name in args.config or ["cpu", "paper"]:
        cfg = get_preset(name)
        repeats = args.repeats if name == "cpu" else max(1, args.repeats // 2)

        generator, critic = build(cfg)
        sampler = RowSampler(rows[:, : cfg.model.seq_len], seed=0, transform=lambda ids: F.one_hot(ids.long(), VOCAB).float())
        trainer = Trainer(generator, critic, sampler, cfg.train.__class__(**{**cfg.train.__dict__, "device": "cpu"}), progress=False)
        ours = time_it(trainer.train_iteration, repeats)

        generator, critic = build(cfg)
        g_opt = torch.optim.Adam(generator.parameters(), lr=cfg.train.lr, betas=cfg.train.betas)
        d_opt = torch.optim.Adam(critic.parameters(), lr=cfg.train.lr, betas=cfg.train.betas)
        port_sampler = RowSampler(rows[:, : cfg.model.seq_len], seed=0, transform=lambda ids: F.one_hot(ids.long(), VOCAB).float())
        port = time_it(lambda: port_iteration(generator, critic, g_opt, d_opt, lambda: port_sampler.sample(cfg.train.batch_size), cfg), repeats)

        m, t = cfg.model, cfg.train
        print(f"{name:>6}: dim={m.dim} batch={t.batch_size} critic_iters={t.critic_iters} seq_len={m.seq_len} | "
              f"chargan {ours:.3f} s/it | eager port {port:.3f} s/it | speed-up {port / ours:.2f}x")
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
