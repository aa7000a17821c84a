"""Configuration of the toy 2-D GANs, with one named config per dataset.

Defaults are the reference ``gan_toy.py``'s: ReLU MLPs 512 wide with 3
hidden layers, 2-D noise, batch 256, 5 critic steps, Adam(1e-4, (0.5, 0.9)),
and a penalty weight of 0.1. The paper uses lambda = 10 everywhere else; the
toy script's comment: "Smaller lambda makes things faster for toy tasks, but
isn't necessary if you increase CRITIC_ITERS enough".
"""

from __future__ import annotations

from dataclasses import dataclass, field

from chargan.core.config import SEED_MAX, Section, SectionedConfig, TrainConfig, named_config, setting
from chargan.errors import UsageError

TOY_DATASET_NAMES = ("8gaussians", "25gaussians", "swissroll")


@dataclass(frozen=True)
class ToyModelConfig(Section):
    """Generator and critic MLPs."""

    SECTION = "model"

    dim: int = setting(512, "Width of every hidden layer of the MLPs.", min=1)
    hidden_layers: int = setting(3, "Linear+ReLU layers before the output layer.", min=1)
    latent_dim: int = setting(2, "Noise dimensions.", min=1)


@dataclass(frozen=True)
class ToyDataConfig(Section):
    """Which distribution, and whether the generator is held fixed."""

    SECTION = "data"

    dataset: str = setting("8gaussians", "The 2-D distribution: " + ", ".join(TOY_DATASET_NAMES) + ".")
    fixed_generator: bool = setting(False, "Hold the generator at real data + N(0, noise_std^2) and train only the "
                                    "critic (Figure 1).", off_flag="trained-generator")
    noise_std: float = setting(1.0, "Standard deviation of the fixed generator's noise.", min=0)

    def check(self) -> None:
        if self.dataset not in TOY_DATASET_NAMES:
            raise UsageError(f"unknown toy dataset {self.dataset!r}", hint=f"choose one of: {', '.join(TOY_DATASET_NAMES)}")


@dataclass(frozen=True)
class ToyEvalConfig(Section):
    """How generated points are scored at each evaluation."""

    SECTION = "eval"

    samples: int = setting(10_000, "Generated and real points for modes_covered / high_quality.", min=1)
    w1_points: int = setting(2_000, "Points a side for the exact W1, at most the samples (n^2 cost: 2.5 s on a CPU "
                             "core at 2,000).", min=1)
    plot_points: int = setting(1_000, "Points a side in the scatter plot.", min=1)
    plot_range: float = setting(3.0, "The plot shows [-range, range]^2, as the reference.", min=0, min_open=True)
    seed: int = setting(1234, "Seed of the fixed evaluation noise and real sample.", min=0, max=SEED_MAX)


#: The reference toy script's optimization (its ITERS is 100k; evaluations every 1,000 iterations).
TOY_TRAIN = TrainConfig(iterations=100_000, batch_size=256, critic_iters=5, lambda_gp=0.1, lr=1e-4, betas=(0.5, 0.9),
                        log_every=100, eval_every=1000, checkpoint_every=5000)


@dataclass(frozen=True)
class ToyGANConfig(SectionedConfig):
    """Everything a toy run needs; saved as the run's ``config.json``.

    Missing sections of a saved config take the toy defaults (`TOY_TRAIN` for the optimization).
    """

    WHAT = "toy"

    name: str = "8gaussians"
    model: ToyModelConfig = field(default_factory=ToyModelConfig)
    data: ToyDataConfig = field(default_factory=ToyDataConfig)
    train: TrainConfig = TOY_TRAIN
    eval: ToyEvalConfig = field(default_factory=ToyEvalConfig)

    def memory_parts(self, training: bool = True) -> dict[str, int]:
        """Lower bounds in bytes: the two MLPs (Adam's state too, training), one step's activations and an
        evaluation's points and exact-W1 distance matrix."""
        m, t, e = self.model, self.train, self.eval
        mlp = m.latent_dim * m.dim + m.hidden_layers * m.dim * m.dim + 2 * m.dim
        evaluation = 4 * 2 * 2 * e.samples + 8 * e.w1_points * e.w1_points
        if not training:
            return {"the generator's weights (--dim, --hidden-layers)": 4 * mlp,
                    "an evaluation's points (--eval-samples, --eval-w1-points)": evaluation}
        return {"the weights and Adam state (--dim, --hidden-layers)": 4 * 4 * 2 * mlp,
                "one step's activations (--batch-size, --dim, --hidden-layers)":
                    4 * 5 * t.batch_size * m.hidden_layers * m.dim,
                "the critic steps' fakes (--critic-iters, --batch-size)": 4 * 2 * t.critic_iters * t.batch_size,
                "an evaluation's points (--eval-samples, --eval-w1-points)": evaluation}

    def inapplicable(self) -> dict[str, str]:
        """The fixed generator's noise, when the generator is trained."""
        return super().inapplicable() | ({} if self.data.fixed_generator else {"noise_std": "it is for --fixed-generator"})


TOY_CONFIGS: dict[str, ToyGANConfig] = {
    name: ToyGANConfig(name=name, data=ToyDataConfig(dataset=name)) for name in TOY_DATASET_NAMES
}
DESCRIPTIONS = {
    "8gaussians": "8 Gaussians on a circle; WGAN-GP, MLPs 512 wide, batch 256, lambda 0.1",
    "25gaussians": "25 Gaussians on a 5x5 grid; as 8gaussians",
    "swissroll": "a 2-D Swiss roll; as 8gaussians",
}


def get_toy_config(name: str) -> ToyGANConfig:
    """The named config ``name`` of `TOY_CONFIGS`."""
    return named_config(TOY_CONFIGS, name, "toy config")
