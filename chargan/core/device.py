"""Device selection: CUDA when present, CPU otherwise."""

from __future__ import annotations

import math
import os
import time

import torch

from chargan.errors import UsageError, UserError


def resolve_device(name: str = "auto") -> torch.device:
    """``"auto"`` -> ``cuda`` if available else ``cpu``; otherwise the named device, checked."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise UsageError(f"unknown device {name!r}", hint="use auto, cpu, cuda or cuda:N") from None
    if device.type not in ("cpu", "cuda"):
        raise UsageError(f"device {name!r} is not one chargan trains on", hint="use auto, cpu, cuda or cuda:N")
    if device.type == "cuda" and not torch.cuda.is_available():
        raise UserError(f"device {name!r} asked for, but CUDA is not available here", hint="use --device cpu or auto")
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        raise UserError(f"device {name!r} does not exist: {torch.cuda.device_count()} CUDA device(s) here")
    return device


def configure_backends(device: torch.device) -> None:
    """The one place chargan sets ``torch.backends`` flags; only for CUDA (CPU needs none).

    TF32 matmuls and convolutions (Ampere and later: ~8x the float32 rate, a
    10-bit mantissa, ample for GAN training) and cuDNN autotuning (the
    shapes are fixed for a whole run, so the tuned kernels are reused).
    """
    if device.type != "cuda":
        return
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
    torch.backends.cudnn.benchmark = True


#: Below this many weights (generator and critic together) one thread runs a CPU step nearly as fast as two:
#: each op is too small to split well. Two runs of the `cpu` preset's model (DIM 32: 0.2M weights) side by
#: side on 2 cores kept 26% of their solo speed at 2 threads each and 78% at 1 thread each; at DIM 64
#: (0.5M) on a busy machine, 1 thread did 20 iterations where 2 did 2 (BENCHMARKS.md).
SMALL_MODEL_PARAMETERS = 1_000_000
#: Environment variables through which a user already chose torch's thread count.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS")


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity, e.g. a container's or taskset's share)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on Linux
        return os.cpu_count() or 1


def own_load() -> float:
    """This process's estimated share of the 1-minute load average, so that its own start is not counted as
    other work: its CPU time over its age (the threads it kept busy, on average), weighted by how much of the
    average's window (an exponential decay of one minute) its life fills. 0 where ``/proc`` is not there.

    A run chooses its threads after importing torch and building its model, seconds of one busy core, which
    the 1-minute load has already counted: on 2 idle cores that alone could make it take one thread.
    """
    try:
        with open("/proc/self/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()  # after the command name, which may hold spaces
        started = int(fields[19]) / os.sysconf("SC_CLK_TCK")  # field 22: the start, in clock ticks after boot
        with open("/proc/uptime") as f:
            age = float(f.read().split()[0]) - started
    except (OSError, ValueError, IndexError, AttributeError):
        return 0.0
    if age <= 0:
        return 0.0
    return time.process_time() / age * (1.0 - math.exp(-age / 60.0))


def choose_threads(requested: int | None, parameters: int, processes: int | None = None) -> tuple[int, str]:
    """``(threads, why)``: torch's CPU threads for a run of a model with ``parameters`` weights.

    An explicit ``requested`` wins, then ``$OMP_NUM_THREADS`` / ``$MKL_NUM_THREADS``. Otherwise: one thread
    for a small model (`SMALL_MODEL_PARAMETERS`); for a larger one, this process's share of the cores
    (``processes`` on this machine; default torchrun's local ranks) less what other work keeps busy (the
    1-minute load average less this process's own share, `own_load`), at least one. Oversubscribed cores
    cost far more than an idle one: a thread that waits for a core stalls every other thread at the next
    op's barrier.
    """
    if requested is not None:
        return requested, "--threads"
    for variable in THREAD_VARIABLES:
        if os.environ.get(variable, "").strip().isdigit():
            return torch.get_num_threads(), f"${variable}"
    if processes is None:
        processes = int(os.environ.get("LOCAL_WORLD_SIZE", "1"))
    cores = max(1, available_cores() // max(1, processes))
    if parameters < SMALL_MODEL_PARAMETERS:
        return 1, f"a small model ({parameters:,} weights) runs nearly as fast on one thread, and shares the machine"
    try:
        load = max(0.0, os.getloadavg()[0] - own_load())
    except (AttributeError, OSError):
        load = 0.0
    free = max(1, min(cores, round(cores - load)))
    return free, f"{cores} cores for this process, 1-minute load {load:.1f} from other work"


def set_threads(requested: int | None, parameters: int, processes: int | None = None) -> str:
    """Choose the CPU threads (`choose_threads`), set them, and return the summary line that says so."""
    threads, why = choose_threads(requested, parameters, processes)
    torch.set_num_threads(threads)
    return f"CPU threads: {threads} ({why}; --threads N to choose)"
