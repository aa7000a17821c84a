"""The loop's seam: callbacks see every record and evaluation in order, and their state survives a resume."""

from __future__ import annotations

import copy
import math
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from chargan import ConvCritic, ConvGenerator, RowSampler, RunDirectory, Trainer, TrainConfig
from chargan.core.callbacks import Callback, Checkpoints, MetricsFile, MetricsPlot
from chargan.core.checkpoint import latest_checkpoint, load_checkpoint
from chargan.core.objectives import OBJECTIVES
from chargan.core.progress import ProgressBar

VOCAB, LENGTH = 5, 8


def make_trainer(run: RunDirectory | None = None, evaluate=None, callbacks=None, **changes) -> Trainer:
    torch.manual_seed(0)
    generator = ConvGenerator(VOCAB, LENGTH, dim=8, latent_dim=4, n_blocks=1, kernel_size=3)
    critic = ConvCritic(VOCAB, LENGTH, dim=8, n_blocks=1, kernel_size=3)
    rows = np.random.default_rng(0).integers(0, VOCAB, size=(200, LENGTH))
    data = RowSampler(rows, seed=0, transform=lambda ids: F.one_hot(ids, VOCAB).float())
    values = dict(iterations=6, batch_size=8, critic_iters=2, device="cpu", log_every=2, eval_every=3, checkpoint_every=2)
    config = TrainConfig(**{**values, **changes})
    return Trainer(generator, critic, data, config, run=run, evaluate=evaluate, callbacks=callbacks, progress=False)


class Recorder(Callback):
    """Writes down every hook call: (hook, iteration, payload)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, int, Any]] = []

    def on_fit_start(self, trainer) -> None:
        self.calls.append(("fit_start", trainer.iteration, None))

    def on_step_end(self, trainer) -> None:
        self.calls.append(("step_end", trainer.iteration, None))

    def on_evaluation(self, trainer, iteration, metrics) -> None:
        self.calls.append(("evaluation", iteration, dict(metrics)))

    def on_log(self, trainer, record) -> None:
        self.calls.append(("log", record["iteration"], dict(record)))

    def on_iteration_end(self, trainer) -> None:
        self.calls.append(("iteration_end", trainer.iteration, None))

    def on_fit_end(self, trainer, result) -> None:
        self.calls.append(("fit_end", trainer.iteration, result))


def test_a_callback_receives_records_and_evaluations_in_order(tmp_path: Path) -> None:
    run = RunDirectory(tmp_path / "run")
    recorder = Recorder()
    trainer = make_trainer(run, evaluate=lambda g, it: {"score": float(it)}, callbacks=[recorder])
    # After the defaults, before the checkpoints (which save the state the others hold).
    assert [type(c) for c in trainer.callbacks] == [MetricsFile, MetricsPlot, ProgressBar, Recorder, Checkpoints]
    result = trainer.fit()
    hooks = [(hook, it) for hook, it, _ in recorder.calls]
    expected = [("fit_start", 0), ("evaluation", 0), ("log", 0)]
    for it in range(1, 7):
        expected.append(("step_end", it))
        expected += [("evaluation", it)] if it % 3 == 0 else []
        expected += [("log", it)] if it % 2 == 0 or it % 3 == 0 else []
        expected.append(("iteration_end", it))
    assert hooks == expected + [("fit_end", 6)]
    assert [p for hook, _, p in recorder.calls if hook == "evaluation"] == [{"score": 0.0}, {"score": 3.0}, {"score": 6.0}]
    # The records are those of metrics.jsonl, with each evaluation's metrics in the record of its iteration.
    logged = [p for hook, _, p in recorder.calls if hook == "log"]
    assert logged == run.read_metrics()
    assert [r.get("score") for r in logged] == [0.0, None, 3.0, None, 6.0]
    assert recorder.calls[-1][2] is result and not result.interrupted


class Average(Callback):
    """A stateful callback: a running mean of the generator's weights (what a weight average keeps)."""

    def __init__(self, generator: torch.nn.Module) -> None:
        self.average = copy.deepcopy(generator).requires_grad_(False)
        self.count = 0

    def on_step_end(self, trainer) -> None:
        self.count += 1
        with torch.no_grad():
            for a, p in zip(self.average.parameters(), trainer.generator.parameters()):
                a += (p - a) / self.count

    def evaluation_generator(self, trainer, generator):
        return self.average

    def state_dict(self) -> dict[str, Any]:
        return {"count": self.count, "average": self.average.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.count = state["count"]
        self.average.load_state_dict(state["average"])


def averaged(**changes) -> tuple[Trainer, Average]:
    torch.manual_seed(0)
    trainer = make_trainer(**changes)
    average = Average(trainer.generator)
    # trainer.callbacks may be edited before fit: this one goes before the checkpoints, as callbacks=[...] would.
    at = next((i for i, c in enumerate(trainer.callbacks) if isinstance(c, Checkpoints)), len(trainer.callbacks))
    trainer.callbacks.insert(at, average)
    return trainer, average


def test_a_stateful_callback_survives_save_and_resume_exactly(tmp_path: Path) -> None:
    straight, straight_average = averaged()
    straight.fit()

    run = RunDirectory(tmp_path / "run")
    first, _ = averaged(run=run, iterations=4)
    first.fit()
    saved = load_checkpoint(run.checkpoints_dir).state["callbacks"]
    assert list(saved) == ["Average"] and saved["Average"]["count"] == 4
    second, second_average = averaged(run=run)
    assert second.resume() and second_average.count == 4
    second.fit()
    assert second_average.count == straight_average.count == 6
    for a, b in zip(straight_average.average.state_dict().values(), second_average.average.state_dict().values()):
        assert torch.equal(a, b)


def test_two_callbacks_with_state_need_distinct_keys(tmp_path: Path) -> None:
    trainer, average = averaged(run=RunDirectory(tmp_path / "run"), iterations=2)
    trainer.callbacks.append(Average(trainer.generator))
    with pytest.raises(ValueError, match="state_key 'Average'"):
        trainer.fit()


def test_without_callback_state_the_checkpoint_layout_is_unchanged(tmp_path: Path) -> None:
    run = RunDirectory(tmp_path / "run")
    make_trainer(run, iterations=2).fit()
    ckpt = load_checkpoint(latest_checkpoint(run.checkpoints_dir))
    assert set(ckpt.state) == {"generator_optimizer", "critic_optimizer", "rng"}
    assert set(ckpt.weights) == {"generator", "critic"}
    assert {"guard", "seconds", "data"} <= set(ckpt.meta)


def test_a_callback_can_hand_evaluation_another_generator() -> None:
    seen: list[tuple[torch.nn.Module, bool, int]] = []
    holder: list[Average] = []
    trainer, average = averaged(evaluate=lambda g, it: seen.append((g, g.training, holder[0].count)) or {}, iterations=3)
    holder.append(average)
    trainer.fit()
    assert [g for g, _, _ in seen] == [average.average] * 2  # iterations 0 and 3
    assert not any(training for _, training, _ in seen)  # evaluated in eval mode
    assert average.average.training  # and put back as it was
    # The average evaluated at iteration 3 includes iteration 3's update (on_step_end runs before evaluation).
    assert [count for _, _, count in seen] == [0, 3]


@pytest.mark.parametrize("name", sorted(OBJECTIVES))
def test_the_critic_stat_is_named_for_what_it_estimates(name: str, tmp_path: Path) -> None:
    estimate = OBJECTIVES[name].estimate
    assert estimate == {"gan": "gan_value", "lsgan": "neg_lsgan_loss"}.get(name, "wasserstein")
    run = RunDirectory(tmp_path / "run")
    make_trainer(run, objective=name, iterations=2, optimizer="rmsprop" if name == "wgan-clip" else "adam").fit()
    for record in run.read_metrics():
        others = {"wasserstein", "gan_value", "neg_lsgan_loss"} - {estimate}
        assert estimate in record and not others & set(record)
        assert record["critic_loss"] == pytest.approx(record["gradient_penalty"] - record[estimate], abs=1e-5)
        assert math.isfinite(record["generator_loss"]) and "grad_norm" in record


def progress_view(evaluate) -> SimpleNamespace:
    lines: list[str] = []
    view = SimpleNamespace(config=TrainConfig(iterations=6), iteration=0, progress=False, evaluate=evaluate,
                           objective=OBJECTIVES["gan"], echo=lines.append, lines=lines)
    return view


@pytest.mark.parametrize("headline", ["js4", None])
def test_the_progress_bar_shows_the_evaluators_headline_metric(headline: str | None) -> None:
    class Evaluator:
        def __call__(self, generator, iteration):
            return {}

    evaluator = Evaluator()
    if headline is not None:
        evaluator.headline = headline
    view = progress_view(evaluator)
    bar = ProgressBar()
    bar.on_fit_start(view)
    metrics = {"js4": 0.5, "js1": 0.25}
    bar.on_evaluation(view, 3, metrics)
    bar.on_log(view, {"iteration": 3, "critic_loss": 1.0, "generator_loss": 2.0, "gan_value": -1.0, **metrics})
    shown = "critic_loss=1.000, generator_loss=2.000, gan_value=-1.000"
    assert bar.bar.postfix == (shown + ", js4=0.500" if headline else shown)
    # The echo line at an evaluation lists every metric, whatever the headline.
    assert view.lines == ["iteration 3: critic_loss=1.000  generator_loss=2.000  gan_value=-1.000  js4=0.5000  js1=0.2500"]
    bar.on_log(view, {"iteration": 4, "critic_loss": 1.0, "generator_loss": 2.0, "gan_value": -1.0})
    assert len(view.lines) == 1  # no evaluation in that record: no line
    bar.on_fit_end(view, None)
