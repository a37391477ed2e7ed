"""The package's shape: no import cycle between its modules, and no module past the size limit.

Imports are read with `ast`, not by importing, so that an import inside a function or under
`if TYPE_CHECKING:` counts as much as one at the top: either way the two modules depend on
each other, and a cycle dodged by moving an import into a function is still a cycle.
"""

import ast
from collections.abc import Iterator
from pathlib import Path

PACKAGE = "responder"
ROOT = Path(__file__).resolve().parents[2] / PACKAGE
MAX_MODULE_LINES = 400


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(ROOT.rglob("*.py"))}


def _base(module: str, is_package: bool, level: int) -> str:
    """The package a relative import of `level` dots starts from."""
    parts = module.split(".")
    keep = len(parts) - level + (1 if is_package else 0)
    return ".".join(parts[:keep])


def imported(module: str, source: str, is_package: bool, known: set[str]) -> Iterator[str]:
    """Every module of the package that `module` imports, wherever the import statement stands."""
    for node in ast.walk(ast.parse(source, module)):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names if alias.name in known)
        elif isinstance(node, ast.ImportFrom):
            origin = node.module or ""
            if node.level:
                base = _base(module, is_package, node.level)
                origin = f"{base}.{origin}" if origin else base
            for alias in node.names:
                submodule = f"{origin}.{alias.name}"
                if submodule in known:
                    yield submodule
                elif origin in known:
                    yield origin


def import_graph() -> dict[str, set[str]]:
    found = modules()
    known = set(found)
    return {
        name: set(imported(name, path.read_text("utf-8"), path.name == "__init__.py", known)) - {name}
        for name, path in found.items()
    }


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle, as a closed path, for each group of modules that import each other (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = set()
            while True:
                member = stack.pop()
                group.add(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(group)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return [_closed_path(graph, group) for group in groups]


def _closed_path(graph: dict[str, set[str]], group: set[str]) -> list[str]:
    """A shortest path from the group's first module back to itself, inside the group."""
    start = min(group)
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for target in sorted(graph[node] & group):
                if target == start:
                    return [*paths[node], start]
                if target not in paths:
                    paths[target] = [*paths[node], target]
                    following.append(target)
        frontier = following
    raise AssertionError(f"{sorted(group)} is not a cycle")


def test_the_package_has_no_import_cycle() -> None:
    found = [" -> ".join(cycle) for cycle in cycles(import_graph())]
    assert not found, "import cycles (move what both sides need into a module that imports neither):\n  " + "\n  ".join(
        found
    )


def test_no_module_is_longer_than_the_limit() -> None:
    lengths = {name: len(path.read_text("utf-8").splitlines()) for name, path in modules().items()}
    over = [f"{name}: {lines} lines" for name, lines in sorted(lengths.items()) if lines > MAX_MODULE_LINES]
    assert not over, f"modules over {MAX_MODULE_LINES} lines (split them by concern):\n  " + "\n  ".join(over)


def test_the_walk_sees_every_kind_of_import() -> None:
    source = (
        "import responder.a\n"
        "from responder import b\n"
        "from responder.c import name\n"
        "from . import d\n"
        "from .e import name\n"
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from responder.f import name\n"
        "def g() -> None:\n"
        "    from responder.pkg import h\n"
    )
    known = {"responder", "responder.pkg", *(f"responder.{m}" for m in "abcf"), *(f"responder.pkg.{m}" for m in "deh")}
    assert set(imported("responder.pkg.mod", source, False, known)) == {
        "responder.a",
        "responder.b",
        "responder.c",
        "responder.pkg.d",
        "responder.pkg.e",
        "responder.f",
        "responder.pkg.h",
    }


def test_relative_imports_start_from_the_right_package() -> None:
    known = {"responder", "responder.pkg", "responder.pkg.x", "responder.y"}
    assert set(imported("responder.pkg", "from . import x\nfrom .. import y\n", True, known)) == {
        "responder.pkg.x",
        "responder.y",
    }
    assert set(imported("responder.pkg.mod", "from . import x\nfrom .. import y\n", False, known)) == {
        "responder.pkg.x",
        "responder.y",
    }


def test_a_cycle_is_found_and_named_as_a_closed_path() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set(), "e": {"e"}}
    assert cycles(graph) == [["a", "b", "c", "a"]]
