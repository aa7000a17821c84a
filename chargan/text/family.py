"""The language model's side of the family contract (`chargan.core.family.Family`).

``build`` loads the corpus (fetching Billion Word when allowed), its n-gram
reference and floor, and makes the conv generator and critic over one-hot
rows; ``sample`` argmax-decodes; ``evaluate`` scores JS-1..4, the word hit
rate and the verbatim copy rate.
"""

from __future__ import annotations

from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

from chargan.core import distributed
from chargan.core.atomic import atomic_write
from chargan.core.data import RowSampler
from chargan.core.family import BuildContext, LoadedRun, Parts, deliver
from chargan.core.run import RunDirectory
from chargan.corpora import BUILTIN_SPECS, canonical_spec, read_text_lines
from chargan.corpora.sources import safe_slug
from chargan.corpora.units import AnyVocabulary, SubwordVocabulary, VocabularyError, load_vocabulary
from chargan.errors import UserError
from chargan.sequence.decoding import sample_ids
from chargan.sequence.models import ConvGenerator, build_models, one_hot
from chargan.sequence.ngrams import ngram_stats
from chargan.text.config import LanguageGANConfig
from chargan.text.corpus import corpus_reference, ensure_billion_word, load_run_corpus
from chargan.text.evaluation import TextEvaluator, generate_ids, reference_stats, score_ids
from chargan.text.metrics import copy_rate, word_hit_rate, word_set

VOCAB_FILE = "vocab.json"
#: Samples `chargan eval` scores when not told (10 batches of 64, as the reference).
EVAL_SAMPLES = 640


def prepare(config: LanguageGANConfig) -> LanguageGANConfig:
    """Store local corpus paths absolute, so `eval` and `--resume` work from any folder."""
    data = config.data
    data_dir = None if data.data_dir is None else str(Path(data.data_dir).expanduser().resolve())
    return replace(config, data=replace(data, corpus=canonical_spec(data.corpus), data_dir=data_dir))


def run_prefix(config: LanguageGANConfig) -> str:
    """``<corpus>[-subword]-<preset>``, e.g. ``demo-cpu``."""
    spec = config.data.corpus
    corpus = spec if spec in BUILTIN_SPECS else safe_slug(Path(spec.removeprefix("hf:")).stem.replace("*", "all"))
    units = "-subword" if config.data.units == "subword" else ""
    return f"{corpus}{units}-{config.preset}"


def build(config: LanguageGANConfig, context: BuildContext) -> Parts:
    """The corpus, its reference statistics, the networks and the n-gram evaluator of a run."""
    with distributed.main_process_first():  # one download and one encoding, shared by every rank
        if config.data.corpus == "billion_word" and config.data.source == "tarball":
            ensure_billion_word(config.data.data_dir, context.download, context.progress, context.echo)
        corpus = load_run_corpus(config.data, config.model.seq_len, progress=context.progress)
        reference, projection = corpus_reference(corpus, config.eval)
    vocab = corpus.vocab
    if context.resume:
        _check_same_vocabulary(context.run, vocab)
    generator, critic = build_models(config.model, len(vocab))
    batches = RowSampler(corpus.ids, context.device, seed=config.train.seed,
                         transform=partial(one_hot, vocab_size=len(vocab)))
    floor = "  ".join(f"{k}={v:.4f}" for k, v in reference.floor.items())
    return Parts(
        generator, critic, batches, TextEvaluator(reference, vocab, config.eval, context.run, projection),
        first_record={f"floor_{k}": v for k, v in reference.floor.items()},
        record={"corpus": {"description": corpus.description, "source": corpus.source, "lines": len(corpus.ids)}},
        summary=[f"corpus: {corpus.description}",
                 f"{len(corpus.ids):,} lines, vocabulary of {len(vocab)} symbols; device {context.device}; "
                 f"run {context.run.root}",
                 f"floor (held-out real lines vs the rest): {floor}"],
        save_files=lambda run: atomic_write(run.root / VOCAB_FILE, vocab.save),  # a kill leaves no half vocab
    )


def _check_same_vocabulary(run: RunDirectory, vocab: AnyVocabulary) -> None:
    path = run.root / VOCAB_FILE
    if path.exists() and load_vocabulary(path) != vocab:
        raise UserError(f"the corpus now gives a different vocabulary than run {run.root} was trained with",
                        hint="the corpus files changed since; restore them or start a new run")


def run_vocabulary(run: RunDirectory) -> AnyVocabulary:
    """The vocabulary a run was trained with (its ``vocab.json``)."""
    try:
        return load_vocabulary(run.root / VOCAB_FILE)
    except VocabularyError as exc:
        raise UserError(f"run {run.root} has no usable vocabulary: {exc.message}") from None


def generator(config: LanguageGANConfig, run: RunDirectory) -> ConvGenerator:
    """An untrained generator of the run's shape, over its vocabulary."""
    return build_models(config.model, len(run_vocabulary(run)))[0]


def sample(loaded: LoadedRun, n: int, seed: int | None, decode: str = "argmax", temperature: float = 1.0,
           output: Path | None = None) -> list[str]:
    """``n`` samples decoded by ``decode`` (argmax, the paper's; or drawn from the softmax), padding stripped."""
    ids = sample_ids(loaded.generator, n, seed=seed, decode=decode, temperature=temperature)
    return deliver(run_vocabulary(loaded.run).decode_batch(ids), output)


def evaluate(loaded: LoadedRun, n: int | None, seed: int | None, reference: str | None,
             progress: bool) -> dict[str, Any]:
    """JS-1..4 of ``n`` samples against the run's corpus (or a reference text file) with their floors
    (``floor_js<n>``: what held-out real lines score), the fraction of generated words found in the
    reference's words, and the fraction of samples that copy a training line verbatim."""
    config: LanguageGANConfig = loaded.config
    n = EVAL_SAMPLES if n is None else n
    vocab = run_vocabulary(loaded.run)
    corpus = load_run_corpus(config.data, config.model.seq_len, progress=progress)
    if corpus.vocab != vocab:
        raise UserError(f"the run's corpus now gives a different vocabulary than run {loaded.root} was trained with",
                        hint="the corpus files changed since training; restore them, or pass --reference FILE")
    ids = generate_ids(loaded.generator, n, seed=config.eval.seed if seed is None else seed)
    subword = isinstance(vocab, SubwordVocabulary)
    # The corpus statistics are needed for its own figures, and by subword runs for their character view.
    own, projection = corpus_reference(corpus, config.eval) if reference is None or subword else (None, None)
    if reference is None:
        # The floor cached with the corpus statistics is at the run's evaluation size.
        stats, ref_lines, ref_name, floor = own.stats, corpus.lines(), corpus.description, own.floor
        floor_samples = min(config.eval.samples, max(len(corpus.ids) // 2, 1))
    else:
        lines = read_text_lines(reference)
        if projection is None:
            ref_ids, symbols = vocab.encode_batch(lines, config.model.seq_len), len(vocab)
        else:
            ref_ids, symbols = projection.chars.encode_batch(lines, projection.length), len(projection.chars)
        stats, ref_lines, ref_name = ngram_stats(ref_ids, symbols, config.eval.orders), lines, reference
        # What n held-out lines of the reference itself score against the rest of it (no cache: a user's file).
        floor = reference_stats(ref_ids, symbols, replace(config.eval, samples=n)).floor
        floor_samples = min(n, max(len(ref_ids) // 2, 1))
    return {
        "run": str(loaded.root),
        "iteration": loaded.iteration,
        "samples": n,
        "reference": ref_name,
        **score_ids(ids, stats, vocab, projection),
        **{f"floor_{k}": v for k, v in floor.items()},
        "floor_samples": floor_samples,
        "word_hit_rate": word_hit_rate(vocab.decode_batch(ids), word_set(ref_lines)),
        "copy_rate": copy_rate(ids, corpus.ids),
    }
