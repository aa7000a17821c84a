"""Scatter plots of real vs generated points over the critic's value contours."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from torch import Tensor, nn

from chargan.core.atomic import atomic_write

GRID = 128  # contour resolution per axis, as the reference


@dataclass(frozen=True)
class SurfacePanel:
    """One panel: a critic's value surface with real and generated points ``(n, 2)``."""

    title: str
    critic: nn.Module
    real: Tensor
    fake: Tensor


def critic_grid(critic: nn.Module, plot_range: float, grid: int = GRID) -> tuple[Tensor, Tensor, Tensor]:
    """``(xs, ys, values)``: the critic's scores on a ``grid x grid`` mesh of ``[-range, range]^2``; ``values[j, i]`` at ``(xs[i], ys[j])``."""
    device = next(critic.parameters()).device
    axis = torch.linspace(-plot_range, plot_range, grid)
    mesh_y, mesh_x = torch.meshgrid(axis, axis, indexing="ij")
    points = torch.stack([mesh_x.reshape(-1), mesh_y.reshape(-1)], dim=1).to(device)
    with torch.no_grad():
        values = critic(points).float().cpu().reshape(grid, grid)
    return axis, axis, values


def draw_panel(ax, panel: SurfacePanel, plot_range: float) -> None:  # noqa: ANN001 (a matplotlib Axes)
    xs, ys, values = critic_grid(panel.critic, plot_range)
    ax.contour(xs.numpy(), ys.numpy(), values.numpy(), levels=20, linewidths=0.8, cmap="viridis")
    ax.scatter(panel.real[:, 0].numpy(), panel.real[:, 1].numpy(), c="orange", marker="+", s=12, linewidths=0.6, label="real")
    ax.scatter(panel.fake[:, 0].numpy(), panel.fake[:, 1].numpy(), c="green", marker="+", s=12, linewidths=0.6, label="generated")
    ax.set_xlim(-plot_range, plot_range)
    ax.set_ylim(-plot_range, plot_range)
    ax.set_aspect("equal")
    ax.set_title(panel.title, fontsize=9)
    ax.tick_params(labelsize=7)


def write_surfaces(path: str | Path, panels: Sequence[SurfacePanel], columns: int, plot_range: float = 3.0,
                   title: str | None = None) -> Path:
    """Draw ``panels`` row by row, ``columns`` per row, into the PNG ``path`` (written atomically)."""
    rows = -(-len(panels) // columns)
    fig = Figure(figsize=(3.6 * columns, 3.6 * rows))
    FigureCanvasAgg(fig)
    axes = fig.subplots(rows, columns, squeeze=False)
    for ax, panel in zip(axes.flat, panels):
        draw_panel(ax, panel, plot_range)
    for ax in list(axes.flat)[len(panels):]:
        ax.axis("off")
    axes.flat[0].legend(loc="upper left", fontsize=7)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    path = Path(path)
    atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=100))
    return path
