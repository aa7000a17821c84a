"""Deprecated: the subword vocabulary moved to `chargan.corpora.units` (``pieces``).

Every name this module had (`SubwordVocabulary`, `AnyVocabulary`,
`load_vocabulary`, `MAX_PIECE_CHARS`, `TRAIN_SAMPLE_LINES`, `FORMAT`, ...) is
still found here, with a `DeprecationWarning`: import it from
`chargan.corpora.units`.
"""

from __future__ import annotations

import warnings
from typing import Any

from chargan.corpora import units as _units
from chargan.corpora.units import pieces as _home


def __getattr__(name: str) -> Any:
    # load_vocabulary now reads every kind of vocabulary, so it lives in the package, not in ``pieces``.
    home = _units if name == "load_vocabulary" else _home
    if name.startswith("__") or not hasattr(home, name):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    warnings.warn("chargan.text.subword is deprecated; import from chargan.corpora.units",
                  DeprecationWarning, stacklevel=2)
    return getattr(home, name)
