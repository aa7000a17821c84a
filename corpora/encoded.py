"""`EncodedCorpus`: an encoded corpus backed by its cache folder, and opening (checking) such a folder.

Opening checks the manifest (format, key), the vocabulary, the shape, dtype
and byte size of ``ids.npy`` and the size of ``lines.txt``; a folder that
fails any check raises `CacheInvalid` saying why (the loader then rebuilds it).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from chargan.corpora.errors import CorpusError
from chargan.corpora.lines import iter_lines_file
from chargan.corpora.manifest import IDS_FILE, LINES_FILE, MANIFEST_FILE, VOCAB_FILE, CacheInvalid, read_manifest
from chargan.corpora.units import UnitVocabulary, load_vocabulary
from chargan.errors import UserError


@dataclass(frozen=True, eq=False)
class EncodedCorpus:
    """An encoded corpus, backed by its cache folder.

    ``ids`` is a read-only ``np.memmap`` of shape ``(n_lines, seq_len)`` and
    dtype ``vocab.dtype``: row ``i`` is line ``i`` cut to ``seq_len`` units
    (characters or pieces), right-padded with `PAD_ID` (0); characters outside
    a character vocabulary are `UNK_ID` (1). Rows are in source order (not
    shuffled). `lines` yields the same lines as text, for word-level metrics.
    """

    ids: np.ndarray
    vocab: UnitVocabulary
    name: str
    description: str
    source: dict
    cache_path: Path
    settings: dict = field(default_factory=dict)

    @property
    def n_lines(self) -> int:
        return int(self.ids.shape[0])

    @property
    def seq_len(self) -> int:
        return int(self.ids.shape[1])

    @property
    def lines_path(self) -> Path:
        return self.cache_path / LINES_FILE

    @property
    def manifest_path(self) -> Path:
        return self.cache_path / MANIFEST_FILE

    def __len__(self) -> int:
        return self.n_lines

    def __repr__(self) -> str:
        return (
            f"EncodedCorpus(name={self.name!r}, n_lines={self.n_lines}, seq_len={self.seq_len}, "
            f"vocab_size={len(self.vocab)}, cache_path={str(self.cache_path)!r})"
        )

    def lines(self, limit: int | None = None) -> Iterator[str]:
        """The encoded lines as text (cut to ``seq_len``, not padded), in row order.

        Streams ``lines.txt`` from the cache; at most ``limit`` lines when given.
        Row ``i`` of `ids` encodes the ``i``-th line yielded.
        """
        left = self.n_lines if limit is None else min(limit, self.n_lines)
        if left <= 0:
            return
        for batch in iter_lines_file(self.lines_path):
            if len(batch) >= left:
                yield from batch[:left]
                return
            yield from batch
            left -= len(batch)

    @classmethod
    def open(cls, cache_path: str | os.PathLike[str]) -> EncodedCorpus:
        """Open a cache folder directly (checking it, but not its source)."""
        try:
            return open_cache_dir(Path(cache_path))
        except CacheInvalid as exc:
            raise CorpusError(
                f"{cache_path} is not a usable chargan corpus cache: {exc}",
                hint="load the corpus by name or path to rebuild it",
            ) from None


def open_cache_dir(path: Path, expect_key: str | None = None) -> EncodedCorpus:
    """The corpus in cache folder ``path`` after checking it (and its key, when given); else `CacheInvalid`."""
    manifest = read_manifest(path)
    if expect_key is not None and manifest.get("key") != expect_key:
        raise CacheInvalid("its manifest belongs to another source or settings")
    try:
        settings = manifest["settings"]
        n_lines, seq_len = int(manifest["n_lines"]), int(settings["seq_len"])
        vocab = load_vocabulary(path / VOCAB_FILE)
        if len(vocab) != int(manifest["vocab_size"]):
            raise CacheInvalid("vocab.json does not match the manifest")
        ids_path = path / IDS_FILE
        ids = np.load(ids_path, mmap_mode="r", allow_pickle=False)
        if not isinstance(ids, np.memmap) or ids.shape != (n_lines, seq_len) or ids.dtype != vocab.dtype:
            raise CacheInvalid(
                f"ids.npy has shape {ids.shape} {ids.dtype}, the manifest says ({n_lines}, {seq_len}) {vocab.dtype}"
            )
        if ids_path.stat().st_size != ids.offset + ids.nbytes:
            raise CacheInvalid("ids.npy has the wrong size")
        if (path / LINES_FILE).stat().st_size != int(manifest["lines_bytes"]):
            raise CacheInvalid("lines.txt has the wrong size")
        return EncodedCorpus(
            ids=ids,
            vocab=vocab,
            name=str(manifest["name"]),
            description=str(manifest["description"]),
            source=dict(manifest["source"]),
            cache_path=path,
            settings=dict(settings),
        )
    except CacheInvalid:
        raise
    except (KeyError, TypeError, ValueError, OSError, UserError) as exc:
        raise CacheInvalid(f"{type(exc).__name__}: {exc}") from None
