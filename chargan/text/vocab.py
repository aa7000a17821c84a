"""Deprecated: the character vocabulary moved to `chargan.corpora.units` (``chars``).

Every name this module had (`Vocabulary`, `CharCounts`, `VocabularyError`,
`read_vocabulary_file`, `PAD_ID`, `UNK_ID`, `UNK_DISPLAY`) is still found
here, with a `DeprecationWarning`: import it from `chargan.corpora.units`.
"""

from __future__ import annotations

import warnings
from typing import Any

from chargan.corpora.units import chars as _home


def __getattr__(name: str) -> Any:
    if name.startswith("__") or not hasattr(_home, name):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    warnings.warn("chargan.text.vocab is deprecated; import from chargan.corpora.units",
                  DeprecationWarning, stacklevel=2)
    return getattr(_home, name)
