"""Figure 1a: value surfaces of critics trained to optimality, weight clipping vs gradient penalty.

The "generator" is held fixed at the real data plus N(0, 1) noise, so only
the critic trains; each critic takes ``steps`` steps of the one trainer's
`Trainer.critic_step`. With clipping the critic is the original WGAN's
(c = 0.01, RMSProp 5e-5); with the penalty it is the reference toy script's
(lambda 0.1, Adam 1e-4 (0.5, 0.9)). The paper's finding: clipped critics
learn overly simple functions that miss the data's higher moments, while
penalized ones follow the data.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from chargan.core.device import resolve_device
from chargan.core.trainer import Trainer, TrainConfig
from chargan.corpora.toy import ToySampler, sample_toy
from chargan.experiments.report import write_table
from chargan.toy.models import FixedGenerator, ToyCritic, generate_points
from chargan.toy.plots import SurfacePanel, write_surfaces

DATASETS = ("8gaussians", "25gaussians", "swissroll")


@dataclass(frozen=True)
class CriticSetting:
    """One way to constrain a critic: a label and the trainer settings that make it."""

    label: str
    train: dict[str, Any]


CLIPPING = CriticSetting("weight clipping (c=0.01)", {"objective": "wgan-clip", "clip_value": 0.01,
                                                      "optimizer": "rmsprop", "lr": 5e-5})
PENALTY = CriticSetting("gradient penalty (lambda=0.1)", {"objective": "wgan-gp", "lambda_gp": 0.1,
                                                          "optimizer": "adam", "lr": 1e-4, "betas": (0.5, 0.9)})

QUICK_STEPS = 1_000
FULL_STEPS = 20_000


def train_fixed_critic(dataset: str, setting: CriticSetting, steps: int, *, dim: int = 512, hidden_layers: int = 3,
                       batch_size: int = 256, noise_std: float = 1.0, seed: int = 0, device: str = "auto",
                       on_step: Callable[[Trainer, int], None] | None = None) -> Trainer:
    """A critic trained for ``steps`` critic steps against real data + N(0, ``noise_std``^2) on ``dataset``.

    ``on_step(trainer, step)`` runs after each step (the gradients of that step
    are still in the critic's ``.grad``). Returns the trainer (its ``critic``,
    ``generator`` and ``device``).
    """
    torch.manual_seed(seed)
    config = TrainConfig(iterations=1, batch_size=batch_size, critic_iters=1, seed=seed, device=device, **setting.train)
    trainer = Trainer(FixedGenerator(dataset, noise_std), ToyCritic(dim, hidden_layers),
                      ToySampler(dataset, resolve_device(device), seed=seed), config, progress=False)
    trainer.critic.train()
    for step in range(steps):
        trainer.critic_step()
        if on_step is not None:
            on_step(trainer, step)
    return trainer


def critic_surfaces(
    run_dir: str | Path,
    *,
    steps: int = QUICK_STEPS,
    datasets: Sequence[str] = DATASETS,
    dim: int = 512,
    batch_size: int = 256,
    points: int = 1000,
    seed: int = 0,
    device: str = "auto",
    echo: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Train a clipped and a penalized critic per dataset; write ``critic_surfaces.png`` and a table.

    The figure has weight clipping on the top row and the gradient penalty on
    the bottom row, one column per dataset, with ``points`` real (orange) and
    fixed-generator (green) points over the critic's contours. The table
    gives each critic's estimate of the Wasserstein distance
    (``E[D(real)] - E[D(fake)]`` on 10k held-out points of each) and the mean
    norm of its gradient at real and at fake points. Returns the table rows.
    """
    run = Path(run_dir)
    run.mkdir(parents=True, exist_ok=True)
    panels: dict[tuple[int, int], SurfacePanel] = {}
    rows = []
    for row, setting in enumerate((CLIPPING, PENALTY)):
        for col, dataset in enumerate(datasets):
            echo(f"{dataset}: {setting.label}, {steps} critic steps")
            trainer = train_fixed_critic(dataset, setting, steps, dim=dim, batch_size=batch_size, seed=seed, device=device)
            real = sample_toy(dataset, 10_000, seed=seed + 1)
            fake = generate_points(trainer.generator, 10_000, seed=seed + 2, device=trainer.device)
            stats = _critic_stats(trainer.critic, real.to(trainer.device), fake.to(trainer.device))
            rows.append({"dataset": dataset, "critic": setting.label, "steps": steps, **stats})
            panels[row, col] = SurfacePanel(f"{dataset}: {setting.label}", trainer.critic, real[:points], fake[:points])
    ordered = [panels[r, c] for r in range(2) for c in range(len(datasets))]
    figure = write_surfaces(run / "critic_surfaces.png", ordered, columns=len(datasets),
                            title=f"Critic value surfaces after {steps} steps; generator fixed at data + N(0, 1)")
    notes = ("Critics trained with the generator held at real data + N(0, 1) noise (paper, Figure 1a). "
             "`w_estimate` = E[D(real)] - E[D(fake)] on 10k fresh points of each; `grad_real` / `grad_fake`: "
             "mean norm of the critic's input gradient there (an optimal 1-Lipschitz critic has norm 1 on the "
             f"transport paths). Figure: {figure.name}.")
    write_table(run, "critic_surfaces", "Critic surfaces: weight clipping vs gradient penalty", rows,
                ["dataset", "critic", "steps", "w_estimate", "grad_real", "grad_fake"], notes)
    return {"rows": rows, "figure": str(figure)}


def _critic_stats(critic: torch.nn.Module, real: torch.Tensor, fake: torch.Tensor) -> dict[str, float]:
    def grad_norm(points: torch.Tensor) -> float:
        x = points.clone().requires_grad_(True)
        (grad,) = torch.autograd.grad(critic(x).sum(), x)
        return float(grad.norm(dim=1).mean())

    with torch.no_grad():
        w = float(critic(real).mean() - critic(fake).mean())
    return {"w_estimate": w, "grad_real": grad_norm(real), "grad_fake": grad_norm(fake)}
