"""Configs made of frozen dataclass sections (``model``, ``data``, ``train``, ``eval``).

Every family's config is a frozen dataclass holding one frozen dataclass per
section. These helpers do the three generic jobs on such configs: rebuild a
section from its JSON form (``config.json``), apply flat overrides such as
``lr=2e-4`` or ``dim=128`` to whichever section owns the name (what the
command-line flags give), and list the flat names a config accepts.
"""

from __future__ import annotations

import dataclasses
from dataclasses import replace
from typing import Any, TypeVar

from chargan.errors import UserError

T = TypeVar("T")
SECTIONS = ("model", "data", "train", "eval")


def build_section(cls: type[T], values: dict[str, Any], base: T | None = None) -> T:
    """``cls`` from the JSON dict ``values`` (missing fields from ``base`` or the defaults).

    Raises ``TypeError`` naming unknown fields. JSON has no tuples: lists are
    turned back into tuples (``betas``, n-gram ``orders``).
    """
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = set(values) - names
    if unknown:
        raise TypeError(f"unknown {cls.__name__} fields: {', '.join(sorted(unknown))}")
    fixed = {k: tuple(v) if isinstance(v, list) else v for k, v in values.items()}
    return replace(base, **fixed) if base is not None else cls(**fixed)


def check_sections(data: Any, what: str) -> None:
    """`UserError` unless ``data`` is a dict whose sections (where present) are dicts."""
    if not isinstance(data, dict) or not all(isinstance(data.get(k, {}), dict) for k in SECTIONS):
        raise UserError(f"config is not a chargan {what} configuration "
                        f"(expected an object with {', '.join(SECTIONS)})")


def _owners(config: Any) -> dict[str, list[str]]:
    owners: dict[str, list[str]] = {}
    for section in SECTIONS:
        for f in dataclasses.fields(getattr(config, section)):
            owners.setdefault(f.name, []).append(section)
    return owners


def flat_names(config: Any, aliases: dict[str, tuple[str, str]]) -> set[str]:
    """The flat names `with_flat_overrides` accepts for ``config``: unambiguous fields plus ``aliases``."""
    return {name for name, sections in _owners(config).items() if len(sections) == 1} | set(aliases)


def with_flat_overrides(config: T, aliases: dict[str, tuple[str, str]], what: str, **overrides: Any) -> T:
    """Apply flat overrides to whichever section owns each name; ``None`` values are ignored.

    ``aliases`` maps a flat name to ``(section, field)`` for names several
    sections share (``seed``) or that differ from the field (``eval_seed``).
    An unknown or ambiguous name is a `UserError` naming it.
    """
    owners = _owners(config)
    changes: dict[str, dict[str, Any]] = {}
    for key, value in overrides.items():
        if value is None:
            continue
        if key in aliases:
            section, name = aliases[key]
        elif len(owners.get(key, [])) == 1:
            section, name = owners[key][0], key
        else:
            raise UserError(f"{key.replace('_', '-')} is not a setting of the {what} configs")
        changes.setdefault(section, {})[name] = value
    return replace(config, **{s: replace(getattr(config, s), **v) for s, v in changes.items()})
