"""Atomic writes: stage beside the target, then rename. Staged files and folders get the modes the user's
umask gives any new file (tempfile makes them 0600 and 0700, which would hide a model or report from other
users and container UIDs once renamed into place)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def umask() -> int:
    """The process umask, read without changing it where Linux reports it."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except OSError:
        pass
    old = os.umask(0o022)  # elsewhere: read it by setting it, then put it back
    os.umask(old)
    return old


def staged_dir(parent: str | os.PathLike, prefix: str) -> Path:
    """A new empty folder in `parent` for staging, with the mode of an ordinary new folder."""
    folder = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
    folder.chmod(0o777 & ~umask())
    return folder


def staged_file(parent: str | os.PathLike, prefix: str) -> tuple[int, str]:
    """(fd, path) of a new staging file in `parent`, with the mode of an ordinary new file."""
    fd, path = tempfile.mkstemp(prefix=prefix, dir=parent)
    os.fchmod(fd, 0o666 & ~umask())
    return fd, path


def umask_modes(folder: str | os.PathLike) -> None:
    """Give every file and folder under `folder` the umask's ordinary modes before it is published
    (safetensors writes its weights 0600 whatever the umask)."""
    mask = umask()
    root = Path(folder)
    root.chmod(0o777 & ~mask)
    for path in root.rglob("*"):
        if not path.is_symlink():
            path.chmod((0o777 if path.is_dir() else 0o666) & ~mask)
