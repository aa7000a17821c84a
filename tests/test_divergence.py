"""The divergence guard: a non-finite loss or weight stops the run there, and no such checkpoint is written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from click.testing import CliRunner

from chargan import Callback, ConvCritic, ConvGenerator, RowSampler, RunDirectory, Trainer, TrainConfig
from chargan.cli.main import cli
from chargan.core.checkpoint import latest_checkpoint, load_checkpoint
from chargan.errors import TrainingDiverged

def all_finite(weights: dict) -> bool:
    """Every tensor of a checkpoint's weights (``{module: {name: tensor}}``) is finite."""
    return all(torch.isfinite(t).all() for module in weights.values() for t in module.values())


TINY = ["--dim", "8", "--seq-len", "16", "--batch-size", "8", "--critic-iters", "1", "--eval-every", "6",
        "--checkpoint-every", "3", "--log-every", "1", "--eval-samples", "32", "--no-progress"]


def test_a_run_driven_to_nan_exits_3_naming_the_quantity_and_iteration(tmp_path: Path) -> None:
    run = tmp_path / "run"
    result = CliRunner().invoke(cli, ["train", "--lr", "1e12", "--iterations", "12", "--run", str(run), *TINY],
                                catch_exceptions=False)
    assert result.exit_code == 3, result.output
    assert "training diverged at iteration" in result.output and "is not finite" in result.output
    assert "Traceback" not in result.output and "finished" not in result.output
    newest = latest_checkpoint(run / "checkpoints")
    if newest is not None:  # whatever was written before the divergence holds finite weights
        assert all_finite(load_checkpoint(run / "checkpoints").weights)


class BlowUpAt(Callback):
    """Makes the generator's weights infinite after iteration ``at`` (a divergence between two log records)."""

    def __init__(self, at: int) -> None:
        self.at = at

    def on_step_end(self, trainer) -> None:
        if trainer.iteration == self.at:
            with torch.no_grad():
                next(trainer.generator.parameters()).fill_(float("inf"))


def tiny_trainer(run: Path, log_every: int, blow_up_at: int) -> Trainer:
    torch.manual_seed(0)
    rows = torch.randint(0, 5, (64, 8))
    return Trainer(ConvGenerator(5, seq_len=8, dim=8, latent_dim=4, n_blocks=1), ConvCritic(5, seq_len=8, dim=8, n_blocks=1),
                   RowSampler(rows, transform=lambda ids: F.one_hot(ids, 5).float()),
                   TrainConfig(iterations=10, batch_size=8, critic_iters=1, log_every=log_every, checkpoint_every=2,
                               device="cpu"),
                   run=RunDirectory(run), progress=False, callbacks=[BlowUpAt(blow_up_at)])


def test_no_checkpoint_of_non_finite_weights_is_written(tmp_path: Path) -> None:
    # Records every 5 iterations, checkpoints every 2: the weights turn infinite at 3, before any record sees it.
    trainer = tiny_trainer(tmp_path / "run", log_every=5, blow_up_at=3)
    with pytest.raises(TrainingDiverged, match="by iteration 4: weight .* is not finite; no checkpoint was written"):
        trainer.fit()
    assert latest_checkpoint(tmp_path / "run" / "checkpoints").name == "step_00000002"
    assert all_finite(load_checkpoint(tmp_path / "run" / "checkpoints").weights)


def test_the_logged_record_names_the_quantity(tmp_path: Path) -> None:
    trainer = tiny_trainer(tmp_path / "run", log_every=1, blow_up_at=3)
    with pytest.raises(TrainingDiverged, match="at iteration 4: .*generator_loss"):
        trainer.fit()
    records = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert records[-1]["iteration"] == 4 and records[-1]["generator_loss"] is None  # logged, for the record


def test_sample_of_non_finite_weights_is_an_error_not_blank_lines(tmp_path: Path) -> None:
    run = tmp_path / "run"
    result = CliRunner().invoke(cli, ["train", "--iterations", "2", "--run", str(run), *TINY], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    from safetensors.torch import load_file, save_file

    weights_path = latest_checkpoint(run / "checkpoints") / "weights.safetensors"
    weights = load_file(weights_path)
    generators = ("generator.", "generator_ema.")  # the raw weights and the average the cpu preset samples from
    weights = {k: (torch.full_like(v, float("nan")) if k.startswith(generators) else v) for k, v in weights.items()}
    save_file(weights, weights_path)
    for command in (["sample", "-n", "3"], ["eval", "-n", "8"]):
        result = CliRunner().invoke(cli, [*command, "--run", str(run)], catch_exceptions=False)
        assert result.exit_code == 1 and "not finite" in result.output, result.output
