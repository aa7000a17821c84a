"""Unpickling without running code: plain containers and numpy arrays, nothing else.

``pickle.load`` imports and calls whatever globals a file names, so a
downloaded pickle (such as a CIFAR-10 python batch) could run any code.
`SafeUnpickler` resolves only an allow-list of the callables a pickled numpy
array needs and refuses every other global with `ForbiddenGlobal`, before it
is imported or called.
"""

from __future__ import annotations

import io
import pickle

import numpy as np


def _numpy_globals() -> dict[tuple[str, str], object]:
    """The few callables a pickled numpy array needs, under their old and new module names."""
    core = getattr(np, "_core", None) or np.core  # numpy 2 renamed numpy.core to numpy._core
    reconstruct = core.multiarray._reconstruct
    frombuffer = core.numeric._frombuffer  # protocol-5 pickles of arrays
    allowed: dict[tuple[str, str], object] = {("numpy", "ndarray"): np.ndarray, ("numpy", "dtype"): np.dtype}
    for module in ("numpy.core", "numpy._core"):
        allowed[(f"{module}.multiarray", "_reconstruct")] = reconstruct
        allowed[(f"{module}.numeric", "_frombuffer")] = frombuffer
    allowed[("_codecs", "encode")] = _latin1_bytes
    return allowed


def _latin1_bytes(text: str, encoding: str = "utf-8") -> bytes:
    """How a protocol-2 pickle written by Python 3 stores bytes: ``_codecs.encode(text, "latin1")``.

    Only that exact call is served (a str and the latin-1 codec): no other codec, no other argument type.
    """
    if not isinstance(text, str) or encoding.replace("-", "").replace("_", "").lower() not in ("latin1", "iso88591"):
        raise ForbiddenGlobal(f"refused _codecs.encode of a {type(text).__name__} with codec {encoding!r} "
                              "(only latin-1 text, as protocol-2 pickles store bytes)")
    return text.encode("latin-1")


class ForbiddenGlobal(pickle.UnpicklingError):
    """A pickle named a global outside `SafeUnpickler`'s allow-list."""


class SafeUnpickler(pickle.Unpickler):
    """An unpickler that rebuilds plain containers and numpy arrays, and nothing else.

    Any other global a pickle names (``os.system``, ``builtins.eval``, a
    class of some package) raises `ForbiddenGlobal` before it is imported or
    called; persistent ids are refused by the base class.
    """

    _allowed = _numpy_globals()

    def find_class(self, module: str, name: str) -> object:
        try:
            return self._allowed[(module, name)]
        except KeyError:
            raise ForbiddenGlobal(f"refused to load the global {module}.{name}") from None


def safe_unpickle(data: bytes) -> object:
    """Unpickle ``data`` with `SafeUnpickler`; Python 2 strings stay bytes (``encoding='bytes'``)."""
    return SafeUnpickler(io.BytesIO(data), encoding="bytes").load()
