"""Errors raised by the corpus layer.

Every mistake a user can fix (a missing corpus, a missing shard, a file that
is not UTF-8 text, a bad setting, a cache folder that cannot be written) is a
`CorpusError`, which is a `chargan.errors.UserError`: the CLI prints it as one
line plus a hint. Anything else escaping this package is a bug.
"""

from __future__ import annotations

from chargan.errors import UserError


class CorpusError(UserError):
    """A corpus cannot be found, read, encoded or cached."""


class CorpusNotFoundError(CorpusError):
    """The corpus (or a part of it) is not where it was looked for."""


class CorpusFormatError(CorpusError):
    """A corpus file exists but is not usable text (not UTF-8, binary, empty)."""


def checked_int(name: str, value: object, minimum: int, maximum: int | None = None) -> int:
    """``value`` when it is an int in ``minimum..maximum``, else a `CorpusError` naming the setting."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise CorpusError(f"{name} must be an integer, got {value!r}")
    if value < minimum or (maximum is not None and value > maximum):
        bound = f"at least {minimum}" if maximum is None else f"between {minimum} and {maximum}"
        raise CorpusError(f"{name} must be {bound}, got {value}")
    return int(value)
