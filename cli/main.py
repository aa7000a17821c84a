"""``chargan``: a thin command line over the library.

Each command parses its flags, calls one library function and prints the
result. A `UserError` from the library becomes one ``Error:`` line (plus a
hint) and exit code 1; usage mistakes exit with code 2; an interrupted
training run exits with 130 after saving its checkpoint.
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
from chargan.cli.group import CleanErrorGroup

POSITIVE = click.IntRange(min=1)


@click.group(cls=CleanErrorGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="chargan")
def cli() -> None:
    """WGAN-GP for discrete sequences: the character-level GAN language model
    of Gulrajani et al. (2017), trained, sampled and evaluated."""


def _resolve_run(run: str | None, runs_root: str) -> Path:
    from chargan.core.run import latest_run

    return Path(run) if run else latest_run(runs_root)


# --run-dir: under torchrun (Python 3.11), torchrun's own parser reads "--run" as an abbreviation of its --run-path.
run_option = click.option("--run", "--run-dir", "run", type=click.Path(file_okay=False), default=None,
                          help="Run directory (default: the latest under --runs-root). --run-dir is the same (use it under torchrun).")
runs_root_option = click.option("--runs-root", default="runs", show_default=True, type=click.Path(file_okay=False),
                                help="Where new runs are created and the latest is looked up.")
device_option = click.option("--device", default=None, help="auto (CUDA when available, else CPU), cpu, cuda, cuda:N.")


@cli.command()
@click.option("--config", "config_name", default=None,
              help="A named config of any family: cpu (default), paper, paper-alg1 (language model); 8gaussians, "
                   "25gaussians, swissroll (toy 2-D). See `chargan configs`. Language-model flags (corpus, model "
                   "shape) are refused with a toy config.")
@click.option("--preset", default=None, help="Alias of --config (the language presets' original name).")
@click.option("--corpus", default=None,
              help="demo (offline, default), billion_word, hf:<dataset>[:<config>][@<revision>] (Hugging Face), "
                   "or a text file (plain or .gz), a folder of .txt/.gz files, or a quoted glob.")
@click.option("--data-dir", default=None, type=click.Path(), help="Where Billion Word is unpacked (or its parent). Also $CHARGAN_DATA_DIR.")
@click.option("--source", type=click.Choice(["tarball", "hf"]), default=None,
              help="Where billion_word comes from: the official tarball (default) or the Hugging Face parquet export.")
@click.option("--split", default=None, help="hf: corpora: the split to read (default train).")
@click.option("--text-column", default=None, help="hf: corpora: the column holding the text (default text).")
@click.option("--download/--no-download", default=True, show_default=True,
              help="Fetch Billion Word (1.8 GB) when it is not found, or stop with an error.")
@click.option("--max-lines", type=POSITIVE, default=None, help="Use at most this many corpus lines.")
@click.option("--units", type=click.Choice(["char", "subword"]), default=None,
              help="Symbols of a sequence: characters (default, the paper) or SentencePiece subword pieces.")
@click.option("--vocab-size", type=click.IntRange(3, 65536), default=None,
              help="--units subword: SentencePiece vocabulary size, padding and unknown included (default 8000).")
@click.option("--max-vocab", type=click.IntRange(min=3), default=None, help="--units char: most frequent characters kept (padding and unknown included).")
@click.option("--errors", type=click.Choice(["strict", "replace"]), default=None,
              help="Invalid UTF-8 in corpus files: stop with an error naming the place (strict, default) or read it as U+FFFD (replace).")
@click.option("--iterations", type=POSITIVE, default=None, help="Generator iterations to train for (in total, counting a resumed run's).")
@click.option("--dim", type=POSITIVE, default=None, help="Model width: conv channels (language: 512 in the paper; images) or MLP units (toy: 512).")
@click.option("--seq-len", type=POSITIVE, default=None, help="Symbols (characters or pieces) per sequence (paper: 32).")
@click.option("--batch-size", type=POSITIVE, default=None, help="Examples per batch (paper: 64).")
@click.option("--critic-iters", type=POSITIVE, default=None, help="Critic steps per generator step (paper: 10).")
@click.option("--lambda-gp", type=click.FloatRange(min=0), default=None, help="Gradient penalty weight (paper: 10).")
@click.option("--lr", type=click.FloatRange(min=0, min_open=True), default=None, help="Adam learning rate (paper: 1e-4).")
@click.option("--lr-decay", type=click.Choice(["none", "linear"]), default=None,
              help="Learning-rate schedule: constant, or linear to 0 at --iterations (the CIFAR ResNet's).")
@click.option("--generator-batch-size", type=POSITIVE, default=None,
              help="Noise vectors per generator step (default: --batch-size; the CIFAR ResNet uses 128).")
@click.option("--fixed-generator/--trained-generator", default=None,
              help="Toy configs: hold the generator at real data + Gaussian noise and train only the critic (Figure 1).")
@click.option("--beta1", type=click.FloatRange(0, 1, max_open=True), default=None, help="Adam beta1 (paper script: 0.5).")
@click.option("--beta2", type=click.FloatRange(0, 1, max_open=True), default=None, help="Adam beta2 (paper: 0.9).")
@click.option("--n-blocks", type=POSITIVE, default=None, help="Residual blocks in generator and critic (paper: 5).")
@click.option("--latent-dim", type=POSITIVE, default=None, help="Noise dimensions (paper: 128).")
@click.option("--kernel-size", type=POSITIVE, default=None, help="Odd conv kernel width in the blocks (paper: 5).")
@click.option("--critic-norm", type=click.Choice(["none", "layer"]), default=None, help="Normalization in the critic's blocks.")
@click.option("--objective", type=click.Choice(["wgan-gp", "wgan-lp", "wgan-clip", "gan", "lsgan"]), default=None,
              help="wgan-gp (two-sided penalty, the paper), wgan-lp (one-sided), wgan-clip (weight clipping), "
                   "gan (non-saturating), lsgan (least squares).")
@click.option("--clip-value", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Critic weight bound c for wgan-clip (original WGAN: 0.01).")
@click.option("--optimizer", type=click.Choice(["adam", "rmsprop"]), default=None,
              help="adam (default; --beta1/--beta2 apply) or rmsprop (the original WGAN's).")
@click.option("--seed", type=int, default=None, help="Seed for weights, noise and batches.")
@device_option
@click.option("--precision", type=click.Choice(["fp32", "bf16"]), default=None,
              help="Forward passes in float32 (default) or bfloat16 autocast (the penalty's norm stays float32); "
                   "may change on --resume.")
@click.option("--compile/--no-compile", "compile", default=None,
              help="torch.compile the generator and the whole critic step (the text critic computes its own "
                   "penalty gradient; critics that need a double backward stay eager); 10-60 s of compiling "
                   "first. Default: off.")
@click.option("--fused-optimizer/--no-fused-optimizer", default=None,
              help="Fused optimizer kernels where torch has them (Adam), else multi-tensor foreach. Default: off.")
@click.option("--log-every", type=POSITIVE, default=None, help="Iterations between metrics.jsonl records.")
@click.option("--eval-every", type=POSITIVE, default=None, help="Iterations between JS evaluations (and sample files).")
@click.option("--checkpoint-every", type=POSITIVE, default=None, help="Iterations between checkpoints.")
@click.option("--eval-samples", type=POSITIVE, default=None, help="Samples per evaluation (default 640).")
@click.option("--eval-seed", type=int, default=None, help="Seed of the fixed evaluation noise.")
@run_option
@runs_root_option
@click.option("--resume", is_flag=True, help="Continue the run in --run (or the latest) from its newest checkpoint.")
@click.option("--progress/--no-progress", default=True, show_default=True, help="Show a progress bar.")
def train(config_name: str | None, preset: str | None, run: str | None, runs_root: str, resume: bool, progress: bool,
          download: bool, beta1: float | None, beta2: float | None, **flags: Any) -> None:
    """Train a named config: the character-level WGAN-GP language model (default) or a toy 2-D GAN.

    Under `torchrun --nproc-per-node N -m chargan.cli train ...` the N processes train data-parallel."""
    from chargan.cli.families import route_train
    from chargan.core.distributed import init_from_env, is_main_process

    init_from_env()  # a no-op unless torchrun started several processes
    if not is_main_process():
        sys.stdout = open(os.devnull, "w")  # rank 0 speaks for the group; errors still reach stderr
    from chargan.text.config import DEFAULT_PRESET, get_preset, with_overrides
    from chargan.text.pipeline import load_run_config, train_language_model

    handled, preset = route_train(config_name, preset, run=run, runs_root=runs_root, resume=resume, progress=progress,
                                  beta1=beta1, beta2=beta2, flags=flags, download=download)
    if handled:
        return
    if resume:
        run_dir = _resolve_run(run, runs_root)
        if preset is not None:
            raise click.UsageError("--preset cannot change a resumed run; drop it (the run's own settings are used)")
        base = load_run_config(run_dir)
    else:
        run_dir = Path(run) if run else None
        base = get_preset(preset or DEFAULT_PRESET)
    if beta1 is not None or beta2 is not None:
        flags["betas"] = (base.train.betas[0] if beta1 is None else beta1, base.train.betas[1] if beta2 is None else beta2)
    config = with_overrides(base, **flags).validate()
    outcome = train_language_model(config, run_dir, resume=resume, runs_root=runs_root, progress=progress,
                                   download=download, echo=click.echo)
    final = outcome.result.metrics
    js = "  ".join(f"{k}={final[k]:.4f}" for k in sorted(final) if k.startswith("js"))
    click.echo(f"{'stopped' if outcome.result.interrupted else 'finished'} at iteration {outcome.result.iteration}: {js}")
    click.echo(f"run saved in {outcome.run.root}; try: chargan sample -n 20 --run {outcome.run.root}")
    if outcome.result.interrupted:
        click.echo(f"resume with: chargan train --resume --run {outcome.run.root}", err=True)
        sys.exit(130)


@cli.command()
@click.option("-n", "--num", "n", type=POSITIVE, default=20, show_default=True, help="Number of samples.")
@run_option
@runs_root_option
@click.option("--seed", type=int, default=None, help="Noise seed (default: fresh randomness).")
@device_option
def sample(n: int, run: str | None, runs_root: str, seed: int | None, device: str | None) -> None:
    """Print decoded samples from a run's newest generator, one per line (a toy run: one "x y" point per line)."""
    from chargan.cli.families import sample_family_run
    from chargan.text.pipeline import sample_text

    if sample_family_run(_resolve_run(run, runs_root), n, seed, device or "auto"):
        return
    for line in sample_text(_resolve_run(run, runs_root), n, seed=seed, device=device or "auto"):
        click.echo(line)


@cli.command(name="eval")
@run_option
@runs_root_option
@click.option("--reference", type=click.Path(dir_okay=False), default=None,
              help="Reference text file (default: the run's own corpus).")
@click.option("-n", "--num", "n", type=POSITIVE, default=640, show_default=True, help="Number of generated samples.")
@click.option("--seed", type=int, default=None, help="Noise seed (default: the run's evaluation seed).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of a table.")
@device_option
def evaluate(run: str | None, runs_root: str, reference: str | None, n: int, seed: int | None,
             as_json: bool, device: str | None) -> None:
    """Score a run: n-gram JS-1..4, word hit rate, verbatim copy rate (a toy run: modes_covered, high_quality,
    w1, over the run's 10,000 evaluation points unless -n is given)."""
    from chargan.cli.families import evaluate_family_run
    from chargan.text.pipeline import evaluate_run

    if evaluate_family_run(_resolve_run(run, runs_root), n, seed, as_json, device or "auto", reference):
        return
    result = evaluate_run(_resolve_run(run, runs_root), reference, n=n, seed=seed, device=device or "auto", progress=True)
    if as_json:
        # NaN (no words generated) is not JSON: print null.
        click.echo(json.dumps({k: None if isinstance(v, float) and v != v else v for k, v in result.items()}))
        return
    width = max(map(len, result))
    for key, value in result.items():
        click.echo(f"{key:<{width}}  {value:.4f}" if isinstance(value, float) else f"{key:<{width}}  {value}")


@cli.command()
def configs() -> None:
    """List the named configs of every family and their main settings."""
    from chargan.cli.families import list_configs

    list_configs()


cli.add_command(data)
cli.add_command(experiment)


def main() -> None:
    cli(prog_name="chargan")


if __name__ == "__main__":
    main()
