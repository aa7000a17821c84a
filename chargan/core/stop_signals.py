"""Ctrl-C and SIGTERM during training: a request to stop at the next iteration boundary."""

from __future__ import annotations

import signal
import threading
from typing import Any

from chargan.core.callbacks import TrainerView


class StopSignals:
    """Turn Ctrl-C and SIGTERM into a request to stop at the next iteration boundary.

    Stopping between iterations keeps the checkpoint consistent (no
    half-applied critic updates). A second Ctrl-C stops at once.
    """

    def __init__(self, trainer: TrainerView) -> None:
        self.trainer = trainer
        self.previous: dict[int, Any] = {}

    def _handler(self, signum: int, frame: Any) -> None:
        if self.trainer.stop_signal is not None and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.trainer.stop_signal = signal.Signals(signum).name

    def __enter__(self) -> StopSignals:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self.previous[sig] = signal.signal(sig, self._handler)
        return self

    def __exit__(self, *exc: Any) -> None:
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)
