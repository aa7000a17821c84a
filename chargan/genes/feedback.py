"""FBGAN's feedback loop (Gupta & Zou 2019): generated sequences a scorer likes replace the oldest training rows.

Every ``every`` generator iterations, `Feedback` draws ``samples``
sequences (argmax-decoded, from noise seeded by the iteration, so every
rank draws the same), asks the scorer for their scores, and writes those
scoring above ``threshold`` over the oldest rows of the training set
(oldest first: the original rows in order, then the earliest replacements).
The batch source draws from those rows, so the next batches see them. Each
evaluation logs ``feedback_replaced`` (the fraction of the training rows
replaced so far) and ``feedback_accepted`` (the fraction of the last round's
samples that passed; a round due at an evaluation's iteration runs before
it). Under torchrun, rank 0 alone calls the scorer and sends the accepted
rows to the others. The replaced rows and the round counters are the
callback's checkpoint state: a resumed run continues the same feedback.

A scorer is ``scorer(list[str]) -> scores`` (one number per sequence). From
Python, pass it as ``chargan.genes.train(config, feedback=scorer)``; from the
command line (and for ``--resume``), name it ``--feedback MODULE:FUNCTION``.
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Callable, Iterator, Sequence
from contextvars import ContextVar
from typing import Any

import numpy as np
import torch

from chargan.core import distributed
from chargan.core.callbacks import Callback, TrainerView
from chargan.corpora.units import Alphabet
from chargan.errors import UserError
from chargan.sequence.decoding import generate_ids

Scorer = Callable[[list[str]], Sequence[float]]
#: The scorer `chargan.genes.train` hands to the build (a Python callable has no place in config.json).
_SCORER: ContextVar[Scorer | None] = ContextVar("chargan_genes_scorer", default=None)


@contextlib.contextmanager
def scorer_given(scorer: Scorer | None) -> Iterator[None]:
    """Within the block, `active_scorer` returns ``scorer``."""
    token = _SCORER.set(scorer)
    try:
        yield
    finally:
        _SCORER.reset(token)


def import_scorer(spec: str) -> Scorer:
    """The function ``MODULE:FUNCTION`` names; a `UserError` when it cannot be imported or called."""
    module, _, name = spec.partition(":")
    try:
        found: Any = importlib.import_module(module)
        for part in name.split("."):
            found = getattr(found, part)
    except (ImportError, AttributeError, ValueError) as exc:
        raise UserError(f"cannot import the feedback scorer {spec!r}: {exc}",
                        hint="give MODULE:FUNCTION of a module on the Python path") from None
    if not callable(found):
        raise UserError(f"the feedback scorer {spec!r} is not callable")
    return found


def active_scorer(spec: str | None) -> Scorer | None:
    """The scorer of this training call: the one passed from Python, else the one ``spec`` names."""
    given = _SCORER.get()
    if given is not None:
        return given
    return None if spec is None else import_scorer(spec)


class Feedback(Callback):
    """Replaces the oldest training rows with generated sequences that score above ``threshold`` (module docstring).

    ``rows`` ``(n, seq_len)`` is the writable array the batch source draws from.
    """

    def __init__(self, scorer: Scorer, rows: np.ndarray, alphabet: Alphabet, every: int, samples: int,
                 threshold: float, seed: int = 0) -> None:
        if not rows.flags.writeable:
            raise ValueError("feedback needs a writable copy of the training rows")
        self.scorer, self.rows, self.alphabet = scorer, rows, alphabet
        self.every, self.samples, self.threshold, self.seed = every, samples, threshold, seed
        self.replaced = 0  # rows written so far (the next goes to row replaced % n)
        self.rounds = 0
        self.accepted = 0.0  # the last round's fraction of samples above the threshold

    def on_step_end(self, trainer: TrainerView) -> None:
        # After the updates and before this iteration's evaluation, so its record logs this round.
        if trainer.iteration % self.every == 0:
            self.feed(trainer.generator, trainer.iteration)

    def feed(self, generator: torch.nn.Module, iteration: int) -> int:
        """One round at ``iteration``: returns how many rows were replaced.

        Under torchrun, rank 0 alone scores and its accepted rows go to every
        rank, so a costly or non-deterministic scorer runs once and the ranks'
        training rows stay the same.
        """
        ids = generate_ids(generator, self.samples, seed=self.seed + iteration)
        passed, error = (self._passed(ids) if distributed.is_main_process() else (None, None))
        passed, error = distributed.broadcast_object((passed, error))
        if error is not None:
            raise UserError(error)
        passed = passed[: len(self.rows)]
        n = len(self.rows)
        self.rows[(self.replaced + np.arange(len(passed))) % n] = passed
        self.replaced += len(passed)
        self.rounds += 1
        self.accepted = len(passed) / len(ids)
        return len(passed)

    def _passed(self, ids: np.ndarray) -> tuple[np.ndarray | None, str | None]:
        """The rows of ``ids`` ``(samples, seq_len)`` scoring above the threshold, or what was wrong."""
        sequences = self.alphabet.decode_batch(ids)
        try:
            scores = np.asarray(self.scorer(sequences), dtype=np.float64).reshape(-1)
        except (TypeError, ValueError) as exc:
            return None, f"the feedback scorer must return one number per sequence: {exc}"
        if scores.shape != (len(sequences),):
            return None, f"the feedback scorer returned {scores.size} scores for {len(sequences)} sequences"
        return ids[np.nan_to_num(scores, nan=-np.inf) > self.threshold], None

    def evaluation_metrics(self, trainer: TrainerView, metrics: dict[str, float]) -> dict[str, float]:
        return {**metrics, "feedback_replaced": min(self.replaced, len(self.rows)) / len(self.rows),
                "feedback_accepted": self.accepted}

    def state_dict(self) -> dict[str, Any]:
        written = min(self.replaced, len(self.rows))  # the rows written are the first ones
        return {"rows": torch.from_numpy(np.array(self.rows[:written])), "replaced": self.replaced,
                "rounds": self.rounds, "accepted": self.accepted}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        rows = state["rows"].numpy()
        if rows.shape[1:] != self.rows.shape[1:] or len(rows) > len(self.rows):
            raise ValueError(f"the checkpoint's feedback rows have shape {tuple(rows.shape)}, the training rows "
                             f"{tuple(self.rows.shape)}")
        self.rows[: len(rows)] = rows
        self.replaced, self.rounds = int(state["replaced"]), int(state["rounds"])
        self.accepted = float(state["accepted"])
