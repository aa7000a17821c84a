"""Uniform random batches of real examples, with a resumable random state."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import numpy as np
import torch
from torch import Tensor


class BatchSource(Protocol):
    """What the trainer needs from real data: batches and a resumable state."""

    def sample(self, batch_size: int) -> Tensor: ...

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: dict[str, Any]) -> None: ...


class RowSampler:
    """Draws rows uniformly with replacement from an array of examples.

    ``rows`` is ``(n, ...)``: a numpy array (a memory map works: only the
    drawn rows are read) or a tensor. ``transform`` runs on the device after
    the copy, e.g. a one-hot of integer ids, so the host sends the smallest
    form of the batch. The random state is a numpy PCG64 stream whose state
    is JSON-serializable, so a resumed run draws the very same batches.
    """

    def __init__(
        self,
        rows: np.ndarray | Tensor,
        device: torch.device | str = "cpu",
        seed: int = 0,
        transform: Callable[[Tensor], Tensor] | None = None,
    ) -> None:
        if len(rows) == 0:
            raise ValueError("cannot sample from an empty set of rows")
        self.rows = rows
        self.device = torch.device(device)
        self.transform = transform
        self.rng = np.random.Generator(np.random.PCG64(seed))
        self.rank, self.world_size = 0, 1

    def set_shard(self, rank: int, world_size: int) -> None:
        """Draw as one of ``world_size`` data-parallel processes (see `sample`)."""
        self.rank, self.world_size = rank, world_size

    def __len__(self) -> int:
        return len(self.rows)

    def sample(self, batch_size: int) -> Tensor:
        """``(batch_size, ...)`` rows on the device, after ``transform``.

        As one of N processes (`set_shard`), every process draws the indices of
        the global batch of ``N * batch_size`` rows from the same stream and reads
        its own ``batch_size`` of them: together they see exactly the batch one
        process would draw, and the state any of them saves resumes any N.
        """
        index = self.rng.integers(0, len(self.rows), size=batch_size * self.world_size)
        if not isinstance(self.rows, Tensor):
            # Sorted reads are kinder to a memory map; the order within a batch is irrelevant. Sorted
            # before the shard is cut, so each row meets the same noise and eps as in one process.
            index = np.sort(index)
        index = index[self.rank * batch_size:(self.rank + 1) * batch_size]
        if isinstance(self.rows, Tensor):
            batch = self.rows[torch.from_numpy(index)]
        else:
            batch = torch.from_numpy(np.ascontiguousarray(self.rows[index]))
        batch = batch.to(self.device, non_blocking=True)
        return self.transform(batch) if self.transform is not None else batch

    def state_dict(self) -> dict[str, Any]:
        return {"bit_generator": self.rng.bit_generator.state}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.rng.bit_generator.state = state["bit_generator"]
