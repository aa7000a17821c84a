"""The family registry: family name -> package, every named config, and any run read back.

Adding a family is one package that follows `chargan.core.family.Family`
and one line in `FAMILIES`. Importing this module imports no torch: each
family package loads its torch side on first use.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chargan import genes, image, text, toy
from chargan.core.config import named_config
from chargan.core.family import Family, LoadedRun, TrainedRun
from chargan.errors import UsageError, UserError

FAMILIES: dict[str, Family] = {"text": text, "toy": toy, "image": image, "genes": genes}  # type: ignore[dict-item]

#: What ``chargan train`` trains without --config.
DEFAULT_CONFIG = "cpu"


@dataclass(frozen=True)
class NamedConfig:
    """One selectable config: ``chargan train --config NAME``."""

    name: str
    family: str
    description: str

    def load(self) -> Any:
        """The frozen config object."""
        return FAMILIES[self.family].CONFIGS[self.name]


CONFIGS: dict[str, NamedConfig] = {
    name: NamedConfig(name, family_name, family.DESCRIPTIONS[name])
    for family_name, family in FAMILIES.items() for name in family.CONFIGS
}


def get_named_config(name: str, option: str = "config") -> NamedConfig:
    """The registry entry of ``name``; a `UsageError` (a value the command does not accept) listing the names for
    an unknown one."""
    try:
        return named_config(CONFIGS, name, option)
    except UserError as exc:
        raise UsageError(exc.message, hint=f"{exc.hint} (see `chargan configs`)") from None


def configs_by_family() -> dict[str, list[NamedConfig]]:
    """The named configs grouped by family, families in registry order."""
    return {family: [c for c in CONFIGS.values() if c.family == family] for family in FAMILIES}


def family_of(config: Any) -> Family:
    """The family whose config class ``config`` is."""
    for family in FAMILIES.values():
        if isinstance(config, family.Config):
            return family
    raise UserError(f"{type(config).__name__} is not the config of a chargan family",
                    hint=f"use the config of one of: {', '.join(FAMILIES)}")


def run_family(run_dir: str | Path) -> Family:
    """The family of a run directory, from its ``config.json`` (``text`` when it does not say)."""
    from chargan.core.run import RunDirectory  # torch (through the run's rank checks): not on `chargan --help`

    saved = RunDirectory(run_dir).read_config()
    if not isinstance(saved, dict):
        raise UserError(f"run {run_dir} has a config.json that is not a chargan configuration",
                        hint="it should be the JSON object chargan wrote; restore it or start a new run")
    name = saved.get("family", "text")  # runs of release 0.1 wrote no family for the language model
    if name not in FAMILIES:
        raise UserError(f"run {run_dir} is of family {name!r}, which this version of chargan does not know")
    return FAMILIES[name]


def train(config: Any, run_dir: str | Path | None = None, *, resume: bool = False, runs_root: str | Path = "runs",
          progress: bool = True, download: bool = True, echo: Callable[[str], None] = print) -> TrainedRun:
    """Train any family's ``config`` (see `chargan.core.runner.train`)."""
    from chargan.core import runner  # torch: only once something trains

    return runner.train(family_of(config), config, run_dir, resume=resume, runs_root=runs_root, progress=progress,
                        download=download, echo=echo)


def read_run_config(run_dir: str | Path) -> Any:
    """The validated config any run was trained with."""
    from chargan.core.runner import read_config  # torch: the runner's

    return read_config(run_family(run_dir), run_dir)


def load_run(run_dir: str | Path, device: str = "auto", raw: bool = False) -> LoadedRun:
    """Any run's newest generator, config and iteration (see `chargan.core.runner.load`): its weight average
    when it kept one (``--ema-decay``), unless ``raw``."""
    from chargan.core.runner import load  # torch: only once a run is read

    return load(run_family(run_dir), run_dir, device, raw=raw)


def sample(run_dir: str | Path, n: int = 20, seed: int | None = None, device: str = "auto", decode: str = "argmax",
           temperature: float = 1.0, output: str | Path | None = None, raw: bool = False) -> list[str]:
    """``n`` samples of any run, as ``chargan sample`` prints them (text: decoded lines; see `Family.sample`);
    ``raw``: of the trained weights rather than their average."""
    if n < 1:
        raise UserError(f"the number of samples must be positive, got {n}")
    loaded = load_run(run_dir, device, raw=raw)
    return loaded.family.sample(loaded, n, seed, decode=decode, temperature=temperature,
                                output=None if output is None else Path(output))


def evaluate(run_dir: str | Path, n: int | None = None, seed: int | None = None, reference: str | Path | None = None,
             device: str = "auto", progress: bool = False, raw: bool = False) -> dict[str, Any]:
    """The family's metrics of ``n`` fresh samples of any run (None: the family's default count); ``raw``: of
    the trained weights rather than their average."""
    if n is not None and n < 1:
        raise UserError(f"the number of samples must be positive, got {n}")
    loaded = load_run(run_dir, device, raw=raw)
    return loaded.family.evaluate(loaded, n, seed, None if reference is None else str(reference), progress)
