"""Import rules: the GAN core knows nothing of text, images or corpora."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def imported_modules(folder: Path) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in folder.rglob("*.py"):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module:
                names.add(node.module)
        found[str(path.relative_to(ROOT))] = names
    return found


def test_core_imports_no_family_or_corpus_code() -> None:
    for path, names in imported_modules(ROOT / "chargan" / "core").items():
        chargan_names = {n for n in names if n.startswith("chargan")}
        allowed = {n for n in chargan_names if n.startswith("chargan.core") or n == "chargan.errors"}
        assert chargan_names == allowed, f"{path} imports {sorted(chargan_names - allowed)}"


def test_cli_is_a_layer_over_the_library() -> None:
    # The CLI may call into chargan, never the other way around.
    for folder in ("chargan", "corpora"):
        for path, names in imported_modules(ROOT / folder).items():
            assert not any(n.startswith("chargan.cli") for n in names), path
