"""The chunks stage: read the folder, cut every document into chunks; files unchanged since the last build
(same size and modification time, or the same bytes) keep their chunks without being read again."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from densefit.console import progress, say
from densefit.data.chunker import chunk_document
from densefit.data.documents.folder import FileEntry, Skipped, read_file, scan, skip_reason
from densefit.io import write_json_atomic, write_jsonl_atomic

FILES = "files.json"
CHUNKS = "chunks.jsonl"


@dataclass
class ChunkResult:
    rows: list[dict]
    skipped: list[Skipped]
    read: int = 0
    reused: int = 0
    removed: int = 0

    def summary(self) -> dict:
        reasons: dict[str, int] = {}
        for s in self.skipped:
            reasons[s.reason.split(" (")[0]] = reasons.get(s.reason.split(" (")[0], 0) + 1
        return {"chunks": len(self.rows), "files_read": self.read, "files_unchanged": self.reused,
                "files_removed": self.removed, "skipped": len(self.skipped), "skipped_by_reason": reasons,
                "skipped_files": [asdict(s) for s in self.skipped]}


def _entries(root: Path) -> list[FileEntry]:
    from densefit.data.beir import CORPUS, is_beir_dir

    entries = scan(root)
    return [e for e in entries if e.path == CORPUS] if is_beir_dir(root) else entries


def _previous(out: Path, settings: dict) -> tuple[dict, dict[str, dict]]:
    """(files record, chunk rows by id) of the last build when it used the same chunk settings."""
    try:
        files = json.loads((out / FILES).read_text(encoding="utf-8"))
        rows = [json.loads(line) for line in (out / CHUNKS).read_text(encoding="utf-8").splitlines() if line]
    except (OSError, ValueError):
        return {}, {}
    if files.get("settings") != settings:
        return {}, {}
    return files.get("files", {}), {r["_id"]: r for r in rows}


def _chunk_rows(docs, budget: int, overlap: int, count: Callable[[str], int]) -> list[dict]:
    return [chunk.row() for doc in docs for chunk in chunk_document(doc, budget, overlap, count)]


def _unchanged(entry: FileEntry, before: dict | None) -> bool:
    return bool(before) and before.get("size") == entry.size and before.get("mtime_ns") == entry.mtime_ns


def chunk_folder(root: Path, out: Path, budget: int, overlap: int, count: Callable[[str], int],
                 max_bytes: int, model: str) -> ChunkResult:
    """Chunk every readable file; OUT/chunks.jsonl and OUT/files.json are replaced atomically at the end."""
    settings = {"budget": budget, "overlap": overlap, "model": model, "version": 1}
    old_files, old_rows = _previous(out, settings)
    entries = _entries(root)
    result, files = ChunkResult([], []), {}
    with progress("read", len(entries), "files") as advance:
        for entry in entries:
            files[entry.path] = _one_file(root, entry, old_files.get(entry.path), old_rows, result, budget,
                                          overlap, count, max_bytes)
            advance(1)
    result.removed = len(set(old_files) - set(files))
    write_jsonl_atomic(out / CHUNKS, result.rows)
    write_json_atomic(out / FILES, {"settings": settings, "files": files})
    say(f"chunks: {len(result.rows)} from {len(entries) - len(result.skipped)} files ({result.read} read, "
        f"{result.reused} unchanged, {result.removed} removed); {len(result.skipped)} skipped")
    return result


def _one_file(root, entry, before, old_rows, result: ChunkResult, budget, overlap, count, max_bytes) -> dict:
    record = {"size": entry.size, "mtime_ns": entry.mtime_ns}
    reason = skip_reason(entry, max_bytes)
    if reason is None and _unchanged(entry, before) and "chunks" in before:
        result.reused += 1
        result.rows.extend(old_rows[i] for i in before["chunks"] if i in old_rows)
        return {**record, "sha256": before.get("sha256"), "chunks": before["chunks"]}
    if reason is None:
        sha, docs = read_file(root, entry)
        record["sha256"] = sha
        if isinstance(docs, Skipped):
            reason = docs.reason
        else:
            result.read += 1
            rows = _chunk_rows(docs, budget, overlap, count)
            result.rows.extend(rows)
            return {**record, "chunks": [r["_id"] for r in rows]}
    result.skipped.append(Skipped(entry.path, reason))
    return {**record, "skipped": reason}
