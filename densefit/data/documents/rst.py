"""reStructuredText: a line underlined (and maybe overlined) with one punctuation character is a heading."""

from __future__ import annotations

import re
from pathlib import Path

from densefit.data.documents.base import Document, decode_text, one_document
from densefit.data.documents.markdown import headed_sections

ADORNMENT = re.compile(r"^([=\-~^\"'`#*+:.])\1{2,}\s*$")


def rst_heading(lines: list[str], i: int):
    over = ADORNMENT.match(lines[i]) and i + 2 < len(lines) and ADORNMENT.match(lines[i + 2])
    if over and lines[i + 1].strip():
        return lines[i + 1].strip(), 3
    title = lines[i].strip()
    if title and i + 1 < len(lines) and ADORNMENT.match(lines[i + 1]) and len(lines[i + 1].strip()) >= len(title):
        return title, 2
    return None


def read(raw: bytes, path: Path) -> list[Document]:
    title, sections = headed_sections(decode_text(raw).splitlines(), rst_heading)
    return one_document(str(path), title or path.stem, sections)
