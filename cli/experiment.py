"""``chargan experiment ...``: the paper's figures as commands.

Each command writes its PNG figures and a table (Markdown and JSON) into
``--run DIR`` (default: a new ``runs/<experiment>-<time>``). Without
``--quick`` it runs at the paper's size; ``--quick`` finishes in minutes on
a 2-core CPU.
"""

from __future__ import annotations

from pathlib import Path

import click

POSITIVE = click.IntRange(min=1)

run_option = click.option("--run", "--run-dir", "run", type=click.Path(file_okay=False), default=None,
                          help="Folder for the figures and tables (default: a new one under --runs-root).")
runs_root_option = click.option("--runs-root", default="runs", show_default=True, type=click.Path(file_okay=False),
                                help="Where the default --run folder is created.")
quick_option = click.option("--quick", is_flag=True, help="A small size that finishes in minutes on a 2-core CPU.")
device_option = click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda, cuda:N.")
seed_option = click.option("--seed", type=int, default=0, show_default=True, help="Seed for weights, data and noise.")


def _folder(run: str | None, runs_root: str, name: str) -> Path:
    from chargan.core.run import new_run_path  # torch: only when an experiment runs, not on `chargan --help`

    return Path(run) if run else new_run_path(runs_root, name)


def _done(folder: Path, files: list[str]) -> None:
    click.echo(f"wrote {', '.join(files)} in {folder}")


@click.group()
def experiment() -> None:
    """The paper's experiments: each writes PNG figures and a table into --run DIR."""


@experiment.command("critic-surfaces")
@run_option
@runs_root_option
@quick_option
@click.option("--steps", type=POSITIVE, default=None, help="Critic steps per critic (default: 20,000; --quick: 1,000).")
@seed_option
@device_option
def critic_surfaces_command(run: str | None, runs_root: str, quick: bool, steps: int | None, seed: int, device: str) -> None:
    """Figure 1a: critics trained to optimality with weight clipping vs gradient penalty on 8gaussians,
    25gaussians and swissroll, generator fixed at data + N(0, 1); value surfaces side by side."""
    from chargan.experiments import surfaces  # torch: only when this experiment runs

    folder = _folder(run, runs_root, "critic-surfaces")
    steps = steps or (surfaces.QUICK_STEPS if quick else surfaces.FULL_STEPS)
    surfaces.critic_surfaces(folder, steps=steps, seed=seed, device=device, echo=click.echo)
    _done(folder, ["critic_surfaces.png", "critic_surfaces.md", "critic_surfaces.json"])


@experiment.command("gradient-norms")
@run_option
@runs_root_option
@quick_option
@click.option("--steps", type=POSITIVE, default=None,
              help="Critic steps per critic (default: 2,000 at batch 256; --quick: 100 at batch 64).")
@click.option("--depth", type=click.IntRange(min=2), default=12, show_default=True, help="Linear layers in the critic.")
@seed_option
@device_option
def gradient_norms_command(run: str | None, runs_root: str, quick: bool, steps: int | None, depth: int, seed: int,
                           device: str) -> None:
    """Figure 1b: deep ReLU MLP critics on the Swiss roll, weight clipping c in {0.1, 0.01, 0.001} vs gradient
    penalty: per-layer gradient norms (log scale) and weight histograms."""
    from chargan.experiments import deep_critics  # torch: only when this experiment runs

    folder = _folder(run, runs_root, "gradient-norms")
    size = deep_critics.QUICK if quick else deep_critics.FULL
    deep_critics.gradient_norms(folder, steps=steps or size["steps"], batch_size=size["batch_size"], depth=depth,
                                seed=seed, device=device, echo=click.echo)
    _done(folder, ["gradient_norms.png", "weight_histograms.png", "gradient_norms.md", "gradient_norms.json"])


@experiment.command("language-objectives")
@run_option
@runs_root_option
@quick_option
@click.option("--corpus", default="demo", show_default=True, help="The corpus of every run (see `chargan train --help`).")
@click.option("--data-dir", default=None, type=click.Path(), help="Where Billion Word is unpacked (or its parent).")
@click.option("--iterations", type=POSITIVE, default=None,
              help="Generator iterations per objective (default: the paper preset's 200k; --quick: 300 of the cpu preset).")
@click.option("--progress/--no-progress", default=True, show_default=True, help="Show progress bars.")
@device_option
def language_objectives_command(run: str | None, runs_root: str, quick: bool, corpus: str, data_dir: str | None,
                                iterations: int | None, progress: bool, device: str) -> None:
    """Section 5.5: the character model trained with gan, wgan-clip and wgan-gp for the same budget; a table of
    JS-1..4 and samples. Full size: the `paper` preset (use --corpus billion_word for the paper's data)."""
    from chargan.experiments import language as lo  # torch: only when this experiment runs

    folder = _folder(run, runs_root, "language-objectives")
    size = lo.QUICK if quick else lo.FULL
    lo.language_objectives(folder, preset=size["preset"], corpus=corpus, data_dir=data_dir, progress=progress,
                           echo=click.echo, iterations=iterations or size["iterations"],
                           eval_every=size["eval_every"], device=device)
    _done(folder, ["language_objectives.png", "language_objectives.md", "language_objectives.json"])
