"""Train, sample and evaluate the character-level GAN language model.

These are the library calls behind ``chargan train | sample | eval``: each
takes a config or a run directory and returns plain results; printing is the
caller's business.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor
from torch.nn import functional as F

from chargan.core import distributed
from chargan.core.checkpoint import latest_checkpoint, load_checkpoint
from chargan.core.data import RowSampler
from chargan.core.device import resolve_device
from chargan.core.run import RunDirectory, open_run
from chargan.core.trainer import Trainer, TrainResult, progress_echo
from chargan.errors import UserError
from chargan.text.config import DataConfig, EvalConfig, LanguageGANConfig, ModelConfig
from chargan.text.evaluation import (
    CharProjection,
    ReferenceStats,
    TextEvaluator,
    generate_ids,
    reference_stats,
    score_ids,
    subword_reference,
)
from chargan.text.metrics import copy_rate, word_hit_rate, word_set
from chargan.text.models import ConvCritic, ConvGenerator
from chargan.text.ngrams import ngram_stats
from chargan.text.subword import AnyVocabulary, SubwordVocabulary, load_vocabulary
from chargan.text.vocab import VocabularyError

if TYPE_CHECKING:
    from chargan.corpora import EncodedCorpus

VOCAB_FILE = "vocab.json"


def build_models(config: ModelConfig, vocab_size: int) -> tuple[ConvGenerator, ConvCritic]:
    """The generator and critic of ``config`` over ``vocab_size`` symbols."""
    arch = dict(seq_len=config.seq_len, dim=config.dim, n_blocks=config.n_blocks,
                kernel_size=config.kernel_size, residual_scale=config.residual_scale)
    generator = ConvGenerator(vocab_size, latent_dim=config.latent_dim, **arch)
    critic = ConvCritic(vocab_size, norm=config.critic_norm, **arch)
    return generator, critic


def one_hot(ids: Tensor, vocab_size: int) -> Tensor:
    """Integer ids ``(batch, seq_len)`` -> float one-hot ``(batch, seq_len, vocab_size)``."""
    return F.one_hot(ids.long(), vocab_size).float()


@dataclass
class LanguageRun:
    """A finished (or interrupted) training call."""

    run: RunDirectory
    config: LanguageGANConfig
    result: TrainResult
    floor: dict[str, float]


def train_language_model(
    config: LanguageGANConfig,
    run_dir: str | Path | None = None,
    *,
    resume: bool = False,
    runs_root: str | Path = "runs",
    progress: bool = True,
    download: bool = True,
    echo: Callable[[str], None] = print,
) -> LanguageRun:
    """Train the language model of ``config`` in ``run_dir`` (a new ``runs/<name>`` by default).

    With ``download``, a missing Billion Word corpus is fetched first (see
    `chargan.corpora.download.fetch_billion_word`); without, it is an error.

    With ``resume``, the run directory must exist; training continues from its
    newest checkpoint (and ``config`` must keep the run's model, data,
    optimizer and evaluation settings; ``iterations``, the logging intervals,
    the device and ``data_dir`` may change).
    """
    config = _absolute_paths(config.validate())
    run = open_run(run_dir, runs_root=runs_root, prefix=_run_prefix(config), resume=resume,
                   saved_guard=lambda root: load_run_config(root).guard(), guard=config.guard(),
                   iterations=config.train.iterations)

    with distributed.main_process_first():  # one download and one encoding, shared by every rank
        if config.data.corpus == "billion_word" and config.data.source == "tarball":
            _ensure_billion_word(config.data.data_dir, download, progress, echo)
        corpus = load_run_corpus(config.data, config.model.seq_len, progress=progress)
        reference, projection = corpus_reference(corpus, config.eval)
    vocab = corpus.vocab
    if resume:
        _check_same_vocabulary(run, vocab)
    device = resolve_device(config.train.device)
    echo(f"corpus: {corpus.description}")
    echo(f"{len(corpus.ids):,} lines, vocabulary of {len(vocab)} symbols; device {device}; run {run.root}")

    torch.manual_seed(config.train.seed)
    generator, critic = build_models(config.model, len(vocab))
    sampler = RowSampler(corpus.ids, device, seed=config.train.seed, transform=partial(one_hot, vocab_size=len(vocab)))
    evaluator = TextEvaluator(reference, vocab, config.eval, run, projection)
    trainer = Trainer(generator, critic, sampler, config.train, run=run, evaluate=evaluator,
                      guard=config.guard(), progress=progress, echo=progress_echo(progress, echo))
    resumed = resume and trainer.resume()
    if resumed:
        echo(f"resumed at iteration {trainer.iteration} of {config.train.iterations}")
    else:
        # A fresh run, or a resumed one that died before its first checkpoint: start clean.
        run.truncate_metrics(-1)
        run.log({"iteration": 0, **{f"floor_{k}": v for k, v in reference.floor.items()}})
        if distributed.is_main_process():  # rank 0 alone writes the run directory
            vocab.save(run.root / VOCAB_FILE)
    corpus_info = {"description": corpus.description, "source": corpus.source, "lines": len(corpus.ids)}
    run.write_config({**config.to_dict(), "corpus": corpus_info})
    echo("floor (held-out real lines vs the rest): " + _fmt(reference.floor))
    result = trainer.fit()
    return LanguageRun(run, config, result, reference.floor)


def load_run_corpus(data: DataConfig, seq_len: int, progress: bool = True) -> EncodedCorpus:
    """The encoded corpus a run's data settings name (from the cache when possible)."""
    from chargan.corpora import load_corpus

    return load_corpus(data.corpus, data_dir=data.data_dir, seq_len=seq_len, max_lines=data.max_lines,
                       max_vocab=data.max_vocab, units=data.units, vocab_size=data.vocab_size, errors=data.errors,
                       source=data.source, split=data.split, text_column=data.text_column, progress=progress)


def corpus_reference(corpus: EncodedCorpus, config: EvalConfig) -> tuple[ReferenceStats, CharProjection | None]:
    """True-data n-gram statistics of ``corpus`` (cached beside it), on characters.

    For subword units, also the projection of generated pieces onto the
    characters those statistics count.
    """
    if isinstance(corpus.vocab, SubwordVocabulary):
        return subword_reference(corpus.lines, corpus.n_lines, corpus.vocab, config, cache_dir=corpus.cache_path)
    return reference_stats(corpus.ids, len(corpus.vocab), config, cache_dir=corpus.cache_path), None


def _ensure_billion_word(data_dir: str | None, download: bool, progress: bool, echo: Callable[[str], None]) -> None:
    import chargan.corpora.download as downloading
    from chargan.corpora import CorpusNotFoundError, locate_billion_word

    try:
        locate_billion_word(data_dir)
    except CorpusNotFoundError as exc:
        if not download:
            raise CorpusNotFoundError(exc.message, hint=f"{exc.hint}; or drop --no-download") from None
        echo("Billion Word is not on this machine: fetching it now (pass --no-download to stop instead)")
        downloading.fetch_billion_word(data_dir, progress=progress, echo=echo)


def _check_same_vocabulary(run: RunDirectory, vocab: AnyVocabulary) -> None:
    path = run.root / VOCAB_FILE
    if path.exists() and load_vocabulary(path) != vocab:
        raise UserError(f"the corpus now gives a different vocabulary than run {run.root} was trained with",
                        hint="the corpus files changed since; restore them or start a new run")


def _absolute_paths(config: LanguageGANConfig) -> LanguageGANConfig:
    """Store local corpus paths absolute, so `eval` and `--resume` work from any folder."""
    from chargan.corpora import canonical_spec

    data = config.data
    corpus = canonical_spec(data.corpus)
    data_dir = None if data.data_dir is None else str(Path(data.data_dir).expanduser().resolve())
    return replace(config, data=replace(data, corpus=corpus, data_dir=data_dir))


def _run_prefix(config: LanguageGANConfig) -> str:
    from chargan.corpora import BUILTIN_SPECS
    from chargan.corpora.sources import safe_slug

    spec = config.data.corpus
    corpus = spec if spec in BUILTIN_SPECS else safe_slug(Path(spec.removeprefix("hf:")).stem.replace("*", "all"))
    units = "-subword" if config.data.units == "subword" else ""
    return f"{corpus}{units}-{config.preset}"


def _fmt(metrics: dict[str, float]) -> str:
    return "  ".join(f"{k}={v:.4f}" for k, v in metrics.items())


def load_run_config(run_dir: str | Path) -> LanguageGANConfig:
    """The resolved config a run was trained with."""
    # from_dict reads only the config sections; the "corpus" record beside them is ignored.
    return LanguageGANConfig.from_dict(RunDirectory(run_dir).read_config()).validate()


def load_generator(run_dir: str | Path, device: str = "auto") -> tuple[ConvGenerator, AnyVocabulary, LanguageGANConfig, int]:
    """The newest checkpointed generator of a run, its vocabulary, config and iteration."""
    run = RunDirectory(run_dir)
    config = load_run_config(run_dir)
    try:
        vocab = load_vocabulary(run.root / VOCAB_FILE)
    except VocabularyError as exc:
        raise UserError(f"run {run.root} has no usable vocabulary: {exc.message}") from None
    if latest_checkpoint(run.checkpoints_dir) is None:
        raise UserError(f"run {run.root} has no checkpoint yet", hint="train it first (checkpoints are written every --checkpoint-every iterations)")
    ckpt = load_checkpoint(run.checkpoints_dir)
    generator, _ = build_models(config.model, len(vocab))
    try:
        generator.load_state_dict(ckpt.weights["generator"])
    except (KeyError, RuntimeError) as exc:
        raise UserError(f"checkpoint {ckpt.path} does not match the run's config: {str(exc).splitlines()[0]}") from None
    return generator.to(resolve_device(device)), vocab, config, ckpt.iteration


def sample_text(run_dir: str | Path, n: int = 20, seed: int | None = None, device: str = "auto") -> list[str]:
    """``n`` argmax-decoded samples from the run's newest generator (padding stripped)."""
    if n < 1:
        raise UserError(f"the number of samples must be positive, got {n}")
    generator, vocab, _, _ = load_generator(run_dir, device)
    return vocab.decode_batch(generate_ids(generator, n, seed=seed))


def evaluate_run(
    run_dir: str | Path,
    reference: str | Path | None = None,
    n: int = 640,
    seed: int | None = None,
    device: str = "auto",
    progress: bool = False,
) -> dict[str, Any]:
    """JS-1..4 of ``n`` samples against the run's corpus (or a reference text file),
    the fraction of generated words found in the reference's words, and the
    fraction of samples that copy a training line verbatim."""
    from chargan.corpora import read_text_lines

    if n < 1:
        raise UserError(f"the number of samples must be positive, got {n}")
    generator, vocab, config, iteration = load_generator(run_dir, device)
    corpus = load_run_corpus(config.data, config.model.seq_len, progress=progress)
    if corpus.vocab != vocab:
        raise UserError(f"the run's corpus now gives a different vocabulary than run {run_dir} was trained with",
                        hint="the corpus files changed since training; restore them, or pass --reference FILE")
    ids = generate_ids(generator, n, seed=config.eval.seed if seed is None else seed)
    samples = vocab.decode_batch(ids)
    subword = isinstance(vocab, SubwordVocabulary)
    # The corpus statistics are needed for its own figures, and by subword runs for their character view.
    own, projection = corpus_reference(corpus, config.eval) if reference is None or subword else (None, None)
    if reference is None:
        stats, ref_lines, ref_name = own.stats, corpus.lines(), corpus.description
    else:
        lines = read_text_lines(reference)
        if projection is None:
            ref_ids, symbols = vocab.encode_batch(lines, config.model.seq_len), len(vocab)
        else:
            ref_ids, symbols = projection.chars.encode_batch(lines, projection.length), len(projection.chars)
        stats, ref_lines, ref_name = ngram_stats(ref_ids, symbols, config.eval.orders), lines, str(reference)
    metrics = score_ids(ids, stats, vocab, projection)
    return {
        "run": str(run_dir),
        "iteration": iteration,
        "samples": n,
        "reference": ref_name,
        **metrics,
        "word_hit_rate": word_hit_rate(samples, word_set(ref_lines)),
        "copy_rate": copy_rate(ids, corpus.ids),
    }
