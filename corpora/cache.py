"""Encoded corpora on disk: a memory-mapped ``.npy`` of ids plus a manifest.

One folder per (corpus, settings), ``<cache root>/corpora/<slug>-<key16>/``::

    ids.npy        (n_lines, seq_len) ids, dtype uint8 or uint16 (the vocabulary's)
    lines.txt      the n_lines lines as encoded: cut to seq_len characters (or to
                   the text of their first seq_len pieces), UTF-8, one per line
                   ("\\n" only ends a line), same order as ids.npy
    vocab.json     the vocabulary (its ``save``; see `chargan.corpora.units`)
    manifest.json  format, cache key, settings, source (kind, paths, fingerprint),
                   per-file sizes and mtimes, n_lines, dtype, byte sizes, created,
                   and how many invalid UTF-8 sequences were replaced (if any)

`open_or_build` is the one entry point: it opens the folder of the source's
current key when it is usable, else builds it. The jobs live in their own
modules: the key and manifest in `chargan.corpora.manifest`, the corpus and
the checks made when opening a folder in `chargan.corpora.encoded`, the
two-pass build (driven by the unit kind) in `chargan.corpora.build`, and the
lines file format in `chargan.corpora.lines`. A cache that fails a check is
rebuilt, with a warning on the ``chargan.corpora`` logger naming the reason.
"""

from __future__ import annotations

import logging
from pathlib import Path

from chargan.corpora.build import build
from chargan.corpora.encoded import EncodedCorpus, open_cache_dir
from chargan.corpora.lines import chunked, iter_lines_file
from chargan.corpora.manifest import CacheInvalid, cache_key, list_caches
from chargan.corpora.sources import CorpusSource, digest

__all__ = ["EncodedCorpus", "chunked", "iter_lines_file", "list_caches", "open_or_build"]

log = logging.getLogger("chargan.corpora")


def open_or_build(
    source: CorpusSource,
    settings: dict,
    corpora_dir: Path,
    *,
    progress: bool = True,
) -> EncodedCorpus:
    """The cached encoding of ``source`` under ``settings``, building it if needed."""
    fingerprint_data = source.fingerprint_data()
    key = cache_key(source, digest(fingerprint_data), settings)
    final = corpora_dir / f"{source.slug}-{key[:16]}"
    if final.exists():
        try:
            return open_cache_dir(final, key)
        except CacheInvalid as exc:
            log.warning("corpus cache %s is unusable (%s); rebuilding it", final, exc)
    return build(source, settings, final, key, fingerprint_data, progress=progress)
