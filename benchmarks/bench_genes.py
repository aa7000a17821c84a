"""Benchmarks of the genes family: what genes-cpu learns over time, novelty's cost, and a training step vs FBGAN's.

Three parts (each its own sub-command; ``all`` runs them in turn):

- ``quality``: ``chargan train --config genes-cpu`` for ``--minutes`` of wall
  time (the CLI itself, stopped by SIGTERM, which checkpoints; or a finished
  run, ``--from-run``), then a table
  of every evaluation: minutes, valid-gene fraction, JS-3 and JS-6 beside
  their held-out floors, novelty (mean edit distance to the nearest training
  gene, exact copies); and ``genes_quality.png``.
- ``novelty``: the seconds of one novelty measurement at the evaluation's
  size, 640 samples against 3,000 training genes (chargan's bounded search
  against rapidfuzz's all-pairs ``cdist``), beside the seconds an evaluation
  takes to generate its 640 samples at ``genes-cpu`` and ``genes``.
- ``speed``: seconds per generator iteration at the ``genes`` config (or
  smaller, ``--dim``), chargan's `Trainer` against FBGAN's own training step
  written the way its ``wgan_gp_gene.py`` writes it: real batches one-hot
  encoded on the host by scikit-learn's ``OneHotEncoder`` (numpy's eye when
  scikit-learn is not installed, said in the output), a fresh generator call
  per critic step that is not detached, a Gumbel-softmax at tau 0.5, the
  penalty by ``autograd.grad`` with ``create_graph``, and the residual
  blocks' in-place ReLUs (which also rewrite the block's input, as there).
  The two alternate round by round, so both see the same machine load.

    OMP_NUM_THREADS=1 python benchmarks/bench_genes.py quality --minutes 10
    python benchmarks/bench_genes.py quality --minutes 20 --train-flags="--precision bf16 --ema-decay 0.999 --ema-warmup"
    python benchmarks/bench_genes.py quality --from-run runs/fbgan-genes-genes-cpu-...   # a finished run
    OMP_NUM_THREADS=1 python benchmarks/bench_genes.py novelty
    OMP_NUM_THREADS=1 python benchmarks/bench_genes.py speed --dim 64 --rounds 3
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

OUT = Path("bench-out") / "genes"
GENES = "fbgan-genes"


# ------------------------------------------------------------------ quality over time
def quality(minutes: float, eval_every: int, out: Path, run: Path | None = None,
            flags: tuple[str, ...] = ()) -> None:
    """Train genes-cpu (with extra ``flags``) to its end or for ``minutes`` at most (or read the finished ``run``);
    print the table, draw the PNG."""
    if run is None:
        run = out / f"genes-cpu-{time.strftime('%Y%m%d-%H%M%S')}"
        # The chargan beside this interpreter (a venv's), so the benchmark runs without the venv activated.
        beside = Path(sys.executable).with_name("chargan")
        # genes-cpu's own iterations: its rate and noise schedules end with them (--minutes is only a cap).
        cmd = [str(beside) if beside.exists() else "chargan", "train", "--config", "genes-cpu", "--eval-every",
               str(eval_every), "--checkpoint-every", str(eval_every * 5), "--run", str(run), "--no-progress", *flags]
        print("+", " ".join(cmd), f"(stopped after {minutes:g} minutes)", flush=True)
        started = time.perf_counter()
        process = subprocess.Popen(cmd)
        try:
            process.wait(timeout=minutes * 60)
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGTERM)  # the CLI checkpoints and exits with 130
            process.wait()
        print(f"wall time {time.perf_counter() - started:.0f} s; run {run}")
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    floor = records[0]
    rows = [r for r in records if "js6" in r]
    print("\n| iteration | minutes | valid gene | JS-3 (floor) | JS-6 (floor) | novelty mean (floor) | copies |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in rows:
        print(f"| {r['iteration']} | {r.get('seconds', 0) / 60:.1f} | {r['valid_gene']:.3f} | "
              f"{r['js3']:.4f} ({floor['floor_js3']:.4f}) | {r['js6']:.4f} ({floor['floor_js6']:.4f}) | "
              f"{r['novelty_mean']:.1f} ({floor['floor_novelty_mean']:.1f}) | {r['novelty_copies']:.3f} |")
    _plot(rows, floor, run / "genes_quality.png")


def _plot(rows: list[dict], floor: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    minutes = [r.get("seconds", 0) / 60 for r in rows]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    for key, style in (("js3", "-"), ("js6", "-"), ("valid_gene", "-")):
        line, = left.plot(minutes, [r[key] for r in rows], style, label=key)
        left.axhline(floor[f"floor_{key}"], color=line.get_color(), linestyle=":", linewidth=1)
    left.set(xlabel="training minutes", ylabel="JS (bits) / fraction", title="genes-cpu (dotted: held-out floor)")
    left.legend()
    right.plot(minutes, [r["novelty_mean"] for r in rows], label="mean edit distance to nearest training gene")
    right.axhline(floor["floor_novelty_mean"], linestyle=":", linewidth=1, label="held-out real genes")
    right.set(xlabel="training minutes", ylabel="edits", title="novelty")
    right.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    print(f"wrote {path}")


# ------------------------------------------------------------------ novelty's cost
def novelty_timing(repeats: int) -> None:
    """Novelty's seconds (chargan's search against all pairs) beside an evaluation's generation at both configs."""
    import torch
    from rapidfuzz import process
    from rapidfuzz.distance import Levenshtein

    from chargan.corpora.sequences import load_sequences
    from chargan.genes import CONFIGS
    from chargan.genes.family import build_models
    from chargan.genes.metrics import nearest_distances
    from chargan.sequence.decoding import generate_ids

    corpus = load_sequences(GENES, seq_len=156)
    lines = list(corpus.lines())
    rng = np.random.default_rng(0)
    train = [lines[i] for i in rng.choice(len(lines), size=3000, replace=False)]

    def mutated(gene: str, rate: float) -> str:
        return "".join(rng.choice(list("ACGT")) if rng.random() < rate else base for base in gene)

    sets = {"near the genes (40% of bases changed)": [mutated(lines[i], 0.4) for i in rng.choice(len(lines), 640)],
            "random": ["".join(rng.choice(list("ACGT"), size=int(n))) for n in rng.integers(39, 157, size=640)]}

    def all_pairs(samples: list[str], train: list[str]) -> np.ndarray:
        return process.cdist(samples, train, scorer=Levenshtein.distance, workers=-1).min(axis=1)

    print(f"novelty: 640 samples x {len(train)} training genes, median of {repeats}")
    for name, samples in sets.items():
        for label, search, threads in (("chargan (nearest_distances)", nearest_distances, 1),
                                       ("all pairs (process.cdist)", all_pairs, os.cpu_count())):
            times = []
            for _ in range(repeats):
                started = time.perf_counter()
                search(samples, train)
                times.append(time.perf_counter() - started)
            print(f"  {name}, {label}, {threads} thread(s): {statistics.median(times):.2f} s")
    for config_name in ("genes-cpu", "genes"):
        model = CONFIGS[config_name].model
        generator, _ = build_models(model, 5)
        generate_ids(generator.eval(), 64, seed=0)  # warm-up
        started = time.perf_counter()
        with torch.no_grad():
            generate_ids(generator, 640, seed=0)
        print(f"  an evaluation's generation of 640 samples at {config_name} (DIM {model.dim}, "
              f"{torch.get_num_threads()} thread(s)): {time.perf_counter() - started:.2f} s")


# ------------------------------------------------------------------ a training step vs FBGAN's
def _fbgan_step(dim: int, seq_len: int, batch: int, critic_iters: int, data: np.ndarray, vocab: int):
    """One generator iteration as FBGAN's wgan_gp_gene.py runs it (see the module docstring)."""
    import torch
    from torch import nn

    try:
        from sklearn.preprocessing import OneHotEncoder

        encoder = OneHotEncoder()
        encoder.fit(np.arange(vocab).reshape(-1, 1))
        encode = lambda ids: encoder.transform(ids.reshape(-1, 1)).toarray()  # noqa: E731
        how = "scikit-learn OneHotEncoder"
    except ImportError:
        eye = np.eye(vocab)
        encode = lambda ids: eye[ids.reshape(-1)]  # noqa: E731
        how = "numpy eye (scikit-learn is not installed)"

    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.body = nn.Sequential(nn.ReLU(True), nn.Conv1d(dim, dim, 5, padding=2), nn.ReLU(True),
                                      nn.Conv1d(dim, dim, 5, padding=2))

        def forward(self, x):
            return x + 0.3 * self.body(x)

    class Generator(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(128, dim * seq_len)
            self.blocks = nn.Sequential(*(Block() for _ in range(5)))
            self.out = nn.Conv1d(dim, vocab, 1)

        def forward(self, z):
            h = self.out(self.blocks(self.fc(z).view(-1, dim, seq_len))).transpose(1, 2).contiguous()
            u = torch.rand_like(h)
            gumbel = -torch.log(-torch.log(u + 1e-20) + 1e-20)
            return torch.softmax((h + gumbel) / 0.5, dim=-1)

    class Critic(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed = nn.Conv1d(vocab, dim, 1)
            self.blocks = nn.Sequential(*(Block() for _ in range(5)))
            self.score = nn.Linear(dim * seq_len, 1)

        def forward(self, x):
            return self.score(self.blocks(self.embed(x.transpose(1, 2))).view(-1, dim * seq_len))

    g, d = Generator(), Critic()
    g_opt = torch.optim.Adam(g.parameters(), lr=1e-4, betas=(0.5, 0.9))
    d_opt = torch.optim.Adam(d.parameters(), lr=1e-4, betas=(0.5, 0.9))
    rng = np.random.default_rng(0)

    def iteration() -> None:
        for _ in range(critic_iters):
            ids = data[rng.integers(0, len(data), size=batch)].astype(np.int32)
            real = torch.Tensor(encode(ids).reshape(batch, -1, vocab))
            d_opt.zero_grad()
            fake = g(torch.randn(batch, 128))
            d_fake, d_real = d(fake).mean(), d(real).mean()
            alpha = torch.rand(batch, 1, 1).expand_as(real)
            inter = (alpha * real + (1 - alpha) * fake).detach().requires_grad_(True)
            grads = torch.autograd.grad(d(inter), inter, grad_outputs=torch.ones(batch, 1), create_graph=True,
                                        retain_graph=True)[0]
            penalty = 10 * ((torch.sqrt((grads.reshape(batch, -1) ** 2).sum(1) + 1e-12) - 1) ** 2).mean()
            (d_fake - d_real + penalty).backward()
            d_opt.step()
        g.zero_grad()
        (-d(g(torch.randn(batch, 128))).mean()).backward()
        g_opt.step()

    return iteration, how


def speed(dim: int | None, critic_iters: int | None, rounds: int, precision: str = "fp32") -> None:
    import torch
    from chargan.corpora.sequences import load_sequences

    import chargan.genes as genes
    from chargan import RowSampler, Trainer
    from chargan.genes.family import build_models
    from chargan.sequence.models import one_hot

    config = genes.CONFIGS["genes"].with_overrides(dim=dim, critic_iters=critic_iters, device="cpu",
                                                   precision=precision, fused_optimizer=precision == "bf16")
    m, t = config.model, config.train
    corpus = load_sequences(GENES, seq_len=m.seq_len)
    data = np.asarray(corpus.ids)
    torch.manual_seed(0)
    generator, critic = build_models(m, len(corpus.vocab))
    sampler = RowSampler(data, "cpu", seed=0, transform=lambda ids: one_hot(ids, len(corpus.vocab)))
    trainer = Trainer(generator, critic, sampler, t, progress=False, echo=lambda line: None)
    fbgan, how = _fbgan_step(m.dim, m.seq_len, t.batch_size, t.critic_iters, data, len(corpus.vocab))
    print(f"speed: genes config, {t.precision}, dim {m.dim}, seq_len {m.seq_len}, batch {t.batch_size}, {t.critic_iters} critic "
          f"steps, {torch.get_num_threads()} thread(s); FBGAN's real batches one-hot by {how}")
    trainer.train_iteration()  # warm-up of both (allocator, first-call costs)
    fbgan()
    ours, theirs = [], []
    for _ in range(rounds):
        started = time.perf_counter()
        trainer.train_iteration()
        ours.append(time.perf_counter() - started)
        started = time.perf_counter()
        fbgan()
        theirs.append(time.perf_counter() - started)
    a, b = statistics.median(ours), statistics.median(theirs)
    print(f"seconds per generator iteration (median of {rounds}, interleaved): chargan {a:.3f}, FBGAN's step "
          f"{b:.3f} ({b / a:.2f}x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("part", choices=("quality", "novelty", "speed", "all"))
    parser.add_argument("--minutes", type=float, default=25.0,
                        help="quality: a cap on the wall minutes (genes-cpu ends at its own --iterations)")
    parser.add_argument("--eval-every", type=int, default=50, help="quality: iterations between evaluations")
    parser.add_argument("--dim", type=int, default=None, help="speed: model width (default: the genes config's 512)")
    parser.add_argument("--critic-iters", type=int, default=None, help="speed: critic steps (default 10)")
    parser.add_argument("--rounds", type=int, default=3, help="speed: timed iterations of each")
    parser.add_argument("--precision", choices=("fp32", "bf16"), default="fp32",
                        help="speed: chargan's forward precision (bf16 also fuses Adam); FBGAN's stays fp32")
    parser.add_argument("--repeats", type=int, default=3, help="novelty: timed measurements")
    parser.add_argument("--from-run", type=Path, default=None,
                        help="quality: tabulate and plot this finished genes run instead of training one")
    parser.add_argument("--train-flags", default="",
                        help='quality: more `chargan train` flags, e.g. --train-flags="--ema-decay 0.999 --ema-warmup"')
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    if args.part in ("novelty", "all"):
        novelty_timing(args.repeats)
    if args.part in ("speed", "all"):
        speed(args.dim, args.critic_iters, args.rounds, args.precision)
    if args.part in ("quality", "all"):
        quality(args.minutes, args.eval_every, args.out, args.from_run, tuple(shlex.split(args.train_flags)))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
