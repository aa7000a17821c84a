"""Corpus sources: where lines of text come from, streamed in batches.

A `CorpusSource` yields the corpus as ``(origin, lines)`` batches in a fixed
order: each line is one sentence with its trailing newline (``\\n`` or
``\\r\\n``) removed; blank (empty or whitespace-only) lines are skipped. A
batch holds about `BLOCK_BYTES` of text, so memory does not grow with the
corpus (or with line count: lines are never all held as Python objects).

Files are read as bytes (gzip-compressed files are recognised by their magic
bytes and decompressed on the fly) and decoded as UTF-8 a block at a time.
The ``errors`` policy decides what an invalid UTF-8 sequence does: ``strict``
(the default) raises a `CorpusFormatError` naming the file, the line number
and the byte offset; ``replace`` decodes it as U+FFFD and counts it in a
`DecodeReport`, so the cache can say how many bytes were replaced and where
the first one was. A NUL byte is always an error (binary data, not text).
Only ``\\n`` ends a line (a stray ``\\r`` or U+2028 inside a line stays part of
it), the same rule the cache uses when it writes and re-reads lines.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import zlib
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from chargan.corpora.errors import CorpusError, CorpusFormatError

#: Bytes read from a file per block.
BLOCK_BYTES = 256 << 10
#: A "line" longer than this is not one sentence of text.
MAX_LINE_BYTES = 64 << 20

#: What an invalid UTF-8 sequence does: raise (``strict``) or become U+FFFD (``replace``).
ERROR_POLICIES = ("strict", "replace")
_GZIP_MAGIC = b"\x1f\x8b"
_REPLACEMENT_BYTES = "\ufffd".encode()

_TEXT_HINT = (
    "chargan reads UTF-8 text, one sentence per line; convert the file "
    "(e.g. `iconv -f latin1 -t utf-8 IN > OUT`) or remove the non-text data"
)
_UTF8_HINT = _TEXT_HINT + ", or pass --errors replace to read invalid bytes as U+FFFD"


@dataclass
class DecodeReport:
    """Invalid UTF-8 met under the ``replace`` policy: how much, and the first place."""

    replaced: int = 0  # invalid byte sequences decoded as U+FFFD
    lines: int = 0  # lines holding at least one of them
    first: str | None = None  # "file, line N (byte offset M)"

    def to_json(self) -> dict:
        return {"replaced": self.replaced, "lines": self.lines, "first": self.first}


def file_entry(path: Path) -> dict:
    """What the cache fingerprint records about one file."""
    st = path.stat()
    return {"path": str(path), "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def digest(data: object) -> str:
    """SHA-256 of the canonical JSON of ``data``."""
    return hashlib.sha256(json.dumps(data, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def _open_text_file(path: Path) -> tuple[BinaryIO, bool]:
    """``path`` opened for binary reading, gunzipped on the fly when it is gzip data."""
    try:
        f = open(path, "rb")  # noqa: SIM115 - the caller closes it
        if f.read(2) == _GZIP_MAGIC:
            f.seek(0)
            return gzip.GzipFile(fileobj=f, mode="rb"), True
        f.seek(0)
        return f, False
    except OSError as exc:
        raise CorpusError(
            f"cannot open {path}: {exc.strerror or exc}", hint="check the path and its permissions"
        ) from None


def read_line_batches(
    path: Path,
    *,
    skip_blank: bool = True,
    block_bytes: int | None = None,
    errors: str = "strict",
    report: DecodeReport | None = None,
) -> Iterator[list[str]]:
    """Stream a UTF-8 text file (plain or gzip) as lists of lines (see the module docstring).

    A UTF-8 byte-order mark at the start of the file is dropped. ``errors`` is
    one of `ERROR_POLICIES`; under ``replace``, ``report`` collects what was replaced.
    """
    if errors not in ERROR_POLICIES:
        raise CorpusError(f"errors must be one of {', '.join(ERROR_POLICIES)}, got {errors!r}")
    block_bytes = block_bytes or BLOCK_BYTES
    f, compressed = _open_text_file(path)
    where = "of the decompressed text" if compressed else "of the file"
    try:
        partial: list[bytes] = []  # pieces of a line whose end has not been read yet
        partial_len = 0
        offset = 0  # byte offset in the (decompressed) file of the next chunk
        lines_before = 0  # physical lines before the next chunk
        first = True
        while True:
            block = _read_block(f, path, block_bytes, compressed)
            if block:
                cut = block.rfind(b"\n") + 1
                if cut == 0:  # no line ends in this block
                    partial.append(block)
                    partial_len += len(block)
                    if partial_len > MAX_LINE_BYTES:
                        raise CorpusFormatError(
                            f"{path.name}: line {lines_before + 1} is longer than {MAX_LINE_BYTES >> 20} MiB "
                            f"(from byte offset {offset} {where}); this is not one-sentence-per-line text; "
                            f"file: {path}",
                            hint=_TEXT_HINT,
                        )
                    continue
                chunk = b"".join([*partial, block[:cut]]) if partial else block[:cut]
                partial = [block[cut:]] if cut < len(block) else []
                partial_len = len(block) - cut
            else:
                if not partial:
                    return
                chunk = b"".join(partial)
                partial, partial_len = [], 0
            text = _decode(chunk, path, offset, lines_before, where, errors, report)
            if first:
                first = False
                if text.startswith("\ufeff"):
                    text = text[1:]
            lines = text.split("\n")
            if chunk.endswith(b"\n"):
                lines.pop()  # the empty string after the final newline
            lines_before += len(lines)
            offset += len(chunk)
            if "\r" in text:
                lines = [line[:-1] if line.endswith("\r") else line for line in lines]
            if skip_blank:
                lines = [line for line in lines if line and not line.isspace()]
            if lines:
                yield lines
    finally:
        f.close()


def _read_block(f: BinaryIO, path: Path, block_bytes: int, compressed: bool) -> bytes:
    try:
        return f.read(block_bytes)
    except OSError as exc:
        if compressed and isinstance(exc, gzip.BadGzipFile):
            raise CorpusFormatError(f"{path} is not a valid gzip file: {exc}",
                                    hint="download or compress it again") from None
        raise CorpusError(f"cannot read {path}: {exc.strerror or exc}") from None
    except (EOFError, zlib.error) as exc:
        raise CorpusFormatError(
            f"{path} is a damaged gzip file ({exc or 'it ends before the end of its compressed data'})",
            hint="the file is truncated or corrupt; download or compress it again",
        ) from None


def _decode(
    chunk: bytes, path: Path, offset: int, lines_before: int, where: str,
    errors: str = "strict", report: DecodeReport | None = None,
) -> str:
    try:
        text = chunk.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = lines_before + chunk.count(b"\n", 0, exc.start) + 1
        if errors == "replace":
            text = chunk.decode("utf-8", "replace")
            if report is not None:
                _count_replacements(text, chunk, report, f"{path}, line {line} (byte offset {offset + exc.start} {where})")
        else:
            column = exc.start - (chunk.rfind(b"\n", 0, exc.start) + 1)
            bad = chunk[exc.start : min(exc.end, exc.start + 4)]
            raise CorpusFormatError(
                f"{path.name}: line {line} is not valid UTF-8 (byte {bad!r} at byte offset {offset + exc.start} "
                f"{where}, byte {column} of the line: {exc.reason}); file: {path}",
                hint=_UTF8_HINT,
            ) from None
    nul = text.find("\0")
    if nul >= 0:
        head = text[:nul]
        line = lines_before + head.count("\n") + 1
        byte = offset + len(head.encode("utf-8", "surrogatepass"))
        raise CorpusFormatError(
            f"{path.name}: line {line} holds a NUL byte (byte offset {byte} {where}); "
            f"this looks like a binary file, not text; file: {path}",
            hint=_TEXT_HINT,
        )
    return text


def _count_replacements(text: str, chunk: bytes, report: DecodeReport, first: str) -> None:
    """Add the U+FFFD the decoder made (not those the text already held) to ``report``."""
    made = text.count("\ufffd") - chunk.count(_REPLACEMENT_BYTES)
    if made <= 0:
        return
    report.replaced += made
    # Lines whose raw bytes do not decode on their own held an invalid sequence.
    report.lines += sum(1 for raw in chunk.split(b"\n") if not _is_utf8(raw))
    if report.first is None:
        report.first = first


def _is_utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


class CorpusSource(ABC):
    """One corpus: its identity, its fingerprint and its lines.

    Subclasses set ``kind`` (a short tag), ``name`` (what `EncodedCorpus.name`
    shows), ``slug`` (a file-name-safe label for the cache folder) and
    ``identity`` (a string that is the same for the same corpus location
    across edits, used to find stale caches of this corpus).
    """

    kind: str
    name: str
    slug: str
    identity: str
    #: Whether progress bars make sense (False for tiny built-in corpora).
    show_progress: bool = True

    @abstractmethod
    def fingerprint_data(self) -> dict:
        """JSON-able data that changes whenever the corpus text may have changed."""

    @abstractmethod
    def batches(self) -> Iterator[tuple[str, list[str]]]:
        """``(origin, lines)`` in corpus order; ``origin`` names the file being read."""

    @abstractmethod
    def describe(self, n_lines: int, limited: bool = False) -> str:
        """A one-line human label, given the number of lines kept.

        ``limited``: the lines are the first ``n_lines`` only (``max_lines``).
        """

    def paths(self) -> list[Path]:
        return []

    def empty_error(self) -> CorpusError:
        """The error for a corpus without a single text line."""
        return CorpusFormatError(
            f"corpus {self.name} holds no text lines (empty or only blank lines)",
            hint="give UTF-8 text with one sentence per line",
        )

    def fingerprint(self) -> str:
        return digest(self.fingerprint_data())

    def source_info(self, fingerprint: str | None = None) -> dict:
        """The JSON-able ``EncodedCorpus.source`` record."""
        root = getattr(self, "root", None)
        return {
            "kind": self.kind,
            "identity": self.identity,
            "root": None if root is None else str(root),
            "paths": [str(p) for p in self.paths()],
            "fingerprint": fingerprint or self.fingerprint(),
        }


class FileSource(CorpusSource):
    """A corpus made of text files read one after another."""

    def __init__(self, files: list[Path], errors: str = "strict") -> None:
        self.files = files
        self.errors = errors
        self.report = DecodeReport()

    def paths(self) -> list[Path]:
        return list(self.files)

    def fingerprint_data(self) -> dict:
        try:
            entries = [file_entry(p) for p in self.files]
        except OSError as exc:
            raise CorpusError(f"cannot read {exc.filename}: {exc.strerror or exc}") from None
        return {"kind": self.kind, "files": entries}

    def on_empty_file(self, path: Path) -> None:
        """Called when a file holds no text line; the default skips it."""

    def batches(self) -> Iterator[tuple[str, list[str]]]:
        for path in self.files:
            origin = path.name
            empty = True
            for lines in read_line_batches(path, errors=self.errors, report=self.report):
                empty = False
                yield origin, lines
            if empty:
                self.on_empty_file(path)


def safe_slug(text: str, default: str = "corpus") -> str:
    """A short file-name-safe label."""
    out = "".join(c if c.isascii() and (c.isalnum() or c in "._-") else "_" for c in text).strip("._-")
    return out[:40] or default
