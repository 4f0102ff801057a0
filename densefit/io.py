"""The one module that writes files atomically: stage beside the target, fsync the data, rename, fsync the
folder. A reader sees the old file or the new one, never half of either, even after a crash.

Staged files and folders get the modes the user's umask gives any new file (tempfile makes them 0600
and 0700, which would hide a model or report from other users and container UIDs once renamed).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
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


def fsync_dir(folder: str | os.PathLike) -> None:
    """Make a rename inside `folder` durable."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_tree(folder: str | os.PathLike) -> None:
    """Flush every file under `folder` to disk, so a rename publishes complete data."""
    for path in Path(folder).rglob("*"):
        if path.is_file():
            with open(path, "rb") as fh:
                os.fsync(fh.fileno())


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


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """A staging path beside `path` for a writer that wants a file name (pyarrow, faiss); on success it is
    fsynced and renamed over `path`, on error removed."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = staged_file(target.parent, f".{target.name}.")
    os.close(fd)
    try:
        yield Path(tmp)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, target)
        fsync_dir(target.parent)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@contextmanager
def atomic_file(path: str | os.PathLike, mode: str = "w", encoding: str | None = "utf-8") -> Iterator:
    """An open file that replaces `path` when the block ends without error (fsync, rename, fsync folder)."""
    with atomic_path(path) as tmp, open(tmp, mode, encoding=None if "b" in mode else encoding) as fh:
        yield fh
        fh.flush()
        os.fsync(fh.fileno())


def write_text_atomic(path: str | os.PathLike, text: str) -> Path:
    with atomic_file(path) as fh:
        fh.write(text)
    return Path(path)


def write_json_atomic(path: str | os.PathLike, payload, indent: int | None = 2) -> Path:
    with atomic_file(path) as fh:
        json.dump(payload, fh, indent=indent, default=str)
    return Path(path)


def write_jsonl_atomic(path: str | os.PathLike, rows) -> Path:
    with atomic_file(path) as fh:
        fh.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    return Path(path)


def publish_dir(stage: str | os.PathLike, final: str | os.PathLike) -> Path:
    """Rename a finished staging folder over `final` (its files flushed, modes from the umask); an older
    `final` is moved aside first and removed after, so `final` is never half-written."""
    stage, final = Path(stage), Path(final)
    umask_modes(stage)
    fsync_tree(stage)
    old = None
    if final.exists():
        old = final.with_name(f".{final.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        final.rename(old)
    os.replace(stage, final)
    fsync_dir(final.parent)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    return final
