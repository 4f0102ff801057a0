"""Walk a folder: every file with a reader is read; everything else is listed as skipped with its reason.

Nothing unreadable stops the walk. Hidden files and folders (".git", ".DS_Store") are not looked at, and
symbolic links are not followed, so a link cannot pull files from outside the folder.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from densefit.data.documents.base import Document, Unreadable
from densefit.data.documents.registry import READERS, supported, type_of


@dataclass
class FileEntry:
    path: str            # relative to the folder, with forward slashes
    size: int
    mtime_ns: int
    kind: str | None     # reader name; None: no reader for this type


@dataclass
class Skipped:
    path: str
    reason: str


def scan(root: Path) -> list[FileEntry]:
    """Every regular, non-hidden file under `root`, sorted by path."""
    entries = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and not (Path(folder) / d).is_symlink())
        for name in sorted(files):
            full = Path(folder) / name
            if name.startswith(".") or full.is_symlink() or not full.is_file():
                continue
            st = full.stat()
            entries.append(FileEntry(full.relative_to(root).as_posix(), st.st_size, st.st_mtime_ns, type_of(full)))
    return sorted(entries, key=lambda e: e.path)


def skip_reason(entry: FileEntry, max_bytes: int) -> str | None:
    """Why a file is skipped before it is opened (type, emptiness, size), or None."""
    if entry.kind is None:
        return f"unsupported type '{Path(entry.path).suffix or Path(entry.path).name}' (densefit reads {supported()})"
    if entry.size == 0:
        return "empty file"
    if entry.size > max_bytes:
        return f"larger than the {max_bytes // 1_000_000} MB limit (--max-file-mb)"
    return None


def digest(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def read_file(root: Path, entry: FileEntry) -> tuple[str, list[Document] | Skipped]:
    """(sha256 of the bytes, the documents) or (sha256, Skipped) for a file its reader cannot use."""
    full = root / entry.path
    raw = full.read_bytes()
    try:
        docs = READERS[entry.kind](raw, full)
    except Unreadable as why:
        return digest(raw), Skipped(entry.path, why.reason)
    for doc in docs:
        doc.source = entry.path + doc.source[len(str(full)):]  # relative, "#id" of a record kept
    return digest(raw), docs
