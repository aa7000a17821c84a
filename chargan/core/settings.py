"""One config field's declaration (`setting`) and what is read from it (`Setting`): flat name, flag, range
or choices, and whether a resumed run may change it. Torch-free; `chargan.core.config` builds on it."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import asdict, dataclass, field
from functools import cache
from types import UnionType
from typing import Any, Union, get_args, get_origin, get_type_hints

from chargan.errors import UsageError

#: The largest magnitude a float setting may have: training runs in float32, whose arithmetic
#: overflows to infinity beyond it (an lr of 1e308 cannot even be stored in an optimizer).
FLOAT_MAX = 3.4028234663852886e38


def setting(default: Any = dataclasses.MISSING, help: str = "", *, choices: tuple[Any, ...] | None = None,
            min: float | None = None, max: float | None = None, min_open: bool = False, max_open: bool = False,
            flags: tuple[str, ...] | None = None, off_flag: str | None = None,
            resumable: bool = False, cli: bool = True, follows: str | None = None, recipe: bool = False) -> Any:
    """A dataclass field with what the checks, the flags and the resume guard need to know.

    ``min``/``max`` (``*_open``: exclusive) bound a number, ``choices`` a
    string; ``flags`` names one flag per element of
    a tuple field (``beta1``, ``beta2``); ``off_flag`` is a boolean's ``--no``
    spelling; ``resumable`` fields may change when a run resumes; ``cli=False``
    keeps a field off the command line. ``follows`` names the setting whose
    override resets this one to its default (``critic_lr`` follows ``lr``:
    ``--lr`` sets both rates unless ``--critic-lr`` is given too).
    ``recipe`` settings (added after release 0.1) stay out of the resume
    guard while they hold their default, so checkpoints written before they
    existed still resume.
    """
    meta = {"help": help, "choices": choices, "min": min, "max": max, "min_open": min_open, "max_open": max_open,
            "flags": flags, "off_flag": off_flag, "resumable": resumable, "cli": cli, "follows": follows,
            "recipe": recipe}
    return field(default=default, metadata={"chargan": meta})


@dataclass(frozen=True)
class Setting:
    """One flat setting of a config: where it lives, its type and its bounds."""

    name: str  # flat name, e.g. "eval_seed"; the flag is --eval-seed
    section: str
    field: str
    type: type  # int, float, str, bool or tuple
    optional: bool  # None is allowed
    help: str
    choices: tuple[Any, ...] | None = None
    min: float | None = None
    max: float | None = None
    min_open: bool = False
    max_open: bool = False
    index: int | None = None  # an element of a tuple field (betas[0] is beta1)...
    size: int | None = None  # ...of this many elements
    off_flag: str | None = None
    cli: bool = True
    follows: str | None = None  # an override of that setting resets this one to its default

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    def describe(self) -> str:
        """What a valid value is, e.g. ``a positive integer``."""
        if self.choices is not None:
            return "one of " + ", ".join(map(str, self.choices))
        kind = "an integer" if self.type is int else "a number"
        if self.min == 0 and self.max is None:
            return f"a {'positive' if self.min_open else 'non-negative'} {kind.split()[1]}"
        if self.min == 1 and self.max is None and self.type is int:
            return "a positive integer"
        if self.max is None and self.min is not None:
            return f"{kind} of at least {_bound(self.min)}"
        if self.min is not None and self.max is not None:
            return (f"{kind} in {'(' if self.min_open else '['}{_bound(self.min)}, "
                    f"{_bound(self.max)}{')' if self.max_open else ']'}")
        return kind

    def check(self, value: Any) -> None:
        """`UsageError` (exit 2) naming the flag when ``value`` is not a valid value of this setting."""
        if value is None and self.optional:
            return
        if not self.accepts(value):
            if (self.type is float and isinstance(value, (int, float)) and math.isfinite(value)
                    and abs(value) > FLOAT_MAX):
                raise UsageError(f"{self.flag[2:]} must be {self.describe()} of at most {FLOAT_MAX:.4g} in size "
                                 f"(float32 arithmetic overflows beyond), got {value!r}")
            raise UsageError(f"{self.flag[2:]} must be {self.describe()}, got {value!r}")

    def accepts(self, value: Any) -> bool:
        if self.choices is not None:
            return value in self.choices
        if self.type is bool:
            return isinstance(value, bool)
        if self.type is str:
            return isinstance(value, str)
        if self.type is int and (not isinstance(value, int) or isinstance(value, bool)):
            return False
        if self.type is float and (not isinstance(value, (int, float)) or isinstance(value, bool)
                                   or not math.isfinite(value) or abs(value) > FLOAT_MAX):
            return False
        lower_ok = self.min is None or (value > self.min if self.min_open else value >= self.min)
        upper_ok = self.max is None or (value < self.max if self.max_open else value <= self.max)
        return lower_ok and upper_ok


def _bound(value: float) -> str:
    """A range bound as written: whole numbers exactly (a seed's 2^63 - 1), others short."""
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _field_type(hint: Any) -> tuple[type, bool]:
    """``(type, optional)`` of a field's type hint: ``int | None`` is ``(int, True)``."""
    args = get_args(hint)
    if get_origin(hint) in (Union, UnionType) and type(None) in args:
        rest = [a for a in args if a is not type(None)]
        return _field_type(rest[0])[0], True
    origin = get_origin(hint) or hint
    return (tuple if origin is tuple else origin), False


@cache
def section_settings(cls: type) -> tuple[Setting, ...]:
    """The settings of one section class (a `chargan.core.config.Section`): one per field, and for a tuple
    field with ``flags`` one per element plus the whole."""
    section = cls.SECTION
    hints = get_type_hints(cls)
    found = []
    for f in dataclasses.fields(cls):
        meta = f.metadata.get("chargan", {})
        kind, optional = _field_type(hints[f.name])
        name = f"eval_{f.name}" if section == "eval" else f.name
        bounds = {k: meta.get(k) for k in ("choices", "min", "max")} | {k: meta.get(k, False) for k in ("min_open", "max_open")}
        if kind is tuple and meta.get("flags"):
            element = get_args(hints[f.name])[0]
            found += [Setting(flag.replace("-", "_"), section, f.name, element, False, meta.get("help", ""), index=i,
                              size=len(meta["flags"]), **bounds) for i, flag in enumerate(meta["flags"])]
            found.append(Setting(name, section, f.name, tuple, optional, meta.get("help", ""), cli=False))
            continue
        found.append(Setting(name, section, f.name, kind, optional, meta.get("help", ""), off_flag=meta.get("off_flag"),
                             cli=meta.get("cli", True) and kind is not tuple, follows=meta.get("follows"), **bounds))
    return tuple(found)


def resumable_fields(cls: type) -> set[str]:
    """The fields of a section class that a resumed run may change."""
    return {f.name for f in dataclasses.fields(cls) if f.metadata.get("chargan", {}).get("resumable")}


def guarded(section: Any) -> dict[str, Any]:
    """What a resumed run must keep of one section: its fields less the resumable ones, and less the
    ``recipe`` ones at their defaults (a checkpoint from before they existed names none of them)."""
    values = asdict(section)
    for f in dataclasses.fields(section):
        meta = f.metadata.get("chargan", {})
        if meta.get("resumable") or (meta.get("recipe") and values[f.name] == f.default):
            values.pop(f.name)
    return values
