"""The trainer's evaluation callback for toy runs: metrics and a surface plot per evaluation."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from chargan.core import distributed
from chargan.core.run import RunDirectory
from chargan.corpora.toy import get_toy_dataset, sample_toy
from chargan.toy import HEADLINE
from chargan.toy.config import ToyEvalConfig
from chargan.toy.metrics import mode_coverage, wasserstein1
from chargan.toy.models import generate_points
from chargan.toy.plots import SurfacePanel, write_surfaces


def toy_metrics(fake: Tensor, real: Tensor, dataset: str, w1_points: int) -> dict[str, float]:
    """``modes_covered`` and ``high_quality`` (mixtures only) of ``fake`` ``(n, 2)``, and ``w1`` on the first ``w1_points`` of each set."""
    info = get_toy_dataset(dataset)
    metrics: dict[str, float] = {}
    if info.is_mixture:
        covered, quality = mode_coverage(fake, info.centers_tensor(), info.std)
        metrics.update(modes_covered=float(covered), high_quality=quality)
    metrics["w1"] = wasserstein1(fake[:w1_points], real[:w1_points])
    return metrics


class ToyEvaluator:
    """Scores a fixed noise batch against a fixed real sample; writes ``plots/toy_<iteration>.png``.

    Under torchrun every rank calls it (``across_ranks``) and generates its
    share of the points; rank 0 alone draws the plot.
    """

    across_ranks = True
    headline = HEADLINE  # the figure the progress bar shows (the family's one constant)
    curves_label = "W1 (data units); fraction near a mode"
    curves = ("w1", "high_quality")  # what the metrics plot draws (modes_covered counts modes, another scale)

    def __init__(self, dataset: str, config: ToyEvalConfig, critic: nn.Module, device: torch.device,
                 run: RunDirectory | None = None) -> None:
        self.dataset = dataset
        self.config = config
        self.critic = critic
        self.device = device
        self.run = run
        self.real = sample_toy(dataset, config.samples, seed=config.seed)

    def __call__(self, generator: nn.Module, iteration: int) -> dict[str, float]:
        fake = generate_points(generator, self.config.samples, seed=self.config.seed, device=self.device,
                               across_ranks=True)
        metrics = toy_metrics(fake, self.real, self.dataset, min(self.config.w1_points, self.config.samples))
        if self.run is not None and distributed.is_main_process():
            n = self.config.plot_points
            panel = SurfacePanel(f"{self.dataset}, iteration {iteration}", self.critic, self.real[:n], fake[:n])
            write_surfaces(self.run.plots_dir / f"toy_{iteration:08d}.png", [panel], columns=1,
                           plot_range=self.config.plot_range)
        return metrics
