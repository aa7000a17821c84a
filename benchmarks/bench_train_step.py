"""Seconds per generator iteration (n_critic critic steps + 1 generator step), chargan vs an eager port.

The port is written here the way public ports of the reference
``gan_language.py`` are: float32, ``F.relu`` activations, separate
critic calls on real, fake and interpolates, ``autograd.grad`` for the
penalty, plain Adam. It uses the same model shapes and draws its noise and
interpolation weights in the same order as chargan's `Trainer`, so with the
same seed both take the same first step: the first critic step's Wasserstein
estimate and penalty are printed side by side.

Executed FLOPs per iteration are counted with ``torch.utils.flop_counter``'s
formulas (convolutions and matmuls, forward, backward and double backward) and turned
into achieved GFLOP/s, printed beside what this machine's matmul and the
model's conv1d reach on their own.

    python benchmarks/bench_train_step.py                         # cpu preset and paper config
    python benchmarks/bench_train_step.py --config paper --repeats 2
    python benchmarks/bench_train_step.py --variant fp32 --variant bf16-fused
"""

from __future__ import annotations

import argparse
import dataclasses
import resource
import statistics
import time
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import flop_registry

from chargan import ConvCritic, ConvGenerator, RowSampler, Trainer, get_preset
from chargan.text import models

VOCAB = 100  # about what Billion Word's character set gives after the 2048 cap of rare symbols


def plain_cpu_config(**overrides):
    """The `cpu` preset's model with its recipe before issue 12: 5 critic steps at Adam 2e-3, no average, no
    smoothing. The quality races' common ground: the port reads these numbers too, and the frontier's recipes
    are changes to them, so their figures keep their meaning whatever the preset becomes."""
    return get_preset("cpu").with_overrides(lr=2e-3, critic_iters=5, ema_decay=0.0, ema_warmup=False,
                                            real_smoothing=0.0, real_noise=0.0, **overrides)


#: chargan's variants: TrainConfig overrides.
VARIANTS = {
    "fp32": {},
    "fp32-fused": {"fused_optimizer": True},
    "bf16-fused": {"precision": "bf16", "fused_optimizer": True},
    "fp32-compile": {"fused_optimizer": True, "compile": True},
    "bf16-compile": {"precision": "bf16", "fused_optimizer": True, "compile": True},
}


class PortIteration:
    """One generator iteration as a plain port of the reference script does it."""

    def __init__(self, cfg, sample_real: Callable[[], torch.Tensor], seed: int, vocab: int = VOCAB) -> None:
        self.cfg = cfg
        self.generator, self.critic = build(cfg, seed, port=True, vocab=vocab)
        t = cfg.train
        self.g_opt = torch.optim.Adam(self.generator.parameters(), lr=t.lr, betas=t.betas)
        self.d_opt = torch.optim.Adam(self.critic.parameters(), lr=t.lr, betas=t.betas)
        self.sample_real = sample_real
        self.rng = torch.Generator().manual_seed(seed)  # drawn in the order chargan's Trainer draws

    def critic_step(self) -> tuple[float, float]:
        batch, latent = self.cfg.train.batch_size, self.generator.latent_dim
        real = self.sample_real()
        self.critic.zero_grad()
        d_real = self.critic(real).mean()
        with torch.no_grad():
            fake = self.generator(torch.randn(batch, latent, generator=self.rng))
        d_fake = self.critic(fake).mean()
        alpha = torch.rand(batch, 1, 1, generator=self.rng)
        interpolates = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
        scores = self.critic(interpolates)
        grads = torch.autograd.grad(scores, interpolates, grad_outputs=torch.ones_like(scores), create_graph=True)[0]
        penalty = ((grads.flatten(1).norm(2, dim=1) - 1) ** 2).mean() * self.cfg.train.lambda_gp
        (d_fake - d_real + penalty).backward()
        self.d_opt.step()
        return (d_real - d_fake).item(), penalty.item()

    def __call__(self) -> None:
        for p in self.critic.parameters():
            p.requires_grad = True
        for _ in range(self.cfg.train.critic_iters):
            self.critic_step()
        for p in self.critic.parameters():
            p.requires_grad = False
        self.generator.zero_grad()
        z = torch.randn(self.cfg.train.batch_size, self.generator.latent_dim, generator=self.rng)
        (-self.critic(self.generator(z)).mean()).backward()
        self.g_opt.step()


class PortResBlock(models.ResBlock1d):
    """The residual block with ``F.relu``, as ports write it (chargan's relu skips the penalty's wasted work)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.relu(self.norm1(x)))
        return x + self.residual_scale * self.conv2(F.relu(self.norm2(h)))


class PortGenerator(models.ConvGenerator):
    """The generator with its output layer as a 1x1 ``nn.Conv1d`` call, as ports write it."""

    def logits(self, z: torch.Tensor) -> torch.Tensor:
        h = self.project(z).view(len(z), self.dim, self.seq_len)
        return self.to_vocab(self.blocks(h)).transpose(1, 2)


class PortCritic(models.ConvCritic):
    """The critic with its input layer as a 1x1 ``nn.Conv1d`` call on the transposed one-hot, as ports write it."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.blocks(self.embed(x.transpose(1, 2)))
        return self.score(h.flatten(1)).squeeze(-1)


def build(cfg, seed: int, port: bool = False, vocab: int = VOCAB):
    """Generator and critic of ``cfg``, initialized from ``seed``; ``port`` gives them the port's blocks."""
    torch.manual_seed(seed)
    m = cfg.model
    generator = ConvGenerator(vocab, m.seq_len, m.dim, m.latent_dim, m.n_blocks, m.kernel_size, m.residual_scale)
    critic = ConvCritic(vocab, m.seq_len, m.dim, m.n_blocks, m.kernel_size, m.residual_scale)
    if port:
        generator.__class__, critic.__class__ = PortGenerator, PortCritic  # same parameters, the port's forward
        for block in [*generator.blocks, *critic.blocks]:
            block.__class__ = PortResBlock  # same parameters, the port's forward
    return generator, critic


def one_hot_sampler(rows: np.ndarray, seq_len: int, vocab: int = VOCAB, seed: int = 0) -> RowSampler:
    """Batches of ``rows`` as one-hot ``(batch, seq_len, vocab)``, as the text pipeline feeds the critic."""
    return RowSampler(rows[:, :seq_len], seed=seed, transform=lambda ids: F.one_hot(ids.long(), vocab).float())


def chargan_trainer(cfg, rows: np.ndarray, overrides: dict, seed: int, vocab: int = VOCAB) -> Trainer:
    """chargan's `Trainer` for ``cfg`` with `VARIANTS` ``overrides``, on the CPU."""
    generator, critic = build(cfg, seed, vocab=vocab)
    train = dataclasses.replace(cfg.train, device="cpu", seed=seed, **overrides)
    return Trainer(generator, critic, one_hot_sampler(rows, cfg.model.seq_len, vocab, seed), train, progress=False)


def interleaved_medians(steps: dict[str, Callable[[], object]], repeats: int) -> dict[str, float]:
    """Median seconds per call of each step, the steps taking turns (a shared machine's drift hits all alike)."""
    times: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(repeats):
        for name, step in steps.items():
            start = time.perf_counter()
            step()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}


def time_it(step: Callable[[], object], repeats: int) -> float:
    """Median seconds of ``repeats`` calls, after one warm-up call."""
    step()
    return interleaved_medians({"step": step}, repeats)["step"]


class _FlopCounter(TorchDispatchMode):
    """Sums torch's own FLOP formulas (convolutions, matmuls, their backwards) over every op dispatched.

    ``FlopCounterMode`` itself cannot be used: its module tracker breaks
    ``autograd.grad`` with respect to a leaf (the interpolates).
    """

    def __init__(self) -> None:
        super().__init__()
        self.flops = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        formula = flop_registry.get(func._overloadpacket)
        if formula is not None:
            self.flops += formula(*args, **kwargs, out_val=out)
        return out


def count_flops(step: Callable[[], object]) -> float:
    """Floating-point operations one call of ``step`` executes (multiply-adds count 2).

    Compiled code is counted as its eager twin (``force_eager``): run under a
    dispatch mode, dynamo would compile the step again for the mode.
    """
    with torch.compiler.set_stance("force_eager"), _FlopCounter() as counter:
        step()
    return float(counter.flops)


def machine_gflops(cfg, dtype: torch.dtype) -> tuple[float, float]:
    """GFLOP/s of a square 2048 matmul and of the model's conv1d ``(batch, dim, seq) * (dim, dim, k)``."""
    def rate(fn: Callable[[], object], flops: float) -> float:
        return flops / time_it(fn, 10) / 1e9

    a, b = torch.randn(2048, 2048, dtype=dtype), torch.randn(2048, 2048, dtype=dtype)
    m = cfg.model
    x = torch.randn(cfg.train.batch_size, m.dim, m.seq_len, dtype=dtype)
    w = torch.randn(m.dim, m.dim, m.kernel_size, dtype=dtype)
    conv_flops = 2 * cfg.train.batch_size * m.dim * m.dim * m.kernel_size * m.seq_len
    return rate(lambda: a @ b, 2 * 2048 ** 3), rate(lambda: F.conv1d(x, w, padding=m.kernel_size // 2), conv_flops)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", action="append", choices=["cpu", "paper"], help="preset(s) to time (default: both)")
    parser.add_argument("--variant", action="append", choices=list(VARIANTS),
                        help="chargan variant(s) to time (default: fp32 and bf16-fused)")
    parser.add_argument("--repeats", type=int, default=5, help="timed iterations (the paper config uses half)")
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, vocab {VOCAB}")
    rows = np.random.default_rng(0).integers(0, VOCAB, size=(10_000, 32)).astype(np.uint8)
    variants = args.variant or ["fp32", "bf16-fused"]
    for preset in args.config or ["cpu", "paper"]:
        cfg = get_preset(preset)
        m, t = cfg.model, cfg.train
        repeats = args.repeats if preset == "cpu" else max(1, args.repeats // 2)
        print(f"\n== {preset}: dim={m.dim} blocks={m.n_blocks} batch={t.batch_size} critic_iters={t.critic_iters} "
              f"seq_len={m.seq_len}, median of {repeats} interleaved repetitions")
        for dtype in (torch.float32, torch.bfloat16):
            mm, conv = machine_gflops(cfg, dtype)
            print(f"machine {str(dtype).removeprefix('torch.'):>8}: matmul 2048^3 {mm:6.0f} GFLOP/s | "
                  f"model conv1d {conv:6.0f} GFLOP/s")

        # Same seed, same data: the first critic step's estimates must agree.
        sampler = one_hot_sampler(rows, m.seq_len)
        port_w, port_gp = PortIteration(cfg, lambda: sampler.sample(t.batch_size), seed=0).critic_step()
        print(f"first critic step, seed 0: {'eager port fp32':>20}: W {port_w:9.5f}  GP {port_gp:9.5f}")
        for variant in variants:
            first = chargan_trainer(cfg, rows, VARIANTS[variant], seed=0).critic_step()
            print(f"{'':27}{'chargan ' + variant:>20}: W {first['wasserstein'].item():9.5f}  "
                  f"GP {first['gradient_penalty'].item():9.5f}")

        sampler = one_hot_sampler(rows, m.seq_len)
        steps: dict[str, Callable[[], object]] = {"eager port fp32": PortIteration(cfg, lambda: sampler.sample(t.batch_size), 0)}
        for variant in variants:
            steps[f"chargan {variant}"] = chargan_trainer(cfg, rows, VARIANTS[variant], seed=0).train_iteration
        for step in steps.values():  # warm-up (and compilation)
            step()
            step()
        flops = {name: count_flops(step) for name, step in steps.items()}
        seconds = interleaved_medians(steps, repeats)
        port_s = seconds["eager port fp32"]
        for name in steps:
            print(f"{name:>20}: {seconds[name]:7.3f} s/it | {flops[name] / 1e12:6.3f} TFLOP/it executed | "
                  f"{flops[name] / seconds[name] / 1e9:6.0f} GFLOP/s | {port_s / seconds[name]:.2f}x the port")
    print(f"\npeak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
