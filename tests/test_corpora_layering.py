"""The data layer's place: `chargan.corpora` imports nothing of the families, and no cycle of its own."""

from __future__ import annotations

import ast
from pathlib import Path

CORPORA_DIR = Path(__file__).resolve().parents[1] / "corpora"


def module_name(path: Path) -> str:
    parts = path.relative_to(CORPORA_DIR).with_suffix("").parts
    return ".".join(("chargan.corpora", *parts)).removesuffix(".__init__")


def imports(path: Path, *, top_level_only: bool = False) -> list[str]:
    """The modules ``path`` imports (``from a import b`` gives ``a`` and ``a.b``, b may be a module)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = tree.body if top_level_only else ast.walk(tree)
    found = []
    for node in nodes:
        if isinstance(node, ast.ImportFrom) and node.module:
            found += [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
        elif isinstance(node, ast.Import):
            found += [a.name for a in node.names]
    return found


def test_corpora_imports_only_errors_from_chargan():
    allowed = {"chargan.errors"}
    paths = sorted(CORPORA_DIR.rglob("*.py"))
    assert any(p.parent.name == "units" for p in paths)
    for path in paths:
        for name in imports(path):
            if name.startswith("chargan.") and not name.startswith("chargan.corpora"):
                assert name.rsplit(".", 1)[0] in allowed or name in allowed, f"{path.name} imports {name}"


def test_no_import_cycle_between_corpora_modules():
    """Module-level imports between the modules of `chargan.corpora` form no cycle.

    A package's ``__init__`` re-exporting its modules is left out (importing a
    module always runs its package first; that is not a cycle of the code).
    """
    modules = {module_name(p): p for p in CORPORA_DIR.rglob("*.py")}
    graph = {}
    for name, path in modules.items():
        if path.name == "__init__.py":
            continue
        targets = {t for t in imports(path, top_level_only=True) if t in modules}
        # `from chargan.corpora.units import X` needs the units package, whose __init__ pulls in its modules.
        graph[name] = {t for t in targets if modules[t].name != "__init__.py"} | {
            m for t in targets if modules[t].name == "__init__.py"
            for m in imports(modules[t], top_level_only=True) if m in modules and modules[m].name != "__init__.py"
        }
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            assert state.get(nxt) != 1, "import cycle: " + " -> ".join([*trail, node, nxt])
            if nxt not in state:
                visit(nxt, [*trail, node])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [])
    assert "chargan.corpora.build" in graph and "chargan.corpora.units.chars" in graph
