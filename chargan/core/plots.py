"""Training curves as a PNG: losses on the left, evaluation metrics on the right."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

# A bare Figure on the Agg canvas, not pyplot: a notebook's backend is left alone.
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from chargan.core.atomic import atomic_write

LOSS_KEYS = ("critic_loss", "generator_loss", "wasserstein", "gradient_penalty")


def _series(records: Sequence[dict[str, Any]], key: str) -> tuple[list[int], list[float]]:
    xs, ys = [], []
    for r in records:
        value = r.get(key)
        if isinstance(value, (int, float)):
            xs.append(r["iteration"])
            ys.append(value)
    return xs, ys


def plot_metrics(
    records: Sequence[dict[str, Any]],
    path: str | Path,
    metric_keys: Sequence[str] = (),
    loss_keys: Sequence[str] = LOSS_KEYS,
    metric_title: str = "evaluation metrics",
    metric_label: str = "value",
) -> None:
    """Write the ``loss_keys`` curves (left) and the ``metric_keys`` curves (right) of ``records`` to ``path``.

    A record with a ``floor_<metric>`` key draws that floor as a dashed line,
    its value written at its right end; ``metric_label`` names the right
    panel's y axis with its unit. When every metric value and floor is
    positive the right panel is logarithmic, so floors far below the curves
    (JS-1's next to JS-2's) stay apart.
    The trainer passes its objective's ``estimate`` among the ``loss_keys``
    and the evaluator's metrics as ``metric_keys``.
    """
    fig = Figure(figsize=(12, 4.5))
    FigureCanvasAgg(fig)
    left, right = fig.subplots(1, 2)
    for key in loss_keys:
        xs, ys = _series(records, key)
        if xs:
            left.plot(xs, ys, label=key, linewidth=1)
    left.set_xlabel("generator iteration")
    left.set_ylabel("loss (critic score units)")
    left.set_title("losses")
    if left.lines:
        left.legend(loc="best", fontsize=8)
    left.grid(alpha=0.3)
    shown: list[float] = []
    for i, key in enumerate(metric_keys):
        color = f"C{i}"
        xs, ys = _series(records, key)
        if xs:
            right.plot(xs, ys, marker=".", label=key, color=color)
        floor = next((r[f"floor_{key}"] for r in records if isinstance(r.get(f"floor_{key}"), (int, float))), None)
        if floor is not None:
            right.axhline(floor, linestyle="--", color=color, linewidth=0.8, label=f"{key} floor (held-out data)")
            right.annotate(f"{floor:.3g}", (1.0, floor), xycoords=("axes fraction", "data"), color=color,
                           fontsize=7, ha="left", va="center")
            shown.append(floor)
        shown += ys
    if shown and min(shown) > 0:
        right.set_yscale("log")
    right.set_xlabel("generator iteration")
    right.set_ylabel(metric_label)
    right.set_title(metric_title)
    if right.lines:
        right.legend(loc="best", fontsize=8)
    right.grid(alpha=0.3)
    fig.tight_layout()
    atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=100))
