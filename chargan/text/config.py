"""Configuration of the character-level GAN language model, with named presets.

Every number of the model is a field here; defaults are the paper's (and the
reference ``gan_language.py``'s). Presets are small overlays on the defaults.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

from chargan.core.sections import config_from_dict, flat_names, validate_sections, with_flat_overrides
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
    """Which corpus, and how lines become rows of ids (see `chargan.corpora.load_corpus`)."""

    corpus: str = "demo"  # "demo", "billion_word", "hf:<dataset>[:<config>]", or a text file, folder or glob
    data_dir: str | None = None
    max_lines: int | None = 10_000_000  # the reference loads 10M lines
    units: str = "char"  # "char" (the paper) or "subword" (SentencePiece pieces)
    max_vocab: int = 2048  # char units: most frequent characters kept, padding and unknown included
    vocab_size: int = 8000  # subword units: SentencePiece vocabulary size, padding and unknown included
    errors: str = "strict"  # invalid UTF-8 in text files: "strict" (an error) or "replace" (U+FFFD)
    source: str = "tarball"  # billion_word from the official "tarball" or the hub's parquet export ("hf")
    split: str = "train"  # hf: corpora: the split read
    text_column: str = "text"  # hf: corpora: the column holding the text

    def validate(self) -> None:
        if self.max_lines is not None and (not isinstance(self.max_lines, int) or self.max_lines < 1):
            raise UserError(f"max-lines must be a positive integer, got {self.max_lines!r}")
        if not isinstance(self.max_vocab, int) or self.max_vocab < 3:
            raise UserError(f"max-vocab must be at least 3 (padding, unknown, one character), got {self.max_vocab!r}")
        if not isinstance(self.vocab_size, int) or not 3 <= self.vocab_size <= 1 << 16:
            raise UserError(f"vocab-size must be an integer between 3 and 65536, got {self.vocab_size!r}")
        choices = {"units": ("char", "subword"), "errors": ("strict", "replace"), "source": ("tarball", "hf")}
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise UserError(f"{name} must be one of {', '.join(allowed)}, got {getattr(self, name)!r}")
        for name in ("split", "text_column"):
            if not isinstance(getattr(self, name), str) or not getattr(self, name).strip():
                raise UserError(f"{name.replace('_', '-')} must be a non-empty name, got {getattr(self, name)!r}")


@dataclass(frozen=True)
class EvalConfig:
    """How generated text is scored."""

    samples: int = 640  # 10 batches of 64, as the reference
    orders: tuple[int, ...] = (1, 2, 3, 4)  # character n-gram orders for JS
    seed: int = 1234  # fixed evaluation noise, so evaluations are comparable over time
    chars: int = 32  # subword units: characters of decoded text scored per sample (the char model's seq_len)

    def validate(self) -> None:
        if not isinstance(self.samples, int) or self.samples < 1:
            raise UserError(f"eval samples must be a positive integer, got {self.samples!r}")
        if not self.orders or any(not isinstance(n, int) or not 1 <= n <= 4 for n in self.orders):
            raise UserError(f"n-gram orders must be integers in 1..4, got {self.orders!r}")
        if not isinstance(self.chars, int) or self.chars < 1:
            raise UserError(f"eval chars must be a positive integer, got {self.chars!r}")


@dataclass(frozen=True)
class LanguageGANConfig:
    """Everything a language-model run needs; saved as the run's ``config.json``."""

    preset: str = "paper"
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)

    def validate(self) -> LanguageGANConfig:
        validate_sections(self)
        return self

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LanguageGANConfig:
        """Inverse of `to_dict`; unknown keys are an error, missing ones take defaults."""
        return config_from_dict(cls, data, "language-model")

    def guard(self) -> dict[str, Any]:
        """Settings that must not change when a run resumes (where the corpus lives may)."""
        data = asdict(self.data)
        data.pop("data_dir")
        return {"model": asdict(self.model), "data": data, "train": self.train.guard(), "eval": asdict(self.eval)}


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
    # corpus: JS-4 falls from 1.0 to about 0.67 in 1200 iterations; 7-8 minutes on 2 cores).
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
_ALIASES = {"seed": ("train", "seed"), "eval_seed": ("eval", "seed"), "eval_samples": ("eval", "samples"),
            "eval_chars": ("eval", "chars")}


def with_overrides(config: LanguageGANConfig, **overrides: Any) -> LanguageGANConfig:
    """Apply flat overrides (``dim=128``, ``lr=2e-4``) to whichever section owns each name.

    ``seed`` is the training seed; ``eval_seed``, ``eval_samples`` and
    ``eval_chars`` reach the evaluation section. ``None`` values are ignored,
    so unset command-line flags pass straight through.
    """
    return with_flat_overrides(config, _ALIASES, "language-model", **overrides)


def override_names() -> set[str]:
    """The flat names `with_overrides` accepts."""
    return flat_names(LanguageGANConfig(), _ALIASES)
