"""Configs as frozen dataclasses, torch-free: `TrainConfig` and the sectioned family configs.

Every family's config is a frozen dataclass holding one frozen dataclass per
section (``model``, ``data``, ``train``, ``eval``; see `SectionedConfig`).
Each field is declared once, with `setting`: its default, its help, its
range or choices, and whether a resumed run may change it. Everything else
is read from those declarations:

- the flat name a field answers to: its own (``lr``, ``dim``), prefixed in
  the ``eval`` section (``eval_seed``), and also its command-line flag
  (``--lr``, ``--eval-seed``): `settings`, `SectionedConfig.with_overrides`;
- the checks of `Section.validate` (a section adds its cross-field rules in ``check``);
- what a resumed run must keep (`SectionedConfig.guard`).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import asdict, dataclass, field, replace
from functools import cache
from types import UnionType
from typing import Any, ClassVar, TypeVar, Union, get_args, get_origin, get_type_hints

from chargan.core.objectives import OBJECTIVES
from chargan.errors import UserError

T = TypeVar("T")
SECTIONS = ("model", "data", "train", "eval")

#: Forward-pass precisions: float32 everywhere, or bfloat16 autocast.
PRECISIONS = ("fp32", "bf16")
OPTIMIZERS = ("adam", "rmsprop")
LR_DECAYS = ("none", "linear")
#: Seeds every random stream accepts (torch's and numpy's): non-negative and within 63 bits.
SEED_MAX = 2**63 - 1
#: Normalizations a critic may use: never batch norm, which couples the examples the penalty treats one by one.
CRITIC_NORMS = ("none", "layer")


def setting(default: Any = dataclasses.MISSING, help: str = "", *, choices: tuple[Any, ...] | None = None,
            min: float | None = None, max: float | None = None, min_open: bool = False, max_open: bool = False,
            flags: tuple[str, ...] | None = None, off_flag: str | None = None,
            resumable: bool = False, cli: bool = True) -> Any:
    """A dataclass field with what the checks, the flags and the resume guard need to know.

    ``min``/``max`` (``*_open``: exclusive) bound a number, ``choices`` a
    string; ``flags`` names one flag per element of
    a tuple field (``beta1``, ``beta2``); ``off_flag`` is a boolean's ``--no``
    spelling; ``resumable`` fields may change when a run resumes; ``cli=False``
    keeps a field off the command line.
    """
    meta = {"help": help, "choices": choices, "min": min, "max": max, "min_open": min_open, "max_open": max_open,
            "flags": flags, "off_flag": off_flag, "resumable": resumable, "cli": cli}
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
        """`UserError` naming the flag when ``value`` is not a valid value of this setting."""
        if value is None and self.optional:
            return
        if not self.accepts(value):
            raise UserError(f"{self.flag[2:]} must be {self.describe()}, got {value!r}")

    def accepts(self, value: Any) -> bool:
        if self.choices is not None:
            return value in self.choices
        if self.type is bool:
            return isinstance(value, bool)
        if self.type is str:
            return isinstance(value, str)
        if self.type is int and (not isinstance(value, int) or isinstance(value, bool)):
            return False
        if self.type is float and (not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value)):
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
def section_settings(cls: type[Section]) -> tuple[Setting, ...]:
    """The settings of one section class (a tuple field with ``flags`` gives one per element, plus the whole)."""
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
                             cli=meta.get("cli", True) and kind is not tuple, **bounds))
    return tuple(found)


def resumable_fields(cls: type) -> set[str]:
    """The fields of a section class that a resumed run may change."""
    return {f.name for f in dataclasses.fields(cls) if f.metadata.get("chargan", {}).get("resumable")}


class Section:
    """Base of a config section: `validate` checks every field against its `setting`, then ``check``.

    A subclass names the config field it is in ``SECTION`` (``"model"``, ...):
    the ``eval`` section's flat names are prefixed ``eval_``.
    """

    SECTION: ClassVar[str] = ""

    def validate(self) -> None:
        """Raise `UserError` naming the first impossible value."""
        for s in section_settings(type(self)):
            if s.index is None and s.type is not tuple:
                s.check(getattr(self, s.field))
            elif s.index is not None:
                values = getattr(self, s.field)
                if not isinstance(values, tuple) or len(values) != s.size:
                    raise UserError(f"{s.field} must be {s.size} values, got {values!r}")
                s.check(values[s.index])
        self.check()

    def check(self) -> None:
        """Cross-field rules of a section (none by default)."""


@dataclass(frozen=True)
class TrainConfig(Section):
    """Optimization settings; defaults are the reference language script's."""

    SECTION = "train"

    iterations: int = setting(200_000, "Generator iterations to train for (in total, counting a resumed run's).",
                              min=1, resumable=True)
    batch_size: int = setting(64, "Examples per batch.", min=1)
    critic_iters: int = setting(10, "Critic steps per generator step.", min=1)
    objective: str = setting("wgan-gp", "wgan-gp (two-sided penalty, the paper), wgan-lp (one-sided), wgan-clip "
                             "(weight clipping), gan (non-saturating), lsgan (least squares).", choices=tuple(OBJECTIVES))
    lambda_gp: float = setting(10.0, "Gradient penalty weight, for objectives with a penalty.", min=0)
    clip_value: float = setting(0.01, "Critic weight bound c for wgan-clip (original WGAN: 0.01).", min=0, min_open=True)
    optimizer: str = setting("adam", "adam (--beta1/--beta2 apply) or rmsprop (the original WGAN's).", choices=OPTIMIZERS)
    lr: float = setting(1e-4, "Learning rate of both networks' optimizers.", min=0, min_open=True)
    lr_decay: str = setting("none", "Learning-rate schedule: constant (none), or linear to 0 at --iterations "
                            "(the CIFAR ResNet's).", choices=LR_DECAYS)
    betas: tuple[float, float] = setting((0.5, 0.9), "Adam's betas: --beta1 decays the mean of the gradients, "
                                         "--beta2 their square's.", min=0, max=1, max_open=True,
                                         flags=("beta1", "beta2"))
    generator_batch_size: int | None = setting(None, "Noise vectors per generator step (default: --batch-size; the "
                                               "CIFAR ResNet uses 128).", min=1)
    seed: int = setting(0, "Seed for weights, noise and batches.", min=0, max=SEED_MAX)
    device: str = setting("auto", "auto (CUDA when available, else CPU), cpu, cuda, cuda:N.", resumable=True)
    log_every: int = setting(10, "Iterations between metrics.jsonl records.", min=1, resumable=True)
    eval_every: int = setting(100, "Iterations between evaluations (and sample files).", min=1, resumable=True)
    checkpoint_every: int = setting(1000, "Iterations between checkpoints.", min=1, resumable=True)
    keep_checkpoints: int = setting(2, "Checkpoints kept (the newest).", min=1, resumable=True)
    # Speed options: they change how the math runs, not what it is, so a resumed run may change them.
    precision: str = setting("fp32", "Forward passes in float32, or bf16 autocast (the penalty's norm stays "
                             "float32); may change on --resume.", choices=PRECISIONS, resumable=True)
    fused_optimizer: bool = setting(False, "Fused optimizer kernels where torch has them (Adam), else multi-tensor "
                                    "foreach.", resumable=True)
    compile: bool = setting(False, "torch.compile the generator and the whole critic step where it can (critics "
                            "that need a double backward stay eager); 10-60 s of compiling first.", resumable=True)
    tensorboard: bool = setting(False, "Also write TensorBoard events under the run's tensorboard/ folder "
                                "(needs the extra chargan[tensorboard]).", resumable=True)

    def guard(self) -> dict[str, Any]:
        """The settings a resumed run must keep (how long, how often and how fast may change)."""
        fixed = asdict(self)
        for free in resumable_fields(type(self)):
            fixed.pop(free)
        return fixed


class SectionedConfig:
    """Base of a family's config: a frozen dataclass with ``model``, ``data``, ``train`` and ``eval`` sections.

    A subclass names what it is in ``WHAT`` (``"toy"``) and may add plain
    fields (its config's name) and cross-section rules in ``check``.
    """

    WHAT = "chargan"

    def validate(self: T) -> T:
        """Validate each section in order, then the cross-section rules; returns the config."""
        for section in SECTIONS:
            getattr(self, section).validate()
        self.check()  # type: ignore[attr-defined]
        return self

    def check(self) -> None:
        """Rules across sections (none by default)."""

    def inapplicable(self) -> dict[str, str]:
        """The settings this config's other choices make moot: flat name -> what it is for (none by default)."""
        return {}

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (``config.json``), less the settings that do not apply and keep their defaults.

        `from_dict` fills those back in from the defaults, so the round trip is exact.
        """
        data = asdict(self)  # type: ignore[call-overload]
        default = type(self)()
        for name in self.inapplicable():
            s = config_settings(type(self))[name]
            if getattr(getattr(self, s.section), s.field) == getattr(getattr(default, s.section), s.field):
                del data[s.section][s.field]
        return data

    @classmethod
    def from_dict(cls: type[T], data: Any) -> T:
        """Inverse of `to_dict`; unknown keys are an error, missing ones take the family's defaults."""
        return config_from_dict(cls, data, cls.WHAT)  # type: ignore[attr-defined]

    def guard(self) -> dict[str, Any]:
        """The settings a resumed run must keep: every section less its resumable fields."""
        kept = {}
        for section in SECTIONS:
            values = asdict(getattr(self, section))
            for free in resumable_fields(type(getattr(self, section))):
                values.pop(free)
            kept[section] = values
        return kept

    @classmethod
    def settings(cls) -> dict[str, Setting]:
        """Every flat setting of this config, by name."""
        return config_settings(cls)

    def with_overrides(self: T, **overrides: Any) -> T:
        """Apply flat settings (``dim=128``, ``lr=2e-4``, ``eval_seed=1``, ``beta1=0``); None values are ignored.

        An unknown name is a `UserError` naming it.
        """
        known = config_settings(type(self))
        changes: dict[str, dict[str, Any]] = {}
        elements: list[tuple[Setting, Any]] = []
        for key, value in overrides.items():
            if value is None:
                continue
            if key not in known:
                raise UserError(f"{key.replace('_', '-')} is not a setting of the {self.WHAT} configs")  # type: ignore[attr-defined]
            s = known[key]
            if s.index is not None:
                elements.append((s, value))  # after whole tuples, so betas=... then beta1=... composes
            else:
                changes.setdefault(s.section, {})[s.field] = tuple(value) if s.type is tuple else value
        for s, value in elements:
            current = list(changes.get(s.section, {}).get(s.field, getattr(getattr(self, s.section), s.field)))
            current[s.index] = value  # type: ignore[index]
            changes.setdefault(s.section, {})[s.field] = tuple(current)
        return replace(self, **{s: replace(getattr(self, s), **v) for s, v in changes.items()})  # type: ignore[type-var]


@cache
def config_settings(cls: type) -> dict[str, Setting]:
    """The flat settings of a sectioned config class; two sections claiming one name is a bug, raised here."""
    hints = get_type_hints(cls)
    found: dict[str, Setting] = {}
    for section in SECTIONS:
        if hints[section].SECTION != section:
            raise TypeError(f"{cls.__name__}.{section} is a {hints[section].__name__}, whose SECTION is "
                            f"{hints[section].SECTION!r}")
        for s in section_settings(hints[section]):
            if s.name in found:
                raise TypeError(f"{cls.__name__}: {s.name!r} is a setting of both {found[s.name].section} and {section}")
            found[s.name] = s
    return found


def named_config(configs: dict[str, T], name: str, what: str) -> T:
    """``configs[name]``; a `UserError` naming the choices for an unknown ``name`` (``what``: "preset")."""
    try:
        return configs[name]
    except KeyError:
        raise UserError(f"unknown {what} {name!r}", hint=f"choose one of: {', '.join(configs)}") from None


def build_section(cls: type[T], values: dict[str, Any], base: T | None = None) -> T:
    """``cls`` from the JSON dict ``values`` (missing fields from ``base`` or the defaults).

    Raises ``TypeError`` naming unknown fields. JSON has no tuples: lists are
    turned back into tuples (``betas``, n-gram ``orders``).
    """
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = set(values) - names
    if unknown:
        raise TypeError(f"unknown {cls.__name__} fields: {', '.join(sorted(unknown))}")
    fixed = {k: tuple(v) if isinstance(v, list) else v for k, v in values.items()}
    return replace(base, **fixed) if base is not None else cls(**fixed)  # type: ignore[type-var]


def config_from_dict(cls: type[T], data: Any, what: str) -> T:
    """The sectioned config ``cls`` from its JSON form (``config.json``).

    Each section is rebuilt with `build_section` from that field's default
    (so a family's own defaults, such as the toy's optimization settings,
    fill what is missing); plain fields (a preset's name) are taken as they
    are or keep their defaults; keys that are neither (a run's ``family`` or
    ``corpus`` record) are not the config's and are ignored. Anything that
    does not fit is a `UserError`.
    """
    if not isinstance(data, dict) or not all(isinstance(data.get(k, {}), dict) for k in SECTIONS):
        raise UserError(f"config is not a chargan {what} configuration "
                        f"(expected an object with {', '.join(SECTIONS)})")
    types = get_type_hints(cls)
    values: dict[str, Any] = {}
    try:
        for f in dataclasses.fields(cls):  # type: ignore[arg-type]
            if f.name in SECTIONS:
                base = f.default if f.default is not dataclasses.MISSING else f.default_factory()  # type: ignore[misc]
                values[f.name] = build_section(types[f.name], data.get(f.name, {}), base=base)
            elif f.name in data:
                values[f.name] = data[f.name]
        return cls(**values)
    except (TypeError, ValueError) as exc:
        raise UserError(f"config does not match this version of chargan: {exc}") from None
