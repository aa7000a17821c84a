"""Will it fit? A config's estimated bytes against the memory its device has, checked before any work.

A family's config estimates its own needs (`SectionedConfig.memory_parts`:
named parts in bytes, from the config alone, torch-free); this module
compares their sum with what the device has free and refuses, naming the
largest part and its flags, when it cannot fit. The estimates count the
tensors that must exist at once (weights, gradients, Adam's two moments, one
step's activations, one evaluation's samples), so they are lower bounds of
the truth: a run they pass may still run out, but one they refuse cannot run.
"""

from __future__ import annotations

import os

import torch

from chargan.errors import UsageError

#: float32 bytes; the estimates do not discount bf16 autocast (activations may be half of this).
FLOAT_BYTES = 4
#: Weights, their gradients and Adam's two moments: four floats per parameter while training.
TRAINING_COPIES = 4


def available_bytes(device: torch.device) -> int | None:
    """Free memory of ``device`` in bytes (a CPU's MemAvailable), or None where it cannot be read."""
    if device.type == "cuda":
        free, _total = torch.cuda.mem_get_info(device)
        return int(free)
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def check_memory(parts: dict[str, int], device: torch.device, what: str) -> None:
    """`UsageError` (exit 2) when the estimated ``parts`` (name -> bytes) cannot fit in ``device``'s free memory."""
    needed = sum(parts.values())
    if not parts or needed <= 0:
        return
    free = available_bytes(device)
    if free is None or needed <= free:
        return
    largest = max(parts, key=parts.__getitem__)
    raise UsageError(f"{what} needs at least {format_bytes(needed)} of memory, of which {largest} takes "
                     f"{format_bytes(parts[largest])}; the {device.type} device has {format_bytes(free)} free",
                     hint="lower the sizes named there")


def format_bytes(n: float) -> str:
    """``n`` bytes as a short human figure (``1.5 GiB``); beyond PiB, in powers of ten."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(n) < 1024 or unit == "PiB":
            break
        n /= 1024
    return f"{n:.3g} {unit}" if n < 1e6 else f"{n:.2e} PiB"
