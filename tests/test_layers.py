"""The import graph points down only: a layer imports the layers below it, never one above (imports inside
functions count). The order is the house plan's, bottom to top. KNOWN lists the upward imports that are still
there; a new one fails this test, and so does a fixed one until it is taken off the list."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "densefit"
ORDER = ["ground", "data", "inference", "evaluation", "train", "index", "report", "methods", "serve", "face"]
GROUND = {"config", "models", "errors", "io", "console", "registry", "__init__"}
FACE = {"cli", "api", "demo", "build", "__main__"}
FORBIDDEN = {("report", "train")}  # besides the order: the report draws and computes, it never trains
KNOWN: set[tuple[str, str]] = set()  # upward imports still to remove; keep it empty


def layer_of(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "densefit":
        return None
    top = parts[1] if len(parts) > 1 else "__init__"
    return "ground" if top in GROUND else "face" if top in FACE else top if top in ORDER else None


def upward_imports() -> set[tuple[str, str]]:
    found = set()
    for path in sorted(PACKAGE.rglob("*.py")):
        here = layer_of(".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([node.module] if isinstance(node, ast.ImportFrom) and node.module and not node.level else
                     [a.name for a in node.names] if isinstance(node, ast.Import) else [])
            for name in names:
                there = layer_of(name)
                if here and there and (ORDER.index(there) > ORDER.index(here) or (here, there) in FORBIDDEN):
                    found.add((str(path.relative_to(PACKAGE.parent)), name))
    return found


def test_layers_point_down_only():
    found = upward_imports()
    new, fixed = sorted(found - KNOWN), sorted(KNOWN - found)
    assert not new, f"imports that point up a layer (move the code to its layer): {new}"
    assert not fixed, f"these upward imports are gone: take them off KNOWN: {fixed}"


def module_graph() -> dict[str, set[str]]:
    """densefit module -> the densefit modules it imports (anywhere in the file); `from pkg import sub` is sub."""
    mods = {".".join(p.relative_to(PACKAGE.parent).with_suffix("").parts).removesuffix(".__init__"): p
            for p in PACKAGE.rglob("*.py")}
    graph = {m: set() for m in mods}
    for mod, path in mods.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and not node.level:
                subs = [f"{node.module}.{a.name}" for a in node.names if f"{node.module}.{a.name}" in mods]
                names = subs if len(subs) == len(node.names) else [node.module, *subs]
            else:
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            graph[mod] |= {n for n in names if n in mods and n != mod}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a path (first module repeated at the end), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: finished
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        path.pop()
        state[node] = 2
        return None

    return next((c for m in sorted(graph) if m not in state and (c := visit(m))), None)


def test_no_import_cycles():
    assert find_cycle(module_graph()) is None, f"import cycle: {' -> '.join(find_cycle(module_graph()))}"


def test_the_cycle_finder_finds_a_planted_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None
