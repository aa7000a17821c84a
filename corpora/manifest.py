"""A cache folder's key and manifest: what makes a cache the one asked for, and how it is listed.

The key is the SHA-256 of the source fingerprint (every file's path, size and
mtime; for the demo, the Python version and a hash of its help text), the
settings (seq_len, max_lines, units, the unit kind's vocabulary entries,
errors) and `FORMAT_VERSION`, so a cache written by an older version or under
other settings is never mistaken for the one asked for. The manifest records
the key with everything needed to check the folder and to describe it.
"""

from __future__ import annotations

import json
import os
import time
from datetime import datetime, timezone
from pathlib import Path

from chargan.corpora.locations import corpora_cache_dir
from chargan.corpora.sources import CorpusSource, digest
from chargan.corpora.units import UnitVocabulary

FORMAT = "chargan.corpus/1"
#: Bump when the cache layout or the encoding rules change. Version 2: units
#: (characters or subword pieces) and the UTF-8 error policy in the settings.
FORMAT_VERSION = 2

IDS_FILE = "ids.npy"
LINES_FILE = "lines.txt"
VOCAB_FILE = "vocab.json"
MANIFEST_FILE = "manifest.json"


class CacheInvalid(Exception):
    """A cache folder that must not be used (internal; it is rebuilt)."""


def cache_key(source: CorpusSource, fingerprint: str, settings: dict) -> str:
    """The 64-hex-digit key of ``source`` (fingerprint digest ``fingerprint``) encoded under ``settings``."""
    return digest(
        {
            "format_version": FORMAT_VERSION,
            "kind": source.kind,
            "identity": source.identity,
            "fingerprint": fingerprint,
            "settings": settings,
        }
    )


def read_manifest(path: Path) -> dict:
    """The manifest of the cache folder ``path``; `CacheInvalid` when missing, unreadable or foreign."""
    try:
        manifest = json.loads((path / MANIFEST_FILE).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CacheInvalid("manifest.json is missing") from None
    except (OSError, ValueError) as exc:
        raise CacheInvalid(f"manifest.json is unreadable ({exc})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise CacheInvalid(f"manifest.json is not a {FORMAT} manifest")
    return manifest


def write_manifest(
    folder: Path,
    source: CorpusSource,
    *,
    key: str,
    fingerprint_data: dict,
    settings: dict,
    n_lines: int,
    vocab: UnitVocabulary,
    replaced: dict | None,
    started: float,
    extra: dict | None = None,
) -> None:
    """Write ``manifest.json`` into a folder whose ids, lines and vocabulary are complete.

    ``replaced`` is the invalid-UTF-8 report (or None), ``started`` the
    build's start (``time.time()``), ``extra`` the source's own fields (a
    sequence file's counts of dropped records), added as they are.
    """
    max_lines = settings["max_lines"]
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "key": key,
        "name": source.name,
        "description": source.describe(n_lines, limited=max_lines is not None and n_lines == max_lines),
        "identity": source.identity,
        "source": source.source_info(digest(fingerprint_data)),
        "fingerprint_data": fingerprint_data,
        "settings": settings,
        "n_lines": n_lines,
        "seq_len": settings["seq_len"],
        "units": settings["units"],
        "dtype": vocab.dtype.name,
        "vocab_size": len(vocab),
        "replaced_utf8": replaced,
        "ids_bytes": (folder / IDS_FILE).stat().st_size,
        "lines_bytes": (folder / LINES_FILE).stat().st_size,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "build_seconds": round(time.time() - started, 3),
        **(extra or {}),
    }
    (folder / MANIFEST_FILE).write_text(json.dumps(manifest, indent=1, ensure_ascii=False), encoding="utf-8")


def list_caches(cache_dir: str | os.PathLike[str] | None = None) -> list[dict]:
    """The manifests of every complete encoded corpus in the cache, newest first.

    Each dict is a cache manifest plus ``path`` (the cache folder).
    """
    found = []
    root = corpora_cache_dir(cache_dir)
    for manifest_path in root.glob(f"*/{MANIFEST_FILE}") if root.is_dir() else []:
        try:
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue  # unreadable: rebuilt the next time that corpus loads
        if isinstance(manifest, dict) and manifest.get("format") == FORMAT:
            found.append({**manifest, "path": str(manifest_path.parent)})
    return sorted(found, key=lambda m: str(m.get("created", "")), reverse=True)
