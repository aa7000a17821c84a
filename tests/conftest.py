"""Shared fixtures.

Every test runs with ``$CHARGAN_CACHE_DIR`` pointing at a temporary folder
(one per test session, so the demo corpus is encoded once) and with
``$CHARGAN_DATA_DIR`` unset: no test reads or writes the user's real cache
or data. Tests that need an empty cache of their own use ``fresh_cache_dir``.

``billion_word_layout`` builds the official One Billion Word layout from the
real sample in ``../shared/corpora/billion_word/`` (two training shards), or
from generated sentences in the same format when that folder is absent.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest

SHARED_SAMPLE_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "corpora" / "billion_word"
SAMPLE_FILES = ("news.en.heldout-00010-00011.txt", "news.en.heldout-00012-00013.txt")

BW_ROOT = "1-billion-word-language-modeling-benchmark-r13output"
BW_TRAIN = "training-monolingual.tokenized.shuffled"
BW_HELDOUT = "heldout-monolingual.tokenized.shuffled"


def bw_train_name(i: int) -> str:
    return f"news.en-{i:05d}-of-00100"


def _generated_shard(seed: int, n_lines: int = 3000) -> bytes:
    """Tokenized news-like sentences, one per line (fallback for the real sample)."""
    rng = random.Random(seed)
    words = (
        "the of and to a in for is on that by with said it was as at from he his but be have has "
        "year new more would who which about after they two million percent government people "
        "President Obama police company market U.S. Monday week first last city team"
    ).split()
    out = []
    for _ in range(n_lines):
        sent = " ".join(rng.choice(words) for _ in range(rng.randint(4, 30)))
        out.append(sent[0].upper() + sent[1:] + rng.choice([" .", " .", " ?", " , he said ."]))
    return ("\n".join(out) + "\n").encode("utf-8")


@pytest.fixture
def one_thread() -> Iterator[None]:
    """Torch on one thread for the test: tiny models gain nothing from threads, and on a busy
    machine OpenMP's barriers cost 100x."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def billion_word_sample() -> tuple[bytes, bytes]:
    """The bytes of two training shards: the real sample when present, else generated."""
    paths = [SHARED_SAMPLE_DIR / name for name in SAMPLE_FILES]
    if all(p.is_file() for p in paths):
        return paths[0].read_bytes(), paths[1].read_bytes()
    return _generated_shard(1), _generated_shard(2)


@pytest.fixture
def billion_word_layout(tmp_path: Path, billion_word_sample: tuple[bytes, bytes]) -> Callable[..., Path]:
    """Factory: ``make(parent=None, shards=(1, 2), contents=None) -> corpus root``.

    Lays out ``<parent>/1-billion-word-language-modeling-benchmark-r13output/``
    with the given training shard numbers (contents default to the two sample
    files, cycled) and one heldout shard, and returns that root folder.
    ``contents`` maps a shard number to its bytes (``b""`` for an empty shard).
    """

    def make(
        parent: Path | None = None, shards: Sequence[int] = (1, 2), contents: dict[int, bytes] | None = None
    ) -> Path:
        parent = Path(parent) if parent is not None else tmp_path / "bw"
        root = parent / BW_ROOT
        train = root / BW_TRAIN
        train.mkdir(parents=True, exist_ok=True)
        for k, i in enumerate(shards):
            data = (contents or {}).get(i, billion_word_sample[k % len(billion_word_sample)])
            (train / bw_train_name(i)).write_bytes(data)
        heldout = root / BW_HELDOUT
        heldout.mkdir(exist_ok=True)
        (heldout / "news.en.heldout-00000-of-00050").write_bytes(
            billion_word_sample[1][:2000].rsplit(b"\n", 1)[0] + b"\n"
        )
        return root

    return make


@pytest.fixture
def billion_word_root(billion_word_layout: Callable[..., Path]) -> Path:
    """A Billion Word root folder with training shards 1 and 2 (the sample)."""
    return billion_word_layout()


@pytest.fixture(scope="session")
def _session_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("chargan-cache")


@pytest.fixture(autouse=True)
def chargan_cache_dir(_session_cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``$CHARGAN_CACHE_DIR`` -> a temporary folder shared by the session; data dir env unset."""
    monkeypatch.setenv("CHARGAN_CACHE_DIR", str(_session_cache_dir))
    monkeypatch.delenv("CHARGAN_DATA_DIR", raising=False)
    return _session_cache_dir


@pytest.fixture
def fresh_cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``$CHARGAN_CACHE_DIR`` -> an empty folder of this test's own."""
    path = tmp_path / "cache"
    path.mkdir()
    monkeypatch.setenv("CHARGAN_CACHE_DIR", str(path))
    return path
