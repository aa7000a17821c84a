"""Corpora for the character GAN: sources of text lines -> encoded, cached arrays.

    from chargan.corpora import load_corpus
    corpus = load_corpus("demo", seq_len=32)      # or "billion_word", or a path
    corpus.ids          # read-only memmap (n_lines, seq_len), uint8/uint16
    corpus.vocab        # chargan.text.vocab.Vocabulary (pad 0, unk 1)
    corpus.lines()      # the same lines as text, for word-level metrics

See `load_corpus` for the specs and settings, `chargan.corpora.cache` for the
on-disk format, `chargan.corpora.billion_word` for where the benchmark is
looked for. This package imports nothing from chargan but
`chargan.text.vocab`, `chargan.text.subword` and `chargan.errors`.
"""

from chargan.corpora.billion_word import heldout_shards, locate_billion_word, training_shards
from chargan.corpora.builtin import demo_sentences
from chargan.corpora.cache import EncodedCorpus, list_caches
from chargan.corpora.download import fetch_billion_word
from chargan.corpora.errors import CorpusError, CorpusFormatError, CorpusNotFoundError
from chargan.corpora.load import BUILTIN_SPECS, canonical_spec, corpus_settings, load_corpus, resolve_source
from chargan.corpora.locations import cache_root, corpora_cache_dir, user_data_dir
from chargan.corpora.text_files import read_text_lines

__all__ = [
    "BUILTIN_SPECS",
    "CorpusError",
    "CorpusFormatError",
    "CorpusNotFoundError",
    "EncodedCorpus",
    "cache_root",
    "canonical_spec",
    "corpora_cache_dir",
    "corpus_settings",
    "demo_sentences",
    "fetch_billion_word",
    "heldout_shards",
    "list_caches",
    "load_corpus",
    "read_text_lines",
    "locate_billion_word",
    "resolve_source",
    "training_shards",
    "user_data_dir",
]
