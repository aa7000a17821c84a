"""Configuration of the character-level GAN language model, with named presets.

Every number of the model is a field here; defaults are the paper's (and the
reference ``gan_language.py``'s). Presets are small overlays on the defaults.
"""

from __future__ import annotations

import dataclasses
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from chargan.core.trainer import TrainConfig
from chargan.errors import UserError


@dataclass(frozen=True)
class ModelConfig:
    """Generator and critic architecture (paper §5.5)."""

    seq_len: int = 32
    dim: int = 512
    latent_dim: int = 128
    n_blocks: int = 5
    kernel_size: int = 5
    residual_scale: float = 0.3
    critic_norm: str = "none"  # "none" (the paper) or "layer"

    def validate(self) -> None:
        for name in ("seq_len", "dim", "latent_dim", "n_blocks", "kernel_size"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise UserError(f"{name.replace('_', '-')} must be a positive integer, got {value!r}")
        if self.kernel_size % 2 == 0:
            raise UserError(f"kernel-size must be odd (the blocks keep the sequence length), got {self.kernel_size}")
        if self.critic_norm not in ("none", "layer"):
            raise UserError(f"critic-norm must be 'none' or 'layer', got {self.critic_norm!r}")


@dataclass(frozen=True)
class DataConfig:
    """Which corpus, and how lines become rows of ids."""

    corpus: str = "demo"  # "demo", "billion_word", or a path to a text file or folder
    data_dir: str | None = None
    max_lines: int | None = 10_000_000  # the reference loads 10M lines
    max_vocab: int = 2048  # most frequent characters kept, padding and unknown included

    def validate(self) -> None:
        if self.max_lines is not None and (not isinstance(self.max_lines, int) or self.max_lines < 1):
            raise UserError(f"max-lines must be a positive integer, got {self.max_lines!r}")
        if not isinstance(self.max_vocab, int) or self.max_vocab < 3:
            raise UserError(f"max-vocab must be at least 3 (padding, unknown, one character), got {self.max_vocab!r}")


@dataclass(frozen=True)
class EvalConfig:
    """How generated text is scored."""

    samples: int = 640  # 10 batches of 64, as the reference
    orders: tuple[int, ...] = (1, 2, 3, 4)  # character n-gram orders for JS
    seed: int = 1234  # fixed evaluation noise, so evaluations are comparable over time

    def validate(self) -> None:
        if not isinstance(self.samples, int) or self.samples < 1:
            raise UserError(f"eval samples must be a positive integer, got {self.samples!r}")
        if not self.orders or any(not isinstance(n, int) or not 1 <= n <= 4 for n in self.orders):
            raise UserError(f"n-gram orders must be integers in 1..4, got {self.orders!r}")


@dataclass(frozen=True)
class LanguageGANConfig:
    """Everything a language-model run needs; saved as the run's ``config.json``."""

    preset: str = "paper"
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)

    def validate(self) -> LanguageGANConfig:
        self.model.validate()
        self.data.validate()
        self.train.validate()
        self.eval.validate()
        return self

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LanguageGANConfig:
        """Inverse of `to_dict`; unknown keys are an error, missing ones take defaults."""
        if not isinstance(data, dict) or not all(isinstance(data.get(k, {}), dict) for k in ("model", "data", "train", "eval")):
            raise UserError("config is not a chargan configuration (expected an object with model, data, train, eval)")
        try:
            parts = {
                "model": _build(ModelConfig, data.get("model", {})),
                "data": _build(DataConfig, data.get("data", {})),
                "train": _build(TrainConfig, data.get("train", {})),
                "eval": _build(EvalConfig, data.get("eval", {})),
            }
            return cls(preset=data.get("preset", "paper"), **parts)
        except (TypeError, ValueError) as exc:
            raise UserError(f"config does not match this version of chargan: {exc}") from None

    def guard(self) -> dict[str, Any]:
        """Settings that must not change when a run resumes (where the corpus lives may)."""
        data = asdict(self.data)
        data.pop("data_dir")
        return {"model": asdict(self.model), "data": data, "train": self.train.guard(), "eval": asdict(self.eval)}


def _build(cls: type, values: dict[str, Any]) -> Any:
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = set(values) - names
    if unknown:
        raise TypeError(f"unknown {cls.__name__} fields: {', '.join(sorted(unknown))}")
    # JSON has no tuples: restore them where the default is one.
    fixed = {k: tuple(v) if isinstance(v, list) else v for k, v in values.items()}
    return cls(**fixed)


def _preset(name: str, **overlays: Any) -> LanguageGANConfig:
    base = LanguageGANConfig(preset=name)
    parts = {key: replace(getattr(base, key), **values) for key, values in overlays.items()}
    return replace(base, **parts)


PRESETS: dict[str, LanguageGANConfig] = {
    # The reference gan_language.py: DIM 512, batch 64, 10 critic steps, Adam(1e-4, (0.5, 0.9)).
    "paper": _preset("paper"),
    # Algorithm 1's general defaults: n_critic 5, beta1 = 0.
    "paper-alg1": _preset("paper-alg1", train={"critic_iters": 5, "betas": (0.0, 0.9)}),
    # A small model that learns visibly on a 2-core CPU in under 10 minutes: a narrow,
    # shallower network, fewer critic steps and a larger step size (tuned on the demo
    # corpus: JS-4 falls from 1.0 to about 0.67 in 1200 iterations; 5-7 minutes on 2 cores).
    "cpu": _preset(
        "cpu",
        model={"dim": 32, "n_blocks": 3},
        train={"iterations": 1200, "critic_iters": 5, "lr": 2e-3, "eval_every": 100, "log_every": 10,
               "checkpoint_every": 200},
        data={"max_lines": 1_000_000},
    ),
}
DEFAULT_PRESET = "cpu"


def get_preset(name: str) -> LanguageGANConfig:
    try:
        return PRESETS[name]
    except KeyError:
        raise UserError(f"unknown preset {name!r}", hint=f"choose one of: {', '.join(PRESETS)}") from None


# Flat names that more than one section has, or that differ from the field name.
_ALIASES = {"seed": ("train", "seed"), "eval_seed": ("eval", "seed"), "eval_samples": ("eval", "samples")}


def with_overrides(config: LanguageGANConfig, **overrides: Any) -> LanguageGANConfig:
    """Apply flat overrides (``dim=128``, ``lr=2e-4``) to whichever section owns each name.

    ``seed`` is the training seed; ``eval_seed`` and ``eval_samples`` reach the
    evaluation section. ``None`` values are ignored, so unset command-line
    flags pass straight through.
    """
    sections: dict[str, dict[str, Any]] = {name: {} for name in ("model", "data", "train", "eval")}
    owners: dict[str, list[str]] = {}
    for section in sections:
        for f in dataclasses.fields(getattr(config, section)):
            owners.setdefault(f.name, []).append(section)
    for key, value in overrides.items():
        if value is None:
            continue
        if key in _ALIASES:
            section, name = _ALIASES[key]
        elif len(owners.get(key, [])) == 1:
            section, name = owners[key][0], key
        else:
            raise ValueError(f"no unambiguous config field named {key!r}")
        sections[section][name] = value
    return replace(config, **{s: replace(getattr(config, s), **v) for s, v in sections.items() if v})
