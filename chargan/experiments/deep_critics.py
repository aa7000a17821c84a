"""Figure 1b: gradient norms and weights of deep critics, weight clipping vs gradient penalty.

Deep ReLU MLP critics (12 linear layers by default) learn the Swiss roll
against the fixed generator of Figure 1a (data + N(0, 1)), through the one
trainer's `Trainer.critic_step`. After every step the norm of the gradient
of the critic's training loss (the loss the optimizer steps on, penalty
included) with respect to each layer's weight matrix is recorded. With
clipping, the paper finds these norms explode (c = 0.1) or vanish (c = 0.01,
0.001) geometrically with depth, and the weights pile up at +-c; with the
penalty they stay level and the weights spread out.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from chargan.core.atomic import atomic_write
from chargan.core.trainer import Trainer
from chargan.experiments.report import write_table
from chargan.experiments.surfaces import PENALTY, CriticSetting, train_fixed_critic

CLIP_VALUES = (0.1, 0.01, 0.001)
QUICK = {"steps": 100, "batch_size": 64}  # about 4 minutes on 2 (shared) CPU cores
FULL = {"steps": 2_000, "batch_size": 256}


def settings(clip_values: Sequence[float] = CLIP_VALUES) -> list[CriticSetting]:
    """Weight clipping at each ``c`` (RMSProp 5e-5, the original WGAN), then the gradient penalty."""
    clipped = [CriticSetting(f"weight clipping (c={c:g})", {"objective": "wgan-clip", "clip_value": c,
                                                           "optimizer": "rmsprop", "lr": 5e-5}) for c in clip_values]
    return [*clipped, PENALTY]


def gradient_norms(
    run_dir: str | Path,
    *,
    steps: int = QUICK["steps"],
    clip_values: Sequence[float] = CLIP_VALUES,
    depth: int = 12,
    dim: int = 512,
    batch_size: int = QUICK["batch_size"],
    dataset: str = "swissroll",
    seed: int = 0,
    device: str = "auto",
    echo: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Train one ``depth``-layer critic per setting for ``steps`` steps; write the figures and a table.

    ``gradient_norms.png``: log-scale gradient norm of each layer's weights
    (geometric mean over the second half of the steps; layer 1 reads the
    input) per setting.
    ``weight_histograms.png``: every weight of each trained critic. The table
    gives the norms at the first and last layer and the fraction of weights
    within 1% of the clipping bound. Returns the rows and the per-layer norms.
    """
    run = Path(run_dir)
    run.mkdir(parents=True, exist_ok=True)
    norms: dict[str, list[float]] = {}
    weights: dict[str, torch.Tensor] = {}
    rows = []
    for setting in settings(clip_values):
        echo(f"{dataset}: {setting.label}, {depth} layers, {steps} critic steps")
        log_sums = torch.zeros(depth, dtype=torch.float64)
        # The first steps see the initial weights (clipping applies after each update): average the second half.
        first_counted = steps // 2

        def record(trainer: Trainer, step: int) -> None:
            if step >= first_counted:
                grads = torch.stack([layer.weight.grad.detach().norm() for layer in trainer.critic.linear_layers()])
                log_sums.add_(grads.double().cpu().clamp_min(1e-300).log())

        trainer = train_fixed_critic(dataset, setting, steps, dim=dim, hidden_layers=depth - 1, batch_size=batch_size,
                                     seed=seed, device=device, on_step=record)
        per_layer = (log_sums / (steps - first_counted)).exp().tolist()
        norms[setting.label] = per_layer
        flat = torch.cat([layer.weight.detach().flatten().cpu() for layer in trainer.critic.linear_layers()])
        weights[setting.label] = flat
        clip = setting.train.get("clip_value") if setting.train["objective"] == "wgan-clip" else None
        at_bound = float((flat.abs() >= 0.99 * clip).float().mean()) if clip else float("nan")
        rows.append({"critic": setting.label, "steps": steps, "grad_layer_1": per_layer[0],
                     f"grad_layer_{depth}": per_layer[-1], "ratio_first_to_last": per_layer[0] / per_layer[-1],
                     "weights_at_bound": at_bound})
    norms_png = _plot_norms(run / "gradient_norms.png", norms, dataset, steps)
    hist_png = _plot_histograms(run / "weight_histograms.png", weights)
    notes = (f"{depth}-layer ReLU MLP critics ({dim} wide) on {dataset}, generator fixed at data + N(0, 1), "
             f"{steps} critic steps each (paper, Figure 1b). Gradient norms are of the critic's training loss with "
             "respect to each layer's weight matrix, geometric mean over the second half of the steps; layer 1 "
             "reads the input. "
             "`weights_at_bound`: fraction of weights within 1% of +-c. "
             f"Figures: {norms_png.name}, {hist_png.name}.")
    write_table(run, "gradient_norms", "Gradient norms of deep critics: weight clipping vs gradient penalty", rows,
                ["critic", "steps", "grad_layer_1", f"grad_layer_{depth}", "ratio_first_to_last", "weights_at_bound"],
                notes, extra={"per_layer": norms})
    return {"rows": rows, "per_layer": norms, "figures": [str(norms_png), str(hist_png)]}


def _figure(width: float, height: float, columns: int = 1):  # noqa: ANN202 (matplotlib objects)
    fig = Figure(figsize=(width, height))
    FigureCanvasAgg(fig)
    return fig, fig.subplots(1, columns, squeeze=False)[0]


def _plot_norms(path: Path, norms: dict[str, list[float]], dataset: str, steps: int) -> Path:
    fig, (ax,) = _figure(6, 4.5)
    for label, values in norms.items():
        layers = list(range(1, len(values) + 1))
        ax.plot(layers, [math.log10(max(v, 1e-300)) for v in values], marker="o", label=label)
    ax.set_xlabel("critic layer (1 = input)")
    ax.set_ylabel("log10 gradient norm")
    ax.set_title(f"{dataset}: gradient norm per layer ({steps} steps)", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=100))
    return path


def _plot_histograms(path: Path, weights: dict[str, torch.Tensor]) -> Path:
    fig, axes = _figure(3.6 * len(weights), 3.2, columns=len(weights))
    for ax, (label, values) in zip(axes, weights.items()):
        ax.hist(values.numpy(), bins=60, color="C0")
        ax.set_title(label, fontsize=9)
        ax.set_xlabel("weight", fontsize=8)
        ax.tick_params(labelsize=7)
    fig.tight_layout()
    atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=100))
    return path
