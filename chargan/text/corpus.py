"""The corpus of a language-model run: fetched when allowed, encoded (cached), and its n-gram reference."""

from __future__ import annotations

from collections.abc import Callable

from chargan.corpora import CorpusNotFoundError, EncodedCorpus, download, load_corpus, locate_billion_word
from chargan.corpora.units import SubwordVocabulary
from chargan.text.config import DataConfig, EvalConfig
from chargan.text.evaluation import CharProjection, ReferenceStats, reference_stats, subword_reference


def load_run_corpus(data: DataConfig, seq_len: int, progress: bool = True) -> EncodedCorpus:
    """The encoded corpus a run's data settings name (from the cache when possible)."""
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


def ensure_billion_word(data_dir: str | None, allowed: bool, progress: bool, echo: Callable[[str], None]) -> None:
    """Fetch Billion Word into ``data_dir`` when it is not there and ``allowed`` (else `CorpusNotFoundError`)."""
    try:
        locate_billion_word(data_dir)
    except CorpusNotFoundError as exc:
        if not allowed:
            raise CorpusNotFoundError(exc.message, hint=f"{exc.hint}; or drop --no-download") from None
        echo("Billion Word is not on this machine: fetching it now (pass --no-download to stop instead)")
        download.fetch_billion_word(data_dir, progress=progress, echo=echo)
