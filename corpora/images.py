"""MNIST and CIFAR-10 in their official formats: find, fetch, read, check.

    from chargan.corpora.images import load_images
    data = load_images("cifar10")      # ImageSet: images (50000, 3, 32, 32) uint8
    data = load_images("mnist", data_dir="~/data", split="test")

Formats read:

- MNIST: the four idx files ``train-images-idx3-ubyte.gz``,
  ``train-labels-idx1-ubyte.gz``, ``t10k-images-idx3-ubyte.gz``,
  ``t10k-labels-idx1-ubyte.gz`` (gzip, or already unpacked without ``.gz``).
  An idx file is a big-endian header (two zero bytes, a type byte, 0x08 for
  unsigned bytes, the number of dimensions, then each size as a 32-bit
  integer) followed by the bytes; images have 3 dimensions (n, 28, 28),
  labels 1 (n,).
- CIFAR-10: ``cifar-10-batches-py/data_batch_1..5`` and ``test_batch``, each
  a Python pickle of a dict with ``b'data'`` (a (10000, 3072) uint8 array, the
  red, green and blue planes of 32x32 images in turn) and ``b'labels'``.
  ``pickle.load`` can run any code a file asks for, so these files go
  through `safe_pickle.SafeUnpickler`: it only rebuilds numpy arrays and dtypes.

Where the data is looked for is the same as for the text corpora (see
`chargan.corpora.billion_word`): ``data_dir`` when given (no fall-through),
else ``$CHARGAN_DATA_DIR``, then the per-user data folder. In each, MNIST may
lie in the folder itself or in ``mnist/``; CIFAR-10 is the unpacked
``cifar-10-batches-py/`` folder or the folder holding it.

`fetch_mnist` and `fetch_cifar10` download the official files through
`chargan.corpora.download.download` (resumable, SHA-256 checked, renamed into
place only when complete); every URL and checksum can be overridden.
"""

from __future__ import annotations

import gzip
import os
import pickle
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from chargan.corpora.archive import extract_tar
from chargan.corpora.download import default_data_dir, download, sha256_file
from chargan.corpora.errors import CorpusError, CorpusFormatError, CorpusNotFoundError
from chargan.corpora.locations import DATA_ENV, data_dir_from_env, user_data_dir
from chargan.corpora.safe_pickle import ForbiddenGlobal, safe_unpickle

DATASETS = ("mnist", "cifar10")
SPLITS = ("train", "test")

# ------------------------------------------------------------------ MNIST
#: The official files were at http://yann.lecun.com/exdb/mnist/, which no longer serves them
#: freely; this mirror (the one torchvision uses) serves the very same bytes.
MNIST_URL = "https://ossci-datasets.s3.amazonaws.com/mnist/"
#: (images, labels) file names of each split.
MNIST_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
#: SHA-256 of the official files (whose published MD5s are f68b3c2d..., d53e105e..., 9fb629c4..., ec29112d...).
MNIST_SHA256 = {
    "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
}
MNIST_DIRNAME = "mnist"
_IDX_UBYTE = 0x08

# --------------------------------------------------------------- CIFAR-10
CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
#: SHA-256 of the official tarball (170,498,071 bytes; published MD5 c58f30108f718f92721af3b95e74349a).
CIFAR10_SHA256 = "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce"
CIFAR10_TARBALL = "cifar-10-python.tar.gz"
CIFAR10_DIRNAME = "cifar-10-batches-py"
CIFAR10_FILES = {"train": tuple(f"data_batch_{i}" for i in range(1, 6)), "test": ("test_batch",)}


@dataclass(frozen=True)
class ImageSet:
    """A split of an image dataset, held in memory.

    ``images`` is ``(n, channels, height, width)`` uint8 (0..255), ``labels``
    ``(n,)`` int64 class ids; ``source`` is the folder it was read from.
    """

    dataset: str
    split: str
    images: np.ndarray
    labels: np.ndarray
    source: Path

    @property
    def description(self) -> str:
        n, c, h, w = self.images.shape
        return f"{self.dataset} {self.split} split: {n:,} images of {c}x{h}x{w} from {self.source}"


# ================================================================ locating
def _bases(data_dir: str | os.PathLike[str] | None) -> tuple[list[tuple[Path, str]], list[str]]:
    """The folders to search, with labels, and the places skipped (for the error message)."""
    if data_dir is not None:
        return [(Path(data_dir).expanduser(), "data_dir")], []
    bases, skipped = [], []
    env = data_dir_from_env()
    if env is None:
        skipped.append(f"${DATA_ENV} (not set)")
    else:
        bases.append((env, f"${DATA_ENV}"))
    bases.append((user_data_dir(), "per-user data folder"))
    return bases, skipped


def _check_choice(dataset: str, split: str) -> None:
    if dataset not in DATASETS:
        raise CorpusError(f"unknown image dataset {dataset!r}", hint=f"choose one of: {', '.join(DATASETS)}")
    if split not in SPLITS:
        raise CorpusError(f"unknown split {split!r} of {dataset}", hint=f"choose one of: {', '.join(SPLITS)}")


def _mnist_file(folder: Path, name: str) -> Path | None:
    """``name`` (gzip) or its unpacked twin in ``folder``, or None."""
    for candidate in (folder / name, folder / name.removesuffix(".gz")):
        if candidate.is_file():
            return candidate
    return None


def _not_found_hint(dataset: str, data_dir_given: bool) -> str:
    what = (f"the four MNIST idx .gz files from {MNIST_URL}" if dataset == "mnist"
            else f"{CIFAR10_TARBALL} from {CIFAR10_URL}, unpacked")
    where = "the --data-dir folder" if data_dir_given else f"--data-dir FOLDER, ${DATA_ENV} or {user_data_dir()}"
    return f"put {what} into {where}"


def locate_mnist(data_dir: str | os.PathLike[str] | None = None, split: str = "train") -> tuple[Path, Path]:
    """The (images, labels) idx files of ``split``; raises `CorpusNotFoundError` naming where it looked.

    A folder holding one of the two files but not the other is a
    `CorpusFormatError` naming the missing file (a half-copied dataset should
    not pass silently, nor be downloaded over).
    """
    _check_choice("mnist", split)
    names = MNIST_FILES[split]
    bases, looked = _bases(data_dir)
    for base, label in bases:
        for folder in (base, base / MNIST_DIRNAME):
            found = [_mnist_file(folder, name) for name in names]
            if all(found):
                return found[0], found[1]  # type: ignore[return-value]
            if any(found):
                missing = [name for name, path in zip(names, found) if path is None]
                raise CorpusFormatError(f"MNIST in {folder} is incomplete: {', '.join(missing)} is missing",
                                        hint=f"copy it there, or delete the folder's MNIST files and let chargan "
                                             f"download them from {MNIST_URL}")
            looked.append(f"{folder} ({label})")
    raise CorpusNotFoundError(f"MNIST {split} files ({' and '.join(names)}) not found in any of: " + "; ".join(looked),
                              hint=_not_found_hint("mnist", data_dir is not None))


def locate_cifar10(data_dir: str | os.PathLike[str] | None = None, split: str = "train") -> Path:
    """The ``cifar-10-batches-py`` folder holding every batch of ``split``.

    Raises `CorpusNotFoundError` naming every place it looked, or
    `CorpusFormatError` naming the batches missing from a
    ``cifar-10-batches-py`` folder.
    """
    _check_choice("cifar10", split)
    names = CIFAR10_FILES[split]
    bases, looked = _bases(data_dir)
    for base, label in bases:
        for folder in (base, base / CIFAR10_DIRNAME):
            present = [(folder / name).is_file() for name in names]
            if all(present):
                return folder.resolve()
            if folder.name == CIFAR10_DIRNAME and folder.is_dir():
                missing = [name for name, ok in zip(names, present) if not ok]
                raise CorpusFormatError(f"CIFAR-10 in {folder} is incomplete: missing {', '.join(missing)}",
                                        hint=f"delete {folder} and unpack {CIFAR10_TARBALL} again, "
                                             "or delete it and let chargan download it")
            looked.append(f"{folder} ({label})")
    raise CorpusNotFoundError(f"CIFAR-10 {split} batches ({', '.join(names)}) not found in any of: " + "; ".join(looked),
                              hint=_not_found_hint("cifar10", data_dir is not None))


# ================================================================ reading MNIST
def _corrupt(path: Path, why: str) -> CorpusFormatError:
    return CorpusFormatError(f"{path} is not a valid {why}",
                             hint=f"delete {path} and download it again (or let chargan download it)")


def _read_bytes(path: Path) -> bytes:
    """The file's bytes, gunzipped when it is gzip (by its magic bytes, not its name)."""
    try:
        raw = path.read_bytes()
        return gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise _corrupt(path, f"gzip file (truncated or damaged: {exc})") from None
    except OSError as exc:
        raise CorpusError(f"cannot read {path}: {exc.strerror or exc}") from None


def read_idx(path: str | os.PathLike[str], ndim: int) -> np.ndarray:
    """An idx file of unsigned bytes with ``ndim`` dimensions, as a uint8 array of that shape.

    Raises `CorpusFormatError` on a wrong magic number, a wrong number of
    dimensions, or a body shorter or longer than the header says.
    """
    path = Path(path)
    data = _read_bytes(path)
    header = 4 + 4 * ndim
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != _IDX_UBYTE or data[3] != ndim:
        magic = data[:4].hex() if len(data) >= 4 else "missing"
        raise _corrupt(path, f"idx file of unsigned bytes with {ndim} dimension(s): magic number {magic}, "
                             f"expected 0000{_IDX_UBYTE:02x}{ndim:02x}")
    if len(data) < header:
        raise _corrupt(path, f"idx file: its header is cut short ({len(data)} bytes)")
    shape = tuple(int(d) for d in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    expected = int(np.prod(shape, dtype=np.int64))
    if len(data) - header != expected:
        state = "truncated" if len(data) - header < expected else "longer than its header says"
        raise _corrupt(path, f"idx file: {state} ({len(data) - header:,} data bytes for shape {shape}, "
                             f"expected {expected:,})")
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(shape)


def read_mnist(images_path: str | os.PathLike[str], labels_path: str | os.PathLike[str]) -> tuple[np.ndarray, np.ndarray]:
    """Images ``(n, 1, 28, 28)`` uint8 and labels ``(n,)`` int64 from a pair of idx files."""
    images = read_idx(images_path, 3)
    labels = read_idx(labels_path, 1)
    if images.shape[1:] != (28, 28):
        raise _corrupt(Path(images_path), f"MNIST image file: images are {images.shape[1]}x{images.shape[2]}, not 28x28")
    if len(images) != len(labels):
        raise CorpusFormatError(f"{images_path} holds {len(images):,} images but {labels_path} {len(labels):,} labels",
                                hint="the two files come from different splits or copies; download both again")
    if labels.size and labels.max() > 9:
        raise _corrupt(Path(labels_path), "MNIST label file: labels must be digits 0..9")
    return images[:, None], labels.astype(np.int64)


# ============================================================ reading CIFAR-10
def read_cifar_batch(path: str | os.PathLike[str]) -> tuple[np.ndarray, np.ndarray]:
    """Images ``(n, 3, 32, 32)`` uint8 and labels ``(n,)`` int64 from one CIFAR-10 python batch.

    Raises `CorpusFormatError` for a truncated or corrupt pickle, one that
    asks for anything but numpy arrays, or a dict without a uint8
    ``b'data'`` of shape (n, 3072) and n ``b'labels'`` in 0..9.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise CorpusError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        batch = safe_unpickle(raw)
    except ForbiddenGlobal as exc:
        raise CorpusFormatError(f"refusing to read {path}: {exc} (a CIFAR-10 batch only holds numpy arrays; "
                                "this file could run code when loaded)",
                                hint=f"delete {path}: it is not the official file; download CIFAR-10 again") from None
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError, KeyError, MemoryError) as exc:
        raise _corrupt(path, f"CIFAR-10 python batch (truncated or corrupt pickle: {type(exc).__name__}: {exc})") from None
    if not isinstance(batch, dict):
        raise _corrupt(path, f"CIFAR-10 python batch (it holds a {type(batch).__name__}, not a dict)")
    data = batch.get(b"data", batch.get("data"))
    labels = batch.get(b"labels", batch.get("labels"))
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3 * 32 * 32:
        got = f"{data.dtype} {data.shape}" if isinstance(data, np.ndarray) else type(data).__name__
        raise _corrupt(path, f"CIFAR-10 python batch (b'data' must be a uint8 array of shape (n, 3072), got {got})")
    try:
        labels = np.asarray(labels, dtype=np.int64)
    except (TypeError, ValueError):
        labels = np.empty(0)
    if labels.shape != (len(data),) or (labels.size and (labels.min() < 0 or labels.max() > 9)):
        raise _corrupt(path, f"CIFAR-10 python batch (b'labels' must be {len(data):,} class ids in 0..9)")
    return data.reshape(-1, 3, 32, 32), labels


def read_cifar10(folder: str | os.PathLike[str], split: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """All batches of ``split`` in a ``cifar-10-batches-py`` folder, concatenated in order."""
    _check_choice("cifar10", split)
    parts = [read_cifar_batch(Path(folder) / name) for name in CIFAR10_FILES[split]]
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


# ================================================================ fetching
def _base(data_dir: str | os.PathLike[str] | None) -> Path:
    return Path(data_dir).expanduser() if data_dir is not None else default_data_dir()


def fetch_mnist(
    data_dir: str | os.PathLike[str] | None = None,
    split: str | None = "train",
    *,
    base_url: str = MNIST_URL,
    sha256: dict[str, str | None] | None = None,
    progress: bool = True,
    echo: Callable[[str], None] = print,
) -> Path:
    """Download the two idx files of ``split`` (all four with None) into ``<data_dir>/mnist/``; returns that folder.

    ``base_url`` is the folder URL the file names are appended to;
    ``sha256`` maps file names to expected SHA-256s (default: the official
    ones; a None value skips that check). Files already there are kept.
    """
    splits = SPLITS if split is None else (split,)
    for s in splits:
        _check_choice("mnist", s)
    checksums = {**MNIST_SHA256, **(sha256 or {})}
    folder = _base(data_dir) / MNIST_DIRNAME
    for name in (name for s in splits for name in MNIST_FILES[s]):
        if _mnist_file(folder, name) is not None:
            continue
        url = base_url.rstrip("/") + "/" + name
        echo(f"downloading {url}\n  to {folder / name}")
        download(url, folder / name, sha256=checksums.get(name), progress=progress)
    return folder


def fetch_cifar10(
    data_dir: str | os.PathLike[str] | None = None,
    *,
    url: str = CIFAR10_URL,
    sha256: str | None = CIFAR10_SHA256,
    progress: bool = True,
    echo: Callable[[str], None] = print,
    keep_archive: bool = False,
) -> Path:
    """Download, verify and unpack the CIFAR-10 python tarball into ``data_dir``; returns the batches folder.

    The tarball (163 MB) is unpacked safely (`chargan.corpora.archive.extract_tar`)
    and deleted afterwards unless ``keep_archive``; a tarball already in
    ``data_dir`` with the expected checksum is reused.
    """
    base = _base(data_dir)
    tarball = base / CIFAR10_TARBALL
    if tarball.is_file() and sha256 is not None and sha256_file(tarball) == sha256.lower().removeprefix("sha256:"):
        echo(f"using the already downloaded {tarball} (checksum verified)")
    else:
        echo(f"downloading CIFAR-10 from {url}\n  to {tarball}")
        download(url, tarball, sha256=sha256, progress=progress)
    extract_tar(tarball, base, progress=progress)
    if not keep_archive:
        tarball.unlink(missing_ok=True)
    try:
        return locate_cifar10(base, "train")
    except CorpusNotFoundError:
        raise CorpusFormatError(f"{url} did not unpack to {CIFAR10_DIRNAME}/ with every batch in {base}",
                                hint=f"check the URL: it should be the python version, {CIFAR10_TARBALL}") from None


# ================================================================ loading
def load_images(
    dataset: str,
    data_dir: str | os.PathLike[str] | None = None,
    split: str = "train",
    *,
    download: bool = True,
    progress: bool = True,
    echo: Callable[[str], None] = print,
    url: str | None = None,
    sha256: str | dict[str, str | None] | None = None,
) -> ImageSet:
    """A split of ``dataset`` ("mnist" or "cifar10"), fetched first when missing and ``download``.

    ``url`` and ``sha256`` override the download source (MNIST: the folder
    URL the file names are appended to, and a dict of per-file SHA-256s;
    CIFAR-10: the tarball URL and its SHA-256); unset, the official ones
    apply. Raises `CorpusNotFoundError` when the data is missing and
    ``download`` is False, `CorpusFormatError` when a file is damaged or a
    dataset folder incomplete.
    """
    _check_choice(dataset, split)
    locate = locate_mnist if dataset == "mnist" else locate_cifar10
    try:
        found = locate(data_dir, split)
    except CorpusNotFoundError as exc:
        if not download:
            raise CorpusNotFoundError(exc.message, hint=f"{exc.hint}; or drop --no-download to let chargan fetch it") from None
        name = "MNIST" if dataset == "mnist" else "CIFAR-10"
        echo(f"{name} is not on this machine: fetching it now (pass --no-download to stop instead)")
        if dataset == "mnist":
            fetch_mnist(data_dir, split, base_url=url or MNIST_URL, sha256=sha256 if isinstance(sha256, dict) else None,
                        progress=progress, echo=echo)
        else:
            fetch_cifar10(data_dir, url=url or CIFAR10_URL, sha256=sha256 if isinstance(sha256, str) else CIFAR10_SHA256,
                          progress=progress, echo=echo)
        found = locate(_base(data_dir), split)
    if dataset == "mnist":
        images, labels = read_mnist(*found)
        source = found[0].parent.resolve()
    else:
        images, labels = read_cifar10(found, split)
        source = found
    if len(images) == 0:
        raise CorpusFormatError(f"the {dataset} {split} split in {source} holds no images", hint="download it again")
    return ImageSet(dataset, split, images, labels, source)
