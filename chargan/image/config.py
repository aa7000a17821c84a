"""Configuration of the image GANs, with the paper's named configs.

Defaults are the reference scripts' (``gan_mnist.py``, ``gan_cifar.py``,
``gan_cifar_resnet.py`` of Gulrajani et al. 2017); each named config in
`IMAGE_CONFIGS` is a small overlay on them.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from chargan.core.config import CRITIC_NORMS, SEED_MAX, Section, SectionedConfig, TrainConfig, named_config, setting
from chargan.errors import UsageError

#: (channels, height, width) of each dataset's images.
IMAGE_SHAPES = {"mnist": (1, 28, 28), "cifar10": (3, 32, 32)}
ARCHS = ("dcgan", "resnet")


@dataclass(frozen=True)
class ImageModelConfig(Section):
    """Generator and critic architecture."""

    SECTION = "model"

    arch: str = setting("dcgan", "dcgan (gan_mnist.py, gan_cifar.py) or resnet (gan_cifar_resnet.py, 32x32 only).",
                        choices=ARCHS)
    dim: int = setting(64, "Base channel width (DIM; the ResNet's DIM_G = DIM_D).", min=1)
    latent_dim: int = setting(128, "Noise dimensions.", min=1)
    generator_norm: str = setting("none", "Normalization in the generator: none or batch.", choices=("none", "batch"))
    critic_norm: str = setting("none", "Normalization in the critic: none or layer (never batch norm: the penalty "
                               "treats the examples one by one).", choices=CRITIC_NORMS)
    output: str = setting("tanh", "Generator output: tanh (pixels in [-1, 1]) or sigmoid (pixels in [0, 1], "
                          "gan_mnist.py).", choices=("tanh", "sigmoid"))


@dataclass(frozen=True)
class ImageDataConfig(Section):
    """Which images to train on."""

    SECTION = "data"

    dataset: str = setting("mnist", "The image dataset: mnist or cifar10.", choices=tuple(IMAGE_SHAPES))
    data_dir: str | None = setting(None, "Where the dataset is (or is downloaded to). Default: $CHARGAN_DATA_DIR, "
                                   "then the per-user data folder.", resumable=True)
    split: str = setting("train", "The split to train on: train or test.", choices=("train", "test"))
    max_images: int | None = setting(None, "Train on the first N images only (quick runs). Default: all.", min=1)


@dataclass(frozen=True)
class ImageEvalConfig(Section):
    """What each evaluation writes: a sample grid, and IS / FID when Inception weights are present."""

    SECTION = "eval"

    grid_samples: int = setting(128, "Images per PNG grid, from fixed noise (the reference scripts' 128).", min=1)
    seed: int = setting(1234, "Seed of the fixed evaluation noise, so grids are comparable over time.", min=0, max=SEED_MAX)
    inception_weights: str | None = setting(None, "Inception weights for IS / FID (default: "
                                            "$CHARGAN_INCEPTION_WEIGHTS; without, they are skipped).", resumable=True)
    metric_samples: int = setting(50_000, "Generated (and real) images for IS and FID (the paper's 50k).", min=1)
    is_splits: int = setting(10, "Splits of the Inception Score's mean and std (Salimans et al.).", min=1)
    batch_size: int = setting(100, "Images per generator / Inception call during evaluation.", min=1)

    def check(self) -> None:
        if self.metric_samples < self.is_splits:
            raise UsageError(f"eval metric-samples ({self.metric_samples}) must be at least is-splits ({self.is_splits})")


@dataclass(frozen=True)
class ImageGANConfig(SectionedConfig):
    """Everything an image run needs; saved as the run's ``config.json``."""

    WHAT = "image"

    name: str = "mnist"
    model: ImageModelConfig = field(default_factory=ImageModelConfig)
    data: ImageDataConfig = field(default_factory=ImageDataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    eval: ImageEvalConfig = field(default_factory=ImageEvalConfig)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """(channels, height, width) of the dataset's images."""
        return IMAGE_SHAPES[self.data.dataset]

    def memory_parts(self, training: bool = True) -> dict[str, int]:
        """Lower bounds in bytes: the DCGAN-shaped weights (the ResNet's are of the same order) and, training,
        Adam's state and one step's activations (a float per pixel and channel, about twice per level)."""
        c, h, w = self.image_shape
        d, latent, t = self.model.dim, self.model.latent_dim, self.train
        convs = 25 * (4 * d * 2 * d + 2 * d * d + d * c)
        generator, critic = latent * 16 * 4 * d + convs, convs + 16 * 4 * d
        if not training:
            return {"the generator's weights (--dim, --latent-dim)": 4 * generator}
        per_example = 2 * h * w * d
        return {"the weights and Adam state (--dim, --latent-dim)": 4 * 4 * (generator + critic),
                "one step's activations (--batch-size, --dim)": 4 * 5 * per_example * max(
                    t.batch_size, t.generator_batch_size or 0)}

    def check(self) -> None:
        if self.model.arch == "resnet" and self.image_shape[1] != 32:
            raise UsageError(f"the resnet arch makes 32x32 images; {self.data.dataset} is {self.image_shape[1]}x{self.image_shape[2]}",
                            hint="use arch dcgan for MNIST")


def _config(name: str, **overlays: dict[str, Any]) -> ImageGANConfig:
    base = ImageGANConfig(name=name)
    # Images: a grid every 1000 iterations is plenty (and IS / FID, when enabled, are costly).
    train = {"eval_every": 1000, "checkpoint_every": 1000, "log_every": 100, **overlays.pop("train", {})}
    parts = {key: replace(getattr(base, key), **values) for key, values in {"train": train, **overlays}.items()}
    return replace(base, **parts)


# gan_cifar_resnet.py: lr 2e-4 decayed linearly to 0 over 100k iterations; the generator
# step uses twice the critic's batch.
_RESNET_TRAIN = {"batch_size": 64, "generator_batch_size": 128, "critic_iters": 5, "lr": 2e-4, "lr_decay": "linear",
                 "betas": (0.0, 0.9), "iterations": 100_000}

IMAGE_CONFIGS: dict[str, ImageGANConfig] = {
    # gan_mnist.py: DIM 64, no batch norm anywhere (WGAN-GP mode), sigmoid output, batch 50,
    # 5 critic steps, lambda 10, Adam(1e-4, (0.5, 0.9)), 200k iterations.
    "mnist": _config(
        "mnist",
        model={"dim": 64, "output": "sigmoid"},
        data={"dataset": "mnist"},
        train={"batch_size": 50, "critic_iters": 5, "lr": 1e-4, "betas": (0.5, 0.9), "iterations": 200_000},
    ),
    # gan_cifar.py: DIM 128 (its comment suggests 64 overfits less), batch norm in the generator,
    # tanh output, batch 64, 5 critic steps, Adam(1e-4, (0.5, 0.9)), 200k iterations.
    "cifar10": _config(
        "cifar10",
        model={"dim": 128, "generator_norm": "batch"},
        data={"dataset": "cifar10"},
        train={"batch_size": 64, "critic_iters": 5, "lr": 1e-4, "betas": (0.5, 0.9), "iterations": 200_000},
    ),
    # gan_cifar_resnet.py (Table 3, unsupervised): 128 channels, Adam(2e-4, (0, 0.9)), 100k
    # iterations, the learning rate decayed linearly to 0 and the generator's batch doubled.
    "cifar10-resnet": _config(
        "cifar10-resnet",
        model={"arch": "resnet", "dim": 128, "generator_norm": "batch"},
        data={"dataset": "cifar10"},
        train=_RESNET_TRAIN,
    ),
    # The same with layer norm in the critic (the paper's recommended drop-in for batch norm).
    "cifar10-resnet-ln": _config(
        "cifar10-resnet-ln",
        model={"arch": "resnet", "dim": 128, "generator_norm": "batch", "critic_norm": "layer"},
        data={"dataset": "cifar10"},
        train=_RESNET_TRAIN,
    ),
}
DESCRIPTIONS = {
    "mnist": "MNIST 28x28, DCGAN-style generator and critic (gan_mnist.py), batch 50",
    "cifar10": "CIFAR-10 32x32, DCGAN-style generator and critic (gan_cifar.py), batch 64",
    "cifar10-resnet": "CIFAR-10, the ResNet generator and critic of Table 3 (gan_cifar_resnet.py)",
    "cifar10-resnet-ln": "as cifar10-resnet, with layer norm in the critic",
}


def get_image_config(name: str) -> ImageGANConfig:
    """The named config ``name`` of `IMAGE_CONFIGS`."""
    return named_config(IMAGE_CONFIGS, name, "image config")
