"""What the training loop tells the world: `Callback` and the default ones.

`chargan.core.trainer.Trainer.fit` calls each hook on every callback, in
list order. Per ``fit``::

    on_fit_start                                    every rank
    [iteration 0 of a fresh run, with an evaluator:
        evaluation_generator, evaluation_metrics, on_evaluation, on_log]
    per generator iteration:
        on_step_end                                 every rank; the updates are done
        [every log_every / eval_every iteration and the last:
            evaluation_generator                    where the evaluator runs
            evaluation_metrics                      where the evaluator runs
            on_evaluation                           rank 0, when an evaluation ran
            on_log                                  rank 0]
        on_iteration_end                            every rank; record logged: save here
    on_fit_end(result)                              every rank; result None after an exception

Logging hooks run on rank 0 alone (one process writes the run directory);
the others run on every rank, so a callback holding training state (a weight
average) stays the same on all of them.

A callback with state returns it from `Callback.state_dict` (tensors,
numbers, strings and containers of them: ``state.pt`` loads with
``weights_only=True``); the trainer saves it in each checkpoint under
``state["callbacks"][callback.state_key]`` and hands it back to
`Callback.load_state_dict` on resume, so a resumed run continues exactly.
Modules a callback holds (`Callback.modules`) are saved beside the
generator's and critic's weights in ``weights.safetensors`` and loaded back
on resume.

A weight average (an EMA of the generator: `chargan.core.ema`) is one
callback and no change to the loop: it keeps the average in ``on_step_end``
(after each update), returns it from ``evaluation_generator`` so evaluation
(metrics, sample files) sees the average instead of the raw generator, adds
the raw generator's figures in ``evaluation_metrics``, and names the average
in ``modules`` so checkpoints (and the loaders) have its weights.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from torch import nn

from chargan.core.config import TrainConfig
from chargan.core.objectives import Objective
from chargan.core.plots import plot_metrics
from chargan.core.run import RunDirectory

#: ``evaluate(generator, iteration) -> metrics``; runs under ``torch.no_grad``, generator in eval mode.
#: Optional attributes the trainer and its callbacks read:
#: - ``across_ranks: bool``: under torchrun every rank calls it, and it splits its sampling over them
#:   (`chargan.core.sampling.generate` with ``across_ranks``); without it, rank 0 alone evaluates.
#: - ``headline: str``: the metric the progress bar shows beside the losses (e.g. ``"js4"``); none without it.
#: - ``curves: tuple[str, ...]``: the metrics the plot draws (default: every metric it returns), and
#:   ``curves_label: str`` their y-axis label with its unit (default "value").
#: - ``last_samples: list[str]``: the evaluator sets it on each call to a readable form of the samples it
#:   drew (decoded text lines, say); the TensorBoard callback writes them as that evaluation's text.
Evaluator = Callable[[nn.Module, int], dict[str, float]]


@dataclass
class TrainResult:
    """How `Trainer.fit` ended: the iteration reached, whether a stop signal ended it, the last metrics."""

    iteration: int
    interrupted: bool
    metrics: dict[str, float] = field(default_factory=dict)  # the last record's, and the last evaluation's
    evaluated_at: int | None = None  # the iteration of that evaluation (None: none in this fit)


class TrainerView(Protocol):
    """What a callback may read of the trainer (`chargan.core.trainer.Trainer` has all of it)."""

    config: TrainConfig
    iteration: int  # generator iterations done
    seconds: float  # training time so far, across resumes
    run: RunDirectory | None
    evaluate: Evaluator | None
    objective: Objective
    generator: nn.Module
    critic: nn.Module
    is_main: bool  # rank 0, or a single process
    progress: bool  # show a progress bar (rank 0 only)
    echo: Callable[[str], None]  # prints a line (silent on ranks other than 0)
    stop_signal: str | None  # the signal that asked the loop to stop, if any

    def save(self) -> None: ...

    def evaluate_generator(self, generator: nn.Module) -> dict[str, float]:
        """The evaluator's metrics of ``generator`` at this iteration (in eval mode, without gradients)."""
        ...


class Callback:
    """A training-loop observer; every hook does nothing unless overridden (order: module docstring)."""

    @property
    def state_key(self) -> str:
        """The name of this callback's state in a checkpoint (unique among a trainer's callbacks with state)."""
        return type(self).__name__

    def on_fit_start(self, trainer: TrainerView) -> None:
        """Before the first iteration of ``fit`` (after any resume: ``trainer.iteration`` may be > 0)."""

    def on_step_end(self, trainer: TrainerView) -> None:
        """After one iteration's critic and generator updates; ``trainer.iteration`` counts it."""

    def evaluation_generator(self, trainer: TrainerView, generator: nn.Module) -> nn.Module:
        """The generator evaluation uses: ``generator`` (a previous callback's choice) or a replacement."""
        return generator

    def evaluation_metrics(self, trainer: TrainerView, metrics: dict[str, float]) -> dict[str, float]:
        """The metrics an evaluation logs: ``metrics`` (the evaluator's, and previous callbacks'), or more."""
        return metrics

    def on_evaluation(self, trainer: TrainerView, iteration: int, metrics: dict[str, float]) -> None:
        """After the evaluator ran at ``iteration``, before the record holding ``metrics`` is logged."""

    def on_log(self, trainer: TrainerView, record: dict[str, Any]) -> None:
        """One record of ``metrics.jsonl``: ``iteration``, the mean stats since the last one, any evaluation."""

    def on_iteration_end(self, trainer: TrainerView) -> None:
        """The iteration is complete: its record logged and its evaluation done."""

    def on_fit_end(self, trainer: TrainerView, result: TrainResult | None) -> None:
        """``fit`` is ending: ``result`` when it finished or a stop signal ended it, None on an exception."""

    def modules(self) -> dict[str, nn.Module]:
        """Modules whose weights checkpoints keep in ``weights.safetensors`` under these names (none by default;
        names must differ from ``generator`` and ``critic``); loaded back into them on resume."""
        return {}

    def state_dict(self) -> dict[str, Any]:
        """State to keep in checkpoints; empty (nothing saved) by default."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore `state_dict`'s value on resume (its tensors arrive on the CPU); called before `on_fit_start`."""


class MetricsFile(Callback):
    """Appends every record to the run's ``metrics.jsonl``."""

    def __init__(self, run: RunDirectory) -> None:
        self.run = run

    def on_log(self, trainer: TrainerView, record: dict[str, Any]) -> None:
        self.run.log(record)


class MetricsPlot(Callback):
    """Redraws ``plots/metrics.png`` from ``metrics.jsonl`` after each evaluation (after `MetricsFile` in the list).

    The right panel shows the evaluator's ``curves`` when it names them, else every metric it returned.
    """

    def __init__(self, run: RunDirectory) -> None:
        self.run = run
        self._curves: list[str] | None = None  # set by an evaluation, drawn at its record

    def on_evaluation(self, trainer: TrainerView, iteration: int, metrics: dict[str, float]) -> None:
        named = getattr(trainer.evaluate, "curves", None)
        self._curves = list(named) if named is not None else [k for k, v in metrics.items() if isinstance(v, float)]

    def on_log(self, trainer: TrainerView, record: dict[str, Any]) -> None:
        if self._curves is None:
            return
        losses = ("critic_loss", "generator_loss", trainer.objective.estimate, "gradient_penalty")
        plot_metrics(self.run.read_metrics(), self.run.plots_dir / "metrics.png", self._curves, loss_keys=losses,
                     metric_label=getattr(trainer.evaluate, "curves_label", "value"))
        self._curves = None


class Checkpoints(Callback):
    """Saves every ``checkpoint_every`` iterations and at the last; on a stop signal, saves where it stopped."""

    def __init__(self) -> None:
        self._saved_at = -1

    def on_fit_start(self, trainer: TrainerView) -> None:
        self._saved_at = -1

    def on_iteration_end(self, trainer: TrainerView) -> None:
        it, config = trainer.iteration, trainer.config
        if it % config.checkpoint_every == 0 or it == config.iterations:
            trainer.save()
            self._saved_at = it

    def on_fit_end(self, trainer: TrainerView, result: TrainResult | None) -> None:
        if result is None or not result.interrupted or trainer.run is None:
            return
        # The trainer calls this inside its signal guard: a second SIGTERM cannot cut this save short.
        if self._saved_at != trainer.iteration:
            trainer.save()
        trainer.echo(f"{trainer.stop_signal}: stopped at iteration {trainer.iteration}, "
                     f"checkpoint saved in {trainer.run.root}")
