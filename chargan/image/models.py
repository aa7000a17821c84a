"""Generators and critics for 28x28 and 32x32 images, after the paper's reference scripts.

- `DCGANGenerator` / `DCGANCritic` (``gan_mnist.py``, ``gan_cifar.py``): a
  linear layer to 4x4x4·DIM, then 5x5 transposed convolutions doubling the
  size (4 -> 8 -> 16 -> 32, cropped 8 -> 7 for 28x28); the critic mirrors it
  with 5x5 stride-2 convolutions and leaky ReLUs.
- `ResNetGenerator` / `ResNetCritic` (``gan_cifar_resnet.py``, the Table 3
  model): DIM channels throughout, three up-sampling residual blocks in the
  generator; in the critic an input block and a down-sampling block
  (32 -> 16 -> 8), two plain blocks, a global mean pool and a linear score.

Shapes: generators map ``(batch, latent_dim)`` noise to ``(batch, channels,
size, size)`` images in [-1, 1] (tanh) or [0, 1] (sigmoid); critics map
images to ``(batch,)`` scores. Critics never use batch norm: the gradient
penalty is per example, so each score may depend on its own image only
(layer norm normalizes each example on its own and is allowed). The critics
use `chargan.core.activations`' (leaky) ReLUs: same values, cheaper penalty.
Weights keep PyTorch's default initialization (the reference uses He /
Glorot uniform), a detail that does not change what the models can learn.
"""

from __future__ import annotations

from torch import Tensor, nn
from torch.nn import functional as F

from chargan.core import activations


def _critic_norm(kind: str, channels: int) -> nn.Module:
    """Layer norm over (channels, height, width) of each example, with a per-channel affine."""
    return nn.GroupNorm(1, channels) if kind == "layer" else nn.Identity()


def _generator_norm(kind: str, channels: int) -> nn.Module:
    return nn.BatchNorm2d(channels) if kind == "batch" else nn.Identity()


def _output(kind: str) -> nn.Module:
    return nn.Sigmoid() if kind == "sigmoid" else nn.Tanh()


def _upconv(c_in: int, c_out: int) -> nn.ConvTranspose2d:
    """5x5 transposed convolution, stride 2: (B, c_in, s, s) -> (B, c_out, 2s, 2s) (tflib's Deconv2D)."""
    return nn.ConvTranspose2d(c_in, c_out, 5, stride=2, padding=2, output_padding=1)


class DCGANGenerator(nn.Module):
    """``(batch, latent_dim)`` -> ``(batch, channels, size, size)``, size 28 or 32."""

    def __init__(self, channels: int, size: int, dim: int = 64, latent_dim: int = 128,
                 norm: str = "none", output: str = "tanh") -> None:
        super().__init__()
        if size not in (28, 32):
            raise ValueError(f"DCGANGenerator makes 28x28 or 32x32 images, not {size}x{size}")
        self.latent_dim, self.size, self.dim = latent_dim, size, dim
        self.input = nn.Linear(latent_dim, 4 * 4 * 4 * dim)
        self.input_norm = nn.BatchNorm1d(4 * 4 * 4 * dim) if norm == "batch" else nn.Identity()
        self.block1 = nn.Sequential(_upconv(4 * dim, 2 * dim), _generator_norm(norm, 2 * dim), nn.ReLU())
        self.block2 = nn.Sequential(_upconv(2 * dim, dim), _generator_norm(norm, dim), nn.ReLU())
        self.to_image = nn.Sequential(_upconv(dim, channels), _output(output))

    def forward(self, z: Tensor) -> Tensor:
        x = F.relu(self.input_norm(self.input(z))).view(-1, 4 * self.dim, 4, 4)
        x = self.block1(x)  # (B, 2·dim, 8, 8)
        if self.size == 28:
            x = x[:, :, :7, :7]  # as gan_mnist.py: 7 -> 14 -> 28
        return self.to_image(self.block2(x))


class DCGANCritic(nn.Module):
    """``(batch, channels, size, size)`` -> ``(batch,)``; size 28 or 32 (both reach 4x4)."""

    def __init__(self, channels: int, size: int, dim: int = 64, norm: str = "none") -> None:
        super().__init__()
        if size not in (28, 32):
            raise ValueError(f"DCGANCritic scores 28x28 or 32x32 images, not {size}x{size}")

        def down(c_in: int, c_out: int) -> nn.Conv2d:
            return nn.Conv2d(c_in, c_out, 5, stride=2, padding=2)  # 28 -> 14 -> 7 -> 4; 32 -> 16 -> 8 -> 4

        self.features = nn.Sequential(
            down(channels, dim), activations.PenaltyLeakyReLU(0.2),
            down(dim, 2 * dim), _critic_norm(norm, 2 * dim), activations.PenaltyLeakyReLU(0.2),
            down(2 * dim, 4 * dim), _critic_norm(norm, 4 * dim), activations.PenaltyLeakyReLU(0.2),
        )
        self.score = nn.Linear(4 * 4 * 4 * dim, 1)

    def forward(self, x: Tensor) -> Tensor:
        return self.score(self.features(x).flatten(1)).squeeze(1)


# ------------------------------------------------------------------- ResNet


class _ConvMeanPool(nn.Sequential):
    """Convolution, then 2x2 mean pooling: (B, c_in, s, s) -> (B, c_out, s/2, s/2)."""

    def __init__(self, c_in: int, c_out: int, kernel: int) -> None:
        super().__init__(nn.Conv2d(c_in, c_out, kernel, padding=kernel // 2), nn.AvgPool2d(2))


class _MeanPoolConv(nn.Sequential):
    """2x2 mean pooling, then convolution: (B, c_in, s, s) -> (B, c_out, s/2, s/2)."""

    def __init__(self, c_in: int, c_out: int, kernel: int) -> None:
        super().__init__(nn.AvgPool2d(2), nn.Conv2d(c_in, c_out, kernel, padding=kernel // 2))


class _UpsampleConv(nn.Sequential):
    """Nearest-neighbour 2x up-sampling (tflib's depth_to_space of 4 copies), then convolution."""

    def __init__(self, c_in: int, c_out: int, kernel: int) -> None:
        super().__init__(nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(c_in, c_out, kernel, padding=kernel // 2))


class ResidualBlock(nn.Module):
    """``shortcut(x) + conv2(relu(norm2(conv1(relu(norm1(x))))))``, optionally resampling by 2.

    ``resample``: None (same size), "up" (size x2, the generator's) or "down"
    (size /2, the critic's). ``norm``: "batch" (generator), "layer" or "none".
    """

    def __init__(self, c_in: int, c_out: int, resample: str | None = None, norm: str = "none", kernel: int = 3) -> None:
        super().__init__()
        make_norm = _generator_norm if norm == "batch" else _critic_norm
        if resample == "up":
            self.conv1, self.conv2 = _UpsampleConv(c_in, c_out, kernel), nn.Conv2d(c_out, c_out, kernel, padding=kernel // 2)
            self.shortcut: nn.Module = _UpsampleConv(c_in, c_out, 1)
            mid = c_out
        elif resample == "down":
            self.conv1, self.conv2 = nn.Conv2d(c_in, c_in, kernel, padding=kernel // 2), _ConvMeanPool(c_in, c_out, kernel)
            self.shortcut = _ConvMeanPool(c_in, c_out, 1)
            mid = c_in
        elif resample is None:
            self.conv1 = nn.Conv2d(c_in, c_out, kernel, padding=kernel // 2)
            self.conv2 = nn.Conv2d(c_out, c_out, kernel, padding=kernel // 2)
            self.shortcut = nn.Identity() if c_in == c_out else nn.Conv2d(c_in, c_out, 1)
            mid = c_out
        else:
            raise ValueError(f"resample must be None, 'up' or 'down', not {resample!r}")
        self.norm1, self.norm2 = make_norm(norm, c_in), make_norm(norm, mid)

    def forward(self, x: Tensor) -> Tensor:
        h = self.conv1(activations.penalty_relu(self.norm1(x)))
        return self.shortcut(x) + self.conv2(activations.penalty_relu(self.norm2(h)))


class _CriticInputBlock(nn.Module):
    """The critic's first block (``OptimizedResBlockDisc1``): no activation before the first conv."""

    def __init__(self, channels: int, dim: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, dim, 3, padding=1)
        self.conv2 = _ConvMeanPool(dim, dim, 3)
        self.shortcut = _MeanPoolConv(channels, dim, 1)

    def forward(self, x: Tensor) -> Tensor:
        return self.shortcut(x) + self.conv2(activations.penalty_relu(self.conv1(x)))


class ResNetGenerator(nn.Module):
    """``(batch, latent_dim)`` -> ``(batch, channels, 32, 32)``: 4x4 -> three up blocks -> 32x32."""

    def __init__(self, channels: int = 3, dim: int = 128, latent_dim: int = 128,
                 norm: str = "batch", output: str = "tanh") -> None:
        super().__init__()
        self.latent_dim, self.dim = latent_dim, dim
        self.input = nn.Linear(latent_dim, 4 * 4 * dim)
        self.blocks = nn.Sequential(*(ResidualBlock(dim, dim, "up", norm) for _ in range(3)))
        self.to_image = nn.Sequential(_generator_norm(norm, dim), nn.ReLU(), nn.Conv2d(dim, channels, 3, padding=1),
                                      _output(output))

    def forward(self, z: Tensor) -> Tensor:
        return self.to_image(self.blocks(self.input(z).view(-1, self.dim, 4, 4)))


class ResNetCritic(nn.Module):
    """``(batch, channels, 32, 32)`` -> ``(batch,)``: input block, down block, two blocks, mean pool, linear."""

    def __init__(self, channels: int = 3, dim: int = 128, norm: str = "none") -> None:
        super().__init__()
        self.blocks = nn.Sequential(
            _CriticInputBlock(channels, dim),  # 32 -> 16
            ResidualBlock(dim, dim, "down", norm),  # 16 -> 8
            ResidualBlock(dim, dim, None, norm),
            ResidualBlock(dim, dim, None, norm),
        )
        self.score = nn.Linear(dim, 1)

    def forward(self, x: Tensor) -> Tensor:
        h = activations.penalty_relu(self.blocks(x)).mean(dim=(2, 3))  # global mean pool: (B, dim)
        return self.score(h).squeeze(1)


def build_image_models(arch: str, image_shape: tuple[int, int, int], dim: int, latent_dim: int = 128,
                       generator_norm: str = "none", critic_norm: str = "none",
                       output: str = "tanh") -> tuple[nn.Module, nn.Module]:
    """The (generator, critic) pair of ``arch`` ("dcgan" or "resnet") for ``(channels, size, size)`` images."""
    channels, size, _ = image_shape
    if arch == "resnet":
        if size != 32:
            raise ValueError(f"the ResNet models make 32x32 images, not {size}x{size}")
        return (ResNetGenerator(channels, dim, latent_dim, generator_norm, output),
                ResNetCritic(channels, dim, critic_norm))
    return (DCGANGenerator(channels, size, dim, latent_dim, generator_norm, output),
            DCGANCritic(channels, size, dim, critic_norm))


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


__all__ = ["DCGANCritic", "DCGANGenerator", "ResNetCritic", "ResNetGenerator", "ResidualBlock",
           "build_image_models", "count_parameters"]
