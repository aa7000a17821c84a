"""Fetching the One Billion Word benchmark: resumable download, checksum, unpack.

    from chargan.corpora.download import fetch_billion_word
    root = fetch_billion_word()          # -> .../1-billion-word-language-modeling-benchmark-r13output

`download` streams a URL into ``<dest>.part`` and resumes an interrupted
download with an HTTP ``Range`` request; the file only gets its final name
once it is complete and its SHA-256 matches. `fetch_billion_word` downloads
the tarball into the data folder, unpacks it with
`chargan.corpora.archive.extract_tar` and checks the result.

Only the standard library (``urllib``) and tqdm are used.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import re
import socket
import sys
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from chargan.corpora.archive import extract_tar
from chargan.corpora.billion_word import HOMEPAGE, TARBALL, locate_billion_word, training_shards
from chargan.corpora.errors import CorpusError, CorpusFormatError, CorpusNotFoundError
from chargan.corpora.locations import DATA_ENV, data_dir_from_env, user_data_dir

#: Where the benchmark tarball is published.
DEFAULT_URL = f"{HOMEPAGE}{TARBALL}"
#: SHA-256 of the official tarball (hex).
DEFAULT_SHA256 = "01ba60381110baf7f189dfd2b8374de371e8c9a340835793f190bdae9e90a34e"
#: Size of the official tarball, in bytes.
DEFAULT_SIZE = 1_792_209_805

USER_AGENT = "chargan (+https://pypi.org/project/chargan/)"
PART_SUFFIX = ".part"
_HEX64 = re.compile(r"[0-9a-f]{64}")
_CONTENT_RANGE = re.compile(r"bytes\s+(?:(\d+)-(\d+)|\*)/(\d+|\*)")

# What a broken connection looks like from urllib / http.client / socket.
_NETWORK_ERRORS: tuple[type[BaseException], ...] = (
    urllib.error.URLError,  # includes HTTPError
    http.client.HTTPException,  # IncompleteRead, RemoteDisconnected, BadStatusLine ...
    ConnectionError,  # reset, refused, aborted
    TimeoutError,  # socket.timeout is an alias since 3.10
    socket.gaierror,
)


class _Restart(Exception):
    """Internal: the server cannot resume; drop the part and ask for the whole file."""


def part_path(dest: Path) -> Path:
    """Where `download` keeps the unfinished file: ``<dest>.part``."""
    return dest.with_name(dest.name + PART_SUFFIX)


def _network_error(url: str, exc: BaseException, part: Path | None = None) -> CorpusError:
    what = exc.reason if isinstance(exc, urllib.error.URLError) and not isinstance(exc, urllib.error.HTTPError) else exc
    kept = f"; the partial file {part} is kept and the next try resumes from it" if part and part.exists() else ""
    return CorpusError(
        f"download of {url} failed: {type(exc).__name__}: {what}{kept}",
        hint="check the network connection and try again (it resumes), or download the file by hand "
        "and point --data-dir at the folder where it is unpacked",
    )


def _disk_error(path: Path, exc: OSError) -> CorpusError:
    return CorpusError(
        f"cannot write {path}: {exc.strerror or exc}",
        hint=f"choose a writable folder with enough free space (--data-dir or ${DATA_ENV})",
    )


def _hash_file(path: Path, hasher: hashlib._Hash, chunk_size: int = 1 << 20) -> None:
    """Feed the bytes of ``path`` into ``hasher`` (reads ``chunk_size`` bytes at a time)."""
    with path.open("rb") as fh:
        while chunk := fh.read(chunk_size):
            hasher.update(chunk)


def sha256_file(path: Path, chunk_size: int = 1 << 20) -> str:
    """SHA-256 of a file, as lowercase hex."""
    hasher = hashlib.sha256()
    _hash_file(path, hasher, chunk_size)
    return hasher.hexdigest()


def _normalize_sha256(sha256: str | None) -> str | None:
    if sha256 is None:
        return None
    digest = sha256.strip().lower()
    if digest.startswith("sha256:"):
        digest = digest[len("sha256:") :]
    if not _HEX64.fullmatch(digest):
        raise CorpusError(
            f"not a SHA-256 checksum: {sha256!r}", hint="give 64 hexadecimal digits, optionally prefixed by 'sha256:'"
        )
    return digest


def _open(url: str, offset: int, timeout: float) -> http.client.HTTPResponse:
    """Request ``url`` from byte ``offset`` on (a plain GET when ``offset`` is 0)."""
    headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity"}  # byte offsets need the raw bytes
    if offset:
        headers["Range"] = f"bytes={offset}-"
    return urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout)


def _content_range(value: str | None) -> tuple[int | None, int | None]:
    """``Content-Range`` -> (first byte, total size in bytes); None where unknown."""
    m = _CONTENT_RANGE.fullmatch((value or "").strip())
    if not m:
        return None, None
    first = int(m.group(1)) if m.group(1) is not None else None
    total = int(m.group(3)) if m.group(3) != "*" else None
    return first, total


def _content_length(resp: http.client.HTTPResponse) -> int | None:
    try:
        return int(resp.headers["Content-Length"])
    except (TypeError, ValueError):
        return None


def _bar(enabled: bool, desc: str, total: int | None, initial: int):
    """A tqdm byte counter (bytes, scaled to KB/MB, with rate and ETA)."""
    from tqdm import tqdm  # only when downloading: `import chargan.corpora` stays light (tqdm costs 65 ms)

    return tqdm(
        total=total,
        initial=initial,
        desc=desc,
        unit="B",
        unit_scale=True,
        unit_divisor=1024,
        disable=not enabled,
        file=sys.stderr,
        dynamic_ncols=True,
        miniters=1,
    )


def _read(resp: http.client.HTTPResponse, n: int, url: str, part: Path) -> bytes:
    """Up to ``n`` bytes of the body; network failures become `CorpusError` (the part is kept)."""
    try:
        return resp.read(n)
    except _NETWORK_ERRORS as exc:
        raise _network_error(url, exc, part) from None
    except OSError as exc:  # any other socket error is a network error too
        raise _network_error(url, exc, part) from None


def _stream(
    resp: http.client.HTTPResponse,
    fh: BinaryIO,
    hasher: hashlib._Hash,
    *,
    expected: int | None,
    url: str,
    part: Path,
    bar,
    chunk_size: int,
) -> int:
    """Copy the body into ``fh`` and ``hasher``; returns the number of bytes written.

    ``expected`` is the body length in bytes (None when the server did not say).
    A body shorter than that (a cut connection) is a `CorpusError`.
    """
    written = 0
    while chunk := _read(resp, chunk_size, url, part):
        try:
            fh.write(chunk)
        except OSError as exc:
            raise _disk_error(part, exc) from None
        hasher.update(chunk)
        written += len(chunk)
        bar.update(len(chunk))
    if expected is not None and written < expected:
        # http.client returns b"" on an early EOF instead of raising IncompleteRead.
        fh.flush()
        raise _network_error(
            url, ConnectionError(f"connection closed after {written:,} of {expected:,} bytes"), part
        )
    return written


def _attempt(url: str, part: Path, hasher: hashlib._Hash, *, progress: bool, chunk_size: int, timeout: float) -> None:
    """One request: resume (or start) ``part`` and hash all of its bytes.

    Raises `_Restart` when the part cannot be resumed (the caller deletes it).
    """
    offset = part.stat().st_size if part.exists() else 0
    try:
        resp = _open(url, offset, timeout)
    except urllib.error.HTTPError as exc:
        exc.close()  # it holds the connection
        if exc.code == 416 and offset:
            # Nothing left to send: complete if our part has the full size, else it is stale.
            _, total = _content_range(exc.headers.get("Content-Range"))
            if total == offset:
                _hash_file(part, hasher)
                return
            raise _Restart from None
        raise _network_error(url, exc, part) from None
    except _NETWORK_ERRORS as exc:
        raise _network_error(url, exc, part) from None
    except OSError as exc:
        raise _network_error(url, exc, part) from None
    with resp:
        length = _content_length(resp)
        if offset and resp.status == 206:
            first, total = _content_range(resp.headers.get("Content-Range"))
            if first != offset:
                raise _Restart  # the server answered a different range than we asked for
            mode, total = "ab", total if total is not None else (offset + length if length is not None else None)
            _hash_file(part, hasher)  # the checksum covers the resumed bytes too
        else:
            # 200: a fresh download, or a server that ignores Range -> start from zero.
            offset, mode, total = 0, "wb", length
        try:
            fh = part.open(mode)
        except OSError as exc:
            raise _disk_error(part, exc) from None
        with fh, _bar(progress, part.name[: -len(PART_SUFFIX)], total, offset) as bar:
            _stream(resp, fh, hasher, expected=length, url=url, part=part, bar=bar, chunk_size=chunk_size)


def download(
    url: str,
    dest: Path,
    *,
    sha256: str | None,
    progress: bool = True,
    chunk_size: int = 1 << 20,
    timeout: float = 30,
) -> Path:
    """Download ``url`` to ``dest``, resuming an earlier partial download; returns ``dest``.

    The bytes go to ``<dest>.part`` first; when that exists, only the rest is
    requested (``Range: bytes=N-``). A server that ignores the range (200) or
    answers a stale part with 416 makes the download start from zero.
    ``sha256`` (hex, or None to skip the check) must match the whole file
    before it is renamed to ``dest``; on a mismatch the part is deleted.
    ``chunk_size`` is in bytes, ``timeout`` in seconds (per network operation).

    Raises `CorpusError` on network errors (the part is kept, so a retry
    resumes), on a checksum mismatch, or when ``dest`` cannot be written.
    """
    dest = Path(dest)
    expected = _normalize_sha256(sha256)
    part = part_path(dest)
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _disk_error(dest.parent, exc) from None
    for _ in range(2):  # at most one restart from zero
        hasher = hashlib.sha256()
        try:
            _attempt(url, part, hasher, progress=progress, chunk_size=chunk_size, timeout=timeout)
            break
        except _Restart:
            part.unlink(missing_ok=True)
    else:
        raise CorpusError(
            f"download of {url} failed: the server cannot resume or restart it",
            hint="try again later, or download the file by hand and point --data-dir at the folder where it is unpacked",
        )
    actual = hasher.hexdigest()
    if expected is not None and actual != expected:
        part.unlink(missing_ok=True)
        raise CorpusError(
            f"checksum mismatch for {url}: expected sha256 {expected}, got {actual}; the download was deleted",
            hint="try again (the server or a proxy may have sent a damaged or different file); "
            "if the URL is right and the file changed, pass the new checksum with --checksum sha256:<hex>",
        )
    try:
        os.replace(part, dest)
    except OSError as exc:
        raise _disk_error(dest, exc) from None
    return dest


def default_data_dir() -> Path:
    """The folder `fetch_billion_word` uses without an argument: ``$CHARGAN_DATA_DIR``, else the per-user one."""
    env = data_dir_from_env()
    return env if env is not None else user_data_dir()


def _already_there(base: Path) -> Path | None:
    """The unpacked benchmark in ``base`` (the folder itself or its parent), or None."""
    try:
        return locate_billion_word(base)
    except CorpusNotFoundError:
        return None


def fetch_billion_word(
    data_dir: Path | None = None,
    *,
    url: str = DEFAULT_URL,
    sha256: str | None = DEFAULT_SHA256,
    progress: bool = True,
    echo: Callable[[str], None] = print,
    keep_archive: bool = False,
) -> Path:
    """Download, verify and unpack the One Billion Word benchmark; returns the corpus root.

    data_dir:     folder to unpack into (default ``$CHARGAN_DATA_DIR``, then
                  ``<cache root>/data``); the tarball is downloaded there too.
    url, sha256:  where to get the tarball and its expected SHA-256 (hex;
                  None skips the check).
    keep_archive: keep the 1.8 GB tarball after unpacking it (it is deleted
                  by default when this call downloaded it).

    When the corpus is already unpacked there, says so and downloads nothing.
    A tarball already in ``data_dir`` with the right checksum is reused.
    """
    base = Path(data_dir).expanduser() if data_dir is not None else default_data_dir()
    found = _already_there(base)
    if found is not None:
        echo(f"One Billion Word benchmark already unpacked in {found}; nothing to download")
        return found
    tarball = base / TARBALL
    expected = _normalize_sha256(sha256)
    downloaded = False
    if tarball.is_file() and (expected is None or sha256_file(tarball) == expected):
        echo(f"using the already downloaded {tarball}" + (" (checksum verified)" if expected else ""))
    else:
        if tarball.exists():
            echo(f"{tarball} is incomplete or damaged (checksum mismatch); downloading it again")
            tarball.unlink()
        size = f" ({DEFAULT_SIZE:,} bytes, about 4 GB unpacked)" if url == DEFAULT_URL else ""
        echo(f"downloading the One Billion Word benchmark{size}\n  from {url}\n  to   {tarball}")
        download(url, tarball, sha256=expected, progress=progress)
        downloaded = True
    echo(f"unpacking {tarball.name} into {base}")
    extract_tar(tarball, base, progress=progress)
    root = _already_there(base)
    if root is None:
        raise CorpusFormatError(
            f"{tarball} did not unpack to the One Billion Word layout (no training folder in {base})",
            hint=f"check --url: it should point at {TARBALL} from {HOMEPAGE}",
        )
    training_shards(root)  # the shards present must be usable
    if downloaded and not keep_archive:
        tarball.unlink(missing_ok=True)  # 1.8 GB the corpus no longer needs
    echo(f"One Billion Word benchmark ready in {root}")
    return root
