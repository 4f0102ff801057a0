"""Real queries: a JSONL file (`query` with `source` = a file of the folder, or `chunk` = a chunk id), or the
test split of a BEIR folder given as the documents. A query naming nothing in this build is counted and
skipped (a query log outlives the files it clicked); a file where none match is an error."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from densefit.errors import DataError

QUERY_FIELDS = ("query", "text", "anchor", "question")
REF_FIELDS = ("source", "chunk", "file", "doc")


def _by_source(rows: list[dict]) -> dict[str, set[str]]:
    found = defaultdict(set)
    for r in rows:
        found[r["source"]].add(r["_id"])
        found[r["source"].split("#", 1)[0]].add(r["_id"])
    return found


def _field(row: dict, names: tuple[str, ...], path, line: int) -> tuple[str, str]:
    for name in names:
        if isinstance(row.get(name), str) and row[name].strip():
            return name, row[name].strip()
    raise DataError("missing field", path=path, line=line, expected=f"one of {', '.join(names)} (a string)",
                    fix='write {"query": "...", "source": "relative/file.md"}')


def read_real_queries(path: str, rows: list[dict]) -> tuple[list[tuple[str, set[str]]], dict]:
    from densefit.data.readers import read_records

    sources, ids = _by_source(rows), {r["_id"] for r in rows}
    grouped, unmatched, total = defaultdict(set), 0, 0
    for rec in read_records(path):
        total += 1
        _, text = _field(rec.row, QUERY_FIELDS, path, rec.line)
        name, ref = _field(rec.row, REF_FIELDS, path, rec.line)
        match = {ref} & ids if name == "chunk" else sources.get(ref.removeprefix("./"), set())
        if not match:
            unmatched += 1
        grouped[" ".join(text.split())] |= match
    real = [(q, c) for q, c in grouped.items() if c]
    if total and not real:
        raise DataError(f"none of its {total} queries names a file or chunk of this build", path=path,
                        fix="give 'source' as the file's path relative to the documents folder")
    return real, {"given": total, "used": len(real), "unmatched": unmatched, "file": str(path)}


def beir_test_queries(folder: Path, rows: list[dict]) -> tuple[list[tuple[str, set[str]]], dict]:
    """A BEIR folder's test queries, relevant to the chunks of their documents."""
    from densefit.data.beir import CORPUS, available_splits, load_beir

    if "test" not in available_splits(folder):
        return [], {}
    test = load_beir(folder, "test")
    sources = _by_source(rows)
    real = []
    for qid, rel in test.qrels.items():
        chunks = set().union(*(sources.get(f"{CORPUS}#{d}", set()) for d, g in rel.items() if g > 0))
        if chunks and qid in test.queries:
            real.append((test.queries[qid], chunks))
    return real, {"given": len(test.qrels), "used": len(real), "file": f"{folder}/qrels/test.tsv"}
