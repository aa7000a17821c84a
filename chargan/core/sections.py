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
from typing import Any, TypeVar, get_type_hints

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


def validate_sections(config: Any) -> None:
    """Validate each section of ``config`` in order (each raises `UserError` naming its first bad value)."""
    for section in SECTIONS:
        getattr(config, section).validate()


def config_from_dict(cls: type[T], data: Any, what: str) -> T:
    """The sectioned config ``cls`` from its JSON form (``config.json``).

    Each section is rebuilt with `build_section` from that field's default
    (so a family's own defaults, such as the toy's optimization settings,
    fill what is missing); plain fields (a preset's name) are taken as they
    are or keep their defaults. Anything that does not fit is a `UserError`.
    """
    check_sections(data, what)
    types = get_type_hints(cls)
    values: dict[str, Any] = {}
    try:
        for f in dataclasses.fields(cls):
            if f.name in SECTIONS:
                base = f.default if f.default is not dataclasses.MISSING else f.default_factory()
                values[f.name] = build_section(types[f.name], data.get(f.name, {}), base=base)
            elif f.name in data:
                values[f.name] = data[f.name]
        return cls(**values)
    except (TypeError, ValueError) as exc:
        raise UserError(f"config does not match this version of chargan: {exc}") from None


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
