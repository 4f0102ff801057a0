"""BEIR-style IR sets: `corpus.jsonl`, `queries.jsonl` and `qrels/{split}.tsv`.

Reading is strict (every bad line names the file and line); writing is atomic
(a temporary folder renamed into place), so a half-written set never exists.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from densefit.data.unicode import check_decoded
from densefit.errors import DataError
from densefit.io import publish_dir, staged_dir

CORPUS, QUERIES, QRELS = "corpus.jsonl", "queries.jsonl", "qrels"
QRELS_HEADER = ("query-id", "corpus-id", "score")


@dataclass
class IRSet:
    """One split of an IR set: texts by id and graded relevance by query."""

    corpus: dict[str, str]
    queries: dict[str, str]
    qrels: dict[str, dict[str, int]]
    split: str
    path: str = ""
    titles: dict[str, str] = field(default_factory=dict)

    def judged_queries(self) -> dict[str, str]:
        """Queries of this split with at least one relevant (grade > 0) document."""
        return {q: self.queries[q] for q, rel in self.qrels.items() if any(g > 0 for g in rel.values())}


def is_beir_dir(path: str | os.PathLike) -> bool:
    p = Path(path)
    return p.is_dir() and (p / CORPUS).is_file() and (p / QUERIES).is_file() and (p / QRELS).is_dir()


def available_splits(path: str | os.PathLike) -> list[str]:
    return sorted(f.stem for f in (Path(path) / QRELS).glob("*.tsv"))


def _read_jsonl_texts(path: Path, with_title: bool) -> tuple[dict[str, str], dict[str, str]]:
    texts: dict[str, str] = {}
    titles: dict[str, str] = {}
    with open(path, "rb") as fh:
        for lineno, raw in enumerate(fh, 1):
            if not raw.strip():
                continue
            try:
                text = raw.decode("utf-8")
                row = json.loads(text)
            except UnicodeDecodeError as exc:
                raise DataError(f"undecodable byte at offset {exc.start}", path=path, line=lineno,
                                expected="UTF-8 text", fix="re-save the file as UTF-8") from None
            except json.JSONDecodeError as exc:
                raise DataError(f"malformed JSON ({exc.msg})", path=path, line=lineno,
                                expected="one JSON object per line") from None
            if not isinstance(row, dict) or "_id" not in row or not isinstance(row.get("text"), str):
                raise DataError("missing '_id' or string 'text'", path=path, line=lineno,
                                field="_id" if not isinstance(row, dict) or "_id" not in row else "text",
                                expected='{"_id": ..., "text": "..."}')
            check_decoded(text, row, path, lineno)
            doc_id = str(row["_id"])
            if doc_id in texts:
                raise DataError(f"duplicate id '{doc_id}'", path=path, line=lineno, field="_id",
                                fix="give every row a unique _id")
            texts[doc_id] = row["text"]
            if with_title and isinstance(row.get("title"), str) and row["title"].strip():
                titles[doc_id] = row["title"].strip()
    return texts, titles


def _not_utf8(path: Path) -> DataError:
    """Where the first byte that is not UTF-8 sits, as a DataError with the line and the fix."""
    raw = path.read_bytes()
    try:
        raw.decode("utf-8")
        start = len(raw)
    except UnicodeDecodeError as exc:
        start = exc.start
    return DataError(f"byte 0x{raw[start:start + 1].hex()} is not UTF-8", path=path,
                     line=raw.count(b"\n", 0, start) + 1, fix="save the file as UTF-8")


def read_qrels(path: Path, corpus: dict[str, str], queries: dict[str, str]) -> dict[str, dict[str, int]]:
    try:
        return _read_qrels(path, corpus, queries)
    except UnicodeDecodeError:
        raise _not_utf8(path) from None


def _read_qrels(path: Path, corpus: dict[str, str], queries: dict[str, str]) -> dict[str, dict[str, int]]:
    qrels: dict[str, dict[str, int]] = {}
    first_line: dict[tuple[str, str], int] = {}
    with open(path, newline="", encoding="utf-8", errors="strict") as fh:
        reader = csv.reader(fh, delimiter="\t")
        for row in reader:
            lineno = reader.line_num
            if not row or (lineno == 1 and row[0] == QRELS_HEADER[0]):
                continue
            if len(row) != 3:
                raise DataError(f"{len(row)} columns", path=path, line=lineno,
                                expected="3 tab-separated columns: query-id, corpus-id, score")
            qid, did, score = row
            try:
                grade = int(float(score))
            except (ValueError, OverflowError):  # OverflowError: inf
                raise DataError(f"score '{score}' is not a number", path=path, line=lineno, field="score",
                                expected="an integer relevance grade") from None
            for name, key, known in (("query-id", qid, queries), ("corpus-id", did, corpus)):
                if key not in known:
                    raise DataError(f"unknown {name} '{key}'", path=path, line=lineno, field=name,
                                    fix=f"every {name} must appear in {QUERIES if known is queries else CORPUS}")
            if (qid, did) in first_line:
                raise DataError(f"query '{qid}' and document '{did}' are judged twice, on lines "
                                f"{first_line[qid, did]} and {lineno}", path=path, line=lineno,
                                fix="keep one line per (query-id, corpus-id) pair")
            first_line[qid, did] = lineno
            qrels.setdefault(qid, {})[did] = grade
    return qrels


def load_beir(path: str | os.PathLike, split: str | None = None) -> IRSet:
    """Load one split; by default `test`, else `dev`. A document's text is its title and text joined."""
    root = Path(path)
    if not is_beir_dir(root):
        raise DataError("not a BEIR-style IR set", path=root,
                        expected=f"a folder with {CORPUS}, {QUERIES} and {QRELS}/<split>.tsv")
    splits = available_splits(root)
    if split is None:
        split = next((s for s in ("test", "dev", "validation") if s in splits), None)
        if split is None:
            raise DataError(f"no evaluation split; found {splits or 'none'}", path=root / QRELS,
                            expected="qrels/test.tsv or qrels/dev.tsv")
    if split not in splits:
        raise DataError(f"no split '{split}'", path=root / QRELS, expected=f"one of {splits}")
    texts, titles = _read_jsonl_texts(root / CORPUS, with_title=True)
    corpus = {d: (f"{titles[d]} {t}" if d in titles else t) for d, t in texts.items()}
    queries, _ = _read_jsonl_texts(root / QUERIES, with_title=False)
    qrels = read_qrels(root / QRELS / f"{split}.tsv", corpus, queries)
    return IRSet(corpus=corpus, queries=queries, qrels=qrels, split=split, path=str(root), titles=titles)


def write_beir(
    out_dir: str | os.PathLike,
    corpus: dict[str, dict],
    queries: dict[str, str],
    qrels_by_split: dict[str, dict[str, dict[str, int]]],
) -> Path:
    """Write a BEIR set atomically. `corpus` maps id -> {"text": ..., optional "title" and metadata}."""
    out = Path(out_dir)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = staged_dir(out.parent, f".{out.name}.")
    try:
        with open(tmp / CORPUS, "w", encoding="utf-8") as fh:
            for doc_id, doc in corpus.items():
                fh.write(json.dumps({"_id": doc_id, **doc}, ensure_ascii=False) + "\n")
        with open(tmp / QUERIES, "w", encoding="utf-8") as fh:
            for qid, text in queries.items():
                fh.write(json.dumps({"_id": qid, "text": text}, ensure_ascii=False) + "\n")
        (tmp / QRELS).mkdir()
        for split, qrels in qrels_by_split.items():
            with open(tmp / QRELS / f"{split}.tsv", "w", encoding="utf-8", newline="") as fh:
                fh.write("\t".join(QRELS_HEADER) + "\n")
                for qid, rel in qrels.items():
                    for did, grade in rel.items():
                        fh.write(f"{qid}\t{did}\t{grade}\n")
        publish_dir(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out
