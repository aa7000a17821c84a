"""The family contract: a family written in this file, plus one registry line, trains, resumes, loads,
samples and evaluates through the generic runner and the CLI, like the built-in ones."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, make_dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import torch
from click.testing import CliRunner
from torch import nn

import chargan.families as families
from chargan.cli.main import cli
from chargan.core import runner
from chargan.core.config import Section, SectionedConfig, TrainConfig, setting
from chargan.core.data import RowSampler
from chargan.core.family import BuildContext, LoadedRun, Parts
from chargan.core.run import RunDirectory
from chargan.core.sampling import generate


def one_field_section(section: str, name: str, default: Any, help: str, **bounds: Any) -> type[Section]:
    """A config section with a single `setting` (``SECTION`` names where it sits in the config)."""
    return make_dataclass(f"Line{section.title()}", [(name, type(default), setting(default, help, **bounds))],
                          bases=(Section,), frozen=True, namespace={"SECTION": section})


LineModel = one_field_section("model", "width", 8, "Hidden units.", min=1)
LineData = one_field_section("data", "slope", 2.0, "Real points lie on y = slope * x.")
LineEval = one_field_section("eval", "samples", 64, "Points per evaluation.", min=1)


@dataclass(frozen=True)
class LineConfig(SectionedConfig):
    WHAT = "line"
    name: str = "line"
    model: LineModel = field(default_factory=LineModel)
    data: LineData = field(default_factory=LineData)
    train: TrainConfig = TrainConfig(iterations=4, batch_size=16, critic_iters=1, lr=1e-3, log_every=1,
                                     eval_every=2, checkpoint_every=2, device="cpu")
    eval: LineEval = field(default_factory=LineEval)


def _mlp(inputs: int, width: int, outputs: int) -> nn.Module:
    return nn.Sequential(nn.Linear(inputs, width), nn.ReLU(), nn.Linear(width, outputs))


class LineGenerator(nn.Module):
    latent_dim = 2

    def __init__(self, width: int) -> None:
        super().__init__()
        self.net = _mlp(2, width, 2)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)


class LineCritic(nn.Module):
    def __init__(self, width: int) -> None:
        super().__init__()
        self.net = _mlp(2, width, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).squeeze(-1)


class LineEvaluator:
    headline = "off_line"

    def __init__(self, config: LineConfig) -> None:
        self.config = config

    def __call__(self, generator: nn.Module, iteration: int) -> dict[str, float]:
        points = generate(generator, self.config.eval.samples, seed=0)
        return {"off_line": float((points[:, 1] - self.config.data.slope * points[:, 0]).abs().mean())}


def _build(config: LineConfig, context: BuildContext) -> Parts:
    x = torch.randn(512, 1, generator=torch.Generator().manual_seed(1))
    rows = torch.cat([x, config.data.slope * x], dim=1)
    return Parts(LineGenerator(config.model.width), LineCritic(config.model.width),
                 RowSampler(rows, context.device, seed=config.train.seed), LineEvaluator(config),
                 first_record={"floor_off_line": 0.0}, record={"points": len(rows)},
                 summary=[f"line family: run {context.run.root}"],
                 save_files=lambda run: (run.root / "slope.txt").write_text(str(config.data.slope)))


def _evaluate(loaded: LoadedRun, n: int | None, seed: int | None, reference: str | None, progress: bool) -> dict[str, Any]:
    metrics = LineEvaluator(loaded.config)(loaded.generator, loaded.iteration)
    return {"iteration": loaded.iteration, **metrics}


LINE = SimpleNamespace(
    NAME="line", DESCRIPTION="points on a line", Config=LineConfig, CONFIGS={"line": LineConfig()},
    DESCRIPTIONS={"line": "a test family"}, prepare=lambda config: config, run_prefix=lambda config: "line",
    build=_build, generator=lambda config, run: LineGenerator(config.model.width),
    sample=lambda loaded, n, seed, decode, temperature, output: [f"{x:.3f} {y:.3f}" for x, y in generate(loaded.generator, n, seed).tolist()],
    evaluate=_evaluate,
)


@pytest.fixture
def registered(monkeypatch: pytest.MonkeyPatch) -> None:
    """The one registry line a new family needs (and its named config)."""
    monkeypatch.setitem(families.FAMILIES, "line", LINE)
    monkeypatch.setitem(families.CONFIGS, "line", families.NamedConfig("line", "line", "a test family"))


def test_the_generic_runner_trains_resumes_and_loads_a_new_family(registered: None, tmp_path: Path) -> None:
    said: list[str] = []
    trained = families.train(LineConfig().with_overrides(iterations=2), tmp_path / "run", progress=False, echo=said.append)
    run = trained.run
    saved = json.loads(run.config_path.read_text())
    assert saved["family"] == "line" and saved["points"] == 512 and saved["train"]["iterations"] == 2
    assert (run.root / "slope.txt").read_text() == "2.0"
    assert said[0] == f"line family: run {run.root}" and trained.floor == {"off_line": 0.0}
    records = run.read_metrics()
    assert records[0] == {"iteration": 0, "floor_off_line": 0.0}
    assert [r["iteration"] for r in records if "off_line" in r] == [0, 2]

    resumed = runner.train(LINE, LineConfig(), run.root, resume=True, progress=False, echo=said.append)
    assert resumed.result.iteration == 4 and "resumed at iteration 2 of 4" in said
    loaded = families.load_run(run.root, "cpu")
    assert loaded.family is LINE and loaded.iteration == 4 and not loaded.generator.training
    assert families.evaluate(run.root)["iteration"] == 4


def test_the_cli_serves_a_new_family_without_change(registered: None, tmp_path: Path) -> None:
    run = tmp_path / "run"
    invoke = CliRunner().invoke
    result = invoke(cli, ["train", "--config", "line", "--run", str(run), "--iterations", "2", "--no-progress"])
    assert result.exit_code == 0, result.output
    assert "finished at iteration 2: off_line=" in result.output
    result = invoke(cli, ["sample", "-n", "3", "--run", str(run), "--seed", "0"])
    assert result.exit_code == 0 and len(result.output.splitlines()) == 3
    result = invoke(cli, ["train", "--config", "line", "--run", str(tmp_path / "other"), "--dim", "4"])
    assert result.exit_code == 2 and "--dim does not apply to line config line" in result.output
    assert not RunDirectory(tmp_path / "other").exists()
