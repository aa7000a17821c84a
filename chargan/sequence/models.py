"""The paper's 1D-convolutional residual generator and relaxed sequence critic, shared by the sequence families.

Both work on sequences of categorical distributions, ``(batch, seq_len, vocab)``:
the generator emits a softmax at every position, the critic reads any point
of the simplex (one-hot real data, softmax fakes, and interpolates between
them). Nothing here is specific to characters: DNA, tokens or categorical
records of fixed length fit the same modules.
"""

from __future__ import annotations

from typing import Any, Protocol

import torch
from einops import rearrange
from huggingface_hub import PyTorchModelHubMixin
from torch import Tensor, nn
from torch.nn import functional as F

from chargan.core.activations import penalty_relu, relu_input_gradient


def one_hot(ids: Tensor, vocab_size: int) -> Tensor:
    """Integer ids ``(batch, seq_len)`` -> float one-hot ``(batch, seq_len, vocab_size)``: real rows as the critic reads them."""
    return F.one_hot(ids.long(), vocab_size).float()


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
        return self.forward_saving(x)[0]

    def forward_saving(self, x: Tensor) -> tuple[Tensor, tuple[Tensor, ...]]:
        """The block's output and what `input_gradient` needs: ``(x, relu1, conv1, relu2)``."""
        relu1 = penalty_relu(self.norm1(x))
        inner = self.conv1(relu1)
        relu2 = penalty_relu(self.norm2(inner))
        return x + self.residual_scale * self.conv2(relu2), (x, relu1, inner, relu2)

    def input_gradient(self, grad: Tensor, saved: tuple[Tensor, ...]) -> Tensor:
        """The gradient at the block's input from ``grad`` at its output, both ``(batch, dim, seq_len)``.

        ``saved`` is `forward_saving`'s. Written with first-order ops, so the
        result is differentiable w.r.t. the weights by an ordinary backward.
        """
        x, relu1, inner, relu2 = saved
        g = F.conv_transpose1d(self.residual_scale * grad, self.conv2.weight, padding=self.conv2.padding)
        g = _norm_input_gradient(self.norm2, relu_input_gradient(g, relu2), inner)
        g = F.conv_transpose1d(g, self.conv1.weight, padding=self.conv1.padding)
        return grad + _norm_input_gradient(self.norm1, relu_input_gradient(g, relu1), x)


def _norm(kind: str, dim: int) -> nn.Module:
    if kind == "none":
        return nn.Identity()
    if kind == "layer":
        # GroupNorm with one group normalizes each example over (dim, seq_len): a layer norm.
        return nn.GroupNorm(1, dim)
    raise ValueError(f"norm must be 'none' or 'layer', got {kind!r}")


def _norm_input_gradient(norm: nn.Module, grad: Tensor, x: Tensor) -> Tensor:
    """The gradient at ``norm``'s input ``x`` from ``grad`` at its output, ``(batch, dim, seq_len)``.

    For the layer norm (``GroupNorm(1, dim)``, statistics over ``(dim, seq_len)``):
    ``(g - mean(g) - x_hat * mean(g * x_hat)) / sigma`` with ``g = grad * gamma``,
    in float32 at least. ``x_hat`` and ``sigma`` stay in the graph: unlike a ReLU's
    mask, they carry second-order terms the penalty's weight gradient needs.
    """
    if isinstance(norm, nn.Identity):
        return grad
    assert isinstance(norm, nn.GroupNorm) and norm.num_groups == 1, norm
    dtype = torch.promote_types(x.dtype, torch.float32)  # float32 at least: bfloat16 statistics are too coarse
    x, grad = x.to(dtype), grad.to(dtype)
    var, mean = torch.var_mean(x, dim=(1, 2), keepdim=True, correction=0)
    inv_sigma = torch.rsqrt(var + norm.eps)
    x_hat = (x - mean) * inv_sigma
    g = grad * norm.weight.view(1, -1, 1) if norm.affine else grad
    return (g - g.mean(dim=(1, 2), keepdim=True) - x_hat * (g * x_hat).mean(dim=(1, 2), keepdim=True)) * inv_sigma


def pointwise(x: Tensor, conv: nn.Conv1d) -> Tensor:
    """A kernel-1 ``conv`` applied to channels-last ``x`` ``(batch, seq_len, in)`` -> ``(batch, seq_len, out)``.

    The same math as ``conv`` on ``(batch, in, seq_len)``, as one 2-D matmul
    over ``batch * seq_len`` rows: a 1x1 convolution runs 2-3x slower than
    the matmul on a CPU, and a 3-D ``linear`` on a transposed input becomes
    a batched matmul. Only a non-contiguous ``x`` is copied (the narrow side
    when called on transposed features).
    """
    rows = x.reshape(-1, x.shape[-1])
    return F.linear(rows, conv.weight.squeeze(-1), conv.bias).view(*x.shape[:-1], conv.out_channels)


def pointwise_transposed(grad: Tensor, conv: nn.Conv1d) -> Tensor:
    """The gradient at `pointwise`'s input from ``grad`` ``(batch, seq_len, out)`` at its output."""
    rows = grad.reshape(-1, grad.shape[-1])
    return (rows @ conv.weight.squeeze(-1)).view(*grad.shape[:-1], conv.in_channels)


# The Hub mixin adds save_pretrained / from_pretrained / push_to_hub (the layout `chargan export` writes) and
# nothing else a training step sees: no parameters, buffers or forward hooks. It records the constructor's
# arguments when the object is created (its __new__), which is why they must stay JSON values (plain ints
# and floats; a numpy integer would be silently left out of config.json).
class ConvGenerator(nn.Module, PyTorchModelHubMixin, library_name="chargan", tags=["chargan", "gan", "wgan-gp"]):
    """Noise ``(batch, latent_dim)`` -> softmax ``(batch, seq_len, vocab_size)``.

    Linear to ``(dim, seq_len)``, ``n_blocks`` residual blocks, a 1x1
    convolution to the vocabulary, softmax over the vocabulary at every
    position. Every output row lies on the simplex.

    ``save_pretrained(dir)`` writes ``model.safetensors`` and ``config.json``
    (these constructor arguments); ``ConvGenerator.from_pretrained(dir)``
    rebuilds it (see `chargan.export` for a whole run with its vocabulary).
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
        return pointwise(rearrange(self.blocks(h), "b d t -> b t d"), self.to_vocab)

    def forward(self, z: Tensor) -> Tensor:
        return self.logits(z).softmax(dim=-1)


#: `ConvCritic.scores_and_input_gradient` shares one pass between scored rows and interpolates up to this width.
ONE_PASS_MAX_DIM = 128


class ConvCritic(nn.Module):
    """The relaxed sequence critic: ``(batch, seq_len, vocab_size)`` -> scores ``(batch,)``.

    A 1x1 convolution from the vocabulary to ``dim`` channels (a linear map of
    each position's distribution), ``n_blocks`` residual blocks, and a linear
    map of the flattened ``(dim, seq_len)`` features to one score. No batch
    normalization: each example's score depends on that example alone, as
    the per-example gradient penalty requires.

    `input_gradient` gives the penalty its gradient without a double backward.
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
        h = self.blocks(self._embed(x))
        return self.score(rearrange(h, "b d t -> b (d t)")).squeeze(-1)

    def input_gradient(self, x: Tensor) -> Tensor:
        """``d critic(x).sum() / dx``: each example's score gradient, ``(batch, seq_len, vocab_size)``.

        Equal to ``torch.autograd.grad(critic(x).sum(), x, create_graph=True)``,
        but written out with first-order ops (a forward through the blocks,
        then transposed convolutions back through them), so the penalty's
        weight gradient is one ordinary backward: no double backward, and
        ``torch.compile`` can take the whole critic step.
        """
        return self.scores_and_input_gradient(x[:0], x)[1]

    def scores_and_input_gradient(self, x: Tensor, x_grad: Tensor) -> tuple[Tensor, Tensor]:
        """Scores of ``x`` ``(n,)`` and `input_gradient` at ``x_grad`` ``(m, seq_len, vocab_size)``.

        This is the method `chargan.core.penalty` looks for: the critic step's
        real and fake rows are ``x``, its interpolates ``x_grad``. Up to
        `ONE_PASS_MAX_DIM` channels all ``n + m`` rows go through the blocks
        together: small convolutions cost their call more than their
        arithmetic, and one call per layer beats two. Wider critics take the
        ``m`` rows on their own, because the backward of a shared call would
        also run over the interpolates' rows, whose forward only supplies ReLU
        masks (paper config, float32: 1.3x slower shared).
        """
        n = len(x)
        one_pass = self.dim <= ONE_PASS_MAX_DIM
        # Embedded apart and joined at dim channels: joining the vocab-wide inputs would copy more.
        h = torch.cat([self._embed(x), self._embed(x_grad)]) if one_pass else self._embed(x_grad)
        saved = []
        for block in self.blocks:
            h, block_saved = block.forward_saving(h)
            saved.append(tuple(t[n:] for t in block_saved) if one_pass else block_saved)
        scores = self.score(rearrange(h[:n], "b d t -> b (d t)")).squeeze(-1) if one_pass else self(x)
        # The score is linear in the last features: their gradient is its weight, the same for every
        # example. It stays one (1, dim, seq_len) row until the first ReLU mask makes it per-example,
        # so the last block's first transposed convolution runs on one row instead of the batch.
        grad = self.score.weight.view(1, self.dim, self.seq_len)
        for block, block_saved in zip(reversed(self.blocks), reversed(saved)):
            grad = block.input_gradient(grad, block_saved)
        grad = grad.expand(len(x_grad), -1, -1)  # still one row if there are no blocks
        return scores, pointwise_transposed(rearrange(grad, "b d t -> b t d"), self.embed)

    def _embed(self, x: Tensor) -> Tensor:
        """``(batch, seq_len, vocab_size)`` -> ``(batch, dim, seq_len)`` features."""
        if x.dim() != 3 or x.shape[1:] != (self.seq_len, self.vocab_size):
            raise ValueError(f"expected (batch, {self.seq_len}, {self.vocab_size}), got {tuple(x.shape)}")
        return rearrange(pointwise(x, self.embed), "b t d -> b d t")


class ConvPairConfig(Protocol):
    """The model settings `build_models` reads: any family's model section with these fields."""

    @property
    def seq_len(self) -> int: ...
    @property
    def dim(self) -> int: ...
    @property
    def latent_dim(self) -> int: ...
    @property
    def n_blocks(self) -> int: ...
    @property
    def kernel_size(self) -> int: ...
    @property
    def residual_scale(self) -> float: ...
    @property
    def critic_norm(self) -> str: ...


def build_models(config: ConvPairConfig, vocab_size: int, generator_class: type[ConvGenerator] = ConvGenerator,
                 **generator_options: Any) -> tuple[ConvGenerator, ConvCritic]:
    """The generator and critic of ``config`` over ``vocab_size`` symbols, one architecture for both.

    ``generator_class`` (a `ConvGenerator` subclass, e.g. the genes family's Gumbel-softmax one) is built
    with the shared arguments plus ``generator_options``.
    """
    arch = dict(seq_len=config.seq_len, dim=config.dim, n_blocks=config.n_blocks, kernel_size=config.kernel_size,
                residual_scale=config.residual_scale)
    generator = generator_class(vocab_size, latent_dim=config.latent_dim, **arch, **generator_options)
    return generator, ConvCritic(vocab_size, norm=config.critic_norm, **arch)
