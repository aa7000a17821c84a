"""Configuration of the toy 2-D GANs, with one named config per dataset.

Defaults are the reference ``gan_toy.py``'s: ReLU MLPs 512 wide with 3
hidden layers, 2-D noise, batch 256, 5 critic steps, Adam(1e-4, (0.5, 0.9)),
and a penalty weight of 0.1. The paper uses lambda = 10 everywhere else; the
toy script's comment: "Smaller lambda makes things faster for toy tasks, but
isn't necessary if you increase CRITIC_ITERS enough".
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from chargan.core.sections import config_from_dict, flat_names, validate_sections, with_flat_overrides
from chargan.core.trainer import TrainConfig
from chargan.errors import UserError

TOY_DATASET_NAMES = ("8gaussians", "25gaussians", "swissroll")


@dataclass(frozen=True)
class ToyModelConfig:
    """Generator and critic MLPs."""

    dim: int = 512  # width of every hidden layer
    hidden_layers: int = 3  # Linear+ReLU layers before the output layer
    latent_dim: int = 2  # generator noise dimensions

    def validate(self) -> None:
        for name in ("dim", "hidden_layers", "latent_dim"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise UserError(f"{name.replace('_', '-')} must be a positive integer, got {value!r}")


@dataclass(frozen=True)
class ToyDataConfig:
    """Which distribution, and whether the generator is held fixed."""

    dataset: str = "8gaussians"  # 8gaussians, 25gaussians or swissroll
    fixed_generator: bool = False  # generator = real data + N(0, noise_std^2): only the critic trains (Figure 1)
    noise_std: float = 1.0

    def validate(self) -> None:
        if self.dataset not in TOY_DATASET_NAMES:
            raise UserError(f"unknown toy dataset {self.dataset!r}", hint=f"choose one of: {', '.join(TOY_DATASET_NAMES)}")
        if not (self.noise_std >= 0 and math.isfinite(self.noise_std)):
            raise UserError(f"noise-std must be a non-negative number, got {self.noise_std!r}")


@dataclass(frozen=True)
class ToyEvalConfig:
    """How generated points are scored at each evaluation."""

    samples: int = 10_000  # generated and real points for modes_covered / high_quality
    w1_points: int = 2_000  # points a side for the exact W1, at most `samples` (n^2 cost: 2.5 s on a CPU core at 2,000)
    plot_points: int = 1_000  # points a side in the scatter plot
    plot_range: float = 3.0  # the plot shows [-range, range]^2, as the reference
    seed: int = 1234  # fixed evaluation noise and real sample

    def validate(self) -> None:
        for name in ("samples", "w1_points", "plot_points"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise UserError(f"eval {name.replace('_', '-')} must be a positive integer, got {value!r}")
        if not (self.plot_range > 0 and math.isfinite(self.plot_range)):
            raise UserError(f"eval plot-range must be a positive number, got {self.plot_range!r}")


#: The reference toy script's optimization (its ITERS is 100k; evaluations every 1,000 iterations).
TOY_TRAIN = TrainConfig(iterations=100_000, batch_size=256, critic_iters=5, lambda_gp=0.1, lr=1e-4, betas=(0.5, 0.9),
                        log_every=100, eval_every=1000, checkpoint_every=5000)


@dataclass(frozen=True)
class ToyGANConfig:
    """Everything a toy run needs; saved as the run's ``config.json``."""

    name: str = "8gaussians"
    model: ToyModelConfig = field(default_factory=ToyModelConfig)
    data: ToyDataConfig = field(default_factory=ToyDataConfig)
    train: TrainConfig = TOY_TRAIN
    eval: ToyEvalConfig = field(default_factory=ToyEvalConfig)

    def validate(self) -> ToyGANConfig:
        validate_sections(self)
        return self

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ToyGANConfig:
        """Inverse of `to_dict`; unknown keys are an error, missing ones take the toy defaults
        (`TOY_TRAIN` for the optimization settings)."""
        return config_from_dict(cls, data, "toy")

    def guard(self) -> dict[str, Any]:
        """Settings that must not change when a run resumes."""
        return {"model": asdict(self.model), "data": asdict(self.data), "train": self.train.guard(), "eval": asdict(self.eval)}


TOY_CONFIGS: dict[str, ToyGANConfig] = {
    name: ToyGANConfig(name=name, data=ToyDataConfig(dataset=name)) for name in TOY_DATASET_NAMES
}


def get_toy_config(name: str) -> ToyGANConfig:
    try:
        return TOY_CONFIGS[name]
    except KeyError:
        raise UserError(f"unknown toy config {name!r}", hint=f"choose one of: {', '.join(TOY_CONFIGS)}") from None


# Flat names that more than one section has, or that differ from the field name.
_ALIASES = {"seed": ("train", "seed"), "eval_seed": ("eval", "seed"), "eval_samples": ("eval", "samples")}


def toy_override_names() -> set[str]:
    """The flat names `with_toy_overrides` accepts."""
    return flat_names(ToyGANConfig(), _ALIASES)


def with_toy_overrides(config: ToyGANConfig, **overrides: Any) -> ToyGANConfig:
    """Apply flat overrides (``dim=128``, ``lr=2e-4``, ``fixed_generator=True``) to the owning section.

    ``seed`` is the training seed; ``eval_seed`` and ``eval_samples`` reach the
    evaluation section. ``None`` values are ignored.
    """
    return with_flat_overrides(config, _ALIASES, "toy", **overrides)

