"""Section 5.5's claim: of gan, wgan-clip and wgan-gp, only WGAN-GP trains the character model well.

Each objective trains the same character-level model (`chargan.text`) for
the same number of generator iterations, each in its own run directory
under the experiment's folder, with its paper's recommended optimizer:
``wgan-clip`` uses the original WGAN's RMSProp (lr 5e-5, c = 0.01);
``gan`` and ``wgan-gp`` keep the preset's Adam settings.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from chargan.core.atomic import atomic_write
from chargan.experiments.report import markdown_table, write_table
from chargan.families import train
from chargan.text.config import get_preset

OBJECTIVES = ("gan", "wgan-clip", "wgan-gp")
#: Per-objective settings on top of the preset: each objective's own paper's recommendations.
OBJECTIVE_SETTINGS: dict[str, dict[str, Any]] = {
    "gan": {},
    "wgan-clip": {"optimizer": "rmsprop", "lr": 5e-5, "clip_value": 0.01},
    "wgan-gp": {},
}
QUICK = {"preset": "cpu", "iterations": 300, "eval_every": 100}
FULL = {"preset": "paper", "iterations": None, "eval_every": None}  # the preset's 200k iterations


def language_objectives(
    run_dir: str | Path,
    *,
    preset: str = "cpu",
    objectives: Sequence[str] = OBJECTIVES,
    corpus: str = "demo",
    data_dir: str | None = None,
    n_samples: int = 10,
    progress: bool = False,
    echo: Callable[[str], None] = print,
    **overrides: Any,
) -> dict[str, Any]:
    """Train the language model once per objective; write ``language_objectives.{md,json,png}``.

    ``overrides`` are flat settings for every run (``iterations=300``,
    ``dim=8``; see `chargan.core.config.SectionedConfig.with_overrides`). Each run lives in
    ``<run_dir>/<objective>/``. The table holds the last evaluation's JS-1..4
    (bits; lower is better) and the held-out floor; the Markdown file also
    lists ``n_samples`` samples of each run's last evaluation.
    """
    run = Path(run_dir)
    run.mkdir(parents=True, exist_ok=True)
    base = get_preset(preset).with_overrides(corpus=corpus, data_dir=data_dir, **overrides)
    rows: list[dict[str, Any]] = []
    samples: dict[str, list[str]] = {}
    curves: dict[str, list[tuple[int, float]]] = {}
    floor: dict[str, float] = {}
    for objective in objectives:
        config = base.with_overrides(objective=objective, **OBJECTIVE_SETTINGS.get(objective, {})).validate()
        echo(f"{objective}: {config.train.iterations} iterations, optimizer {config.train.optimizer} lr {config.train.lr}")
        outcome = train(config, run / objective, progress=progress, echo=echo)
        floor = outcome.floor
        final = outcome.result.metrics
        rows.append({"objective": objective, "iterations": outcome.result.iteration,
                     **{k: final[k] for k in sorted(final) if k.startswith("js")}})
        samples[objective] = _last_samples(outcome.run.samples_dir, n_samples)
        curves[objective] = [(r["iteration"], r["js4"]) for r in outcome.run.read_metrics() if isinstance(r.get("js4"), float)]
    rows.append({"objective": "floor (held-out real text)", "iterations": "", **floor})
    columns = ["objective", "iterations", *sorted(k for k in rows[0] if k.startswith("js"))]
    figure = _plot(run / "language_objectives.png", curves, floor.get("js4"))
    notes = (f"The `{preset}` preset on corpus `{corpus}`, one run per objective under this folder. JS-n: Jensen-Shannon "
             "divergence (bits) between the n-gram distributions of generated and real text; lower is better, the "
             f"floor row is what real held-out text scores. wgan-clip uses RMSProp lr 5e-5, c = 0.01. Figure: {figure.name}.")
    md, _ = write_table(run, "language_objectives", "Language model: gan vs wgan-clip vs wgan-gp", rows, columns, notes,
                        extra={"samples": samples})
    with md.open("a", encoding="utf-8") as f:
        for objective, lines in samples.items():
            f.write(f"\n## Samples: {objective}\n\n```\n" + "\n".join(lines) + "\n```\n")
    return {"rows": rows, "samples": samples, "figure": str(figure), "table": markdown_table(rows, columns)}


def _last_samples(folder: Path, n: int) -> list[str]:
    files = sorted(folder.glob("samples_*.txt"))
    return files[-1].read_text(encoding="utf-8").splitlines()[:n] if files else []


def _plot(path: Path, curves: dict[str, list[tuple[int, float]]], floor: float | None) -> Path:
    fig = Figure(figsize=(6, 4.5))
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    for objective, points in curves.items():
        if points:
            ax.plot(*zip(*points), marker=".", label=objective)
    if floor is not None:
        ax.axhline(floor, linestyle="--", color="gray", linewidth=0.8, label="floor (held-out text)")
    ax.set_xlabel("generator iteration")
    ax.set_ylabel("JS-4 (bits)")
    ax.set_title("character 4-gram JS by objective", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=100))
    return path
