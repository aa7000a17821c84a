"""``chargan``: a thin command line over the library.

One ``train``, one ``sample`` and one ``eval`` path for every family: each
command parses its flags, calls one library function (`chargan.families`)
and prints the result. A `UserError` from the library becomes one
``Error:`` line (plus a hint) and exit code 1; usage mistakes (a flag a
command does not accept) exit with code 2; an interrupted training run
exits with 130 after saving its checkpoint.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import click

from chargan.cli.data import data
from chargan.cli.experiment import experiment
from chargan.cli.export import export
from chargan.cli.group import CleanErrorGroup
from chargan.cli.runs import runs
from chargan.cli.settings import refuse_foreign, with_setting_options
from chargan.core.config import SEED_MAX
from chargan.core.family import DECODINGS
from chargan.core.objectives import OBJECTIVES
from chargan.families import CONFIGS, DEFAULT_CONFIG, FAMILIES, configs_by_family, get_named_config, run_family
from chargan.families import evaluate as evaluate_run
from chargan.families import read_run_config
from chargan.families import sample as sample_run
from chargan.families import train as train_config

POSITIVE = click.IntRange(min=1)
SEED = click.IntRange(0, SEED_MAX)


@click.group(cls=CleanErrorGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="chargan")
def cli() -> None:
    """WGAN-GP for discrete sequences: the character-level GAN language model
    of Gulrajani et al. (2017) and the gene and protein GANs of FBGAN (Gupta &
    Zou 2019), trained, sampled and evaluated, and the same GAN core's toy 2-D
    and image configs."""


def _resolve_run(run: str | None, runs_root: str) -> Path:
    from chargan.core.run import latest_run  # torch (through the run's rank checks): not on `chargan --help`

    return Path(run) if run else latest_run(runs_root)


# --run-dir: under torchrun (Python 3.11), torchrun's own parser reads "--run" as an abbreviation of its --run-path.
run_option = click.option("--run", "--run-dir", "run", type=click.Path(file_okay=False), default=None,
                          help="Run directory (default: the latest under --runs-root). --run-dir is the same (use it under torchrun).")
train_run_option = click.option("--run", "--run-dir", "run", type=click.Path(file_okay=False), default=None,
                                help="Run directory: a new (absent or empty) folder (default: <runs-root>/<config>-<time>), "
                                     "or with --resume the run to continue (default: the latest under --runs-root). "
                                     "--run-dir is the same (use it under torchrun).")
runs_root_option = click.option("--runs-root", default="runs", show_default=True, type=click.Path(file_okay=False),
                                help="Where new runs are created and the latest is looked up.")
lookup_root_option = click.option("--runs-root", default="runs", show_default=True, type=click.Path(file_okay=False),
                                  help="Where the latest run is looked up when --run is not given.")
device_option = click.option("--device", default=None, help="auto (CUDA when available, else CPU), cpu, cuda, cuda:N.")
raw_weights_option = click.option("--raw-weights", is_flag=True,
                                  help="Use the trained generator's weights, not their average (runs trained with "
                                       "--ema-decay; default: the average).")


@cli.command()
@click.option("--config", "config_name", default=None,
              help=f"A named config of any family: {', '.join(CONFIGS)} (default {DEFAULT_CONFIG}; see `chargan "
                   "configs`). Flags of settings the config's family does not have are refused.")
@click.option("--preset", default=None, help="Alias of --config (the language presets' original name).")
@click.option("--download/--no-download", default=True, show_default=True,
              help="Fetch missing data (Billion Word: 1.8 GB; MNIST, CIFAR-10), or stop with an error.")
@train_run_option
@runs_root_option
@click.option("--resume", is_flag=True, help="Continue the run in --run (or the latest) from its newest checkpoint.")
@click.option("--progress/--no-progress", default=True, show_default=True, help="Show a progress bar.")
@with_setting_options
def train(config_name: str | None, preset: str | None, run: str | None, runs_root: str, resume: bool, progress: bool,
          download: bool, **flags: Any) -> None:
    """Train a named config of any family: the character-level WGAN-GP language model (default), a gene or
    protein GAN, a toy 2-D GAN or an image GAN (see `chargan configs`); flags override its settings.

    A setting's help ends with its value in the default config, cpu ([cpu: ...]): what an unset flag keeps.
    Another --config brings its own values (`chargan configs` lists them; a run's config.json records them).

    Under `torchrun --nproc-per-node N -m chargan.cli train ...` the N processes train data-parallel."""
    from chargan.core.distributed import init_from_env, is_main_process  # torch: only once something trains

    init_from_env()  # a no-op unless torchrun started several processes
    if not is_main_process():
        sys.stdout = open(os.devnull, "w")  # rank 0 speaks for the group; errors still reach stderr
    if config_name is not None and preset is not None and config_name != preset:
        raise click.UsageError(f"--config {config_name} and --preset {preset} disagree; give one of them")
    name = config_name if config_name is not None else preset
    if resume and not _died_before_first_record(run):
        if name is not None:
            option = "--config" if config_name is not None else "--preset"
            raise click.UsageError(f"{option} cannot change a resumed run; drop it (the run's own settings are used)")
        run_dir: Path | None = _resolve_run(run, runs_root)
        family, base = run_family(run_dir).NAME, read_run_config(run_dir)
    else:  # a new run, or one that died before it recorded its config: it starts (again) from the flags
        entry = get_named_config(name or DEFAULT_CONFIG, option="preset" if preset is not None else "config")
        run_dir, family, base = (Path(run) if run else None), entry.family, entry.load()
    given = {k: v for k, v in flags.items() if v is not None}
    refuse_foreign(family, base.name, given)
    config = base.with_overrides(**given).validate()
    moot = sorted((name, why) for name, why in config.inapplicable().items() if name in given)
    if moot:  # the flag would change nothing: say so rather than record it
        name, why = moot[0]
        raise click.UsageError(f"--{name.replace('_', '-')} does not apply to this run: {why}; drop it")
    outcome = train_config(config, run_dir, resume=resume, runs_root=runs_root, progress=progress, download=download,
                           echo=click.echo)
    result = outcome.result
    click.echo(closing_line(result))
    click.echo(f"run saved in {outcome.run.root}; try: chargan sample -n 20 --run {outcome.run.root}")
    if result.interrupted:
        click.echo(f"resume with: chargan train --resume --run {outcome.run.root}", err=True)
        sys.exit(130)


def closing_line(result: Any) -> str:
    """``finished at iteration N: <the evaluation's figures>``; an older evaluation's figures say so."""
    shown = "  ".join(f"{k}={v:.4f}" for k, v in sorted(result.metrics.items()) if k not in _NOT_SHOWN and isinstance(v, float))
    if result.evaluated_at not in (None, result.iteration) and shown:
        shown = f"(last evaluation, at iteration {result.evaluated_at}: {shown})"
    return f"{'stopped' if result.interrupted else 'finished'} at iteration {result.iteration}: {shown}"


#: What the closing line leaves out: the step statistics and timings (the evaluation's figures stay).
_NOT_SHOWN = {"iteration", "seconds", "it_per_sec", "critic_loss", "generator_loss", "gradient_penalty", "grad_norm",
              *(objective.estimate for objective in OBJECTIVES.values())}


@cli.command()
@click.option("-n", "--num", "n", type=POSITIVE, default=20, show_default=True, help="Number of samples.")
@run_option
@lookup_root_option
@click.option("--seed", type=SEED, default=None, help="Noise seed, for samples you can draw again (default: fresh randomness).")
@click.option("--decode", type=click.Choice(DECODINGS), default="argmax", show_default=True,
              help="Text and genes runs: each position's symbol is the softmax's argmax (the paper), or drawn "
                   "from the softmax (sample: a departure from the paper that shows the spread argmax hides).")
@click.option("--temperature", type=click.FloatRange(min=0, min_open=True), default=None,
              help="--decode sample: draw from softmax ** (1 / T), renormalized: below 1 sharper, above 1 flatter. "
                   "Default 1.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Write the samples to this file, one per line (an image run: the PNG grid), instead of printing them.")
@click.option("--model", type=click.Path(file_okay=False), default=None,
              help="Sample a generator exported with `chargan export` (a folder) instead of a run.")
@device_option
@raw_weights_option
def sample(n: int, run: str | None, runs_root: str, seed: int | None, decode: str, temperature: float | None,
           output: str | None, model: str | None, device: str | None, raw_weights: bool) -> None:
    """Print samples from a run's newest generator, one per line: decoded text, or a genes run's sequences with
    the padding stripped (a toy run: one "x y" point per line; an image run: writes a PNG grid into its
    samples/ folder and prints its path)."""
    if temperature is not None and decode != "sample":
        raise click.UsageError("--temperature applies to --decode sample; add it, or drop --temperature")
    options = {"seed": seed, "decode": decode, "temperature": 1.0 if temperature is None else temperature,
               "output": output, "device": device or "auto"}
    if model is not None:
        if run is not None:
            raise click.UsageError("--model and --run name two generators; give one of them")
        if raw_weights:
            raise click.UsageError("--raw-weights applies to runs; an exported model holds one set of weights")
        from chargan.export import sample_exported  # torch: only once something samples

        lines = sample_exported(model, n, **options)
    else:
        lines = sample_run(_resolve_run(run, runs_root), n, raw=raw_weights, **options)
    for line in lines:
        click.echo(line)


@cli.command(name="eval")
@run_option
@lookup_root_option
@click.option("--reference", type=click.Path(dir_okay=False), default=None,
              help="Text runs: a reference text file; genes runs: a sequence file for the k-mer, length and "
                   "composition figures (novelty stays against the run's corpus). Default: the run's own corpus.")
@click.option("-n", "--num", "n", type=POSITIVE, default=None,
              help="Number of generated samples (default: 640 for a text or genes run, the run's evaluation "
                   "sample size for a toy run).")
@click.option("--seed", type=SEED, default=None, help="Noise seed (default: the run's evaluation seed).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of a table.")
@device_option
@raw_weights_option
def evaluate(run: str | None, runs_root: str, reference: str | None, n: int | None, seed: int | None,
             as_json: bool, device: str | None, raw_weights: bool) -> None:
    """Score a run: a text run's n-gram JS-1..4, word hit rate and verbatim copy rate; a genes run's k-mer
    JS-1..6, valid genes (DNA), novelty, lengths and composition (a toy run: modes_covered, high_quality, w1);
    each figure with its floor where one exists: what real held-out data scores."""
    result = evaluate_run(_resolve_run(run, runs_root), n, seed=seed, reference=reference, device=device or "auto",
                          progress=True, raw=raw_weights)
    if as_json:
        # NaN (no words generated) is not JSON: print null.
        click.echo(json.dumps({k: None if isinstance(v, float) and v != v else v for k, v in result.items()}))
        return
    width = max(map(len, result))
    for key, value in result.items():
        if key.startswith("floor_") and (key.removeprefix("floor_") in result or key == "floor_samples"):
            continue  # shown beside its figure
        floor = result.get(f"floor_{key}")
        beside = f"  (floor {floor:.4f}: {result.get('floor_samples')} held-out real samples)" if isinstance(floor, float) else ""
        click.echo(f"{key:<{width}}  {value:.4f}{beside}" if isinstance(value, float) else f"{key:<{width}}  {value}")


@cli.command()
def configs() -> None:
    """List the named configs of every family and their main settings."""
    for family, entries in configs_by_family().items():
        click.echo(f"{family}: {FAMILIES[family].DESCRIPTION}")
        for entry in entries:
            mark = " (default)" if entry.name == DEFAULT_CONFIG else ""
            click.echo(f"  {entry.name}{mark}: {entry.description}")
            click.echo(f"    {_settings(entry.load())}")
        click.echo("")
    click.echo("train one with `chargan train --config NAME` (--preset is an alias) and override its settings with"
               " flags (see `chargan train --help`), e.g. `chargan train --config paper --dim 256`;"
               " a run's resolved config is in its config.json")


def _settings(config: Any) -> str:
    """``dim=512 ... iterations=200000`` from a config with ``model`` and ``train`` sections."""
    parts = [f"{k}={v}" for k, v in vars(config.model).items() if k in ("dim", "n_blocks", "seq_len", "hidden_layers")]
    t = config.train
    parts += [f"batch={t.batch_size}", f"critic_iters={t.critic_iters}", f"objective={t.objective}",
              f"lambda_gp={t.lambda_gp}", f"lr={t.lr}", f"betas={t.betas}", f"iterations={t.iterations}"]
    # The recipes a config sets beyond the defaults (paper-ttur's two rates, say).
    parts += [f"{name}={getattr(t, name)}" for name in ("critic_lr", "generator_lr", "ema_decay", "real_smoothing",
                                                        "real_noise") if getattr(t, name)]
    return " ".join(parts)


cli.add_command(data)
cli.add_command(experiment)
cli.add_command(runs)
cli.add_command(export)


def _died_before_first_record(run: str | None) -> bool:
    from chargan.core.run import RunDirectory

    return run is not None and RunDirectory(run).died_before_first_record()


def main() -> None:
    cli(prog_name="chargan")


if __name__ == "__main__":
    main()
