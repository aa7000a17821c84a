"""MNIST idx and CIFAR-10 pickle readers, lookup and download: `chargan.corpora.images`.

Every file is fabricated in the exact official format: idx files with their
big-endian magic numbers, gzipped; CIFAR-10 batches as Python 2's cPickle
wrote them (protocol 2, byte strings, ``numpy.core.multiarray._reconstruct``).
Downloads come from a local HTTP server on 127.0.0.1.
"""

from __future__ import annotations

import gzip
import hashlib
import http.server
import io
import os
import pickle
import struct
import tarfile
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from chargan.corpora import CorpusError, CorpusFormatError, CorpusNotFoundError
from chargan.corpora.images import (
    CIFAR10_DIRNAME,
    CIFAR10_TARBALL,
    MNIST_FILES,
    fetch_cifar10,
    fetch_mnist,
    load_images,
    locate_cifar10,
    locate_mnist,
    read_cifar_batch,
    read_idx,
)
from chargan.corpora.safe_pickle import ForbiddenGlobal, SafeUnpickler
from chargan.errors import UserError

# ----------------------------------------------------------- fabricated files


def idx_bytes(array: np.ndarray) -> bytes:
    """An idx file of unsigned bytes: 0x0000, type 0x08, ndim, sizes (big-endian), then the bytes."""
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(np.uint8).tobytes()


def write_mnist(folder: Path, split: str = "train", n: int = 12, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The split's two official .gz files in ``folder``; returns (images (n, 28, 28), labels)."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, size=n, dtype=np.uint8)
    folder.mkdir(parents=True, exist_ok=True)
    image_name, label_name = MNIST_FILES[split]
    (folder / image_name).write_bytes(gzip.compress(idx_bytes(images)))
    (folder / label_name).write_bytes(gzip.compress(idx_bytes(labels)))
    return images, labels


def _py2_str(b: bytes) -> bytes:
    """A Python 2 ``str`` as cPickle writes it (SHORT_BINSTRING / BINSTRING)."""
    return b"U" + bytes([len(b)]) + b if len(b) < 256 else b"T" + struct.pack("<i", len(b)) + b


def _int(i: int) -> bytes:
    return b"K" + bytes([i]) if 0 <= i < 256 else b"J" + struct.pack("<i", i)


def cifar_batch_bytes(data: np.ndarray, labels: list[int], module: bytes = b"numpy.core.multiarray") -> bytes:
    """A CIFAR-10 python batch, byte for byte in the layout of the official (Python 2) files.

    ``{'batch_label': ..., 'labels': [...], 'data': uint8 array (n, 3072), 'filenames': [...]}``
    pickled with protocol 2, strings as Python 2 byte strings, the array via
    ``numpy.core.multiarray._reconstruct`` and a BUILD of its raw bytes.
    """
    n = len(labels)
    dtype = (b"cnumpy\ndtype\n" + _py2_str(b"u1") + b"K\x00K\x01\x87R"  # dtype('u1', 0, 1)
             + b"(K\x03" + _py2_str(b"|") + b"NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb")
    array = (b"c" + module + b"\n_reconstruct\ncnumpy\nndarray\nK\x00\x85" + _py2_str(b"b") + b"\x87R"
             + b"(K\x01" + _int(data.shape[0]) + _int(data.shape[1]) + b"\x86" + dtype + b"\x89"
             + _py2_str(data.astype(np.uint8).tobytes()) + b"tb")
    items = (_py2_str(b"batch_label") + _py2_str(b"training batch 1 of 5")
             + _py2_str(b"labels") + b"](" + b"".join(_int(int(v)) for v in labels) + b"e"
             + _py2_str(b"data") + array
             + _py2_str(b"filenames") + b"](" + b"".join(_py2_str(f"img_{i}.png".encode()) for i in range(n)) + b"e")
    return b"\x80\x02}(" + items + b"u."


def write_cifar(parent: Path, n_per_batch: int = 4, seed: int = 0) -> tuple[Path, np.ndarray]:
    """``parent/cifar-10-batches-py`` with the five training batches and the test batch; returns (folder, train data)."""
    rng = np.random.default_rng(seed)
    folder = parent / CIFAR10_DIRNAME
    folder.mkdir(parents=True, exist_ok=True)
    train = []
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        data = rng.integers(0, 256, size=(n_per_batch, 3072), dtype=np.uint8)
        labels = [int(v) for v in rng.integers(0, 10, size=n_per_batch)]
        (folder / name).write_bytes(cifar_batch_bytes(data, labels))
        if name != "test_batch":
            train.append(data)
    return folder, np.concatenate(train)


def cifar_tarball(parent: Path) -> bytes:
    """The official tarball's layout: cifar-10-batches-py/ with its batches."""
    folder, _ = write_cifar(parent / "src")
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz", compresslevel=1) as tar:
        tar.add(folder, arcname=CIFAR10_DIRNAME)
    return buf.getvalue()


# ------------------------------------------------------------------- MNIST


def test_mnist_roundtrip_gz_and_unpacked(tmp_path: Path) -> None:
    images, labels = write_mnist(tmp_path / "mnist", n=7)
    data = load_images("mnist", data_dir=tmp_path, download=False)
    assert data.images.shape == (7, 1, 28, 28) and data.images.dtype == np.uint8
    assert np.array_equal(data.images[:, 0], images) and np.array_equal(data.labels, labels)
    # Unpacked (gunzipped) files in the folder itself work too.
    flat = tmp_path / "flat"
    flat.mkdir()
    for name in MNIST_FILES["train"]:
        (flat / name.removesuffix(".gz")).write_bytes(gzip.decompress((tmp_path / "mnist" / name).read_bytes()))
    assert np.array_equal(load_images("mnist", data_dir=flat, download=False).images, data.images)


def test_mnist_missing_and_incomplete(tmp_path: Path) -> None:
    with pytest.raises(CorpusNotFoundError, match="train-images-idx3-ubyte.gz and train-labels") as exc:
        load_images("mnist", data_dir=tmp_path, download=False)
    assert "drop --no-download" in exc.value.hint
    write_mnist(tmp_path)
    (tmp_path / "train-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(CorpusFormatError, match="train-labels-idx1-ubyte.gz is missing"):
        locate_mnist(tmp_path)


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda raw: b"\x00\x00\x08\x01" + raw[4:], "magic number 00000801"),  # a label file's magic
        (lambda raw: raw[:-100], "truncated"),
        (lambda raw: raw + b"\x00", "longer than its header says"),
        (lambda raw: raw[:6], "header is cut short"),
    ],
)
def test_idx_errors(tmp_path: Path, damage, message: str) -> None:
    raw = idx_bytes(np.zeros((3, 28, 28), dtype=np.uint8))
    path = tmp_path / "x.gz"
    path.write_bytes(gzip.compress(damage(raw)))
    with pytest.raises(CorpusFormatError, match=message) as exc:
        read_idx(path, 3)
    assert isinstance(exc.value, UserError) and "download it again" in exc.value.hint


def test_truncated_gzip_and_label_count(tmp_path: Path) -> None:
    write_mnist(tmp_path, n=5)
    path = tmp_path / "train-images-idx3-ubyte.gz"
    whole = path.read_bytes()
    path.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(CorpusFormatError, match="gzip"):
        load_images("mnist", data_dir=tmp_path, download=False)
    path.write_bytes(whole)
    (tmp_path / "train-labels-idx1-ubyte.gz").write_bytes(gzip.compress(idx_bytes(np.zeros(4, np.uint8))))
    with pytest.raises(CorpusFormatError, match="5 images but .* 4 labels"):
        load_images("mnist", data_dir=tmp_path, download=False)


def test_data_dir_env_is_searched(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_mnist(tmp_path / "env" / "mnist", split="test", n=3)
    monkeypatch.setenv("CHARGAN_DATA_DIR", str(tmp_path / "env"))
    assert load_images("mnist", split="test", download=False).images.shape == (3, 1, 28, 28)


# ---------------------------------------------------------------- CIFAR-10


def test_cifar_reads_official_python2_layout(tmp_path: Path) -> None:
    folder, train = write_cifar(tmp_path)
    data = load_images("cifar10", data_dir=tmp_path, download=False)
    assert data.images.shape == (20, 3, 32, 32) and data.images.dtype == np.uint8
    # Row layout: 1024 red, then 1024 green, then 1024 blue values, each row-major.
    assert np.array_equal(data.images.reshape(20, -1), train)
    assert data.source == folder.resolve()
    assert load_images("cifar10", data_dir=folder, split="test", download=False).images.shape == (4, 3, 32, 32)


def test_cifar_reads_numpy2_and_protocol5_pickles(tmp_path: Path) -> None:
    data = np.arange(2 * 3072, dtype=np.uint64).astype(np.uint8).reshape(2, 3072)
    for i, payload in enumerate([cifar_batch_bytes(data, [1, 2], module=b"numpy._core.multiarray"),
                                 pickle.dumps({"data": data, "labels": [1, 2]}, protocol=5)]):
        path = tmp_path / f"batch{i}"
        path.write_bytes(payload)
        images, labels = read_cifar_batch(path)
        assert np.array_equal(images.reshape(2, -1), data) and labels.tolist() == [1, 2]


def test_cifar_reads_a_protocol_2_pickle_written_by_python_3(tmp_path: Path) -> None:
    """Python 3 writes bytes in protocol 2 as ``_codecs.encode(text, "latin1")``: legitimate, and read."""
    data = np.arange(2 * 3072, dtype=np.uint64).astype(np.uint8).reshape(2, 3072)
    payload = pickle.dumps({b"batch_label": b"training batch 1 of 5", b"data": data, b"labels": [3, 4]}, protocol=2)
    assert b"_codecs" in payload
    path = tmp_path / "batch"
    path.write_bytes(payload)
    images, labels = read_cifar_batch(path)
    assert np.array_equal(images.reshape(2, -1), data) and labels.tolist() == [3, 4]
    # Only that call: another codec, or a non-str argument, is refused.
    for codec in (b"rot13", b"zlib"):
        evil = b"\x80\x02c_codecs\nencode\nq\x00X\x01\x00\x00\x00xq\x01X" + bytes([len(codec)]) + b"\x00\x00\x00" + codec + b"\x86q\x02Rq\x03."
        with pytest.raises(ForbiddenGlobal, match="only latin-1 text"):
            SafeUnpickler(io.BytesIO(evil), encoding="bytes").load()


class _Exploit:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_malicious_pickle_is_refused(tmp_path: Path) -> None:
    folder, _ = write_cifar(tmp_path)
    marker = tmp_path / "pwned"
    (folder / "data_batch_3").write_bytes(pickle.dumps({"data": _Exploit(marker), "labels": []}, protocol=2))
    with pytest.raises(CorpusFormatError, match=r"refusing to read .*data_batch_3.*system") as exc:
        load_images("cifar10", data_dir=tmp_path, download=False)
    assert not marker.exists()
    assert "not the official file" in exc.value.hint
    # The unpickler itself, on other dangerous globals:
    for payload in (b"cbuiltins\neval\n(S'1+1'\ntR.", b"\x80\x02cnumpy.lib.npyio\nload\nq\x00."):
        with pytest.raises(ForbiddenGlobal, match="refused"):
            SafeUnpickler(io.BytesIO(payload), encoding="bytes").load()


@pytest.mark.parametrize(
    "payload, message",
    [
        (lambda good: good[: len(good) // 2], "truncated or corrupt pickle"),
        (lambda good: b"not a pickle at all", "corrupt"),
        (lambda good: pickle.dumps([1, 2, 3], protocol=2), "holds a list, not a dict"),
        (lambda good: pickle.dumps({b"data": np.zeros((2, 100), np.uint8), b"labels": [0, 1]}), r"shape \(n, 3072\)"),
        (lambda good: pickle.dumps({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0]}), "2 class ids"),
        (lambda good: pickle.dumps({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0, 12]}), "in 0..9"),
    ],
)
def test_cifar_batch_errors(tmp_path: Path, payload, message: str) -> None:
    good = cifar_batch_bytes(np.zeros((2, 3072), np.uint8), [0, 1])
    path = tmp_path / "data_batch_1"
    path.write_bytes(payload(good))
    with pytest.raises(CorpusFormatError, match=message):
        read_cifar_batch(path)


def test_cifar_missing_batches_are_named(tmp_path: Path) -> None:
    folder, _ = write_cifar(tmp_path)
    (folder / "data_batch_2").unlink()
    (folder / "data_batch_5").unlink()
    with pytest.raises(CorpusFormatError, match="missing data_batch_2, data_batch_5"):
        locate_cifar10(tmp_path)
    with pytest.raises(CorpusNotFoundError, match="not found in any of") as exc:
        locate_cifar10(tmp_path / "elsewhere")
    assert CIFAR10_TARBALL in exc.value.hint


# ---------------------------------------------------------------- download


class _Files(http.server.BaseHTTPRequestHandler):
    files: dict[str, bytes] = {}

    def do_GET(self) -> None:  # noqa: N802  (http.server's naming)
        body = self.files.get(self.path)
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[tuple[str, dict[str, bytes]]]:
    """A local HTTP server: ``(base URL, files)``; put bytes into ``files['/name']``."""
    files: dict[str, bytes] = {}
    handler = type("Handler", (_Files,), {"files": files})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", files
    finally:
        httpd.shutdown()
        httpd.server_close()


def _sha(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


def test_download_cifar_tarball(tmp_path: Path, server) -> None:
    base, files = server
    files["/cifar.tgz"] = tarball = cifar_tarball(tmp_path)
    data_dir = tmp_path / "data"
    data = load_images("cifar10", data_dir=data_dir, url=f"{base}/cifar.tgz", sha256=_sha(tarball),
                       progress=False, echo=lambda s: None)
    assert data.images.shape == (20, 3, 32, 32)
    assert sorted(p.name for p in data_dir.iterdir()) == [CIFAR10_DIRNAME]  # tarball deleted, nothing else


def test_download_checksum_mismatch_leaves_nothing(tmp_path: Path, server) -> None:
    base, files = server
    files["/cifar.tgz"] = cifar_tarball(tmp_path)
    data_dir = tmp_path / "data"
    with pytest.raises(CorpusError, match="checksum mismatch"):
        fetch_cifar10(data_dir, url=f"{base}/cifar.tgz", sha256="0" * 64, progress=False, echo=lambda s: None)
    assert not any(data_dir.iterdir())
    # The official checksum is the default: a fabricated tarball is refused too.
    with pytest.raises(CorpusError, match="checksum mismatch"):
        fetch_cifar10(data_dir, url=f"{base}/cifar.tgz", progress=False, echo=lambda s: None)


def test_download_mnist(tmp_path: Path, server) -> None:
    base, files = server
    src = tmp_path / "src"
    images, _ = write_mnist(src, n=6)
    sums = {}
    for name in MNIST_FILES["train"]:
        files[f"/mirror/{name}"] = (src / name).read_bytes()
        sums[name] = _sha(files[f"/mirror/{name}"])
    data_dir = tmp_path / "data"
    data = load_images("mnist", data_dir=data_dir, url=f"{base}/mirror/", sha256=sums, progress=False, echo=lambda s: None)
    assert np.array_equal(data.images[:, 0], images)
    assert sorted(p.name for p in (data_dir / "mnist").iterdir()) == sorted(MNIST_FILES["train"])
    # The official checksums apply by default: the fabricated files do not match them.
    with pytest.raises(CorpusError, match="checksum mismatch"):
        fetch_mnist(tmp_path / "other", base_url=f"{base}/mirror", progress=False, echo=lambda s: None)
    assert not any((tmp_path / "other" / "mnist").iterdir())
    # split=None fetches both splits; files already there are kept.
    write_mnist(src, split="test", n=3)
    for name in MNIST_FILES["test"]:
        files[f"/mirror/{name}"] = (src / name).read_bytes()
        sums[name] = _sha(files[f"/mirror/{name}"])
    fetch_mnist(data_dir, split=None, base_url=f"{base}/mirror", sha256=sums, progress=False, echo=lambda s: None)
    assert len(list((data_dir / "mnist").iterdir())) == 4
    assert load_images("mnist", data_dir=data_dir, split="test", download=False).images.shape == (3, 1, 28, 28)


def test_cli_data_download_cifar10(tmp_path: Path, server) -> None:
    from click.testing import CliRunner

    from chargan.cli.main import cli

    base, files = server
    files["/cifar.tgz"] = tarball = cifar_tarball(tmp_path)
    data_dir = tmp_path / "data"
    args = ["data", "download", "cifar10", "--data-dir", str(data_dir), "--url", f"{base}/cifar.tgz", "--no-progress"]
    refused = CliRunner().invoke(cli, args)  # the official checksum does not match a fabricated tarball
    assert refused.exit_code == 1 and "checksum mismatch" in refused.output and "Traceback" not in refused.output
    done = CliRunner().invoke(cli, [*args, "--checksum", f"sha256:{_sha(tarball)}"])
    assert done.exit_code == 0, done.output
    assert "train with: chargan train --config cifar10" in done.output
    assert load_images("cifar10", data_dir=data_dir, download=False).images.shape == (20, 3, 32, 32)
    mnist_checksum = CliRunner().invoke(cli, ["data", "download", "mnist", "--checksum", f"sha256:{'0' * 64}"])
    assert mnist_checksum.exit_code == 2 and "four files" in mnist_checksum.output
