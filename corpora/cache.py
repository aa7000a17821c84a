"""Encoded corpora on disk: a memory-mapped ``.npy`` of ids plus a manifest.

One folder per (corpus, settings), ``<cache root>/corpora/<slug>-<key16>/``::

    ids.npy        (n_lines, seq_len) ids, dtype uint8 or uint16 (the vocabulary's)
    lines.txt      the n_lines lines as encoded: cut to seq_len characters (or to
                   the text of their first seq_len pieces), UTF-8, one per line
                   ("\\n" only ends a line), same order as ids.npy
    vocab.json     the `Vocabulary` or `SubwordVocabulary` (its ``save``)
    manifest.json  format, cache key, settings, source (kind, paths, fingerprint),
                   per-file sizes and mtimes, n_lines, dtype, byte sizes, created,
                   and how many invalid UTF-8 sequences were replaced (if any)

The key is the SHA-256 of the source fingerprint (every file's path, size and
mtime; for the demo, the Python version and a hash of its help text), the
settings (seq_len, max_lines, units, max_vocab or vocab_size, errors) and
`FORMAT_VERSION`, so a cache written by an older version or under other
settings is never mistaken for the one asked for.

Building takes two streaming passes, so memory does not grow with the corpus:

1. read the source once and append its lines, cut, to a file: for
   characters, count the characters of every line cut to ``seq_len`` (as the
   reference script counts its cut lines) and write ``lines.txt``; for
   subword units, write ``raw.txt`` cut to what ``seq_len`` pieces can span;
2. build the vocabulary (from the counts, or by training SentencePiece on a
   bounded sample of ``raw.txt``), create ``ids.npy`` of the known shape with
   ``np.lib.format.open_memmap``, then stream the pass-1 file back in chunks
   of `ENCODE_CHUNK_IDS` ids (8,192 lines at seq_len 32) through the
   vocabulary's ``encode_batch`` and write the rows in order with plain writes
   (for pieces, also the decoded cut lines into ``lines.txt``).

Peak memory is a few MB above the interpreter plus numpy whatever the
corpus size; for subword units, add the SentencePiece trainer's bounded
sample, about 0.9 GB (``benchmarks/bench_corpus.py`` and
``benchmarks/bench_scale.py`` measure both).

Everything is written into a temporary sibling folder (``.tmp-...``) that is
renamed into place only when complete, so an error, a full disk or a crash
never leaves a folder that looks finished. Opening a cache checks the
manifest (format, key), the vocabulary, the shape, dtype and byte size of
``ids.npy`` and the size of ``lines.txt``; a cache that fails any check is
rebuilt, with a warning on the ``chargan.corpora`` logger naming the reason.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import partial
from itertools import chain, islice
from pathlib import Path
from typing import TypeVar

import numpy as np

from chargan.corpora.errors import CorpusError
from chargan.corpora.locations import CACHE_ENV
from chargan.corpora.sources import CorpusSource, digest
from chargan.errors import UserError
from chargan.text.subword import MAX_PIECE_CHARS, AnyVocabulary, SubwordVocabulary, load_vocabulary
from chargan.text.vocab import CharCounts, VocabularyError

T = TypeVar("T")

log = logging.getLogger("chargan.corpora")

FORMAT = "chargan.corpus/1"
#: Bump when the cache layout or the encoding rules change. Version 2: units
#: (characters or subword pieces) and the UTF-8 error policy in the settings.
FORMAT_VERSION = 2
#: Ids encoded per `Vocabulary.encode_batch` call (lines = this // seq_len), so
#: a chunk and its temporaries (int64 indices inside the lookup) stay a few MB
#: whatever seq_len is. Bigger chunks are no faster.
ENCODE_CHUNK_IDS = 256 << 10
#: Bytes of ``lines.txt`` read per block.
LINES_BLOCK_BYTES = 256 << 10

IDS_FILE = "ids.npy"
LINES_FILE = "lines.txt"
VOCAB_FILE = "vocab.json"
MANIFEST_FILE = "manifest.json"
#: Pass-1 lines of a subword build (cut to what seq_len pieces can span); deleted after encoding.
RAW_FILE = "raw.txt"

#: Seconds before a progress bar appears: small corpora never draw one.
PROGRESS_DELAY = 1.0
_STALE_TMP_SECONDS = 24 * 3600


# --------------------------------------------------------------------------- the corpus
@dataclass(frozen=True, eq=False)
class EncodedCorpus:
    """An encoded corpus, backed by its cache folder.

    ``ids`` is a read-only ``np.memmap`` of shape ``(n_lines, seq_len)`` and
    dtype ``vocab.dtype``: row ``i`` is line ``i`` cut to ``seq_len``
    characters, right-padded with `PAD_ID` (0), characters outside the
    vocabulary as `UNK_ID` (1). Rows are in source order (not shuffled).
    `lines` yields the same lines as text, for word-level metrics.
    """

    ids: np.ndarray
    vocab: AnyVocabulary
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
            return _open_dir(Path(cache_path))
        except CacheInvalid as exc:
            raise CorpusError(
                f"{cache_path} is not a usable chargan corpus cache: {exc}",
                hint="load the corpus by name or path to rebuild it",
            ) from None


def iter_lines_file(path: Path, block_bytes: int | None = None) -> Iterator[list[str]]:
    """Stream a cache ``lines.txt`` as lists of lines (split on ``\\n`` only)."""
    block_bytes = block_bytes or LINES_BLOCK_BYTES
    with open(path, "rb") as f:
        carry = b""
        while True:
            block = f.read(block_bytes)
            if not block:
                if carry:
                    yield [carry.decode("utf-8", "surrogatepass")]
                return
            data = carry + block if carry else block
            cut = data.rfind(b"\n") + 1
            if cut == 0:
                carry = data
                continue
            carry = data[cut:]
            lines = data[: cut - 1].decode("utf-8", "surrogatepass").split("\n")
            yield lines


# --------------------------------------------------------------------------- opening
class CacheInvalid(Exception):
    """A cache folder that must not be used (internal; it is rebuilt)."""


def cache_key(source: CorpusSource, fingerprint: str, settings: dict) -> str:
    return digest(
        {
            "format_version": FORMAT_VERSION,
            "kind": source.kind,
            "identity": source.identity,
            "fingerprint": fingerprint,
            "settings": settings,
        }
    )


def _read_manifest(path: Path) -> dict:
    try:
        manifest = json.loads((path / MANIFEST_FILE).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CacheInvalid("manifest.json is missing") from None
    except (OSError, ValueError) as exc:
        raise CacheInvalid(f"manifest.json is unreadable ({exc})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise CacheInvalid(f"manifest.json is not a {FORMAT} manifest")
    return manifest


def _open_dir(path: Path, expect_key: str | None = None) -> EncodedCorpus:
    manifest = _read_manifest(path)
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
            return _open_dir(final, key)
        except CacheInvalid as exc:
            log.warning("corpus cache %s is unusable (%s); rebuilding it", final, exc)
    return build(source, settings, final, key, fingerprint_data, progress=progress)


# --------------------------------------------------------------------------- building
class _NoBar:
    def update(self, n: int = 1) -> None:
        pass

    def set_postfix_str(self, s: str, refresh: bool = True) -> None:
        pass

    def close(self) -> None:
        pass


def _bar(enabled: bool, desc: str, total: int | None = None):
    if not enabled:
        return _NoBar()
    from tqdm import tqdm

    return tqdm(
        total=total, desc=desc, unit="lines", unit_scale=True, file=sys.stderr, delay=PROGRESS_DELAY, dynamic_ncols=True
    )


def _write_error(where: Path, exc: OSError) -> CorpusError:
    return CorpusError(
        f"cannot write the corpus cache in {where}: {exc.strerror or exc}",
        hint=f"point ${CACHE_ENV} at a writable folder with enough free space",
    )


def build(
    source: CorpusSource,
    settings: dict,
    final: Path,
    key: str,
    fingerprint_data: dict,
    *,
    progress: bool = True,
) -> EncodedCorpus:
    """Encode ``source`` into a fresh cache folder ``final`` (replacing any there)."""
    parent = final.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        _remove_stale_temps(parent)
        tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{final.name}-", dir=parent))
        os.chmod(tmp, 0o755)  # mkdtemp makes it private; a cache is as readable as its parent
    except OSError as exc:
        raise _write_error(parent, exc) from None
    try:
        try:
            _encode_into(tmp, source, settings, key, fingerprint_data, progress=progress and source.show_progress)
            _install(tmp, final)
        except OSError as exc:
            raise _write_error(parent, exc) from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _remove_superseded(final, source.identity, settings, key)
    try:
        return _open_dir(final, key)
    except CacheInvalid as exc:  # pragma: no cover - only if something else writes there
        raise CorpusError(f"corpus cache {final} changed while it was being opened: {exc}", hint="run again") from None


def _encode_into(
    tmp: Path, source: CorpusSource, settings: dict, key: str, fingerprint_data: dict, *, progress: bool
) -> None:
    seq_len, max_lines, units = settings["seq_len"], settings["max_lines"], settings["units"]
    started = time.time()
    subword = units == "subword"
    # Characters are cut to seq_len at once; pieces are cut after encoding, so pass 1 keeps
    # every character seq_len pieces could span.
    cut_chars = seq_len * MAX_PIECE_CHARS if subword else seq_len
    first_pass = tmp / (RAW_FILE if subword else LINES_FILE)
    counts, n_lines = _read_source(source, first_pass, cut_chars, max_lines, count_chars=not subword, progress=progress)
    if n_lines == 0:
        raise source.empty_error()
    if source.fingerprint_data() != fingerprint_data:
        raise CorpusError(
            f"corpus {source.name} changed while it was being read",
            hint="wait until its files are complete, then run again",
        )
    vocab: AnyVocabulary
    if subword:
        vocab = _train_subword(first_pass, settings["vocab_size"], source, progress=progress)
    else:
        vocab = counts.vocabulary(settings["max_vocab"])
    del counts

    # Pass 2: encode the pass-1 lines into ids.npy (and, for pieces, write the cut lines).
    ids_bytes = n_lines * seq_len * vocab.dtype.itemsize
    free = shutil.disk_usage(tmp).free
    if free < ids_bytes + (1 << 20):
        raise CorpusError(
            f"not enough disk space for the corpus cache in {tmp.parent}: "
            f"{ids_bytes / 1e6:,.0f} MB needed, {free / 1e6:,.0f} MB free",
            hint=f"point ${CACHE_ENV} at a folder with more space, or use --max-lines",
        )
    # open_memmap writes the .npy header and sizes the file; the rows are then
    # written with plain file writes, so dirty pages of a growing mapping
    # never count against this process (resident memory stays flat).
    ids = np.lib.format.open_memmap(tmp / IDS_FILE, mode="w+", dtype=vocab.dtype, shape=(n_lines, seq_len))
    header_bytes = ids.offset
    del ids
    row = 0
    bar = _bar(progress, f"encoding {source.slug}", total=n_lines)
    lines_out = open(tmp / LINES_FILE, "wb") if subword else None  # noqa: SIM115 - closed below
    try:
        with open(tmp / IDS_FILE, "r+b") as out:
            out.seek(header_bytes)
            chunk_lines = max(1, ENCODE_CHUNK_IDS // seq_len)
            # Pieces are encoded by SentencePiece's C++ threads (one per core); characters
            # by one vectorized lookup, already faster than the disk.
            encode = partial(vocab.encode_batch, threads=_threads()) if subword else vocab.encode_batch
            for chunk in chunked(chain.from_iterable(iter_lines_file(first_pass)), chunk_lines * (8 if subword else 1)):
                encoded = encode(chunk, seq_len)
                out.write(encoded.tobytes())
                if lines_out is not None:
                    lines_out.write("\n".join(vocab.decode_batch(encoded)).encode("utf-8", "surrogatepass") + b"\n")
                row += len(chunk)
                bar.update(len(chunk))
    finally:
        bar.close()
        if lines_out is not None:
            lines_out.close()
    if row != n_lines:  # pragma: no cover - the pass-1 file is our own
        raise RuntimeError(f"encoded {row} lines, expected {n_lines}")
    if subword:
        first_pass.unlink()

    vocab.save(tmp / VOCAB_FILE)
    report = getattr(source, "report", None)
    replaced = report.to_json() if report is not None and report.replaced else None
    if replaced:
        log.warning("%s: %d invalid UTF-8 sequences in %d lines were read as U+FFFD (--errors replace); first: %s",
                    source.name, replaced["replaced"], replaced["lines"], replaced["first"])
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "key": key,
        "name": source.name,
        "description": source.describe(n_lines, limited=max_lines is not None and n_lines == max_lines),
        "identity": source.identity,
        "source": source.source_info(digest(fingerprint_data)),
        "fingerprint_data": fingerprint_data,
        "settings": settings,
        "n_lines": n_lines,
        "seq_len": seq_len,
        "units": units,
        "dtype": vocab.dtype.name,
        "vocab_size": len(vocab),
        "replaced_utf8": replaced,
        "ids_bytes": (tmp / IDS_FILE).stat().st_size,
        "lines_bytes": (tmp / LINES_FILE).stat().st_size,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "build_seconds": round(time.time() - started, 3),
    }
    # The manifest is written last: a folder without one is never opened.
    (tmp / MANIFEST_FILE).write_text(json.dumps(manifest, indent=1, ensure_ascii=False), encoding="utf-8")


def _read_source(
    source: CorpusSource, path: Path, cut_chars: int, max_lines: int | None, *, count_chars: bool, progress: bool
) -> tuple[CharCounts | None, int]:
    """Pass 1: stream the source once, write its lines cut to ``cut_chars`` to ``path``.

    Returns the codepoint counts of the cut lines (when ``count_chars``; as
    the reference script counts its cut lines) and the number of lines.
    """
    counts = CharCounts() if count_chars else None
    n_lines = 0
    bar = _bar(progress, f"reading {source.slug}", total=max_lines)
    try:
        with open(path, "wb") as out:
            batches = source.batches()
            try:
                origin_shown = None
                for origin, lines in batches:
                    if origin != origin_shown:
                        bar.set_postfix_str(origin, refresh=False)
                        origin_shown = origin
                    if max_lines is not None and n_lines + len(lines) > max_lines:
                        lines = lines[: max_lines - n_lines]
                    cut = [line[:cut_chars] for line in lines]
                    if counts is not None:
                        counts.add("".join(cut))
                    out.write("\n".join(cut).encode("utf-8", "surrogatepass") + b"\n")
                    n_lines += len(lines)
                    bar.update(len(lines))
                    if max_lines is not None and n_lines >= max_lines:
                        break
            finally:
                batches.close()
    finally:
        bar.close()
    return counts, n_lines


def _train_subword(path: Path, vocab_size: int, source: CorpusSource, *, progress: bool) -> SubwordVocabulary:
    """A SentencePiece model trained on the pass-1 lines (a bounded random sample of them)."""
    if progress:
        print(f"training a {vocab_size}-piece SentencePiece model on {source.slug} ...", file=sys.stderr)
    lines = (line for batch in iter_lines_file(path) for line in batch)
    try:
        return SubwordVocabulary.train(lines, vocab_size, threads=_threads())
    except VocabularyError as exc:
        raise CorpusError(f"corpus {source.name}: {exc.message}",
                          hint="choose another --vocab-size (a small corpus supports only a small one)") from None


def _threads() -> int:
    return max(1, min(16, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1))


def chunked(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """``items`` in lists of ``size`` (the last one shorter), read lazily."""
    it = iter(items)
    while chunk := list(islice(it, size)):
        yield chunk


def _install(tmp: Path, final: Path) -> None:
    """Move the finished ``tmp`` folder to ``final``, replacing what is there."""
    try:
        os.rename(tmp, final)
        return
    except OSError:
        if not final.exists():
            raise
    # `final` exists: an unusable cache being replaced, or a concurrent build
    # that finished first (equally good). Move it aside, then ours in.
    trash = final.with_name(f".trash-{final.name}-{uuid.uuid4().hex[:8]}")
    with contextlib.suppress(FileNotFoundError):
        os.rename(final, trash)
    os.rename(tmp, final)
    shutil.rmtree(trash, ignore_errors=True)


_CACHE_NAME = re.compile(r"(?P<slug>.+)-[0-9a-f]{16}")


def _remove_superseded(final: Path, identity: str, settings: dict, key: str) -> None:
    """Delete caches of the same corpus and settings built from an older version of its files."""
    prefix = final.name[:-16]
    try:
        siblings = [p for p in final.parent.iterdir() if p.name.startswith(prefix) and p != final]
    except OSError:
        return
    for path in siblings:
        m = _CACHE_NAME.fullmatch(path.name)
        if not m or m.group("slug") + "-" != prefix or not path.is_dir():
            continue
        try:
            manifest = _read_manifest(path)
        except CacheInvalid:
            continue
        if manifest.get("identity") == identity and manifest.get("settings") == settings and manifest.get("key") != key:
            log.info("removing superseded corpus cache %s", path)
            shutil.rmtree(path, ignore_errors=True)


def _remove_stale_temps(parent: Path) -> None:
    """Delete leftovers of builds that crashed (temporary folders older than a day)."""
    now = time.time()
    for path in parent.iterdir():
        if path.name.startswith((".tmp-", ".trash-")) and path.is_dir():
            try:
                if now - path.stat().st_mtime > _STALE_TMP_SECONDS:
                    shutil.rmtree(path, ignore_errors=True)
            except OSError:
                pass


def list_caches(cache_dir: str | os.PathLike[str] | None = None) -> list[dict]:
    """The manifests of every complete encoded corpus in the cache, newest first.

    Each dict is a cache manifest plus ``path`` (the cache folder).
    """
    from chargan.corpora.locations import corpora_cache_dir

    found = []
    root = corpora_cache_dir(cache_dir)
    for manifest_path in root.glob(f"*/{MANIFEST_FILE}") if root.is_dir() else []:
        try:
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue  # unreadable: rebuilt the next time that corpus loads
        if isinstance(manifest, dict) and manifest.get("format") == FORMAT:
            found.append({**manifest, "path": str(manifest_path.parent)})
    return sorted(found, key=lambda m: str(m.get("created", "")), reverse=True)
