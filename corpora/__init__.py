"""Corpora for the character GAN: sources of text lines -> encoded, cached arrays.

    from chargan.corpora import load_corpus
    corpus = load_corpus("demo", seq_len=32)      # or "billion_word", or a path
    corpus.ids          # read-only memmap (n_lines, seq_len), uint8/uint16
    corpus.vocab        # chargan.corpora.units.Vocabulary (pad 0, unk 1)
    corpus.lines()      # the same lines as text, for word-level metrics

See `load_corpus` for the specs and settings, `chargan.corpora.units` for the
vocabularies (the `UNITS` a corpus can be cut into), `chargan.corpora.cache`
for the on-disk format, `chargan.corpora.billion_word` for where the benchmark
is looked for, `chargan.corpora.images` for MNIST and CIFAR-10. This package is
the data layer of every family: it imports nothing from chargan but
`chargan.errors` (and its own modules).
"""

from chargan.corpora.billion_word import heldout_shards, locate_billion_word, training_shards
from chargan.corpora.builtin import demo_sentences
from chargan.corpora.cache import EncodedCorpus, list_caches
from chargan.corpora.download import fetch_billion_word
from chargan.corpora.errors import CorpusError, CorpusFormatError, CorpusNotFoundError
from chargan.corpora.load import BUILTIN_SPECS, canonical_spec, corpus_settings, load_corpus, resolve_source
from chargan.corpora.locations import cache_root, corpora_cache_dir, user_data_dir
from chargan.corpora.text_files import read_text_lines
from chargan.corpora.units import UNITS

__all__ = [
    "BUILTIN_SPECS",
    "CorpusError",
    "CorpusFormatError",
    "CorpusNotFoundError",
    "EncodedCorpus",
    "UNITS",
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
