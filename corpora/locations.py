"""Where chargan keeps its per-user files.

The *cache root* is, first match wins:

1. the ``cache_dir`` argument of `load_corpus`,
2. ``$CHARGAN_CACHE_DIR``,
3. ``$XDG_CACHE_HOME/chargan`` (when that variable holds an absolute path),
4. ``~/.cache/chargan``.

Under it, ``corpora/`` holds encoded corpora (see `chargan.corpora.cache`) and
``data/`` is the per-user data folder, the last place the One Billion Word
reader looks for the unpacked benchmark.
"""

from __future__ import annotations

import os
from pathlib import Path

#: Environment variable naming the cache root.
CACHE_ENV = "CHARGAN_CACHE_DIR"
#: Environment variable naming a folder that holds downloaded corpora.
DATA_ENV = "CHARGAN_DATA_DIR"


def _env_path(name: str) -> Path | None:
    value = os.environ.get(name, "").strip()
    return Path(value).expanduser() if value else None


def cache_root(cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """The cache root (see the module docstring for the order of precedence)."""
    if cache_dir is not None:
        return Path(cache_dir).expanduser()
    env = _env_path(CACHE_ENV)
    if env is not None:
        return env
    xdg = _env_path("XDG_CACHE_HOME")
    if xdg is not None and xdg.is_absolute():
        return xdg / "chargan"
    return Path.home() / ".cache" / "chargan"


def corpora_cache_dir(cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """Folder holding one sub-folder per encoded corpus."""
    return cache_root(cache_dir) / "corpora"


def user_data_dir(cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """The per-user data folder (``<cache root>/data``)."""
    return cache_root(cache_dir) / "data"


def data_dir_from_env() -> Path | None:
    """``$CHARGAN_DATA_DIR`` as a path, or None when unset or empty."""
    return _env_path(DATA_ENV)
