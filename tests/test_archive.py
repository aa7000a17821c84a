"""Safe unpacking: `chargan.corpora.archive.extract_tar` on the test tarball and on hostile members."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from chargan.corpora import CorpusError, CorpusFormatError
from chargan.corpora.archive import extract_tar
from test_download import ROOT, TRAIN, Shards, _all_files, shards  # noqa: F401  (shards: the module's tarball fixture)


def _write(tmp_path: Path, name: str, tarball: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(tarball)
    return path


def _tar_with(member: tarfile.TarInfo, payload: bytes = b"") -> bytes:
    """A tarball whose first member is harmless and whose second is ``member``."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        ok = tarfile.TarInfo("good/ok.txt")
        ok.size = 3
        tar.addfile(ok, io.BytesIO(b"ok\n"))
        member.size = len(payload) if member.isreg() else 0
        tar.addfile(member, io.BytesIO(payload) if member.isreg() else None)
    return buf.getvalue()


def test_extract_tar_unpacks(shards: Shards, tmp_path: Path) -> None:
    archive = _write(tmp_path, "bw.tar.gz", shards.tarball)
    target = tmp_path / "out"
    assert extract_tar(archive, target, progress=False) == target
    assert [p.name for p in target.iterdir()] == [ROOT]
    assert (target / TRAIN / "news.en-00001-of-00100").read_bytes() == shards.shard1


def test_extract_tar_refuses_to_overwrite(shards: Shards, tmp_path: Path) -> None:
    archive = _write(tmp_path, "bw.tar.gz", shards.tarball)
    (tmp_path / "out" / ROOT).mkdir(parents=True)
    with pytest.raises(CorpusError, match="already there"):
        extract_tar(archive, tmp_path / "out", progress=False)
    assert [p.name for p in (tmp_path / "out").iterdir()] == [ROOT]
    assert not any((tmp_path / "out" / ROOT).iterdir())


@pytest.mark.parametrize("kind", ["dotdot", "absolute", "symlink-out", "hardlink-out", "device"])
def test_extract_tar_rejects_unsafe_members(kind: str, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    member = {
        "dotdot": lambda: tarfile.TarInfo("good/../../evil"),
        "absolute": lambda: tarfile.TarInfo(str(outside / "abs_evil")),
        "symlink-out": lambda: tarfile.TarInfo("good/link"),
        "hardlink-out": lambda: tarfile.TarInfo("good/hard"),
        "device": lambda: tarfile.TarInfo("good/dev"),
    }[kind]()
    if kind == "symlink-out":
        member.type, member.linkname = tarfile.SYMTYPE, "../../outside"
    elif kind == "hardlink-out":
        member.type, member.linkname = tarfile.LNKTYPE, "../outside/x"
    elif kind == "device":
        member.type, member.devmajor, member.devminor = tarfile.CHRTYPE, 1, 3
    archive = _write(tmp_path, "evil.tar.gz", _tar_with(member, b"pwned\n"))
    with tarfile.open(archive) as tar:  # the archive really holds the unsafe name
        assert tar.getnames()[-1] == member.name
    target = tmp_path / "target"
    with pytest.raises(CorpusFormatError) as err:
        extract_tar(archive, target, progress=False)
    assert repr(member.name) in str(err.value)
    assert not target.exists()  # nothing left inside (not even the good member) ...
    assert _all_files(outside) == [] and not (tmp_path / "evil").exists()  # ... nor outside
    assert sorted(p.name for p in tmp_path.iterdir()) == ["evil.tar.gz", "outside"]


def test_extract_tar_into_existing_folder_leaves_it_untouched(tmp_path: Path) -> None:
    archive = _write(tmp_path, "evil.tar.gz", _tar_with(tarfile.TarInfo("../evil"), b"x"))
    target = tmp_path / "target"
    target.mkdir()
    (target / "mine.txt").write_text("keep")
    with pytest.raises(CorpusFormatError, match="'..' component"):
        extract_tar(archive, target, progress=False)
    assert [p.name for p in target.iterdir()] == ["mine.txt"]


@pytest.mark.parametrize("cut", [0.5, -6])
def test_extract_tar_rejects_truncated_archive(cut: float, shards: Shards, tmp_path: Path) -> None:
    # Half the archive, or all but the last bytes of the gzip trailer (CRC/size).
    n = int(len(shards.tarball) * cut) if cut > 0 else len(shards.tarball) + int(cut)
    archive = _write(tmp_path, "bw.tar.gz", shards.tarball[:n])
    target = tmp_path / "target"
    with pytest.raises(CorpusFormatError, match="truncated or corrupt archive") as err:
        extract_tar(archive, target, progress=False)
    assert "download again" in err.value.hint
    assert not target.exists()


def test_extract_tar_rejects_non_gzip(tmp_path: Path) -> None:
    archive = _write(tmp_path, "bw.tar.gz", b"<html>not found</html>")
    with pytest.raises(CorpusFormatError, match="truncated or corrupt"):
        extract_tar(archive, tmp_path / "target", progress=False)
