"""JSON / JSONL records: each record with a text column is one document (`title` and `_id`/`id` kept).
A file with a bad record is skipped whole, and the skip names the line and the fix."""

from __future__ import annotations

from pathlib import Path

from densefit.data.documents.base import Document, Section, Unreadable
from densefit.errors import DataError


def _documents(path: Path) -> list[Document]:
    from densefit.data.corpus import ID_COLUMNS, _text_column
    from densefit.data.readers import read_records

    docs, column = [], None
    for rec in read_records(path):
        column = column or _text_column(rec.row, str(path), rec.line)
        text, title = rec.row.get(column), rec.row.get("title")
        if not isinstance(text, str):
            raise DataError("not text", path=path, line=rec.line, field=column, expected="a string")
        doc_id = next((str(rec.row[c]) for c in ID_COLUMNS if rec.row.get(c) is not None), str(rec.line))
        if text.strip():
            docs.append(Document(f"{path}#{doc_id}", title if isinstance(title, str) else "",
                                 [Section("", " ".join(text.split()))]))
    return docs


def read(raw: bytes, path: Path) -> list[Document]:
    try:
        docs = _documents(path)
    except DataError as err:
        raise Unreadable(str(err)) from None
    if not docs:
        raise Unreadable("no records with text")
    return docs
