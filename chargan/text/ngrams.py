"""Character n-gram statistics and JS divergence: `chargan.sequence.ngrams`, shared by every family of
symbol sequences (text, genes); the names stay importable from here."""

from chargan.sequence.ngrams import (
    DEFAULT_CHUNK_ROWS,
    NgramError,
    NgramStats,
    check_key_range,
    js_divergence,
    ngram_js,
    ngram_stats,
)

__all__ = ["DEFAULT_CHUNK_ROWS", "NgramError", "NgramStats", "check_key_range", "js_divergence", "ngram_js",
           "ngram_stats"]
