"""TensorBoard events of a run, under ``<run>/tensorboard/`` (``TrainConfig(tensorboard=True)``).

Scalars: each logged record's stats as ``train/<key>`` (``train/critic_loss``,
``train/wasserstein``, ``train/seconds`` ...) and its evaluation metrics as
``eval/<key>`` (``eval/js4``), at the record's iteration. Text: ``samples``
per evaluation, when the evaluator exposes ``last_samples``.

    tensorboard --logdir runs/
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from chargan.core.callbacks import Callback, TrainerView, TrainResult
from chargan.errors import UserError

#: The folder of a run that holds its events.
TENSORBOARD_DIR = "tensorboard"


def summary_writer_class() -> type:
    """``torch.utils.tensorboard.SummaryWriter``; `UserError` when the tensorboard package is missing."""
    try:
        # Imported here, not at the top: tensorboard is an optional extra, and slow to import.
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        raise UserError("TensorBoard logging needs the tensorboard package: pip install 'chargan[tensorboard]'",
                        hint="install it, or train without --tensorboard") from None
    return SummaryWriter


class TensorBoard(Callback):
    """Writes the run's records and evaluation samples as TensorBoard events in ``log_dir`` (rank 0 only).

    The package is looked up when the callback is made, so a missing one stops
    a run before it trains. On resume from iteration N, events past N (from
    before a crash) are dropped, as ``metrics.jsonl`` drops its records.
    """

    def __init__(self, log_dir: str | Path) -> None:
        self.log_dir = Path(log_dir)
        self._writer_class = summary_writer_class()
        self.writer: Any = None
        self._eval_keys: set[str] = set()

    def on_fit_start(self, trainer: TrainerView) -> None:
        if not trainer.is_main or self.writer is not None:
            return
        # purge_step: events at steps >= it are dropped (written after the checkpoint this run resumes).
        purge = trainer.iteration + 1 if trainer.iteration > 0 else None
        with self._naming_the_folder():
            self.writer = self._writer_class(log_dir=str(self.log_dir), purge_step=purge)

    def on_evaluation(self, trainer: TrainerView, iteration: int, metrics: dict[str, float]) -> None:
        self._eval_keys = set(metrics)
        samples = getattr(trainer.evaluate, "last_samples", None)
        if self.writer is not None and samples:
            # Indented lines are preformatted in TensorBoard's markdown: one sample per line, spaces kept.
            with self._naming_the_folder():
                self.writer.add_text("samples", "\n".join("    " + line for line in samples), iteration)

    def on_log(self, trainer: TrainerView, record: dict[str, Any]) -> None:
        if self.writer is None:
            return
        step = record["iteration"]
        with self._naming_the_folder():
            for key, value in record.items():
                if key == "iteration" or isinstance(value, bool) or not isinstance(value, (int, float)):
                    continue
                self.writer.add_scalar(f"{'eval' if key in self._eval_keys else 'train'}/{key}", value, step)
        self._eval_keys = set()

    def on_fit_end(self, trainer: TrainerView, result: TrainResult | None) -> None:
        if self.writer is not None:
            writer, self.writer = self.writer, None
            with self._naming_the_folder():
                writer.close()  # flushes; also after Ctrl-C (result None)

    @contextmanager
    def _naming_the_folder(self) -> Iterator[None]:
        """Name the events folder in a failed write: the writer's thread fails without a file name (a full disk)."""
        try:
            yield
        except OSError as exc:
            if exc.filename is not None:
                raise
            raise OSError(exc.errno, exc.strerror, str(self.log_dir)) from exc
