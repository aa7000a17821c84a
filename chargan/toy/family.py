"""The toy 2-D GANs' side of the family contract (`chargan.core.family.Family`).

Each evaluation logs ``modes_covered`` and ``high_quality`` (Gaussian
mixtures) and ``w1``, and draws ``plots/toy_<iteration>.png``. Toy data is
generated, so there is nothing to download.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from torch import nn

from chargan.core.family import BuildContext, LoadedRun, Parts, deliver, refuse_decoding
from chargan.core.run import RunDirectory
from chargan.corpora.toy import ToySampler, sample_toy
from chargan.errors import UsageError
from chargan.toy.config import ToyGANConfig
from chargan.toy.evaluation import ToyEvaluator, toy_metrics
from chargan.toy.models import FixedGenerator, ToyCritic, ToyGenerator, generate_points


def build_models(config: ToyGANConfig) -> tuple[nn.Module, ToyCritic]:
    """The generator (an MLP, or `FixedGenerator` when ``data.fixed_generator``) and the critic MLP."""
    m = config.model
    if config.data.fixed_generator:
        generator: nn.Module = FixedGenerator(config.data.dataset, config.data.noise_std)
    else:
        generator = ToyGenerator(m.dim, m.hidden_layers, m.latent_dim)
    return generator, ToyCritic(m.dim, m.hidden_layers)


def prepare(config: ToyGANConfig) -> ToyGANConfig:
    return config


def run_prefix(config: ToyGANConfig) -> str:
    return config.name


def build(config: ToyGANConfig, context: BuildContext) -> Parts:
    """The networks, the seeded sampler of the distribution and the toy evaluator of a run."""
    generator, critic = build_models(config)
    what = "a fixed generator (data + noise)" if config.data.fixed_generator else "an MLP generator"
    return Parts(
        generator, critic, ToySampler(config.data.dataset, context.device, seed=config.train.seed),
        ToyEvaluator(config.data.dataset, config.eval, critic, context.device, context.run),
        summary=[f"toy {config.data.dataset}: {what}, device {context.device}; run {context.run.root}"],
    )


def generator(config: ToyGANConfig, run: RunDirectory) -> nn.Module:
    return build_models(config)[0]


def sample(loaded: LoadedRun, n: int, seed: int | None, decode: str = "argmax", temperature: float = 1.0,
           output: Path | None = None) -> list[str]:
    """``n`` generated points, one ``x y`` line each (points have no symbols to decode)."""
    refuse_decoding(decode, "points")
    points = generate_points(loaded.generator, n, seed=seed, device=loaded.device)
    return deliver([f"{x:.6f} {y:.6f}" for x, y in points.tolist()], output, "points")


def evaluate(loaded: LoadedRun, n: int | None, seed: int | None, reference: str | None,
             progress: bool) -> dict[str, Any]:
    """``modes_covered``, ``high_quality`` and ``w1`` of ``n`` generated points (default: the run's eval settings),
    and their floors (``floor_w1`` ...: another real sample's figures)."""
    if reference is not None:
        raise UsageError("--reference applies to language runs only")
    config: ToyGANConfig = loaded.config
    n = config.eval.samples if n is None else n
    seed = config.eval.seed if seed is None else seed
    fake = generate_points(loaded.generator, n, seed=seed, device=loaded.device)
    real = sample_toy(config.data.dataset, n, seed=seed)
    points = min(config.eval.w1_points, n)
    metrics = toy_metrics(fake, real, config.data.dataset, points)
    # The floor: what another real sample of the same size scores (a perfect generator's figures).
    floor = toy_metrics(sample_toy(config.data.dataset, n, seed=seed + 1), real, config.data.dataset, points)
    return {"run": str(loaded.root), "iteration": loaded.iteration, "dataset": config.data.dataset, "samples": n,
            **metrics, **{f"floor_{k}": v for k, v in floor.items()}, "floor_samples": n}
