"""A tiny one-hot conv GAN on random rows: the trainer the speed-option and CUDA tests step and compare."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from chargan import ConvCritic, ConvGenerator, RowSampler, RunDirectory, Trainer, TrainConfig


def tiny_trainer(config: TrainConfig, vocab: int, length: int, *, dim: int, latent_dim: int, n_blocks: int,
                 kernel_size: int, rows: int, run: RunDirectory | None = None) -> Trainer:
    """A `Trainer` over ``rows`` random sequences (rows, length) of ``vocab`` symbols, one-hot; weights from seed 0."""
    torch.manual_seed(0)
    generator = ConvGenerator(vocab, length, dim=dim, latent_dim=latent_dim, n_blocks=n_blocks, kernel_size=kernel_size)
    critic = ConvCritic(vocab, length, dim=dim, n_blocks=n_blocks, kernel_size=kernel_size)
    ids = np.random.default_rng(0).integers(0, vocab, size=(rows, length))
    data = RowSampler(ids, seed=config.seed, transform=lambda batch: F.one_hot(batch, vocab).float())
    return Trainer(generator, critic, data, config, run=run, progress=False)
