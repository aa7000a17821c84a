"""Configuration of the image GANs, with the paper's named configs.

Defaults are the reference scripts' (``gan_mnist.py``, ``gan_cifar.py``,
``gan_cifar_resnet.py`` of Gulrajani et al. 2017); each named config in
`IMAGE_CONFIGS` is a small overlay on them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

from chargan.core.sections import config_from_dict, flat_names, validate_sections, with_flat_overrides
from chargan.core.trainer import TrainConfig
from chargan.errors import UserError

#: (channels, height, width) of each dataset's images.
IMAGE_SHAPES = {"mnist": (1, 28, 28), "cifar10": (3, 32, 32)}
ARCHS = ("dcgan", "resnet")


@dataclass(frozen=True)
class ImageModelConfig:
    """Generator and critic architecture."""

    arch: str = "dcgan"  # "dcgan" (gan_mnist.py, gan_cifar.py) or "resnet" (gan_cifar_resnet.py, 32x32 only)
    dim: int = 64  # base channel width (DIM; the ResNet's DIM_G = DIM_D)
    latent_dim: int = 128
    generator_norm: str = "none"  # "none" or "batch" (batch norm in the generator only)
    critic_norm: str = "none"  # "none" or "layer"; never batch norm: the penalty is per example
    output: str = "tanh"  # "tanh": pixels in [-1, 1]; "sigmoid": pixels in [0, 1] (gan_mnist.py)

    def validate(self) -> None:
        if self.arch not in ARCHS:
            raise UserError(f"arch must be one of {', '.join(ARCHS)}, got {self.arch!r}")
        for name in ("dim", "latent_dim"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise UserError(f"{name.replace('_', '-')} must be a positive integer, got {value!r}")
        if self.generator_norm not in ("none", "batch"):
            raise UserError(f"generator-norm must be 'none' or 'batch', got {self.generator_norm!r}")
        if self.critic_norm not in ("none", "layer"):
            raise UserError(f"critic-norm must be 'none' or 'layer' (batch norm would couple the examples "
                            f"the gradient penalty treats one by one), got {self.critic_norm!r}")
        if self.output not in ("tanh", "sigmoid"):
            raise UserError(f"output must be 'tanh' or 'sigmoid', got {self.output!r}")


@dataclass(frozen=True)
class ImageDataConfig:
    """Which images to train on."""

    dataset: str = "mnist"  # "mnist" or "cifar10"
    data_dir: str | None = None  # None: $CHARGAN_DATA_DIR, then the per-user data folder
    split: str = "train"
    max_images: int | None = None  # the first N images only (quick runs); None: all

    def validate(self) -> None:
        if self.dataset not in IMAGE_SHAPES:
            raise UserError(f"dataset must be one of {', '.join(IMAGE_SHAPES)}, got {self.dataset!r}")
        if self.split not in ("train", "test"):
            raise UserError(f"split must be 'train' or 'test', got {self.split!r}")
        if self.max_images is not None and (not isinstance(self.max_images, int) or self.max_images < 1):
            raise UserError(f"max-images must be a positive integer, got {self.max_images!r}")


@dataclass(frozen=True)
class ImageEvalConfig:
    """What each evaluation writes: a sample grid, and IS / FID when Inception weights are present."""

    grid_samples: int = 128  # images per PNG grid, from fixed noise (the reference scripts' 128)
    seed: int = 1234  # the fixed evaluation noise, so grids are comparable over time
    inception_weights: str | None = None  # path; None: $CHARGAN_INCEPTION_WEIGHTS, else IS / FID are skipped
    metric_samples: int = 50_000  # generated (and real) images for IS and FID (the paper's 50k)
    is_splits: int = 10  # the Inception Score's mean and std over this many splits (Salimans et al.)
    batch_size: int = 100  # images per generator / Inception call during evaluation

    def validate(self) -> None:
        for name in ("grid_samples", "metric_samples", "is_splits", "batch_size"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise UserError(f"eval {name.replace('_', '-')} must be a positive integer, got {value!r}")
        if self.metric_samples < self.is_splits:
            raise UserError(f"eval metric-samples ({self.metric_samples}) must be at least is-splits ({self.is_splits})")


@dataclass(frozen=True)
class ImageGANConfig:
    """Everything an image run needs; saved as the run's ``config.json``."""

    name: str = "mnist"
    model: ImageModelConfig = field(default_factory=ImageModelConfig)
    data: ImageDataConfig = field(default_factory=ImageDataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    eval: ImageEvalConfig = field(default_factory=ImageEvalConfig)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """(channels, height, width) of the dataset's images."""
        return IMAGE_SHAPES[self.data.dataset]

    def validate(self) -> ImageGANConfig:
        validate_sections(self)
        if self.model.arch == "resnet" and self.image_shape[1] != 32:
            raise UserError(f"the resnet arch makes 32x32 images; {self.data.dataset} is {self.image_shape[1]}x{self.image_shape[2]}",
                            hint="use arch dcgan for MNIST")
        return self

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ImageGANConfig:
        """Inverse of `to_dict`; unknown keys are an error, missing ones take defaults."""
        return config_from_dict(cls, data, "image")

    def guard(self) -> dict[str, Any]:
        """Settings that must not change when a run resumes (where the data and weights live may)."""
        data, evaluation = asdict(self.data), asdict(self.eval)
        data.pop("data_dir")
        evaluation.pop("inception_weights")
        return {"model": asdict(self.model), "data": data, "train": self.train.guard(), "eval": evaluation}


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
    # iterations. Not reproduced: the linear decay of the learning rate to 0 and the generator's
    # doubled batch (128 vs the critic's 64): the core Trainer has neither knob yet.
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


def get_image_config(name: str) -> ImageGANConfig:
    try:
        return IMAGE_CONFIGS[name]
    except KeyError:
        raise UserError(f"unknown image config {name!r}", hint=f"choose one of: {', '.join(IMAGE_CONFIGS)}") from None


# Flat names that more than one section has: the plain name is the training one.
_ALIASES = {"seed": ("train", "seed"), "batch_size": ("train", "batch_size"),
            "eval_seed": ("eval", "seed"), "eval_batch_size": ("eval", "batch_size")}


def with_overrides(config: ImageGANConfig, **overrides: Any) -> ImageGANConfig:
    """Apply flat overrides (``dim=8``, ``iterations=3``) to whichever section owns each name.

    ``seed`` and ``batch_size`` are the training ones, ``eval_seed`` and
    ``eval_batch_size`` the evaluation's; ``None`` values are ignored, so
    unset command-line flags pass through.
    """
    return with_flat_overrides(config, _ALIASES, "image", **overrides)


def image_override_names() -> set[str]:
    """The flat names `with_overrides` accepts."""
    return flat_names(ImageGANConfig(), _ALIASES)
