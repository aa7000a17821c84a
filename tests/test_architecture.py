"""Import rules, checked on the installed package: arrows point one way, and nothing imports in a circle.

``cli -> families -> core`` and ``families -> corpora``: the core imports no
family, no data layer and no CLI; the data layer imports no family, no core
and no CLI; nothing imports the CLI. Every import statement counts, also
those inside functions and under ``TYPE_CHECKING``.
"""

from __future__ import annotations

import ast
import importlib.util
import pkgutil
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

FAMILIES = ("chargan.text", "chargan.toy", "chargan.image", "chargan.genes", "chargan.families", "chargan.experiments",
            "chargan.deprecated")
#: The family packages: none imports another (they meet in the registry, and share `chargan.sequence`).
FAMILY_PACKAGES = ("chargan.text", "chargan.toy", "chargan.image", "chargan.genes")


def installed_modules() -> dict[str, Path]:
    """Every module of the packages pyproject.toml installs, found where Python imports them from, by name."""
    packages = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]["packages"]
    found = {}
    for package in packages:
        spec = importlib.util.find_spec(package)
        assert spec is not None and spec.origin is not None and spec.submodule_search_locations, package
        found[package] = Path(spec.origin)
        for info in pkgutil.iter_modules(spec.submodule_search_locations, package + "."):
            if not info.ispkg:
                found[info.name] = Path(importlib.util.find_spec(info.name).origin)  # type: ignore[union-attr, arg-type]
    return found


def imports_of(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The chargan modules ``name``'s source imports (``from pkg import mod`` counts as ``pkg.mod``)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names if f"{base}.{alias.name}" in modules)
    return {m for m in found if m in modules and m != name}


def import_graph() -> dict[str, set[str]]:
    modules = installed_modules()
    return {name: imports_of(name, path, modules) for name, path in modules.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    return found


def test_the_walk_sees_every_layer() -> None:
    graph = import_graph()
    for name in ("chargan.core.trainer", "chargan.core.runner", "chargan.corpora.load", "chargan.cli.main",
                 "chargan.text.family", "chargan.families"):
        assert name in graph, name
    assert "chargan.core.runner" in graph["chargan.families"]  # function-level imports count


def test_no_module_imports_another_in_a_circle() -> None:
    assert cycles(import_graph()) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_core_imports_no_family_data_layer_or_cli() -> None:
    for name, imported in import_graph().items():
        if name.startswith("chargan.core"):
            outside = {m for m in imported if not m.startswith("chargan.core") and m != "chargan.errors"}
            assert not outside, f"{name} imports {sorted(outside)}"


def test_data_layer_imports_no_family_core_or_cli() -> None:
    for name, imported in import_graph().items():
        if name.startswith("chargan.corpora"):
            outside = {m for m in imported if not m.startswith("chargan.corpora") and m != "chargan.errors"}
            assert not outside, f"{name} imports {sorted(outside)}"


def test_nothing_imports_the_cli() -> None:
    for name, imported in import_graph().items():
        if not name.startswith("chargan.cli"):
            assert not any(m.startswith("chargan.cli") for m in imported), name


def test_families_reach_each_other_only_through_the_registry() -> None:
    graph = import_graph()
    for family in FAMILY_PACKAGES:
        others = [f for f in FAMILY_PACKAGES if f != family]
        for name, imported in graph.items():
            if name == family or name.startswith(family + "."):
                assert not any(m == o or m.startswith(o + ".") for m in imported for o in others), name


def test_what_sequence_families_share_imports_only_the_core() -> None:
    graph = import_graph()
    assert "chargan.sequence.models" in graph and "chargan.sequence.models" in graph["chargan.genes.family"]
    for name, imported in graph.items():
        if name.startswith("chargan.sequence"):
            outside = {m for m in imported if not m.startswith(("chargan.sequence", "chargan.core")) and m != "chargan.errors"}
            assert not outside, f"{name} imports {sorted(outside)}"


def test_pyproject_installs_every_package_of_the_source_tree() -> None:
    packages = set(tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]["packages"])
    in_tree = set()
    for folder, name in (("chargan", "chargan"), ("corpora", "chargan.corpora"), ("cli", "chargan.cli")):
        for init in (ROOT / folder).rglob("__init__.py"):
            parts = init.parent.relative_to(ROOT / folder).parts
            in_tree.add(".".join((name, *parts)))
    assert in_tree == packages
