"""The optional TensorBoard callback: events under <run>/tensorboard/, read back; a clear error without the package."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from chargan import ConvCritic, ConvGenerator, RowSampler, RunDirectory, Trainer, TrainConfig, UserError
from chargan.core.tensorboard import TensorBoard

VOCAB, LENGTH = 5, 8
TRAIN_TAGS = {"train/critic_loss", "train/generator_loss", "train/wasserstein", "train/gradient_penalty",
              "train/grad_norm", "train/seconds", "train/it_per_sec"}


class SampleEvaluator:
    """A score and two 'decoded' samples per call, exposed as ``last_samples``."""

    headline = "score"

    def __init__(self, fail_at: int | None = None) -> None:
        self.last_samples: list[str] = []
        self.fail_at = fail_at

    def __call__(self, generator, iteration: int) -> dict[str, float]:
        if iteration == self.fail_at:
            raise RuntimeError("evaluation failed")
        self.last_samples = [f"sample {iteration} a", f"sample {iteration} b"]
        return {"score": float(iteration)}


def make_trainer(run: RunDirectory | None, evaluate=None, **changes) -> Trainer:
    torch.manual_seed(0)
    generator = ConvGenerator(VOCAB, LENGTH, dim=8, latent_dim=4, n_blocks=1, kernel_size=3)
    critic = ConvCritic(VOCAB, LENGTH, dim=8, n_blocks=1, kernel_size=3)
    rows = np.random.default_rng(0).integers(0, VOCAB, size=(200, LENGTH))
    data = RowSampler(rows, seed=0, transform=lambda ids: F.one_hot(ids, VOCAB).float())
    values = dict(iterations=4, batch_size=8, critic_iters=1, device="cpu", log_every=1, eval_every=2,
                  checkpoint_every=2, tensorboard=True)
    config = TrainConfig(**{**values, **changes})
    return Trainer(generator, critic, data, config, run=run, evaluate=evaluate, progress=False)


def read_events(run: RunDirectory):
    accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")
    events = accumulator.EventAccumulator(str(run.root / "tensorboard"))
    events.Reload()
    return events


def steps(events, tag: str) -> list[int]:
    return [e.step for e in events.Scalars(tag)]


def test_records_and_samples_are_written_as_events(tmp_path: Path) -> None:
    pytest.importorskip("tensorboard")
    run = RunDirectory(tmp_path / "run")
    make_trainer(run, SampleEvaluator()).fit()
    events = read_events(run)
    scalars = set(events.Tags()["scalars"])
    assert scalars == TRAIN_TAGS | {"eval/score"}
    for tag in TRAIN_TAGS:
        assert steps(events, tag) == [1, 2, 3, 4], tag
    assert steps(events, "eval/score") == [0, 2, 4]
    assert [e.value for e in events.Scalars("eval/score")] == [0.0, 2.0, 4.0]
    records = {r["iteration"]: r for r in run.read_metrics()}
    for e in events.Scalars("train/critic_loss"):
        assert e.value == pytest.approx(records[e.step]["critic_loss"], rel=1e-6)
    text = [tag for tag in events.Tags()["tensors"] if tag.startswith("samples")]
    assert len(text) == 1
    written = events.Tensors(text[0])
    assert [e.step for e in written] == [0, 2, 4]
    assert b"sample 4 b" in written[-1].tensor_proto.string_val[0]


def test_a_resume_after_a_crash_drops_the_events_past_the_checkpoint(tmp_path: Path) -> None:
    pytest.importorskip("tensorboard")
    run = RunDirectory(tmp_path / "run")
    make_trainer(run).fit()  # checkpoints at 2 and 4
    shutil.rmtree(run.checkpoints_dir / "step_00000004")  # as if it crashed after logging 3 and 4
    (run.checkpoints_dir / "latest").unlink()
    resumed = make_trainer(run)
    assert resumed.resume() and resumed.iteration == 2
    resumed.fit()
    assert steps(read_events(run), "train/critic_loss") == [1, 2, 3, 4]  # 3 and 4 once, from the resumed run


def test_events_are_flushed_when_fit_fails(tmp_path: Path) -> None:
    pytest.importorskip("tensorboard")
    run = RunDirectory(tmp_path / "run")
    trainer = make_trainer(run, SampleEvaluator(fail_at=2))
    with pytest.raises(RuntimeError, match="evaluation failed"):
        trainer.fit()
    board = next(c for c in trainer.callbacks if isinstance(c, TensorBoard))
    assert board.writer is None  # closed
    assert steps(read_events(run), "eval/score") == [0]
    assert steps(read_events(run), "train/critic_loss") == [1]


def test_without_a_run_or_the_setting_no_events_are_written(tmp_path: Path) -> None:
    assert not any(isinstance(c, TensorBoard) for c in make_trainer(None).callbacks)
    run = RunDirectory(tmp_path / "run")
    trainer = make_trainer(run, iterations=1, tensorboard=False)
    assert not any(isinstance(c, TensorBoard) for c in trainer.callbacks)
    trainer.fit()
    assert not (run.root / "tensorboard").exists()


def test_a_missing_tensorboard_package_is_a_user_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # As if tensorboard were not installed: its import fails, and torch's wrapper is imported afresh.
    monkeypatch.setitem(sys.modules, "tensorboard", None)
    monkeypatch.delitem(sys.modules, "torch.utils.tensorboard", raising=False)
    with pytest.raises(UserError, match=r"pip install 'chargan\[tensorboard\]'"):
        make_trainer(RunDirectory(tmp_path / "run"))
