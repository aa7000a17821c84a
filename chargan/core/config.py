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
from dataclasses import asdict, dataclass, replace
from functools import cache
from typing import Any, ClassVar, TypeVar, get_type_hints

from chargan.core.objectives import OBJECTIVES
from chargan.core.settings import Setting, guarded, section_settings, setting
from chargan.errors import UsageError, UserError

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


class Section:
    """Base of a config section: `validate` checks every field against its `setting`, then ``check``.

    A subclass names the config field it is in ``SECTION`` (``"model"``, ...):
    the ``eval`` section's flat names are prefixed ``eval_``.
    """

    SECTION: ClassVar[str] = ""

    def validate(self) -> None:
        """Raise `UsageError` (exit 2) naming the first impossible value."""
        for s in section_settings(type(self)):
            if s.index is None and s.type is not tuple:
                s.check(getattr(self, s.field))
            elif s.index is not None:
                values = getattr(self, s.field)
                if not isinstance(values, tuple) or len(values) != s.size:
                    raise UsageError(f"{s.field} must be {s.size} values, got {values!r}")
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
    lr: float = setting(1e-4, "Learning rate of both networks' optimizers (unless --critic-lr / --generator-lr "
                        "set their own); given alone, it sets both.", min=0, min_open=True)
    # Two time-scale updates (TTUR, Heusel et al. 2017): the critic may step faster than the generator.
    critic_lr: float | None = setting(None, "The critic's learning rate (default: --lr; TTUR: 3e-4).", min=0,
                                      min_open=True, follows="lr", recipe=True)
    generator_lr: float | None = setting(None, "The generator's learning rate (default: --lr; TTUR: 1e-4).", min=0,
                                         min_open=True, follows="lr", recipe=True)
    lr_decay: str = setting("none", "Learning-rate schedule: constant (none), or linear to 0 at --iterations "
                            "(the CIFAR ResNet's).", choices=LR_DECAYS)
    betas: tuple[float, float] = setting((0.5, 0.9), "Adam's betas: --beta1 decays the mean of the gradients, "
                                         "--beta2 their square's.", min=0, max=1, max_open=True,
                                         flags=("beta1", "beta2"))
    generator_batch_size: int | None = setting(None, "Noise vectors per generator step (default: --batch-size; the "
                                               "CIFAR ResNet uses 128).", min=1)
    seed: int = setting(0, "Seed for weights, noise and batches.", min=0, max=SEED_MAX)
    # Recipes added after release 0.1 (off by default: a run of that release resumes unchanged).
    ema_decay: float = setting(0.0, "Keep an exponential moving average of the generator's weights with this decay "
                               "(e.g. 0.999; 0 = off); evaluation, sample, eval and export then use it.",
                               min=0, max=1, max_open=True, recipe=True)
    ema_warmup: bool = setting(False, "Warm the average up: decay min(--ema-decay, (1 + n) / (10 + n)) at its "
                               "n-th update (from 0), so short runs benefit.", recipe=True)
    real_smoothing: float = setting(0.0, "Smooth the real one-hots: 1 - s on the true symbol, s / (V - 1) on the "
                                    "others (Sobolev GAN: 0.1; 0 = off).", min=0, max=1, max_open=True, recipe=True)
    real_noise: float = setting(0.0, "Std of Gaussian noise added to the smoothed real rows' logs before a "
                                "softmax, annealed linearly to 0 over --noise-anneal-iterations (0 = off).",
                                min=0, recipe=True)
    noise_anneal_iterations: int = setting(30_000, "Iterations over which --real-noise falls linearly to 0 "
                                           "(Sobolev GAN: 30k; 0 = over the whole run, to --iterations).",
                                           min=0, recipe=True)
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
    cuda_graphs: bool = setting(False, "With --compile on a CUDA device: replay the critic step as a CUDA graph "
                                "(torch.compile's reduce-overhead mode; one process); may change on --resume.",
                                resumable=True)
    threads: int | None = setting(None, "CPU threads for torch (default: chosen from the cores, the load beside "
                                  "this run and the model's size; the run's summary says which).", min=1,
                                  resumable=True)
    tensorboard: bool = setting(False, "Also write TensorBoard events under the run's tensorboard/ folder "
                                "(needs the extra chargan[tensorboard]).", resumable=True)

    def check(self) -> None:
        if self.cuda_graphs and not self.compile:
            raise UsageError("cuda-graphs replays the compiled critic step: it needs --compile", hint="add --compile")
        if self.real_noise > 0 and self.real_smoothing == 0:
            # log(0) + noise is still -inf: the noise would change nothing.
            raise UsageError("real-noise needs real-smoothing above 0 (noise is added to the smoothed one-hots' logs)",
                            hint="add --real-smoothing 0.1 (Sobolev GAN's), or drop --real-noise")

    def moot(self, one_hot: bool) -> dict[str, str]:
        """The recipe settings the others make moot (flat name -> what it is for); ``one_hot``: the family's
        real batches are one-hot rows, which the smoothing settings need."""
        moot = {}
        if self.ema_decay == 0:
            moot["ema_warmup"] = "it is for --ema-decay above 0"
        if not one_hot:
            moot.update(dict.fromkeys(("real_smoothing", "real_noise", "noise_anneal_iterations"),
                                      "it is for one-hot sequence data (the language configs)"))
        elif self.real_smoothing == 0:
            moot.update(dict.fromkeys(("real_noise", "noise_anneal_iterations"), "it is for --real-smoothing above 0"))
        elif self.real_noise == 0:
            moot["noise_anneal_iterations"] = "it is for --real-noise above 0"
        return moot

    @property
    def critic_learning_rate(self) -> float:
        """The critic's step size: ``critic_lr``, or ``lr`` when it is None."""
        return self.lr if self.critic_lr is None else self.critic_lr

    @property
    def noise_anneal_horizon(self) -> int:
        """The iteration at which ``real_noise`` reaches 0: ``noise_anneal_iterations``, or ``iterations`` for 0."""
        return self.noise_anneal_iterations or self.iterations

    @property
    def generator_learning_rate(self) -> float:
        """The generator's step size: ``generator_lr``, or ``lr`` when it is None."""
        return self.lr if self.generator_lr is None else self.generator_lr

    def guard(self) -> dict[str, Any]:
        """The settings a resumed run must keep (how long, how often and how fast may change)."""
        return guarded(self)


class SectionedConfig:
    """Base of a family's config: a frozen dataclass with ``model``, ``data``, ``train`` and ``eval`` sections.

    A subclass names what it is in ``WHAT`` (``"toy"``) and may add plain
    fields (its config's name) and cross-section rules in ``check``.
    """

    WHAT = "chargan"
    #: Its real batches are one-hot rows ``(batch, seq_len, vocab)``: the real-smoothing recipe applies.
    ONE_HOT: ClassVar[bool] = False

    def validate(self: T) -> T:
        """Validate each section in order, then the cross-section rules; returns the config."""
        for section in SECTIONS:
            getattr(self, section).validate()
        train = self.train  # type: ignore[attr-defined]
        if not self.ONE_HOT and (train.real_smoothing or train.real_noise):  # type: ignore[attr-defined]
            raise UsageError(f"--real-smoothing and --real-noise apply to one-hot sequence data; the "
                             f"{self.WHAT} configs' real examples are not one-hots",  # type: ignore[attr-defined]
                             hint="drop them (see `chargan configs` for the language configs)")
        self.check()  # type: ignore[attr-defined]
        return self

    def check(self) -> None:
        """Rules across sections (none by default)."""

    def memory_parts(self, training: bool = True) -> dict[str, int]:
        """Bytes the run needs at once, by part (``"the weights (--dim, --n-blocks)" -> bytes``): to train it,
        or (``training=False``) to load and sample its generator. Empty: no estimate (nothing is checked).

        `chargan.core.memory.check_memory` refuses a config whose parts exceed the device's free memory.
        """
        return {}

    def inapplicable(self) -> dict[str, str]:
        """The settings this config's other choices make moot: flat name -> what it is for.

        The base names the training recipes' (`TrainConfig.moot`); a family adds its own to ``super()``'s.
        """
        return self.train.moot(self.ONE_HOT)  # type: ignore[attr-defined]

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
        return {section: guarded(getattr(self, section)) for section in SECTIONS}

    @classmethod
    def settings(cls) -> dict[str, Setting]:
        """Every flat setting of this config, by name."""
        return config_settings(cls)

    def with_overrides(self: T, **overrides: Any) -> T:
        """Apply flat settings (``dim=128``, ``lr=2e-4``, ``eval_seed=1``, ``beta1=0``); None values are ignored.

        An unknown name is a `UsageError` naming it.
        """
        known = config_settings(type(self))
        changes: dict[str, dict[str, Any]] = {}
        elements: list[tuple[Setting, Any]] = []
        for key, value in overrides.items():
            if value is None:
                continue
            if key not in known:
                raise UsageError(f"{key.replace('_', '-')} is not a setting of the {self.WHAT} configs")  # type: ignore[attr-defined]
            s = known[key]
            if s.index is not None:
                elements.append((s, value))  # after whole tuples, so betas=... then beta1=... composes
            else:
                changes.setdefault(s.section, {})[s.field] = tuple(value) if s.type is tuple else value
        for s, value in elements:
            current = list(changes.get(s.section, {}).get(s.field, getattr(getattr(self, s.section), s.field)))
            current[s.index] = value  # type: ignore[index]
            changes.setdefault(s.section, {})[s.field] = tuple(current)
        for s in known.values():  # --lr alone sets both rates: the per-network ones go back to following it
            if s.follows is not None and overrides.get(s.follows) is not None and overrides.get(s.name) is None:
                changes.setdefault(s.section, {})[s.field] = _field_default(type(getattr(self, s.section)), s.field)
        return replace(self, **{s: replace(getattr(self, s), **v) for s, v in changes.items()})  # type: ignore[type-var]


def _field_default(cls: type, name: str) -> Any:
    """The declared default of the dataclass field ``name`` of ``cls``."""
    return next(f.default for f in dataclasses.fields(cls) if f.name == name)


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
    """``configs[name]``; a `UsageError` naming the choices for an unknown ``name`` (``what``: "preset")."""
    try:
        return configs[name]
    except KeyError:
        raise UsageError(f"unknown {what} {name!r}", hint=f"choose one of: {', '.join(configs)}") from None


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
