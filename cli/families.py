"""``--config NAME`` for every family: route ``chargan train | sample | eval`` to the right library calls.

The language model keeps its own code path in `chargan.cli.main`; the other
families (toy, and those added to `chargan.configs` later) go through the
generic functions here: the registry gives the config, the overrides and the
train function, so a new family needs no CLI change to train.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource

from chargan.configs import DEFAULT_CONFIG, FAMILIES, configs_by_family, get_named_config, run_family

#: Options of `chargan train` that mean the same for every family (the rest are family settings).
COMMON_OPTIONS = {"config_name", "preset", "run", "runs_root", "resume", "progress", "download"}
#: Flags of `chargan train` whose flat setting name differs from the option name.
_FLAG_SETTINGS = {"beta1": "betas", "beta2": "betas"}


def route_train(config_name: str | None, preset: str | None, *, run: str | None, runs_root: str, resume: bool,
                progress: bool, beta1: float | None, beta2: float | None, flags: dict[str, Any],
                download: bool = True) -> tuple[bool, str | None]:
    """Train a non-language config here and return ``(True, None)``; for the language model return
    ``(False, preset)``: `train` goes on with that preset (None on a resume: the run's own).

    ``--preset`` is an alias of ``--config``. With ``--resume``, the run's own
    family and settings are used and naming a config is refused.
    """
    if config_name is not None and preset is not None and config_name != preset:
        raise click.UsageError(f"--config {config_name} and --preset {preset} disagree; give one of them")
    name = config_name if config_name is not None else preset
    option = "--config" if config_name is not None else "--preset"
    if resume:
        run_dir = Path(run) if run else _latest_run(runs_root)
        family = run_family(run_dir)
        if name is not None:
            raise click.UsageError(f"{option} cannot change a resumed run; drop it (the run's own settings are used)")
        if family == "text":
            return False, None
        base = FAMILIES[family].function("load_run_config")(run_dir)
    else:
        entry = get_named_config(name or DEFAULT_CONFIG, option="preset" if option == "--preset" else "config")
        family = entry.family
        if family == "text":
            return False, entry.name
        run_dir = Path(run) if run else None
        base = entry.load()
    _refuse_foreign_flags(family, base)
    # Foreign flags given on the command line were refused above; foreign defaults are dropped here.
    accepted = FAMILIES[family].function("override_names")()
    overrides = {k: v for k, v in flags.items() if v is not None and k in accepted}
    if beta1 is not None or beta2 is not None:
        betas = base.train.betas
        overrides["betas"] = (betas[0] if beta1 is None else beta1, betas[1] if beta2 is None else beta2)
    config = FAMILIES[family].function("with_overrides")(base, **overrides).validate()
    train = FAMILIES[family].function("train")
    outcome = train(config, run_dir, resume=resume, runs_root=runs_root, progress=progress, download=download,
                    echo=click.echo)
    _report(outcome)
    return True, None


def _latest_run(runs_root: str) -> Path:
    from chargan.core.run import latest_run

    return latest_run(runs_root)


def _refuse_foreign_flags(family: str, config: Any) -> None:
    """One usage error naming every flag given on the command line that ``family`` has no setting for."""
    ctx = click.get_current_context()
    accepted = FAMILIES[family].function("override_names")()
    foreign = []
    for param in ctx.command.params:
        if param.name in COMMON_OPTIONS or ctx.get_parameter_source(param.name) not in (
                ParameterSource.COMMANDLINE, ParameterSource.ENVIRONMENT):
            continue
        if _FLAG_SETTINGS.get(param.name, param.name) not in accepted:
            foreign.append(param.opts[0])
    if foreign:
        name = getattr(config, "name", family)
        raise click.UsageError(f"{', '.join(foreign)} {'does' if len(foreign) == 1 else 'do'} not apply to {family} "
                               f"config {name}; drop {'it' if len(foreign) == 1 else 'them'} (see `chargan configs`)")


_NOT_SHOWN = {"iteration", "seconds", "it_per_sec", "critic_loss", "generator_loss", "gradient_penalty", "grad_norm"}


def _report(outcome: Any) -> None:
    result = outcome.result
    shown = "  ".join(f"{k}={v:.4f}" for k, v in result.metrics.items() if k not in _NOT_SHOWN and isinstance(v, float))
    click.echo(f"{'stopped' if result.interrupted else 'finished'} at iteration {result.iteration}: {shown}")
    click.echo(f"run saved in {outcome.run.root}; plots in {outcome.run.plots_dir}")
    if result.interrupted:
        click.echo(f"resume with: chargan train --resume --run {outcome.run.root}", err=True)
        sys.exit(130)


# ------------------------------------------------------------------ sample / eval
def sample_family_run(run_dir: Path, n: int, seed: int | None, device: str) -> bool:
    """Print samples of a non-language run (a toy run: ``x y`` per line; an image run: writes a PNG grid
    into its samples/ folder and prints its path); False for a language run."""
    family = run_family(run_dir)
    if family == "text":
        return False
    if family == "image":
        from datetime import datetime

        from chargan.image.pipeline import sample_image_grid

        name = f"sample_{datetime.now().strftime('%Y%m%d-%H%M%S')}.png"
        click.echo(f"wrote {sample_image_grid(run_dir, Path(run_dir) / 'samples' / name, n, seed=seed, device=device)}")
        return True
    from chargan.toy.pipeline import sample_points

    for x, y in sample_points(run_dir, n, seed=seed, device=device).tolist():
        click.echo(f"{x:.6f} {y:.6f}")
    return True


def evaluate_family_run(run_dir: Path, n: int | None, seed: int | None, as_json: bool, device: str,
                        reference: str | None) -> bool:
    """Print the metrics of a non-language run (toy: modes_covered, high_quality, w1); False for a language run."""
    family = run_family(run_dir)
    if family == "text":
        return False
    if reference is not None:
        raise click.UsageError("--reference applies to language runs only")
    if family != "toy":
        raise click.UsageError(f"`chargan eval` does not handle {family} runs yet; see the run's metrics.jsonl")
    from chargan.toy.pipeline import evaluate_toy_run

    # -n's default is the language model's 640; a toy run scores its own eval sample size unless -n is given.
    given = click.get_current_context().get_parameter_source("n") == ParameterSource.COMMANDLINE
    result = evaluate_toy_run(run_dir, n=n if given else None, seed=seed, device=device)
    if as_json:
        click.echo(json.dumps(result))
        return True
    width = max(map(len, result))
    for key, value in result.items():
        click.echo(f"{key:<{width}}  {value:.4f}" if isinstance(value, float) else f"{key:<{width}}  {value}")
    return True


# ------------------------------------------------------------------------ configs
def list_configs(default: str = DEFAULT_CONFIG) -> None:
    """Print every named config, grouped by family, with its main settings."""
    for family, entries in configs_by_family().items():
        if not entries:
            continue
        click.echo(f"{family}: {FAMILIES[family].description}")
        for entry in entries:
            mark = " (default)" if entry.name == default else ""
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
    return " ".join(parts)
