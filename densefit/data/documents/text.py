"""Plain text: the file is one section; its title is the first short line, else the file name."""

from __future__ import annotations

from pathlib import Path

from densefit.data.documents.base import Document, Section, decode_text, one_document

TITLE_WORDS = 12


def first_line_title(text: str, path: Path) -> str:
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return first if 0 < len(first.split()) <= TITLE_WORDS else path.stem


def read(raw: bytes, path: Path) -> list[Document]:
    text = decode_text(raw)
    return one_document(str(path), first_line_title(text, path), [Section("", text)])
