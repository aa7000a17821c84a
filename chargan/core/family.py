"""The family contract: what every family package (text, toy, image, ...) exposes.

A family is a package with the same few names (`Family` lists them): its
config class and named configs, ``build(config, context) -> Parts`` (the
generator, critic, batch source and evaluator of one run), the generator of
a saved run, and its sampling and metrics. The generic runner
(`chargan.core.runner`) and loader (`chargan.families.load_run`) do the
rest, the same way for every family. This module is torch-free.

Adding a family: a package ``chargan/<name>/`` whose ``__init__.py`` defines
the names of `Family`, plus one line in the registry (`chargan.families`);
see docs/architecture.md.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from chargan.core.atomic import atomic_write_text
from chargan.errors import UsageError

if TYPE_CHECKING:
    import torch
    from torch import nn

    from chargan.core.callbacks import Callback
    from chargan.core.config import SectionedConfig
    from chargan.core.data import BatchSource
    from chargan.core.run import RunDirectory
    from chargan.core.trainer import Evaluator, TrainResult

#: How ``sample`` may read symbols from a softmax: its argmax (the paper), or a draw from it.
DECODINGS = ("argmax", "sample")

#: The functions of the contract that need torch: a family package loads them on first use.
CONTRACT_FUNCTIONS = ("prepare", "run_prefix", "build", "generator", "sample", "evaluate")


@dataclass
class BuildContext:
    """Where and how a run is being built: what `Family.build` may use besides the config."""

    run: RunDirectory
    resume: bool
    device: torch.device
    progress: bool = True
    download: bool = True
    echo: Callable[[str], None] = print


@dataclass
class Parts:
    """What a family builds for one training run.

    ``generator(z)`` maps ``(batch, latent_dim)`` noise to ``(batch, ...)``
    examples, the shape of ``batches.sample(batch)``; ``critic`` maps those to
    ``(batch,)`` scores. ``first_record`` is logged at iteration 0 of a fresh
    run (reference figures: the text floor), ``record`` is written into
    ``config.json`` beside the config (what data was read), ``summary`` is
    printed before training, and ``save_files(run)`` writes the family's own
    files into a fresh run (the text vocabulary). ``callbacks`` join the
    trainer's (`chargan.core.callbacks.Callback`: a schedule, the genes
    family's feedback), their state kept in checkpoints.
    """

    generator: nn.Module
    critic: nn.Module
    batches: BatchSource
    evaluator: Evaluator | None = None
    first_record: dict[str, float] = field(default_factory=dict)
    record: dict[str, Any] = field(default_factory=dict)
    summary: list[str] = field(default_factory=list)
    save_files: Callable[[RunDirectory], None] | None = None
    callbacks: list[Callback] = field(default_factory=list)


@dataclass
class TrainedRun:
    """A finished (or interrupted) training call: the run, its config and the trainer's result."""

    run: RunDirectory
    config: Any
    result: TrainResult
    family: str
    reference: dict[str, float] = field(default_factory=dict)  # the run's first record (Parts.first_record)

    @property
    def floor(self) -> dict[str, float]:
        """The reference record's ``floor_<metric>`` figures by metric: what real held-out data scores."""
        return {k.removeprefix("floor_"): v for k, v in self.reference.items() if k.startswith("floor_")}


@dataclass
class LoadedRun:
    """A saved run read back: its family, config, newest generator (in eval mode) and iteration."""

    run: RunDirectory
    family: Family
    config: Any
    generator: nn.Module
    iteration: int
    device: torch.device  # where the generator runs (a generator without parameters cannot tell)
    weights: str = "generator"  # the checkpoint's weights it holds: "generator", or its average "generator_ema"

    @property
    def root(self) -> Path:
        return self.run.root


class Family(Protocol):
    """The names every family package exposes."""

    NAME: str  # written into config.json as "family"
    DESCRIPTION: str
    HEADLINE: str  # the metric key that sums a run up (progress bar, `chargan runs`); one place per family
    Config: type[SectionedConfig]
    CONFIGS: Mapping[str, Any]  # named configs: name -> frozen config
    DESCRIPTIONS: Mapping[str, str]  # name -> one line, for `chargan configs`

    def prepare(self, config: Any) -> Any:
        """The validated config as the run will store it (local paths made absolute)."""

    def run_prefix(self, config: Any) -> str:
        """The start of a new run's folder name (``demo-cpu``)."""

    def build(self, config: Any, context: BuildContext) -> Parts:
        """Load the data and make the networks, the batch source and the evaluator of a run."""

    def generator(self, config: Any, run: RunDirectory) -> nn.Module:
        """An untrained generator of a saved run's shape (the checkpoint's weights go into it)."""

    def sample(self, loaded: LoadedRun, n: int, seed: int | None, decode: str = "argmax", temperature: float = 1.0,
               output: Path | None = None) -> list[str]:
        """``n`` samples of a saved run, as the lines ``chargan sample`` prints.

        ``decode``/``temperature``: how symbols are read from a softmax (a
        family without symbols refuses anything but argmax). With ``output``
        the samples go to that file and the lines say so (`deliver`).
        """

    def evaluate(self, loaded: LoadedRun, n: int | None, seed: int | None, reference: str | None,
                 progress: bool) -> dict[str, Any]:
        """The family's metrics of ``n`` fresh samples (None: the family's default count)."""


def deliver(lines: list[str], output: Path | None, what: str = "samples") -> list[str]:
    """``lines`` to print, or, with ``output``, written there (one per line, atomically) and a line saying so."""
    if output is None:
        return lines
    atomic_write_text(output, "".join(line + "\n" for line in lines))
    return [f"wrote {len(lines)} {what} to {output}"]


def refuse_decoding(decode: str, what: str) -> None:
    """`UsageError` for a family whose samples are not symbols (``what``: "points") when asked to decode otherwise."""
    if decode != "argmax":
        raise UsageError(f"--decode {decode} applies to runs that generate symbols; this run generates {what}")


def contract_loader(module: str) -> Callable[[str], Any]:
    """A package ``__getattr__`` that loads the torch side of the contract from ``module`` on first use.

    It keeps ``import chargan.<family>`` (and so ``chargan --help`` and
    ``chargan configs``) free of torch.
    """

    def __getattr__(name: str) -> Any:
        if name not in CONTRACT_FUNCTIONS:
            raise AttributeError(f"module {module.rpartition('.')[0]!r} has no attribute {name!r}")
        return getattr(importlib.import_module(module), name)

    return __getattr__
