"""The progress bar callback, and where a family prints while it is shown."""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable
from typing import Any

from tqdm.auto import tqdm
from tqdm.autonotebook import tqdm as _autonotebook_tqdm
from tqdm.std import tqdm as _std_tqdm

from chargan.core.callbacks import Callback, TrainerView, TrainResult

#: Plain progress lines per run when no bar is drawn: about one every tenth of the iterations.
PLAIN_LINES = 10

# A notebook's bar is a widget, not carriage returns on stderr (whose isatty() is False there): keep it.
_NOTEBOOK = _autonotebook_tqdm is not _std_tqdm


def draws_bar(progress: bool) -> bool:
    """Whether a bar is drawn: progress asked for, and stderr (where tqdm writes) a terminal or a notebook.

    Redirected to a file or a pipe, a bar is a wall of carriage-return updates; `ProgressBar` prints
    plain lines instead.
    """
    if not progress:
        return False
    if _NOTEBOOK:
        return True
    isatty = getattr(sys.stderr, "isatty", None)
    try:
        return bool(isatty and isatty())
    except (ValueError, OSError):  # a closed or detached stream is no terminal
        return False


class ProgressBar(Callback):
    """A tqdm bar of iterations with the latest losses and the evaluator's ``headline`` metric.

    At each evaluation it also prints ``iteration N: <losses>  <metrics>``
    through ``trainer.echo`` (above the bar).

    When progress is asked for (``trainer.progress``) but standard error is
    not a terminal (``chargan train > log.txt 2>&1``), no bar is drawn: the
    callback prints plain lines through ``trainer.echo`` instead, one a line,
    no carriage returns::

        iteration 240/1200  critic_loss=-1.842  generator_loss=1.031  wasserstein=2.004  js4=0.7427  6.7 it/s  eta 2m23s

    The rule: with ``step = ceil(iterations / 10)`` (`PLAIN_LINES`), a line
    is printed at the first logged record at or past each multiple of
    ``step``, and always at the last iteration. Records come every
    ``log_every`` iterations (and at evaluations), so when ``log_every``
    exceeds ``step`` every logged record gets a line; the default text run
    (1200 iterations, ``log_every`` 10) prints 10. A resumed run continues
    from the next multiple. The rate is iterations per wall-clock second
    since this ``fit`` began (evaluations included, as they are in the
    time left); the headline metric is the latest evaluation's.

    Without ``trainer.progress`` (``--no-progress``) neither bar nor plain
    lines are shown; the evaluation lines still are.
    """

    def __init__(self) -> None:
        self.bar: tqdm | None = None
        self._last_eval: dict[str, float] = {}
        self._evaluated = False
        self._plain = False
        self._next_line = 0  # the iteration at or past which the next plain line is due
        self._started = 0.0
        self._start_iteration = 0

    def on_fit_start(self, trainer: TrainerView) -> None:
        self._plain = trainer.progress and not draws_bar(trainer.progress)
        if self._plain:
            self._started, self._start_iteration = time.monotonic(), trainer.iteration
            self._next_line = (trainer.iteration // self._step(trainer) + 1) * self._step(trainer)
            return
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
        if self._plain:
            self._plain_line(trainer, record, headline)

    def on_iteration_end(self, trainer: TrainerView) -> None:
        if self.bar is not None:
            self.bar.update(1)

    def on_fit_end(self, trainer: TrainerView, result: TrainResult | None) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
        self._plain = False

    # ------------------------------------------------------------ without a bar
    @staticmethod
    def _step(trainer: TrainerView) -> int:
        """Iterations between plain lines: a tenth of the run, at least one."""
        return max(1, math.ceil(trainer.config.iterations / PLAIN_LINES))

    def _plain_line(self, trainer: TrainerView, record: dict[str, Any], headline: str | None) -> None:
        """Print the periodic line for ``record`` when one is due (see the class docstring's rule)."""
        it, target = int(record["iteration"]), trainer.config.iterations
        if it < self._next_line and it != target:
            return  # iteration 0's record (the first evaluation) falls here too: nothing trained yet
        step = self._step(trainer)
        self._next_line = (it // step + 1) * step
        shown = ("critic_loss", "generator_loss", trainer.objective.estimate)
        parts = [f"iteration {it}/{target}"]
        parts += [f"{k}={record[k]:.3f}" for k in shown if isinstance(record.get(k), (int, float))]
        if headline is not None and isinstance(self._last_eval.get(headline), (int, float)):
            parts.append(f"{headline}={self._last_eval[headline]:.4f}")
        elapsed = time.monotonic() - self._started
        done = it - self._start_iteration
        if done > 0 and elapsed > 0:
            rate = done / elapsed
            # Below one iteration a second, seconds per iteration read better (as tqdm does).
            parts.append(f"{rate:.1f} it/s" if rate >= 1 else f"{1 / rate:.1f} s/it")
            parts.append(f"eta {_duration((target - it) / rate)}")
        trainer.echo("  ".join(parts))


def _duration(seconds: float) -> str:
    """``45s``, ``2m29s``, ``1h02m03s``: short enough for a log line."""
    total = max(0, round(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m{secs:02d}s"
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


def progress_echo(progress: bool, echo: Callable[[str], None]) -> Callable[[str], None]:
    """Where a family prints while training: above the progress bar when one is drawn, else plainly."""
    return tqdm.write if draws_bar(progress) else echo
