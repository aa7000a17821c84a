"""The progress bar callback, and where a family prints while it is shown."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tqdm.auto import tqdm

from chargan.core.callbacks import Callback, TrainerView, TrainResult


class ProgressBar(Callback):
    """A tqdm bar of iterations with the latest losses and the evaluator's ``headline`` metric.

    At each evaluation it also prints ``iteration N: <losses>  <metrics>``
    through ``trainer.echo`` (above the bar).
    """

    def __init__(self) -> None:
        self.bar: tqdm | None = None
        self._last_eval: dict[str, float] = {}
        self._evaluated = False

    def on_fit_start(self, trainer: TrainerView) -> None:
        self.bar = tqdm(total=trainer.config.iterations, initial=trainer.iteration, disable=not trainer.progress,
                        unit="it", dynamic_ncols=True)

    def on_evaluation(self, trainer: TrainerView, iteration: int, metrics: dict[str, float]) -> None:
        self._last_eval = dict(metrics)
        self._evaluated = bool(metrics)

    def on_log(self, trainer: TrainerView, record: dict[str, Any]) -> None:
        shown = ("critic_loss", "generator_loss", trainer.objective.estimate)
        postfix = {k: f"{record[k]:.3f}" for k in shown if k in record}
        headline = getattr(trainer.evaluate, "headline", None)
        if headline in self._last_eval:
            postfix[headline] = f"{self._last_eval[headline]:.3f}"
        if self.bar is not None:
            self.bar.set_postfix(postfix, refresh=False)
        if self._evaluated:
            self._evaluated = False
            line = {**postfix, **{k: f"{v:.4f}" for k, v in self._last_eval.items() if isinstance(v, float)}}
            trainer.echo(f"iteration {record['iteration']}: " + "  ".join(f"{k}={v}" for k, v in line.items()))

    def on_iteration_end(self, trainer: TrainerView) -> None:
        if self.bar is not None:
            self.bar.update(1)

    def on_fit_end(self, trainer: TrainerView, result: TrainResult | None) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def progress_echo(progress: bool, echo: Callable[[str], None]) -> Callable[[str], None]:
    """Where a family prints while training: above the progress bar when one is shown."""
    return tqdm.write if progress else echo
