"""The import graph points down only: a layer imports the layers below it, never one above (imports inside
functions count). The order is the house plan's, bottom to top. KNOWN lists the upward imports that are still
there; a new one fails this test, and so does a fixed one until it is taken off the list."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "densefit"
ORDER = ["ground", "data", "inference", "evaluation", "train", "index", "report", "methods", "serve", "face"]
GROUND = {"config", "models", "errors", "io", "console", "__init__"}
FACE = {"cli", "api", "demo", "__main__"}
FORBIDDEN = {("report", "train")}  # besides the order: the report draws and computes, it never trains
KNOWN = {  # upward imports to remove (the architecture issue); each names the file and what it imports
    ("densefit/inference/parity.py", "densefit.evaluation.retrieval"),  # the export's metric delta
    ("densefit/report/curve.py", "densefit.api"),                      # learning-curve runs belong in methods/
    ("densefit/report/merge.py", "densefit.train.run"),                # the merge search belongs in methods/
    ("densefit/serve/engine.py", "densefit.api"),                      # one loader: inference/select
}


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
