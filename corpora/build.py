"""Building a cache folder: two streaming passes over the source, driven by the unit kind.

1. read the source once and append its lines, cut to what ``seq_len`` units
   can span (`UnitKind.pass1_chars`), to a file, showing each chunk to the
   kind's fit (characters count their codepoints here);
2. build the vocabulary (`UnitFit.vocabulary`: from the counts, or by
   training SentencePiece on a bounded sample of the pass-1 file), create
   ``ids.npy`` of the known shape with ``np.lib.format.open_memmap``, then
   stream the pass-1 file back in chunks (`UnitKind.chunk_lines`) through
   `UnitKind.encode` and write the rows in order with plain writes (for
   pieces, also the decoded rows into ``lines.txt``).

Peak memory is a few MB above the interpreter plus numpy whatever the corpus
size; for subword units, add the SentencePiece trainer's bounded sample, about
0.9 GB (``benchmarks/bench_corpus.py`` and ``benchmarks/bench_scale.py``).

Everything is written into a temporary sibling folder (``.tmp-...``) that is
renamed into place only when complete, so an error, a full disk or a crash
never leaves a folder that looks finished.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import sys
import tempfile
import time
import uuid
from itertools import chain
from pathlib import Path
from typing import Any

import numpy as np

from chargan.corpora.encoded import EncodedCorpus, open_cache_dir
from chargan.corpora.errors import CorpusError
from chargan.corpora.lines import chunked, iter_lines_file, write_lines
from chargan.corpora.locations import CACHE_ENV
from chargan.corpora.manifest import (
    IDS_FILE,
    LINES_FILE,
    VOCAB_FILE,
    CacheInvalid,
    read_manifest,
    write_manifest,
)
from chargan.corpora.sources import CorpusSource
from chargan.corpora.units import UnitFit, UnitKind, VocabularyError, unit_kind

log = logging.getLogger("chargan.corpora")

#: Pass-1 lines of a kind whose ``lines.txt`` is decoded rows; deleted after encoding.
RAW_FILE = "raw.txt"
#: Seconds before a progress bar appears: small corpora never draw one.
PROGRESS_DELAY = 1.0
_STALE_TMP_SECONDS = 24 * 3600


class _NoBar:
    def update(self, n: int = 1) -> None:
        pass

    def set_postfix_str(self, s: str, refresh: bool = True) -> None:
        pass

    def close(self) -> None:
        pass


def _bar(enabled: bool, desc: str, total: int | None = None) -> Any:
    if not enabled:
        return _NoBar()
    from tqdm import tqdm  # only when a bar is drawn: `import chargan.corpora` stays light (tqdm costs 65 ms)

    return tqdm(
        total=total, desc=desc, unit="lines", unit_scale=True, file=sys.stderr, delay=PROGRESS_DELAY, dynamic_ncols=True
    )


def _write_error(where: Path, exc: OSError) -> CorpusError:
    return CorpusError(
        f"cannot write the corpus cache in {where}: {exc.strerror or exc}",
        hint=f"point ${CACHE_ENV} at a writable folder with enough free space",
    )


def _units_error(source: CorpusSource, exc: VocabularyError) -> CorpusError:
    return CorpusError(f"corpus {source.name}: {exc.message}", hint=exc.hint)


def build(
    source: CorpusSource,
    settings: dict,
    final: Path,
    key: str,
    fingerprint_data: dict,
    *,
    progress: bool = True,
) -> EncodedCorpus:
    """Encode ``source`` into a fresh cache folder ``final`` (replacing any there).

    The unit kind named by ``settings["units"]`` fits the vocabulary and encodes the rows.
    """
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
        return open_cache_dir(final, key)
    except CacheInvalid as exc:  # pragma: no cover - only if something else writes there
        raise CorpusError(f"corpus cache {final} changed while it was being opened: {exc}", hint="run again") from None


def _encode_into(
    tmp: Path, source: CorpusSource, settings: dict, key: str, fingerprint_data: dict, *, progress: bool
) -> None:
    seq_len, max_lines = settings["seq_len"], settings["max_lines"]
    kind: UnitKind = unit_kind(settings["units"])
    started = time.time()
    first_pass = tmp / (RAW_FILE if kind.decoded_lines else LINES_FILE)
    fit = kind.start_fit(settings)
    n_lines = _read_source(source, first_pass, kind.pass1_chars(seq_len), max_lines, fit, progress=progress)
    if n_lines == 0:
        raise source.empty_error()
    if source.fingerprint_data() != fingerprint_data:
        raise CorpusError(
            f"corpus {source.name} changed while it was being read",
            hint="wait until its files are complete, then run again",
        )
    if progress and fit.note:
        print(f"{fit.note} on {source.slug} ...", file=sys.stderr)
    try:
        vocab = fit.vocabulary(chain.from_iterable(iter_lines_file(first_pass)))
    except VocabularyError as exc:
        raise _units_error(source, exc) from None
    del fit  # the character counts: 8.9 MB

    # Pass 2: encode the pass-1 lines into ids.npy (and, for decoded lines, write lines.txt).
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
    lines_out = open(tmp / LINES_FILE, "wb") if kind.decoded_lines else None  # noqa: SIM115 - closed below
    try:
        with open(tmp / IDS_FILE, "r+b") as out:
            out.seek(header_bytes)
            for chunk in chunked(chain.from_iterable(iter_lines_file(first_pass)), kind.chunk_lines(seq_len)):
                try:
                    encoded = kind.encode(vocab, chunk, seq_len, first_row=row)
                except VocabularyError as exc:
                    raise _units_error(source, exc) from None
                out.write(encoded.tobytes())
                if lines_out is not None:
                    write_lines(lines_out, vocab.decode_batch(encoded))
                row += len(chunk)
                bar.update(len(chunk))
    finally:
        bar.close()
        if lines_out is not None:
            lines_out.close()
    if row != n_lines:  # pragma: no cover - the pass-1 file is our own
        raise RuntimeError(f"encoded {row} lines, expected {n_lines}")
    if kind.decoded_lines:
        first_pass.unlink()

    vocab.save(tmp / VOCAB_FILE)
    report = getattr(source, "report", None)
    replaced = report.to_json() if report is not None and report.replaced else None
    if replaced:
        log.warning("%s: %d invalid UTF-8 sequences in %d lines were read as U+FFFD (--errors replace); first: %s",
                    source.name, replaced["replaced"], replaced["lines"], replaced["first"])
    # What the source says of its reading (a sequence file's dropped records), beside the cache's own fields.
    extra = source.manifest_extra() if hasattr(source, "manifest_extra") else None
    # The manifest is written last: a folder without one is never opened.
    write_manifest(tmp, source, key=key, fingerprint_data=fingerprint_data, settings=settings, n_lines=n_lines,
                   vocab=vocab, replaced=replaced, started=started, extra=extra)


def _read_source(
    source: CorpusSource, path: Path, cut_chars: int, max_lines: int | None, fit: UnitFit, *, progress: bool
) -> int:
    """Pass 1: stream the source once, write its lines cut to ``cut_chars`` to ``path``, show them to ``fit``.

    Returns the number of lines.
    """
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
                    fit.add(cut)
                    write_lines(out, cut)
                    n_lines += len(lines)
                    bar.update(len(lines))
                    if max_lines is not None and n_lines >= max_lines:
                        break
            finally:
                batches.close()
    finally:
        bar.close()
    return n_lines


# --------------------------------------------------------------------------- housekeeping
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
            manifest = read_manifest(path)
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
