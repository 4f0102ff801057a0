"""Atomic checkpoints: written to a staging folder, marked complete, then renamed.

A checkpoint folder without the marker (a crash mid-save, or a folder from
another tool) is never resumed from.
"""

from __future__ import annotations

import re
import shutil
import time
from pathlib import Path

from densefit.io import publish_dir, write_json_atomic

MARKER = "densefit-complete.json"
STAGING = ".staging"
CHECKPOINT_RE = re.compile(r"^checkpoint-(\d+)$")


def publish(staged: Path, final: Path, step: int) -> None:
    """Mark `staged` complete and rename it to `final` (replacing an older copy)."""
    write_json_atomic(staged / MARKER, {"step": step, "saved_at": time.time()})
    publish_dir(staged, final)


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
