"""`chargan train`'s setting flags, read from the families' config declarations.

Every flat setting of every family's config (`chargan.core.config.setting`)
becomes one flag, named as the setting (``lambda_gp`` -> ``--lambda-gp``),
with its range or choices as the click type and its help. A flag several
families share (``--dim``) is one option whose help names each family's
meaning where they differ. The flags default to None: an unset flag keeps
the selected config's value.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from chargan.core.config import Setting
from chargan.families import CONFIGS, DEFAULT_CONFIG, FAMILIES


def family_settings() -> dict[str, dict[str, Setting]]:
    """Setting name -> {family name -> that family's setting}, for the settings shown as flags."""
    merged: dict[str, dict[str, Setting]] = {}
    for name, family in FAMILIES.items():
        for setting in family.Config.settings().values():
            if setting.cli:
                merged.setdefault(setting.name, {})[name] = setting
    return merged


def _click_type(settings: list[Setting]) -> click.ParamType:
    s = settings[0]
    if any((t.type, t.min, t.max, t.choices) != (s.type, s.min, s.max, s.choices) for t in settings):
        # The families disagree on the range (a text split is free, an image split a choice): the
        # loosest type here, and the selected config's own check after.
        return click.INT if s.type is int else click.FLOAT if s.type is float else click.STRING
    if s.choices is not None:
        return click.Choice([str(c) for c in s.choices])
    if s.type is int and (s.min is not None or s.max is not None):
        return click.IntRange(s.min, s.max, min_open=s.min_open, max_open=s.max_open)  # type: ignore[arg-type]
    if s.type is float and (s.min is not None or s.max is not None):
        return click.FloatRange(s.min, s.max, min_open=s.min_open, max_open=s.max_open)
    return {int: click.INT, float: click.FLOAT}.get(s.type, click.STRING)


def _help(by_family: dict[str, Setting]) -> str:
    """The setting's help; prefixed by family where only some families have it or they mean different things."""
    helps = {family: s.help for family, s in by_family.items()}
    if len(by_family) == len(FAMILIES) and len(set(helps.values())) == 1:
        return next(iter(helps.values()))
    return " ".join(f"{family}: {text}" for family, text in helps.items())


def default_value(setting: Setting) -> str | None:
    """The default config's value of ``setting`` as ``--help`` shows it; None where that config has no such setting."""
    entry = CONFIGS[DEFAULT_CONFIG]
    if setting.name not in FAMILIES[entry.family].Config.settings():
        return None
    value = getattr(getattr(entry.load(), setting.section), setting.field)
    value = value[setting.index] if setting.index is not None else value
    if value is None:
        return None
    return ("on" if value else "off") if isinstance(value, bool) else str(value)


def setting_options() -> list[Callable[[Any], Any]]:
    """One click option decorator per setting flag, in registry and section order.

    Each help ends with the default config's value, the one an unset flag keeps
    (another --config brings its own: `chargan configs`).
    """
    options = []
    for name, by_family in family_settings().items():
        settings = list(by_family.values())
        s = settings[0]
        default = default_value(s)
        text = _help(by_family) + (f"  [{DEFAULT_CONFIG}: {default}]" if default is not None else "")
        if s.type is bool:
            off = "--" + (s.off_flag or f"no-{name.replace('_', '-')}")
            options.append(click.option(f"{s.flag}/{off}", name, default=None, help=text))
        else:
            options.append(click.option(s.flag, name, type=_click_type(settings), default=None, help=text))
    return options


def with_setting_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Decorate ``command`` with every setting flag (they arrive as keyword arguments)."""
    for option in reversed(setting_options()):
        command = option(command)
    return command


def refuse_foreign(family: str, config_name: str, given: dict[str, Any]) -> None:
    """One usage error naming every flag given that ``family``'s configs have no setting for."""
    own = FAMILIES[family].Config.settings()
    foreign = ["--" + k.replace("_", "-") for k in given if k not in own]
    if foreign:
        one = len(foreign) == 1
        raise click.UsageError(f"{', '.join(foreign)} {'does' if one else 'do'} not apply to {family} config "
                               f"{config_name}; drop {'it' if one else 'them'} (see `chargan configs`)")
