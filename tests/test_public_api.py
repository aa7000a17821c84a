"""A GAN over non-text categorical sequences, built from `chargan`'s exports alone."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

import chargan
from chargan import ConvCritic, ConvGenerator, RowSampler, Trainer, TrainConfig

SYMBOLS, LENGTH = 6, 16


def markov_chain(seed: int = 0) -> np.ndarray:
    """A sparse transition matrix: each symbol mostly goes to one of two successors."""
    rng = np.random.default_rng(seed)
    p = np.full((SYMBOLS, SYMBOLS), 0.02)
    for s in range(SYMBOLS):
        a, b = rng.choice(SYMBOLS, size=2, replace=False)
        p[s, a] += 0.6
        p[s, b] += 0.3
    return p / p.sum(1, keepdims=True)


def sample_chain(p: np.ndarray, n: int, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    seqs = np.empty((n, LENGTH), dtype=np.int64)
    seqs[:, 0] = rng.integers(SYMBOLS, size=n)
    cumulative = p.cumsum(1)
    for t in range(1, LENGTH):
        u = rng.random(n)[:, None]
        seqs[:, t] = (u > cumulative[seqs[:, t - 1]]).sum(1)
    return seqs


def bigram_frequencies(seqs: np.ndarray) -> np.ndarray:
    counts = np.bincount((seqs[:, :-1] * SYMBOLS + seqs[:, 1:]).ravel(), minlength=SYMBOLS**2)
    return counts / counts.sum()


def test_exports_are_not_text_specific_and_train_a_markov_gan() -> None:
    assert {"ConvGenerator", "ConvCritic", "gradient_penalty", "Trainer", "RowSampler"} <= set(chargan.__all__)
    torch.manual_seed(0)
    data = sample_chain(markov_chain(), 4096)
    target = bigram_frequencies(data)

    generator = ConvGenerator(vocab_size=SYMBOLS, seq_len=LENGTH, dim=32, latent_dim=16, n_blocks=2, kernel_size=3)
    critic = ConvCritic(vocab_size=SYMBOLS, seq_len=LENGTH, dim=32, n_blocks=2, kernel_size=3)
    real = RowSampler(data, seed=0, transform=lambda ids: F.one_hot(ids, SYMBOLS).float())
    config = TrainConfig(iterations=120, batch_size=64, critic_iters=5, lr=1e-3, device="cpu")
    trainer = Trainer(generator, critic, real, config, progress=False)

    def distance() -> float:
        with torch.no_grad():
            fake = generator(torch.randn(2048, 16)).argmax(-1).numpy()
        return 0.5 * np.abs(bigram_frequencies(fake) - target).sum()  # total variation

    before = distance()
    result = trainer.fit()
    after = distance()
    assert result.iteration == 120 and not result.interrupted
    assert before > 0.5, before  # an untrained generator is far from the chain
    assert after < 0.5 * before, (before, after)
