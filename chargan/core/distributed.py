"""Data-parallel training with ``torch.distributed``, set up from torchrun's environment.

``torchrun --nproc-per-node N -m chargan.cli train ...`` starts N processes
with ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK`` and the rendezvous address in
their environment; `init_from_env` joins them into one process group (NCCL
when CUDA is present, gloo on CPU). Without those variables, or with one
process, every helper here is a no-op and training is plain single-process.

How chargan splits the work (see `chargan.core.steps.Steps`): the
configured ``batch_size`` is the *global* batch; each rank computes its
``batch_size / world_size`` rows of it (its shard) and DDP averages the
gradients, so N ranks train the same trajectory as one process would.
"""

from __future__ import annotations

import atexit
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import torch
import torch.distributed as dist
from torch import Tensor

from chargan.errors import UserError


def init_from_env(backend: str | None = None, timeout_minutes: float = 30.0) -> bool:
    """Join torchrun's process group when ``WORLD_SIZE`` > 1; True when distributed.

    Idempotent. On CUDA, also makes ``cuda:LOCAL_RANK`` this process's
    current device, so ``"cuda"`` everywhere means the rank's own GPU.
    """
    if dist.is_available() and dist.is_initialized():
        return dist.get_world_size() > 1
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return False
    if not dist.is_available():
        raise UserError("WORLD_SIZE > 1 but this torch build has no torch.distributed")
    missing = [v for v in ("RANK", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT") if v not in os.environ]
    if missing:
        raise UserError(f"WORLD_SIZE is set but {', '.join(missing)} are not",
                        hint="launch with torchrun --nproc-per-node N -m chargan.cli train ...")
    if torch.cuda.is_available():
        torch.cuda.set_device(local_rank())
    backend = backend or ("nccl" if torch.cuda.is_available() else "gloo")
    dist.init_process_group(backend, timeout=timedelta(minutes=timeout_minutes))
    atexit.register(shutdown)
    return True


def shutdown() -> None:
    """Leave the process group (torch warns at exit about one left open)."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def is_distributed() -> bool:
    """True inside an initialized process group of more than one process."""
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def rank() -> int:
    return dist.get_rank() if is_distributed() else 0


def world_size() -> int:
    return dist.get_world_size() if is_distributed() else 1


def local_rank() -> int:
    return int(os.environ.get("LOCAL_RANK", "0"))


def is_main_process() -> bool:
    """Rank 0 (or no process group): the one process that writes files and prints."""
    return rank() == 0


def barrier() -> None:
    """Wait for every rank (no-op when not distributed)."""
    if is_distributed():
        dist.barrier()


@contextmanager
def main_process_first() -> Iterator[None]:
    """Run the block on rank 0 first, then on the other ranks (plain when not distributed).

    For work that fills a shared cache (downloading a corpus, encoding it,
    counting its n-grams): rank 0 does it once, the others then find it done.
    If rank 0 fails inside the block, it raises without reaching the barrier,
    and the process group's timeout ends the waiting ranks.
    """
    if not is_main_process():
        barrier()
    yield
    if is_main_process():
        barrier()


def rank_device(device: torch.device) -> torch.device:
    """``device`` with the rank's own CUDA index filled in (``cuda`` -> ``cuda:LOCAL_RANK`` under torchrun)."""
    if device.type == "cuda" and device.index is None:
        return torch.device("cuda", torch.cuda.current_device())
    return device


def shard(global_size: int) -> slice:
    """This rank's rows of a global batch of ``global_size`` rows (contiguous, equal shares).

    Raises `UserError` when ``global_size`` does not divide evenly among the ranks.
    """
    n = world_size()
    if global_size % n:
        raise UserError(f"a batch of {global_size} does not split evenly over {n} processes",
                        hint=f"use a --batch-size (and --generator-batch-size) divisible by {n}")
    size = global_size // n
    return slice(rank() * size, (rank() + 1) * size)


def all_mean(values: Tensor) -> Tensor:
    """The element-wise mean of ``values`` over ranks (``values`` itself when not distributed)."""
    if not is_distributed():
        return values
    values = values.clone()
    dist.all_reduce(values, op=dist.ReduceOp.SUM)
    return values / world_size()


def any_rank(flag: bool, device: torch.device) -> bool:
    """True on every rank when ``flag`` is true on any (e.g. a stop request seen by one)."""
    if not is_distributed():
        return flag
    value = torch.tensor([1.0 if flag else 0.0], device=device)
    dist.all_reduce(value, op=dist.ReduceOp.MAX)
    return bool(value.item())


def all_gather(samples: Tensor) -> Tensor:
    """Concatenate every rank's ``(n, ...)`` samples into ``(world_size * n, ...)``, in rank order.

    Every rank must pass the same shape.
    """
    if not is_distributed():
        return samples
    parts = [torch.empty_like(samples) for _ in range(world_size())]
    dist.all_gather(parts, samples.contiguous())
    return torch.cat(parts)


def broadcast_object(obj: Any) -> Any:
    """Rank 0's ``obj`` on every rank (pickled; for small things such as a run path)."""
    if not is_distributed():
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]
