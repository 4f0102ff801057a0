"""Read a corpus to index: rows with an id, a text and any other columns as metadata.

Accepted: whatever densefit's data readers read (JSONL, JSON, CSV, TSV, Parquet, a
`datasets` folder) and a BEIR folder (its corpus.jsonl). The id column is `id` or
`_id` (also `doc_id`, `docid`); the text column is `text` (also `document`,
`passage`, `content`). A `title` is prepended to the text, as densefit's BEIR
evaluation does, and kept in the metadata.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from densefit.data.beir import CORPUS, is_beir_dir
from densefit.data.readers import Problems, Record, read_records
from densefit.errors import DataError

ID_FIELDS = ("id", "_id", "doc_id", "docid")
TEXT_FIELDS = ("text", "document", "passage", "content")


@dataclass
class Doc:
    id: str
    text: str
    metadata: dict
    line: int


def corpus_path(path: str | Path) -> Path:
    p = Path(path)
    if p.is_dir() and (p / CORPUS).is_file() and (is_beir_dir(p) or not any(p.glob("*.arrow"))):
        return p / CORPUS
    return p


def _pick(row: dict, names: tuple[str, ...]) -> str | None:
    return next((n for n in names if n in row), None)


def to_doc(record: Record) -> Doc:
    row = record.row
    id_key, text_key = _pick(row, ID_FIELDS), _pick(row, TEXT_FIELDS)
    if id_key is None or row[id_key] is None or str(row[id_key]).strip() == "":
        raise DataError("missing document id", path=record.source, line=record.line, field="id",
                        expected=f"a non-empty '{ID_FIELDS[0]}' or '{ID_FIELDS[1]}' field",
                        fix="give every row an id")
    if text_key is None or not isinstance(row[text_key], str) or not row[text_key].strip():
        raise DataError("missing or empty document text", path=record.source, line=record.line, field="text",
                        expected=f"a non-empty string in one of: {', '.join(TEXT_FIELDS)}",
                        fix="give every row its text, or drop the row")
    text = row[text_key]
    title = row.get("title")
    if isinstance(title, str) and title.strip():
        text = f"{title.strip()} {text}"
    meta = {k: v for k, v in row.items() if k not in (id_key, text_key)}
    return Doc(str(row[id_key]), text, meta, record.line)


def read_corpus(path: str | Path) -> Iterator[Doc]:
    """Yield every document; a bad row raises DataError naming the file and line."""
    for record in read_records(corpus_path(path)):
        yield to_doc(record)


def check_corpus(path: str | Path) -> int:
    """Validate every row and id uniqueness before anything is written; returns the row count."""
    seen: dict[str, int] = {}
    source = str(corpus_path(path))
    problems = Problems(source)  # every bad row in one run (up to MAX_PROBLEMS)
    for record in read_records(corpus_path(path)):
        try:
            doc = to_doc(record)
            if doc.id in seen:
                raise DataError(f"duplicate id '{doc.id}' (first on line {seen[doc.id]})", path=source,
                                line=doc.line, field="id", fix="give every row a unique id")
        except DataError as err:
            problems.add(err)
            continue
        seen[doc.id] = doc.line
    problems.raise_any()
    return len(seen)


def read_id_list(text: str) -> list[str]:
    """`--delete a,b,c`, or `--delete @file` with one id per line."""
    if text.startswith("@"):
        path = Path(text[1:])
        if not path.is_file():
            raise DataError("no such file", path=path, expected="a file with one id per line")
        from densefit.data.readers import read_text_lines

        return [line.strip() for _, line in read_text_lines(path) if line.strip()]
    return [part.strip() for part in text.split(",") if part.strip()]
