"""Generator and relaxed critic: shapes, simplex outputs, per-example scoring."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from chargan import ConvCritic, ConvGenerator, ResBlock1d


def test_generator_rows_are_distributions() -> None:
    torch.manual_seed(0)
    g = ConvGenerator(vocab_size=11, seq_len=12, dim=16, latent_dim=8, n_blocks=2)
    out = g(torch.randn(5, 8))
    assert out.shape == (5, 12, 11)
    assert (out >= 0).all()
    assert torch.allclose(out.sum(-1), torch.ones(5, 12))


@pytest.mark.parametrize("norm", ["none", "layer"])
def test_critic_scores_each_example_independently(norm: str) -> None:
    torch.manual_seed(0)
    critic = ConvCritic(vocab_size=7, seq_len=10, dim=16, n_blocks=2, norm=norm).double()
    a = torch.rand(3, 10, 7, dtype=torch.float64).softmax(-1)
    b = torch.rand(9, 10, 7, dtype=torch.float64).softmax(-1)
    alone = critic(a)
    assert alone.shape == (3,)
    in_batch = critic(torch.cat([a, b]))[:3]
    other_batch = critic(torch.cat([b[:4], a, b]))[4:7]
    assert torch.allclose(alone, in_batch, atol=1e-12)
    assert torch.allclose(alone, other_batch, atol=1e-12)


def test_critic_rejects_wrong_input_shape() -> None:
    critic = ConvCritic(vocab_size=7, seq_len=10, dim=8, n_blocks=1)
    with pytest.raises(ValueError, match=r"\(batch, 10, 7\)"):
        critic(torch.rand(2, 7, 10))


def test_residual_block_keeps_the_raw_input() -> None:
    # With a zero branch the block is the identity, negative inputs included. An in-place
    # ReLU on the input (a known port bug) would return relu(x) instead.
    block = ResBlock1d(dim=4, kernel_size=5)
    for p in block.parameters():
        nn.init.zeros_(p)
    x = torch.randn(2, 4, 9)
    assert (x < 0).any()
    assert torch.equal(block(x), x)


def test_residual_block_scales_the_branch() -> None:
    torch.manual_seed(1)
    block = ResBlock1d(dim=4, kernel_size=3, residual_scale=0.3)
    x = torch.randn(2, 4, 9)
    branch = block.conv2(torch.relu(block.conv1(torch.relu(x))))
    assert torch.allclose(block(x), x + 0.3 * branch, atol=1e-6)


def test_even_kernel_is_refused() -> None:
    with pytest.raises(ValueError, match="odd"):
        ResBlock1d(dim=4, kernel_size=4)
