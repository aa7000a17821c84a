"""Configuration of the character-level GAN language model, with named presets.

Every number of the model is a field here; defaults are the paper's (and the
reference ``gan_language.py``'s). Presets are small overlays on the defaults.
Each field's `setting` is also its command-line flag (``--seq-len``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from chargan.core.config import CRITIC_NORMS, SEED_MAX, Section, SectionedConfig, TrainConfig, named_config, setting
from chargan.corpora.load import BILLION_WORD_SOURCES, canonical_spec
from chargan.corpora.sources import ERROR_POLICIES
from chargan.corpora.units import UNITS
from chargan.errors import UsageError
from chargan.sequence.memory import conv_gan_bytes


@dataclass(frozen=True)
class ModelConfig(Section):
    """Generator and critic architecture (paper §5.5)."""

    SECTION = "model"

    seq_len: int = setting(32, "Symbols (characters or pieces) per sequence.", min=1)
    dim: int = setting(512, "Model width: conv channels of every block (the paper: 512).", min=1)
    latent_dim: int = setting(128, "Noise dimensions.", min=1)
    n_blocks: int = setting(5, "Residual blocks in generator and critic.", min=1)
    kernel_size: int = setting(5, "Odd conv kernel width in the blocks.", min=1)
    residual_scale: float = setting(0.3, "Scale of each block's residual branch (the reference's 0.3).", min=0)
    critic_norm: str = setting("none", "Normalization in the critic's blocks (the paper: none).", choices=CRITIC_NORMS)

    def check(self) -> None:
        if self.kernel_size % 2 == 0:
            raise UsageError(f"kernel-size must be odd (the blocks keep the sequence length), got {self.kernel_size}")


@dataclass(frozen=True)
class DataConfig(Section):
    """Which corpus, and how lines become rows of ids (see `chargan.corpora.load_corpus`)."""

    SECTION = "data"

    corpus: str = setting("demo", "demo (offline, default), billion_word, hf:<dataset>[:<config>][@<revision>] "
                          "(Hugging Face), or a text file (plain or .gz), a folder of .txt/.gz files, or a quoted glob.")
    data_dir: str | None = setting(None, "Where Billion Word is unpacked (or its parent). Also $CHARGAN_DATA_DIR.",
                                   resumable=True)
    max_lines: int | None = setting(10_000_000, "Use at most this many corpus lines (the reference loads 10M).", min=1)
    units: str = setting("char", "Symbols of a sequence: characters (the paper) or SentencePiece subword pieces.",
                         choices=UNITS)
    max_vocab: int = setting(2048, "--units char: most frequent characters kept (padding and unknown included).",
                             min=3)
    vocab_size: int = setting(8000, "--units subword: SentencePiece vocabulary size, padding and unknown included.",
                              min=3, max=1 << 16)
    errors: str = setting("strict", "Invalid UTF-8 in corpus files: stop with an error naming the place (strict) or "
                          "read it as U+FFFD (replace).", choices=ERROR_POLICIES)
    source: str = setting("tarball", "Where billion_word comes from: the official tarball or the Hugging Face "
                          "parquet export (hf).", choices=BILLION_WORD_SOURCES)
    split: str = setting("train", "The split to read (hf: corpora).")
    text_column: str = setting("text", "The column holding the text (hf: corpora).")

    def check(self) -> None:
        for name in ("split", "text_column"):
            if not getattr(self, name).strip():
                raise UsageError(f"{name.replace('_', '-')} must be a non-empty name, got {getattr(self, name)!r}")


@dataclass(frozen=True)
class EvalConfig(Section):
    """How generated text is scored."""

    SECTION = "eval"

    samples: int = setting(640, "Samples per evaluation (10 batches of 64, as the reference).", min=1)
    orders: tuple[int, ...] = setting((1, 2, 3, 4), "Character n-gram orders for JS.", cli=False)
    seed: int = setting(1234, "Seed of the fixed evaluation noise, so evaluations are comparable over time.", min=0, max=SEED_MAX)
    chars: int = setting(32, "--units subword: characters of decoded text scored per sample (the char model's "
                         "seq_len).", min=1)

    def check(self) -> None:
        if not self.orders or any(not isinstance(n, int) or not 1 <= n <= 4 for n in self.orders):
            raise UsageError(f"n-gram orders must be integers in 1..4, got {self.orders!r}")


@dataclass(frozen=True)
class LanguageGANConfig(SectionedConfig):
    """Everything a language-model run needs; saved as the run's ``config.json``."""

    WHAT = "language-model"
    ONE_HOT = True  # real rows are one-hots (batch, seq_len, vocab): --real-smoothing / --real-noise apply

    preset: str = "paper"
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)

    @property
    def name(self) -> str:
        """The named config it started from (every family's configs have a ``name``)."""
        return self.preset

    def memory_parts(self, training: bool = True) -> dict[str, int]:
        """The conv GAN's bytes (`chargan.sequence.memory`); the vocabulary, unknown before the corpus is read,
        counted as at most 64 characters (or the pieces' ``vocab_size``)."""
        m, t = self.model, self.train
        vocab = min(self.data.max_vocab, 64) if self.data.units == "char" else self.data.vocab_size
        return conv_gan_bytes(vocab=vocab, seq_len=m.seq_len, dim=m.dim, latent_dim=m.latent_dim,
                              n_blocks=m.n_blocks, kernel_size=m.kernel_size, batch_size=t.batch_size,
                              critic_iters=t.critic_iters, eval_samples=self.eval.samples, training=training)

    def inapplicable(self) -> dict[str, str]:
        """The vocabulary knobs of the other units, Billion Word's source for another corpus, and the split
        and column of a Hugging Face dataset for a corpus that is not one."""
        data = self.data
        moot = super().inapplicable()
        if data.units == "char":
            moot.update(dict.fromkeys(("vocab_size", "eval_chars"), "it is for --units subword"))
        else:
            moot["max_vocab"] = "it is for --units char"
        if canonical_spec(data.corpus) != "billion_word":
            moot["source"] = "it is for --corpus billion_word"
        if not data.corpus.startswith("hf:"):
            moot.update(dict.fromkeys(("split", "text_column"), "it is for hf: corpora"))
        return moot


def _preset(name: str, **overlays: Any) -> LanguageGANConfig:
    base = LanguageGANConfig(preset=name)
    parts = {key: replace(getattr(base, key), **values) for key, values in overlays.items()}
    return replace(base, **parts)


PRESETS: dict[str, LanguageGANConfig] = {
    # A small model that learns visibly on a 2-core CPU in under 10 minutes: a narrow, shallower
    # network and a larger step size, with the best recipe of issue 12's frontier (BENCHMARKS.md,
    # "The quality frontier"): TTUR's one critic step at 3x the generator's rate, Sobolev-style
    # smoothed and noised real one-hots, and samples from a warmed-up weight average. Over 3
    # seeds it reached JS-4 0.533 in 5 minutes, against 0.600 for 5 critic steps with the average.
    # The noise anneals over 15,000 iterations, far past this preset's end: a longer anneal led at
    # every evaluation from 4 minutes on, and brought 20 minutes' JS-4 from 0.486 to 0.478.
    "cpu": _preset(
        "cpu",
        model={"dim": 32, "n_blocks": 3},
        train={"iterations": 4000, "critic_iters": 1, "lr": 2e-3, "critic_lr": 6e-3, "eval_every": 400,
               "log_every": 20, "checkpoint_every": 800, "ema_decay": 0.999, "ema_warmup": True,
               "real_smoothing": 0.1, "real_noise": 1.0, "noise_anneal_iterations": 15_000},
        data={"max_lines": 1_000_000},
    ),
    # The reference gan_language.py: DIM 512, batch 64, 10 critic steps, Adam(1e-4, (0.5, 0.9)).
    "paper": _preset("paper"),
    # Algorithm 1's general defaults: n_critic 5, beta1 = 0.
    "paper-alg1": _preset("paper-alg1", train={"critic_iters": 5, "betas": (0.0, 0.9)}),
    # TTUR (Heusel et al. 2017, char-level Billion Word): critic lr 3e-4, generator lr 1e-4, one critic step.
    "paper-ttur": _preset("paper-ttur", train={"critic_lr": 3e-4, "generator_lr": 1e-4, "critic_iters": 1}),
    # The `cpu` preset's recipe at the paper's size and rates: TTUR, plus the weight average and Sobolev
    # GAN's smoothed reals with its noise annealed over 30k iterations (Mroueh et al. 2018, section 6.1).
    "paper-best": _preset("paper-best", train={"critic_lr": 3e-4, "generator_lr": 1e-4, "critic_iters": 1,
                                               "ema_decay": 0.999, "ema_warmup": True, "real_smoothing": 0.1,
                                               "real_noise": 1.0, "noise_anneal_iterations": 30_000}),
}
DESCRIPTIONS = {
    "cpu": "small language model that learns visibly on a laptop CPU in minutes",
    "paper": "the reference gan_language.py: DIM 512, 10 critic steps, 200k iterations",
    "paper-alg1": "as paper, with Algorithm 1's defaults: n_critic 5, beta1 0",
    "paper-ttur": "as paper, with TTUR's recipe: critic lr 3e-4, generator lr 1e-4, 1 critic step",
    "paper-best": "as paper-ttur, plus a weight average and Sobolev-smoothed reals: the cpu preset's recipe",
}
DEFAULT_PRESET = "cpu"


def get_preset(name: str) -> LanguageGANConfig:
    """The named config ``name`` of `PRESETS`."""
    return named_config(PRESETS, name, "preset")

