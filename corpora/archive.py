"""Safe unpacking of ``.tar.gz`` corpora.

`extract_tar` refuses anything that could write outside the target folder or
create something other than plain files, folders and in-tree links: absolute
member names, ``..`` components, links pointing outside, device files and
FIFOs. It unpacks into a hidden temporary folder inside the target and moves
the top-level entries into place only once the whole archive has been read
(including the gzip checksum at its end), so a failure leaves nothing behind.
On Pythons that have it (3.11.4+, 3.12+) tarfile's own ``data`` filter is
applied too.
"""

from __future__ import annotations

import gzip
import os
import posixpath
import re
import shutil
import sys
import tarfile
import tempfile
import zlib
from pathlib import Path

from chargan.corpora.errors import CorpusError, CorpusFormatError

#: Whether tarfile has extraction filters (PEP 706).
HAS_DATA_FILTER = hasattr(tarfile, "data_filter")
_DRIVE = re.compile(r"^[A-Za-z]:")


def _unsafe(archive: Path, member: tarfile.TarInfo, why: str) -> CorpusFormatError:
    return CorpusFormatError(
        f"refusing to unpack {archive}: member {member.name!r} {why}",
        hint="the archive is not the expected corpus (or was tampered with); delete it and download it again "
        "from the official URL",
    )


def _corrupt(archive: Path, exc: BaseException) -> CorpusFormatError:
    return CorpusFormatError(
        f"truncated or corrupt archive {archive}: {exc}",
        hint=f"delete it ({archive}) and download again",
    )


def _escapes(path: str) -> bool:
    """Whether a relative POSIX path climbs out of its root once normalized."""
    norm = posixpath.normpath(path)
    return norm == ".." or norm.startswith("../")


def _is_absolute(name: str) -> bool:
    return name.startswith(("/", "\\")) or bool(_DRIVE.match(name))


def check_member(archive: Path, member: tarfile.TarInfo) -> None:
    """Raise `CorpusFormatError` unless ``member`` stays inside the target folder.

    Allowed: regular files, folders, and symbolic/hard links whose target is
    relative and inside the archive's tree.
    """
    name = member.name
    if _is_absolute(name):
        raise _unsafe(archive, member, "has an absolute path")
    if ".." in re.split(r"[/\\]", name):
        raise _unsafe(archive, member, "has a '..' component")
    if member.ischr() or member.isblk() or member.isfifo():
        raise _unsafe(archive, member, "is a device file or FIFO")
    if not (member.isreg() or member.isdir() or member.issym() or member.islnk()):
        raise _unsafe(archive, member, f"has an unsupported type ({member.type!r})")
    if member.issym() or member.islnk():
        link = member.linkname
        if _is_absolute(link):
            raise _unsafe(archive, member, f"links to the absolute path {link!r}")
        # A symlink is relative to its own folder, a hard link to the archive root.
        resolved = posixpath.join(posixpath.dirname(name), link) if member.issym() else link
        if _escapes(resolved.replace("\\", "/")):
            raise _unsafe(archive, member, f"links outside the target folder ({link!r})")


def _extract_member(tar: tarfile.TarFile, member: tarfile.TarInfo, into: Path) -> None:
    if HAS_DATA_FILTER:
        tar.extract(member, into, filter="data")
    else:  # older Python: our own checks only; skip folder modes that could lock us out
        tar.extract(member, into, set_attrs=not member.isdir())


def _bar(enabled: bool, desc: str, total: int):
    """A tqdm counter of archive bytes read (compressed bytes)."""
    from tqdm import tqdm  # only when unpacking: `import chargan.corpora` stays light (tqdm costs 65 ms)

    return tqdm(
        total=total, desc=desc, unit="B", unit_scale=True, unit_divisor=1024,
        disable=not enabled, file=sys.stderr, dynamic_ncols=True,
    )


def _extract_all(archive: Path, into: Path, progress: bool) -> int:
    """Check and unpack every member of ``archive`` into ``into``; returns the member count."""
    count = 0
    with archive.open("rb") as raw, _bar(progress, f"unpacking {archive.name}", archive.stat().st_size) as bar:
        with tarfile.open(fileobj=raw, mode="r:gz") as tar:
            for member in tar:
                check_member(archive, member)
                _extract_member(tar, member, into)
                count += 1
                bar.update(raw.tell() - bar.n)
            # Read to the end of the gzip stream so its CRC and length are checked too.
            assert tar.fileobj is not None
            while tar.fileobj.read(1 << 20):
                pass
        bar.update(raw.tell() - bar.n)
    return count


def _move_into_place(tmp: Path, target: Path) -> None:
    """Move the top-level entries of ``tmp`` into ``target`` (renames, same filesystem)."""
    entries = sorted(tmp.iterdir())
    clashes = [str(target / e.name) for e in entries if os.path.lexists(target / e.name)]
    if clashes:
        raise CorpusError(
            f"cannot unpack into {target}: already there: {', '.join(clashes)}",
            hint="delete or move those (they may be an earlier incomplete copy), or unpack into another folder",
        )
    for entry in entries:
        try:
            os.replace(entry, target / entry.name)
        except OSError as exc:
            raise CorpusError(
                f"cannot move {entry.name} into {target}: {exc.strerror or exc}",
                hint="check that the folder is writable",
            ) from None


def extract_tar(archive: Path, target: Path, *, progress: bool = True) -> Path:
    """Unpack the ``.tar.gz`` ``archive`` into the folder ``target``; returns ``target``.

    ``target`` is created when missing. The archive is unpacked into a
    hidden temporary folder inside ``target`` and its top-level entries are
    renamed into ``target`` only when the whole archive was read; an entry
    that already exists there is an error (nothing is overwritten).

    Raises `CorpusFormatError` for an unsafe member (absolute path, ``..``,
    link leaving the target, device file) or a truncated/corrupt archive,
    `CorpusError` when ``target`` cannot be written. Nothing is left behind.
    """
    archive, target = Path(archive), Path(target)
    created = not target.exists()
    try:
        target.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{archive.name}.", suffix=".unpacking", dir=target))
    except OSError as exc:
        raise CorpusError(
            f"cannot unpack into {target}: {exc.strerror or exc}", hint="choose a writable folder with enough space"
        ) from None
    ok = False
    try:
        try:
            n = _extract_all(archive, tmp, progress)
        except tarfile.FilterError as exc:  # a TarError too: must come first
            raise _unsafe(archive, exc.tarinfo, f"was rejected by tarfile's data filter ({exc})") from None
        except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile) as exc:
            raise _corrupt(archive, exc) from None
        except OSError as exc:
            raise CorpusError(
                f"cannot unpack {archive} into {target}: {exc.strerror or exc}",
                hint="check that the folder is writable and has enough free space",
            ) from None
        if n == 0:
            raise CorpusFormatError(f"empty archive {archive}: it holds no files", hint="delete it and download again")
        _move_into_place(tmp, target)
        ok = True
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        if not ok and created:
            shutil.rmtree(target, ignore_errors=True)  # we made it; it only held our temp folder
    return target
