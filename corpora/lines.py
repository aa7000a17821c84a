"""Streams of lines: reading a cache's ``lines.txt`` back, and cutting a stream into chunks.

Only ``\\n`` ends a line (the rule the sources use when they split text), and
text is UTF-8 with lone surrogates passed through (``surrogatepass``), so a
line written and read back is the same string.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice
from pathlib import Path
from typing import BinaryIO, TypeVar

T = TypeVar("T")

#: Bytes of a lines file read per block.
LINES_BLOCK_BYTES = 256 << 10


def iter_lines_file(path: Path, block_bytes: int | None = None) -> Iterator[list[str]]:
    """Stream a lines file (such as a cache's ``lines.txt``) as lists of lines (split on ``\\n`` only)."""
    block_bytes = block_bytes or LINES_BLOCK_BYTES
    with open(path, "rb") as f:
        carry = b""
        while True:
            block = f.read(block_bytes)
            if not block:
                if carry:
                    yield [carry.decode("utf-8", "surrogatepass")]
                return
            data = carry + block if carry else block
            cut = data.rfind(b"\n") + 1
            if cut == 0:
                carry = data
                continue
            carry = data[cut:]
            yield data[: cut - 1].decode("utf-8", "surrogatepass").split("\n")


def write_lines(out: BinaryIO, lines: list[str]) -> None:
    """Append ``lines`` to the binary file ``out``, each ended by ``\\n`` (the format `iter_lines_file` reads)."""
    if lines:  # nothing, not an empty line
        out.write("\n".join(lines).encode("utf-8", "surrogatepass") + b"\n")


def chunked(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """``items`` in lists of ``size`` (the last one shorter), read lazily."""
    it = iter(items)
    while chunk := list(islice(it, size)):
        yield chunk
