"""Genes and peptides (FBGAN, Gupta & Zou 2019), as a chargan family.

The contract (`chargan.core.family.Family`): `Config`, the named configs
(``genes``, ``genes-cpu``, ``protein``), and ``prepare``, ``run_prefix``,
``build``, ``generator``, ``sample``, ``evaluate`` from `chargan.genes.family`;
plus `train`, which takes FBGAN's feedback scorer as a Python function.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chargan.core.family import CONTRACT_FUNCTIONS, contract_loader
from chargan.errors import UsageError
from chargan.genes.config import DESCRIPTIONS
from chargan.genes.config import GENES_CONFIGS as CONFIGS
from chargan.genes.config import GenesGANConfig as Config

if TYPE_CHECKING:
    from chargan.core.family import TrainedRun
    from chargan.genes.feedback import Scorer

NAME = "genes"
DESCRIPTION = "DNA, RNA and protein sequences over fixed alphabets (FBGAN's gene WGAN-GP, with its feedback loop)"
HEADLINE = "js6"  # the metric the progress bar and `chargan runs` show: 6-mer JS divergence
# The torch side of the contract loads on first use: `chargan --help` and `chargan configs` stay light.
__getattr__ = contract_loader("chargan.genes.family")


def train(config: Config, run_dir: str | Path | None = None, *, feedback: Scorer | None = None,
          **options: Any) -> TrainedRun:
    """Train (or, with ``resume=True``, continue) a genes run; ``feedback`` is FBGAN's scorer,
    ``scorer(list[str]) -> scores``, used every ``data.feedback_every`` iterations (`chargan.genes.feedback`).

    ``options`` are those of `chargan.families.train` (``resume``, ``runs_root``, ``progress``, ...). A scorer
    with ``data.feedback_every`` 0 is a `UsageError`: it would never be called.
    """
    if feedback is not None and config.data.feedback_every == 0:
        raise UsageError("a feedback scorer was given, but this config runs no feedback (data.feedback_every is 0)",
                         hint="set feedback_every, e.g. config.with_overrides(feedback_every=5), or drop feedback=")
    from chargan.core.runner import train as run  # torch: only once something trains
    from chargan.genes.feedback import scorer_given

    with scorer_given(feedback):
        return run(sys.modules[__name__], config, run_dir, **options)  # type: ignore[arg-type]


__all__ = ["NAME", "DESCRIPTION", "HEADLINE", "Config", "CONFIGS", "DESCRIPTIONS", "train", *CONTRACT_FUNCTIONS]
