"""Atomic checkpoints: written to a staging folder, marked complete, then renamed.

A checkpoint folder without the marker (a crash mid-save, or a folder from
another tool) is never resumed from.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from pathlib import Path

MARKER = "densefit-complete.json"
STAGING = ".staging"
CHECKPOINT_RE = re.compile(r"^checkpoint-(\d+)$")


def fsync_tree(folder: Path) -> None:
    """Flush every file under `folder` to disk so a rename publishes complete data."""
    for path in folder.rglob("*"):
        if path.is_file():
            with open(path, "rb") as fh:
                os.fsync(fh.fileno())


def write_json_atomic(path: Path, payload: dict) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(payload, fh, indent=2, default=str)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def publish(staged: Path, final: Path, step: int) -> None:
    """Mark `staged` complete and rename it to `final` (replacing an older copy)."""
    from densefit.io import umask_modes

    umask_modes(staged)
    fsync_tree(staged)
    write_json_atomic(staged / MARKER, {"step": step, "saved_at": time.time()})
    if final.exists():
        shutil.rmtree(final)
    os.replace(staged, final)


def is_complete(folder: Path) -> bool:
    return (folder / MARKER).is_file()


def checkpoint_step(folder: Path) -> int | None:
    m = CHECKPOINT_RE.match(folder.name)
    return int(m.group(1)) if m else None


def complete_checkpoints(root: Path) -> list[Path]:
    """Complete checkpoints under `root`, oldest step first."""
    if not root.is_dir():
        return []
    found = [p for p in root.iterdir() if p.is_dir() and checkpoint_step(p) is not None and is_complete(p)]
    return sorted(found, key=checkpoint_step)


def latest_checkpoint(root: Path) -> Path | None:
    found = complete_checkpoints(root)
    return found[-1] if found else None


def remove_incomplete(root: Path) -> list[str]:
    """Delete staging leftovers and unmarked checkpoint folders; return their names."""
    removed = []
    if not root.is_dir():
        return removed
    for path in root.iterdir():
        if path.is_dir() and (path.name == STAGING or (checkpoint_step(path) is not None and not is_complete(path))):
            shutil.rmtree(path)
            removed.append(path.name)
    return removed
