"""The paper's 1D-convolutional residual generator and relaxed sequence critic.

Both work on sequences of categorical distributions, ``(batch, seq_len, vocab)``:
the generator emits a softmax at every position, the critic reads any point
of the simplex (one-hot real data, softmax fakes, and interpolates between
them). Nothing here is specific to characters: DNA, tokens or categorical
records of fixed length fit the same modules.
"""

from __future__ import annotations

from einops import rearrange
from torch import Tensor, nn

from chargan.core.activations import penalty_relu


class ResBlock1d(nn.Module):
    """``x + residual_scale * conv(relu(conv(relu(x))))`` on ``(batch, dim, seq_len)``.

    The ReLUs are out of place: the input itself must reach the residual sum
    unchanged (an in-place ReLU here, as in a popular public port, silently
    turns the block into ``relu(x) + 0.3 * F(x)``). They are
    `chargan.core.activations.penalty_relu`: the penalty's double backward through
    them skips the forward graph.
    With ``norm="layer"`` each ReLU is preceded by a per-example layer norm
    over ``(dim, seq_len)``, which keeps the gradient penalty per-example.
    """

    def __init__(self, dim: int, kernel_size: int = 5, residual_scale: float = 0.3, norm: str = "none") -> None:
        super().__init__()
        if kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be odd to keep the length, got {kernel_size}")
        self.residual_scale = residual_scale
        self.conv1 = nn.Conv1d(dim, dim, kernel_size, padding=kernel_size // 2)
        self.conv2 = nn.Conv1d(dim, dim, kernel_size, padding=kernel_size // 2)
        self.norm1 = _norm(norm, dim)
        self.norm2 = _norm(norm, dim)

    def forward(self, x: Tensor) -> Tensor:
        h = self.conv1(penalty_relu(self.norm1(x)))
        h = self.conv2(penalty_relu(self.norm2(h)))
        return x + self.residual_scale * h


def _norm(kind: str, dim: int) -> nn.Module:
    if kind == "none":
        return nn.Identity()
    if kind == "layer":
        # GroupNorm with one group normalizes each example over (dim, seq_len): a layer norm.
        return nn.GroupNorm(1, dim)
    raise ValueError(f"norm must be 'none' or 'layer', got {kind!r}")


class ConvGenerator(nn.Module):
    """Noise ``(batch, latent_dim)`` -> softmax ``(batch, seq_len, vocab_size)``.

    Linear to ``(dim, seq_len)``, ``n_blocks`` residual blocks, a 1x1
    convolution to the vocabulary, softmax over the vocabulary at every
    position. Every output row lies on the simplex.
    """

    def __init__(
        self,
        vocab_size: int,
        seq_len: int = 32,
        dim: int = 512,
        latent_dim: int = 128,
        n_blocks: int = 5,
        kernel_size: int = 5,
        residual_scale: float = 0.3,
    ) -> None:
        super().__init__()
        self.vocab_size, self.seq_len, self.dim, self.latent_dim = vocab_size, seq_len, dim, latent_dim
        self.project = nn.Linear(latent_dim, dim * seq_len)
        self.blocks = nn.Sequential(*(ResBlock1d(dim, kernel_size, residual_scale) for _ in range(n_blocks)))
        self.to_vocab = nn.Conv1d(dim, vocab_size, 1)

    def logits(self, z: Tensor) -> Tensor:
        """Unnormalized scores ``(batch, seq_len, vocab_size)``."""
        h = rearrange(self.project(z), "b (d t) -> b d t", t=self.seq_len)
        return rearrange(self.to_vocab(self.blocks(h)), "b v t -> b t v")

    def forward(self, z: Tensor) -> Tensor:
        return self.logits(z).softmax(dim=-1)


class ConvCritic(nn.Module):
    """The relaxed sequence critic: ``(batch, seq_len, vocab_size)`` -> scores ``(batch,)``.

    A 1x1 convolution from the vocabulary to ``dim`` channels (a linear map of
    each position's distribution), ``n_blocks`` residual blocks, and a linear
    map of the flattened ``(dim, seq_len)`` features to one score. No batch
    normalization: each example's score depends on that example alone, as
    the per-example gradient penalty requires.
    """

    def __init__(
        self,
        vocab_size: int,
        seq_len: int = 32,
        dim: int = 512,
        n_blocks: int = 5,
        kernel_size: int = 5,
        residual_scale: float = 0.3,
        norm: str = "none",
    ) -> None:
        super().__init__()
        self.vocab_size, self.seq_len, self.dim = vocab_size, seq_len, dim
        self.embed = nn.Conv1d(vocab_size, dim, 1)
        self.blocks = nn.Sequential(*(ResBlock1d(dim, kernel_size, residual_scale, norm) for _ in range(n_blocks)))
        self.score = nn.Linear(dim * seq_len, 1)

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() != 3 or x.shape[1:] != (self.seq_len, self.vocab_size):
            raise ValueError(f"expected (batch, {self.seq_len}, {self.vocab_size}), got {tuple(x.shape)}")
        h = self.blocks(self.embed(rearrange(x, "b t v -> b v t")))
        return self.score(rearrange(h, "b d t -> b (d t)")).squeeze(-1)
