"""OUT/build.json: what a build did, and the settings `densefit serve OUT` starts from."""

from __future__ import annotations

import json
from pathlib import Path

from densefit.errors import ConfigError

STATE = "build.json"
TRAIN = "train"
INDEX = "index"
INDEX_BASE = "index-base"


def load_state(out: Path) -> dict:
    """The recorded state of a build in `out`, or {} when there is none."""
    path = Path(out) / STATE
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise ConfigError(f"{path} is not valid JSON ({exc}). Fix: delete it and build again") from None


def serve_block(cfg, state: dict) -> dict:
    """Paths relative to the build folder, so the folder can be moved or copied whole."""
    return {"model": f"{TRAIN}/model", "store": INDEX, "model_name": f"built ({state['stages']['train']['shipped']})",
            "compare_model": cfg.model, "compare_store": INDEX_BASE, "compare_name": "base"}


def is_build(folder: str | Path) -> bool:
    return (Path(folder) / STATE).is_file()


def serve_settings(folder: str | Path) -> dict:
    """ServeConfig values for a finished build folder: the tuned model, its index, and the base to compare."""
    state = load_state(Path(folder))
    if "serve" not in state:
        raise ConfigError(f"'{folder}' holds an unfinished build. Fix: run `densefit build ... --out {folder} "
                          "--resume` to finish it")
    out = {}
    for key, value in state["serve"].items():
        local = Path(folder) / value
        out[key] = str(local) if key in ("model", "store", "compare_store") or local.exists() else value
    return out
