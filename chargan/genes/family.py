"""The genes family's side of the family contract (`chargan.core.family.Family`).

``build`` reads the sequence file (cached, `chargan.corpora.sequences`),
its reference and floors, and makes the conv generator (softmax or
Gumbel-softmax output) and critic over one-hot rows, plus the tau schedule
and FBGAN's feedback loop when asked; ``sample`` decodes by argmax (or
draws), padding stripped; ``evaluate`` scores k-mer JS, valid genes,
novelty, lengths and composition (`chargan.genes.evaluation`).
"""

from __future__ import annotations

from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from torch import nn

from chargan.core import distributed
from chargan.core.callbacks import Callback
from chargan.core.data import RowSampler
from chargan.core.family import BuildContext, LoadedRun, Parts, deliver
from chargan.core.run import RunDirectory
from chargan.corpora import EncodedCorpus
from chargan.corpora.seqfiles import require_biopython
from chargan.corpora.sequences import BUILTIN_SEQUENCES, load_sequences, sequence_alphabet, sequence_report
from chargan.corpora.sources import safe_slug
from chargan.corpora.units import Alphabet
from chargan.errors import UserError
from chargan.genes.config import DataConfig, GenesGANConfig, ModelConfig
from chargan.genes.evaluation import GenesEvaluator, floor_record, genes_reference, is_dna, score_ids
from chargan.genes.feedback import Feedback, active_scorer
from chargan.genes.metrics import nearest_distances
from chargan.genes.models import GumbelConvGenerator, TauSchedule
from chargan.sequence.decoding import generate_ids, sample_ids
from chargan.sequence.models import ConvCritic, ConvGenerator, one_hot
from chargan.sequence.models import build_models as build_sequence_models

#: Samples `chargan eval` scores when not told (10 batches of 64, as the reference).
EVAL_SAMPLES = 640


def build_models(config: ModelConfig, vocab_size: int) -> tuple[ConvGenerator, ConvCritic]:
    """The generator (softmax or Gumbel-softmax output) and critic of ``config`` over ``vocab_size`` symbols:
    the sequence families' shared pair (`chargan.sequence.models.build_models`)."""
    if config.output == "gumbel":
        return build_sequence_models(config, vocab_size, GumbelConvGenerator, tau=config.tau)
    return build_sequence_models(config, vocab_size)


def load_run_corpus(data: DataConfig, seq_len: int, progress: bool = True,
                    settings_fixed: bool = False) -> EncodedCorpus:
    """The encoded sequences a run's data settings name (from the cache when possible); ``settings_fixed``: the
    run is trained, so a refused record's error suggests no flag that would change them (`load_sequences`)."""
    return load_sequences(data.corpus, alphabet=data.alphabet, seq_len=seq_len, fmt=data.format, column=data.column,
                          filter=data.filter, errors=data.errors, long=data.long, max_lines=data.max_lines,
                          progress=progress, settings_fixed=settings_fixed)


def run_alphabet(config: GenesGANConfig) -> Alphabet:
    """The alphabet of a run: fixed by its config."""
    return sequence_alphabet(config.data.alphabet)


def _require_tools(config: GenesGANConfig) -> None:
    """Say up front, before any training, that the extra a run needs is missing."""
    if is_dna(run_alphabet(config)):
        require_biopython("scoring DNA runs (the valid-gene figure)")
    if config.eval.novelty_train:
        nearest_distances([], [])  # raises the rapidfuzz UserError when it is missing


def prepare(config: GenesGANConfig) -> GenesGANConfig:
    """Store a local corpus path absolute (a built-in set keeps its name), so `eval` and `--resume` work anywhere."""
    corpus = config.data.corpus
    if corpus is not None and corpus not in BUILTIN_SEQUENCES:
        corpus = str(Path(corpus).expanduser().resolve())
    return replace(config, data=replace(config.data, corpus=corpus))


def run_prefix(config: GenesGANConfig) -> str:
    """``<corpus>-<config>``, e.g. ``fbgan-genes-genes-cpu``."""
    corpus = config.data.corpus or "sequences"
    name = corpus if corpus in BUILTIN_SEQUENCES else safe_slug(Path(corpus).name.split(".")[0])
    return f"{name}-{config.name}"


def _callbacks(config: GenesGANConfig, generator: nn.Module, rows: np.ndarray, alphabet: Alphabet) -> list[Callback]:
    m, data = config.model, config.data
    callbacks: list[Callback] = []
    if isinstance(generator, GumbelConvGenerator):
        callbacks.append(TauSchedule(generator, m.tau, m.tau_decay, m.tau_min))
    if data.feedback_every:
        scorer = active_scorer(data.feedback)
        if scorer is None:
            raise UserError("this config trains with feedback (--feedback-every) but names no scorer",
                            hint="give --feedback MODULE:FUNCTION, or call chargan.genes.train(config, feedback=fn)")
        callbacks.append(Feedback(scorer, rows, alphabet, data.feedback_every, data.feedback_samples,
                                  data.feedback_threshold, seed=config.train.seed))
    return callbacks


def build(config: GenesGANConfig, context: BuildContext) -> Parts:
    """The sequences, their reference and floors, the networks, and the evaluator and callbacks of a run."""
    _require_tools(config)
    with distributed.main_process_first():  # one encoding, shared by every rank
        corpus = load_run_corpus(config.data, config.model.seq_len, progress=context.progress)
        alphabet = corpus.vocab
        assert isinstance(alphabet, Alphabet), alphabet
        reference = genes_reference(corpus.ids, alphabet, config.eval, cache_dir=corpus.cache_path)
    generator, critic = build_models(config.model, len(alphabet))
    # Feedback writes generated rows into the training set: it needs its own copy, not the read-only cache.
    rows = np.array(corpus.ids) if config.data.feedback_every else corpus.ids
    batches = RowSampler(rows, context.device, seed=config.train.seed,
                         transform=partial(one_hot, vocab_size=len(alphabet)))
    report = sequence_report(corpus)
    dropped = {k: v for k, v in report.items() if k in ("skipped_symbols", "truncated", "skipped_long") and v}
    floor = "  ".join(f"{k}={v:.4f}" for k, v in reference.floor.items())
    return Parts(
        generator, critic, batches, GenesEvaluator(reference, config.eval, context.run),
        first_record=floor_record(reference),
        record={"corpus": {"description": corpus.description, "source": corpus.source, "sequences": len(corpus.ids),
                           "read": report}},
        summary=[f"corpus: {corpus.description}" + (f" ({', '.join(f'{k} {v}' for k, v in dropped.items())})"
                                                    if dropped else ""),
                 f"{len(corpus.ids):,} sequences over {alphabet.name} ({alphabet.symbols}); device {context.device}; "
                 f"run {context.run.root}",
                 f"floor (held-out real sequences vs the rest): {floor}"],
        callbacks=_callbacks(config, generator, rows, alphabet),
    )


def generator(config: GenesGANConfig, run: RunDirectory) -> nn.Module:
    """An untrained generator of the run's shape, over its alphabet."""
    return build_models(config.model, len(run_alphabet(config)))[0]


def sample(loaded: LoadedRun, n: int, seed: int | None, decode: str = "argmax", temperature: float = 1.0,
           output: Path | None = None) -> list[str]:
    """``n`` sequences decoded by ``decode`` (argmax, or drawn from the softmax), trailing padding stripped."""
    ids = sample_ids(loaded.generator, n, seed=seed, decode=decode, temperature=temperature)
    return deliver(run_alphabet(loaded.config).decode_batch(ids), output, "sequences")


def evaluate(loaded: LoadedRun, n: int | None, seed: int | None, reference: str | None,
             progress: bool) -> dict[str, Any]:
    """Every figure of `chargan.genes.evaluation` for ``n`` samples, with their floors: k-mers, lengths and
    composition against the run's corpus or the sequence file ``reference`` (read with the run's alphabet and
    policies), novelty always against the run's own corpus (the sequences it could have copied)."""
    config: GenesGANConfig = loaded.config
    n = EVAL_SAMPLES if n is None else n
    _require_tools(config)
    scored = corpus = None
    if reference is None or config.eval.novelty_train:  # the novelty set is always the run's own corpus
        scored = corpus = load_run_corpus(config.data, config.model.seq_len, progress=progress, settings_fixed=True)
    if reference is not None:
        data = replace(config.data, corpus=reference, format="auto", filter=None, max_lines=None)
        scored = load_run_corpus(data, config.model.seq_len, progress=progress, settings_fixed=True)
        if scored.vocab != run_alphabet(config):
            raise UserError(f"{scored.name} is not over the run's {config.data.alphabet} alphabet")
    assert scored is not None
    ref = genes_reference(scored.ids, scored.vocab, config.eval, cache_dir=scored.cache_path,  # type: ignore[arg-type]
                          samples=n, train_ids=None if corpus is None else corpus.ids)
    ids = generate_ids(loaded.generator, n, seed=config.eval.seed if seed is None else seed)
    return {"run": str(loaded.root), "iteration": loaded.iteration, "samples": n, "reference": scored.description,
            **score_ids(ids, ref), **floor_record(ref), "floor_samples": min(n, max(len(scored.ids) // 2, 1))}
