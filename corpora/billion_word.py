"""The One Billion Word benchmark (Chelba et al. 2013) in its official layout.

The tarball from http://www.statmt.org/lm-benchmark/ unpacks to::

    1-billion-word-language-modeling-benchmark-r13output/
        training-monolingual.tokenized.shuffled/news.en-000NN-of-00100   NN = 01..99
        heldout-monolingual.tokenized.shuffled/news.en.heldout-000NN-of-00050

The reference script (Gulrajani et al. 2017, ``language_helpers.py``) reads the
training shards 1..99 in order; so does `BillionWordSource`.

Where the corpus is looked for, first match wins:

1. the ``data_dir`` argument (``--data-dir``), when given; an explicit folder
   that does not hold the corpus is an error, it never falls through to the
   places below;
2. ``$CHARGAN_DATA_DIR``;
3. the per-user data folder ``<cache root>/data`` (see `chargan.corpora.locations`).

Each of those may be the unpacked ``1-billion-word-...-r13output`` folder itself
or its parent (the folder the tarball was unpacked in).

Shards: the shards present must be exactly 1..k for some k (a prefix of the
corpus, e.g. a trimmed copy); a gap (say shards 1, 2 and 4) means a broken
copy and is an error naming the missing shards. An empty shard is an error.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from chargan.corpora.errors import CorpusFormatError, CorpusNotFoundError
from chargan.corpora.locations import DATA_ENV, data_dir_from_env, user_data_dir
from chargan.corpora.sources import FileSource

ROOT_DIRNAME = "1-billion-word-language-modeling-benchmark-r13output"
TRAIN_DIRNAME = "training-monolingual.tokenized.shuffled"
HELDOUT_DIRNAME = "heldout-monolingual.tokenized.shuffled"
TARBALL = f"{ROOT_DIRNAME}.tar.gz"
HOMEPAGE = "http://www.statmt.org/lm-benchmark/"
#: Training shards of the full corpus (news.en-00001-of-00100 .. news.en-00099-of-00100).
N_TRAIN_SHARDS = 99
N_HELDOUT_SHARDS = 50

_TRAIN_RE = re.compile(r"news\.en-(\d{5})-of-00100")
_HELDOUT_RE = re.compile(r"news\.en\.heldout-(\d{5})-of-00050")


def train_shard_name(i: int) -> str:
    return f"news.en-{i:05d}-of-00100"


def heldout_shard_name(i: int) -> str:
    return f"news.en.heldout-{i:05d}-of-00050"


def looks_like_billion_word(root: Path) -> bool:
    """Whether ``root`` is an unpacked benchmark folder (it has the training folder)."""
    return (root / TRAIN_DIRNAME).is_dir()


def _candidates(base: Path) -> list[Path]:
    """The two accepted forms of a folder: the corpus root itself, or its parent."""
    base = base.expanduser()
    forms = [base, base / ROOT_DIRNAME]
    if base.name == TRAIN_DIRNAME:  # pointed at the training folder itself
        forms.append(base.parent)
    return forms


def _download_hint(data_dir_given: bool, cache_dir: str | os.PathLike[str] | None) -> str:
    """Short lines (`UserError` prints them under ``hint:``), not one long one."""
    fetch = "`chargan data download billion_word{}` fetches, verifies and unpacks it (1.8 GB);"
    by_hand = [f"or download {TARBALL}", f"from {HOMEPAGE} and unpack it with `tar -xzf`"]
    if data_dir_given:
        lines = [f"--data-dir must be the unpacked {ROOT_DIRNAME} folder or the folder holding it;",
                 fetch.format(" --data-dir FOLDER"), *by_hand]
    else:
        lines = [fetch.format(""), *by_hand[:1], f"{by_hand[1]}, then pass --data-dir FOLDER (the unpacked folder or the one",
                 f"holding it), set {DATA_ENV}=FOLDER, or unpack it into {user_data_dir(cache_dir)}"]
    return "\n        ".join(lines)  # aligned under the first line, after "  hint: "


def locate_billion_word(
    data_dir: str | os.PathLike[str] | None = None, cache_dir: str | os.PathLike[str] | None = None
) -> Path:
    """The unpacked benchmark folder (the one holding ``training-monolingual...``).

    Raises `CorpusNotFoundError` naming every place it looked.
    """
    looked: list[str] = []
    if data_dir is not None:
        bases = [(Path(data_dir), "data_dir")]
    else:
        bases = []
        env = data_dir_from_env()
        if env is None:
            looked.append(f"${DATA_ENV} (not set)")
        else:
            bases.append((env, f"${DATA_ENV}"))
        bases.append((user_data_dir(cache_dir), "per-user data folder"))
    for base, label in bases:
        for cand in _candidates(base):
            if looks_like_billion_word(cand):
                return cand.resolve()
            looked.append(f"{cand} ({label})")
    raise CorpusNotFoundError(
        f"One Billion Word corpus not found: no {TRAIN_DIRNAME}/ folder in any of: " + "; ".join(looked),
        hint=_download_hint(data_dir is not None, cache_dir),
    )


def _numbered(folder: Path, pattern: re.Pattern[str]) -> dict[int, Path]:
    try:
        names = os.listdir(folder)
    except OSError as exc:
        raise CorpusNotFoundError(f"cannot list {folder}: {exc.strerror or exc}") from None
    found = {}
    for name in names:
        m = pattern.fullmatch(name)
        if m:
            found[int(m.group(1))] = folder / name
    return found


def _ranges(numbers: list[int]) -> str:
    """[3, 4, 5, 9] -> '3-5, 9'."""
    out: list[str] = []
    start = prev = None
    for n in [*numbers, None]:
        if start is not None and (n is None or n != prev + 1):
            out.append(str(start) if start == prev else f"{start}-{prev}")
            start = None
        if n is not None and start is None:
            start = n
        prev = n
    return ", ".join(out)


def training_shards(root: Path) -> list[Path]:
    """The training shards 1..k of a benchmark folder, validated (see the module docstring)."""
    folder = root / TRAIN_DIRNAME
    found = {i: p for i, p in _numbered(folder, _TRAIN_RE).items() if 1 <= i <= N_TRAIN_SHARDS}
    if not found:
        raise CorpusNotFoundError(
            f"no One Billion Word training shards "
            f"({train_shard_name(1)} .. {train_shard_name(N_TRAIN_SHARDS)}) in {folder}",
            hint=f"unpack {TARBALL} from {HOMEPAGE} again; the training folder should hold 99 shards",
        )
    k = max(found)
    missing = [i for i in range(1, k + 1) if i not in found]
    if missing:
        names = ", ".join(train_shard_name(i) for i in missing[:10]) + (
            f" and {len(missing) - 10} more" if len(missing) > 10 else ""
        )
        raise CorpusNotFoundError(
            f"One Billion Word training shards missing in {folder}: {names} "
            f"(shards {_ranges(missing)} of 1-{k}; found {len(found)}); the shards present must be 1..k with no gaps",
            hint=f"unpack {TARBALL} again (the full corpus has shards 1-{N_TRAIN_SHARDS}); "
            "to use part of the corpus, keep shards 1..k, or use --max-lines",
        )
    shards = [found[i] for i in range(1, k + 1)]
    for path in shards:
        try:
            size = path.stat().st_size
        except OSError as exc:
            raise CorpusNotFoundError(f"cannot read {path}: {exc.strerror or exc}") from None
        if size == 0:
            raise CorpusFormatError(
                f"One Billion Word training shard {path.name} is empty (0 bytes): {path}",
                hint=f"the copy is damaged; unpack {TARBALL} from {HOMEPAGE} again",
            )
    return shards


def heldout_shards(root: Path) -> list[Path]:
    """The heldout shards present, in order (not validated; the training corpus does not use them)."""
    folder = root / HELDOUT_DIRNAME
    if not folder.is_dir():
        return []
    found = _numbered(folder, _HELDOUT_RE)
    return [found[i] for i in sorted(found)]


class BillionWordSource(FileSource):
    """The training shards 1..k of the benchmark, read in order."""

    kind = "billion_word"
    name = "billion_word"
    slug = "billion_word"

    def __init__(self, root: Path, errors: str = "strict") -> None:
        super().__init__(training_shards(root), errors)
        self.root = root
        self.identity = f"billion_word:{root}"

    def on_empty_file(self, path: Path) -> None:
        raise CorpusFormatError(
            f"One Billion Word training shard {path.name} holds no text lines: {path}",
            hint=f"the copy is damaged; unpack {TARBALL} from {HOMEPAGE} again",
        )

    def describe(self, n_lines: int, limited: bool = False) -> str:
        k = len(self.files)
        shards = f"training shards 1-{k}" if k == N_TRAIN_SHARDS else f"training shards 1-{k} of {N_TRAIN_SHARDS}"
        return f"One Billion Word benchmark, {shards}, {'first ' * limited}{n_lines:,} sentences ({self.root})"
