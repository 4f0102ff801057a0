"""PDF with pypdf: one section per page ("page N"); encrypted files and pages without a text layer are
skipped with the reason (a scanned PDF needs OCR first)."""

from __future__ import annotations

import io
from pathlib import Path

from densefit.data.documents.base import Document, Section, Unreadable, one_document


def read(raw: bytes, path: Path) -> list[Document]:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(raw))
        if reader.is_encrypted:
            raise Unreadable("encrypted PDF; save an unencrypted copy to include it")
        pages = [Section(f"page {i}", page.extract_text() or "") for i, page in enumerate(reader.pages, 1)]
        meta_title = (reader.metadata or {}).get("/Title") if reader.metadata else None
    except (PdfReadError, ValueError, KeyError, TypeError) as exc:
        raise Unreadable(f"not a readable PDF ({type(exc).__name__}: {str(exc)[:80]})") from None
    try:
        return one_document(str(path), str(meta_title or "") or path.stem, pages)
    except Unreadable:
        raise Unreadable("PDF without a text layer (scanned?); run OCR on it first") from None
