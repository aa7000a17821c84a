"""``chargan export``: a trained language-model run as a folder to share (see `chargan.export`).

The command is registered by ``cli/main.py``. This module imports no torch:
the library is imported inside the command, so ``chargan --help`` stays fast.
"""

from __future__ import annotations

from pathlib import Path

import click


@click.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
# Declared here rather than imported from cli/main.py, which imports this module (no import cycle).
@click.option("--run", "--run-dir", "run", type=click.Path(file_okay=False), default=None,
              help="Run directory (default: the latest under --runs-root). --run-dir is the same.")
@click.option("--runs-root", default="runs", show_default=True, type=click.Path(file_okay=False),
              help="Where the latest run is looked up.")
@click.option("-n", "--samples", type=click.IntRange(min=0), default=5, show_default=True,
              help="Sample lines written into the model card.")
@click.option("--seed", type=int, default=0, show_default=True, help="Noise seed of the model card's samples.")
@click.option("--raw-weights", is_flag=True,
              help="Export the trained weights, not their average (runs trained with --ema-decay; default: the average).")
def export(directory: Path, run: str | None, runs_root: str, samples: int, seed: int, raw_weights: bool) -> None:
    """Write a language-model run's newest generator into the new folder DIRECTORY, in the layout of Hugging
    Face's PyTorchModelHubMixin: model.safetensors, config.json, vocab.json and a model card (README.md).

    Load it with `ConvGenerator.from_pretrained(DIRECTORY)` or `chargan.export.load_exported(DIRECTORY)`;
    publish it with `huggingface_hub.upload_folder`. An existing non-empty DIRECTORY is refused."""
    # torch: the run's weights are read only here, so `chargan --help` imports none of it.
    from chargan.core.run import latest_run
    from chargan.export import export_run

    run_dir = Path(run) if run else latest_run(runs_root)
    out = export_run(run_dir, directory, samples=samples, seed=seed, raw=raw_weights)
    click.echo(f"exported run {run_dir} to {out}: {', '.join(sorted(p.name for p in out.iterdir()))}")
