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
from typing import Any

import torch
from torch import Tensor
from torch.nn import functional as F

from chargan.core.checkpoint import checkpoint_iteration, latest_checkpoint, load_checkpoint
from chargan.core.data import RowSampler
from chargan.core.device import resolve_device
from chargan.core.run import RunDirectory, new_run_path
from chargan.core.trainer import Trainer, TrainResult
from chargan.errors import UserError
from chargan.text.config import LanguageGANConfig, ModelConfig
from chargan.text.evaluation import TextEvaluator, generate_ids, reference_stats
from chargan.text.metrics import copy_rate, word_hit_rate, word_set
from chargan.text.models import ConvCritic, ConvGenerator
from chargan.text.ngrams import ngram_js, ngram_stats
from chargan.text.vocab import Vocabulary, VocabularyError

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
    from chargan.corpora import load_corpus

    config = _absolute_paths(config.validate())
    run = RunDirectory(run_dir if run_dir is not None else new_run_path(runs_root, _run_prefix(config)))
    if resume:
        _check_resumable(run, config)  # before any expensive work
    elif run.exists():
        raise UserError(f"run directory {run.root} already holds a run",
                        hint="add --resume to continue it, or choose another --run")
    elif run.root.exists() and (not run.root.is_dir() or any(run.root.iterdir())):
        raise UserError(f"{run.root} exists and is not an empty folder", hint="choose a new --run directory")

    if config.data.corpus == "billion_word":
        _ensure_billion_word(config.data.data_dir, download, progress, echo)
    corpus = load_corpus(config.data.corpus, data_dir=config.data.data_dir, seq_len=config.model.seq_len,
                         max_lines=config.data.max_lines, max_vocab=config.data.max_vocab, progress=progress)
    vocab = corpus.vocab
    if resume:
        _check_same_vocabulary(run, vocab)
    device = resolve_device(config.train.device)
    echo(f"corpus: {corpus.description}")
    echo(f"{len(corpus.ids):,} lines, vocabulary of {len(vocab)} symbols; device {device}; run {run.root}")

    torch.manual_seed(config.train.seed)
    generator, critic = build_models(config.model, len(vocab))
    sampler = RowSampler(corpus.ids, device, seed=config.train.seed, transform=partial(one_hot, vocab_size=len(vocab)))
    reference = reference_stats(corpus.ids, len(vocab), config.eval, cache_dir=corpus.cache_path)
    evaluator = TextEvaluator(reference, vocab, config.eval, run)
    trainer = Trainer(generator, critic, sampler, config.train, run=run, evaluate=evaluator,
                      guard=config.guard(), progress=progress, echo=_tqdm_echo() if progress else echo)
    resumed = resume and trainer.resume()
    if resumed:
        echo(f"resumed at iteration {trainer.iteration} of {config.train.iterations}")
    else:
        # A fresh run, or a resumed one that died before its first checkpoint: start clean.
        run.truncate_metrics(-1)
        run.log({"iteration": 0, **{f"floor_{k}": v for k, v in reference.floor.items()}})
        vocab.save(run.root / VOCAB_FILE)
    corpus_info = {"description": corpus.description, "source": corpus.source, "lines": len(corpus.ids)}
    run.write_config({**config.to_dict(), "corpus": corpus_info})
    echo("floor (held-out real lines vs the rest): " + _fmt(reference.floor))
    result = trainer.fit()
    return LanguageRun(run, config, result, reference.floor)


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


def _check_resumable(run: RunDirectory, config: LanguageGANConfig) -> None:
    if not run.exists():
        raise UserError(f"cannot resume: {run.root} is not a chargan run", hint="start it without --resume first")
    saved = load_run_config(run.root)
    if saved.guard() != config.guard():
        from chargan.core.trainer import describe_difference

        raise UserError(
            f"run {run.root} was trained with other settings: {describe_difference(saved.guard(), config.guard())}",
            hint="resume without changing the model, data, optimizer or evaluation settings, or start a new --run",
        )
    done = latest_checkpoint(run.checkpoints_dir)
    if done is not None:
        iteration = checkpoint_iteration(done)
        if iteration >= config.train.iterations:
            raise UserError(f"run {run.root} is already at iteration {iteration} of {config.train.iterations}",
                            hint="pass a larger --iterations to train it further")


def _check_same_vocabulary(run: RunDirectory, vocab: Vocabulary) -> None:
    path = run.root / VOCAB_FILE
    if path.exists() and Vocabulary.load(path) != vocab:
        raise UserError(f"the corpus now gives a different vocabulary than run {run.root} was trained with",
                        hint="the corpus files changed since; restore them or start a new run")


def _absolute_paths(config: LanguageGANConfig) -> LanguageGANConfig:
    """Store local corpus paths absolute, so `eval` and `--resume` work from any folder."""
    from chargan.corpora import canonical_spec

    data = config.data
    corpus = canonical_spec(data.corpus)
    data_dir = None if data.data_dir is None else str(Path(data.data_dir).expanduser().resolve())
    return replace(config, data=replace(data, corpus=corpus, data_dir=data_dir))


def _tqdm_echo() -> Callable[[str], None]:
    from tqdm.auto import tqdm

    return tqdm.write


def _run_prefix(config: LanguageGANConfig) -> str:
    from chargan.corpora import BUILTIN_SPECS

    corpus = config.data.corpus if config.data.corpus in BUILTIN_SPECS else Path(config.data.corpus).stem
    return f"{corpus}-{config.preset}"


def _fmt(metrics: dict[str, float]) -> str:
    return "  ".join(f"{k}={v:.4f}" for k, v in metrics.items())


def load_run_config(run_dir: str | Path) -> LanguageGANConfig:
    """The resolved config a run was trained with."""
    # from_dict reads only the config sections; the "corpus" record beside them is ignored.
    return LanguageGANConfig.from_dict(RunDirectory(run_dir).read_config()).validate()


def load_generator(run_dir: str | Path, device: str = "auto") -> tuple[ConvGenerator, Vocabulary, LanguageGANConfig, int]:
    """The newest checkpointed generator of a run, its vocabulary, config and iteration."""
    run = RunDirectory(run_dir)
    config = load_run_config(run_dir)
    try:
        vocab = Vocabulary.load(run.root / VOCAB_FILE)
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
    from chargan.corpora import load_corpus, read_text_lines

    if n < 1:
        raise UserError(f"the number of samples must be positive, got {n}")
    generator, vocab, config, iteration = load_generator(run_dir, device)
    corpus = load_corpus(config.data.corpus, data_dir=config.data.data_dir, seq_len=config.model.seq_len,
                         max_lines=config.data.max_lines, max_vocab=config.data.max_vocab, progress=progress)
    if corpus.vocab != vocab:
        raise UserError(f"the run's corpus now gives a different vocabulary than run {run_dir} was trained with",
                        hint="the corpus files changed since training; restore them, or pass --reference FILE")
    ids = generate_ids(generator, n, seed=config.eval.seed if seed is None else seed)
    samples = vocab.decode_batch(ids)
    if reference is None:
        ref_ids, ref_lines, ref_name = corpus.ids, corpus.lines(), corpus.description
    else:
        lines = read_text_lines(reference)
        ref_ids, ref_lines, ref_name = vocab.encode_batch(lines, config.model.seq_len), lines, str(reference)
    metrics = ngram_js(ids, ngram_stats(ref_ids, len(vocab), config.eval.orders), len(vocab))
    return {
        "run": str(run_dir),
        "iteration": iteration,
        "samples": n,
        "reference": ref_name,
        **metrics,
        "word_hit_rate": word_hit_rate(samples, word_set(ref_lines)),
        "copy_rate": copy_rate(ids, corpus.ids),
    }
