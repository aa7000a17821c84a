"""Configuration of the genes family (genes and peptides), with its named configs.

Every number is a field here, declared with `setting` (its flag, range and
help). ``genes`` is FBGAN's ``wgan_gp_gene.py`` (Gupta & Zou 2019): the
language model's conv WGAN-GP over one-hot DNA padded to 156 bases, DIM
512, 5 residual blocks, batch 64, 10 critic steps, lambda 10, Adam(1e-4,
(0.5, 0.9)), a Gumbel-softmax output at tau 0.5. ``genes-cpu`` is a small
model (DIM 64, batch 32, 3 critic steps, a decaying rate, smoothed reals, a
weight average) that learns visibly on a 2-core CPU in minutes; ``protein``
a DIM 32 one over the 20 amino acids.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from chargan.core.config import CRITIC_NORMS, SEED_MAX, Section, SectionedConfig, TrainConfig, setting
from chargan.corpora.seqfiles import FORMATS
from chargan.corpora.sequences import BUILTIN_SEQUENCES, LONG_POLICIES, SYMBOL_POLICIES, sequence_alphabet
from chargan.errors import UsageError, UserError
from chargan.sequence.memory import conv_gan_bytes

#: What the generator's last layer puts on the simplex: a softmax, or a Gumbel-softmax (Jang et al. 2017).
OUTPUTS = ("softmax", "gumbel")


@dataclass(frozen=True)
class ModelConfig(Section):
    """Generator and critic: the language model's conv pair over one-hot symbols."""

    SECTION = "model"

    seq_len: int = setting(156, "Symbols per sequence (bases or residues; FBGAN: 156); longer records follow --long.",
                           min=1)
    dim: int = setting(512, "Model width: conv channels of every block (FBGAN: 512).", min=1)
    latent_dim: int = setting(128, "Noise dimensions.", min=1)
    n_blocks: int = setting(5, "Residual blocks in generator and critic.", min=1)
    kernel_size: int = setting(5, "Odd conv kernel width in the blocks.", min=1)
    residual_scale: float = setting(0.3, "Scale of each block's residual branch (the reference's 0.3).", min=0)
    critic_norm: str = setting("none", "Normalization in the critic's blocks (FBGAN: none).", choices=CRITIC_NORMS)
    output: str = setting("softmax", "The generator's output: softmax, or gumbel: softmax((logits + Gumbel noise) / "
                          "tau) while training (FBGAN's), a plain softmax when sampling.", choices=OUTPUTS)
    tau: float = setting(0.5, "--output gumbel: the temperature at iteration 0 (FBGAN: 0.5).", min=0, min_open=True)
    tau_decay: float = setting(0.0, "--output gumbel: anneal tau(t) = max(tau-min, tau * exp(-tau-decay * t)) over "
                               "generator iterations t (0: constant, FBGAN's).", min=0)
    tau_min: float = setting(0.1, "--output gumbel: the floor of the annealed tau.", min=0, min_open=True)

    def check(self) -> None:
        if self.kernel_size % 2 == 0:
            raise UsageError(f"kernel-size must be odd (the blocks keep the sequence length), got {self.kernel_size}")
        if self.tau_decay > 0 and self.tau_min > self.tau:
            # max(tau-min, ...) would hold tau at tau-min from the start: a rise, not an anneal
            raise UsageError(f"tau-min ({self.tau_min}) is above tau ({self.tau}): an annealed tau falls from tau "
                             "to tau-min; lower --tau-min or raise --tau")


@dataclass(frozen=True)
class DataConfig(Section):
    """Which sequences, over which alphabet, and what to do with records that do not fit."""

    SECTION = "data"

    corpus: str | None = setting(None, f"A FASTA file (.fa/.fasta, wrapped, any case), a file of one sequence per "
                                 f"line, or a TSV/CSV table (.tsv/.csv: see --column, --filter), plain or .gz; or "
                                 f"{', '.join(BUILTIN_SEQUENCES)} (FBGAN's genes, from the shared data folder).")
    alphabet: str = setting("dna", "dna (ACGT), rna (ACGU), protein (the 20 standard amino acids), or the symbols "
                            "themselves (ACGTN); lower case reads as upper case.")
    format: str = setting("auto", "How --corpus is read: by its name or a leading '>' (auto), fasta, lines, table.",
                          choices=FORMATS)
    column: str = setting("sequence", "Tables: the column of the sequences, by header name or number (from 1, as "
                          "`cut -f`; a number means the file has no header row).")
    filter: str | None = setting(None, "Tables: keep only the rows whose COLUMN holds VALUE, e.g. label=1 (or 2=1).")
    errors: str = setting("strict", "A symbol outside the alphabet: stop with an error naming the record and position "
                          "(strict) or drop the record and count it (skip).", choices=SYMBOL_POLICIES)
    long: str = setting("error", "A record longer than --seq-len: stop with an error, cut it (truncate) or drop it "
                        "(skip); counted in the corpus manifest.", choices=LONG_POLICIES)
    max_lines: int | None = setting(None, "Use at most this many sequences (the first kept).", min=1)
    # Resumable: the scorer is not model state, so a run trained from Python can resume from the CLI with it.
    feedback: str | None = setting(None, "FBGAN's feedback: a scorer MODULE:FUNCTION taking a list of sequences and "
                                   "returning their scores (from Python: chargan.genes.train(..., feedback=fn)); "
                                   "needs --feedback-every.", resumable=True)
    feedback_every: int = setting(0, "Generator iterations between feedback rounds (0: no feedback).", min=0)
    feedback_samples: int = setting(64, "Sequences generated per feedback round.", min=1)
    feedback_threshold: float = setting(0.5, "Generated sequences scoring above this replace the oldest training rows.")

    def check(self) -> None:
        if self.filter is not None and "=" not in self.filter:
            raise UsageError(f"filter must be COLUMN=VALUE, got {self.filter!r}")
        if not self.column.strip():
            raise UsageError("column must name a column (a header name or a number from 1)")
        if self.feedback is not None and ":" not in self.feedback:
            raise UsageError(f"feedback must be MODULE:FUNCTION, got {self.feedback!r}")


@dataclass(frozen=True)
class EvalConfig(Section):
    """How generated sequences are scored at each evaluation and by `chargan eval`."""

    SECTION = "eval"

    samples: int = setting(640, "Samples per evaluation (10 batches of 64, as the reference).", min=1)
    orders: tuple[int, ...] = setting((1, 2, 3, 4, 5, 6), "k-mer orders for JS.", cli=False)
    seed: int = setting(1234, "Seed of the fixed evaluation noise, so evaluations are comparable over time.", min=0,
                        max=SEED_MAX)
    novelty_train: int = setting(3000, "Training sequences each sample's nearest edit distance is measured against "
                                 "(0: no novelty figures).", min=0)

    def check(self) -> None:
        if not self.orders or any(not isinstance(n, int) or not 1 <= n <= 12 for n in self.orders):
            raise UsageError(f"k-mer orders must be integers in 1..12, got {self.orders!r}")


@dataclass(frozen=True)
class GenesGANConfig(SectionedConfig):
    """Everything a genes run needs; saved as the run's ``config.json``."""

    WHAT = "genes"
    ONE_HOT = True  # real rows are one-hots (batch, seq_len, alphabet): the one-hot training recipes apply

    name: str = "genes"
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)

    def memory_parts(self, training: bool = True) -> dict[str, int]:
        """The conv GAN's bytes (`chargan.sequence.memory`) over the alphabet's symbols and padding."""
        m, t = self.model, self.train
        try:
            vocab = len(sequence_alphabet(self.data.alphabet))  # its symbols and the padding
        except UserError:  # a bad alphabet is reported when the corpus is read; size it by its spelling until then
            vocab = len(self.data.alphabet) + 1
        return conv_gan_bytes(vocab=vocab, seq_len=m.seq_len, dim=m.dim, latent_dim=m.latent_dim,
                              n_blocks=m.n_blocks, kernel_size=m.kernel_size, batch_size=t.batch_size,
                              critic_iters=t.critic_iters, eval_samples=self.eval.samples, training=training)

    def inapplicable(self) -> dict[str, str]:
        """Gumbel's knobs under a softmax output, a table's under another format, feedback's without it."""
        moot = super().inapplicable()
        if self.model.output != "gumbel":
            moot.update(dict.fromkeys(("tau", "tau_decay", "tau_min"), "it is for --output gumbel"))
        elif self.model.tau_decay == 0:
            moot["tau_min"] = "it is for an annealed tau (--tau-decay above 0)"
        if self.data.format not in ("auto", "table"):
            moot.update(dict.fromkeys(("column", "filter"), "it is for tables (--format table)"))
        if self.data.feedback_every == 0:
            moot.update(dict.fromkeys(("feedback", "feedback_samples", "feedback_threshold"),
                                      "it is for --feedback-every N"))
        return moot


def _config(name: str, **overlays: Any) -> GenesGANConfig:
    base = GenesGANConfig(name=name)
    parts = {key: replace(getattr(base, key), **values) for key, values in overlays.items()}
    return replace(base, **parts)


GENES_CONFIGS: dict[str, GenesGANConfig] = {
    # FBGAN's wgan_gp_gene.py: 80 epochs of ~3,200 genes at 49 critic batches each and one generator step
    # per 10 critic steps is ~400 generator iterations.
    "genes": _config(
        "genes",
        model={"output": "gumbel", "tau": 0.5},
        data={"corpus": "fbgan-genes"},
        train={"iterations": 400, "eval_every": 50, "log_every": 10, "checkpoint_every": 100},
    ),
    # Small and fast: learns visibly on 2 CPU cores within minutes, and ends in about 20. DIM 64 (it keeps
    # gaining where DIM 32 levels off near 30% valid genes), batches of 32 and 3 critic steps (3x the
    # iterations per minute of 64 and 5), a learning rate falling linearly to 0 (a constant one levels off
    # near 35%), Sobolev-smoothed reals and a weight average: 53% valid genes in 19 training minutes on one
    # core, against 33% for 64 and 5 at a constant rate (BENCHMARKS.md, "Genes").
    "genes-cpu": _config(
        "genes-cpu",
        model={"dim": 64, "n_blocks": 3},
        data={"corpus": "fbgan-genes"},
        train={"iterations": 2400, "batch_size": 32, "critic_iters": 3, "lr": 2e-3,
               "lr_decay": "linear", "eval_every": 200, "log_every": 20, "checkpoint_every": 400, "ema_decay": 0.999,
               "ema_warmup": True, "real_smoothing": 0.1, "real_noise": 1.0,
               "noise_anneal_iterations": 0},  # 0: over the run, as the rate decays: --iterations moves both
    ),
    # Peptides and short proteins over the 20 amino acids: the CPU-sized model; bring your own --corpus.
    "protein": _config(
        "protein",
        model={"seq_len": 64, "dim": 32, "n_blocks": 3},
        data={"alphabet": "protein"},
        train={"iterations": 600, "critic_iters": 5, "lr": 2e-3, "eval_every": 100, "log_every": 10,
               "checkpoint_every": 200},
    ),
}
DESCRIPTIONS = {
    "genes": "FBGAN's wgan_gp_gene.py: DNA padded to 156, DIM 512, 10 critic steps, Gumbel-softmax tau 0.5",
    "genes-cpu": "small gene model that learns visibly on a 2-core CPU in minutes (about 20 to its end)",
    "protein": "the CPU-sized model over the 20 amino acids, 64 residues (needs --corpus)",
}
