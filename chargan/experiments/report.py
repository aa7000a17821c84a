"""Tables of experiment results, written as Markdown (to read) and JSON (to compare)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from chargan.core.atomic import atomic_write_json, atomic_write_text


def markdown_table(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> str:
    """A Markdown table of ``rows`` with ``columns``; floats with 4 significant digits."""
    def cell(value: Any) -> str:
        return f"{value:.4g}" if isinstance(value, float) else str(value)

    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(row.get(c, "")) for c in columns) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def write_table(folder: str | Path, name: str, title: str, rows: Sequence[dict[str, Any]], columns: Sequence[str],
                notes: str = "", extra: dict[str, Any] | None = None) -> tuple[Path, Path]:
    """Write ``<name>.md`` (title, notes, table) and ``<name>.json`` (rows and ``extra``) into ``folder``."""
    folder = Path(folder)
    md, js = folder / f"{name}.md", folder / f"{name}.json"
    atomic_write_text(md, f"# {title}\n\n{notes.strip()}\n\n{markdown_table(rows, columns)}".replace("\n\n\n", "\n\n"))
    atomic_write_json(js, {"title": title, "rows": list(rows), **(extra or {})})
    return md, js
