"""Device selection: CUDA when present, CPU otherwise."""

from __future__ import annotations

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
