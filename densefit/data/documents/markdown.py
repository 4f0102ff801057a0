"""Markdown: ATX (`## Heading`) and setext (underlined) headings split sections; front matter dropped."""

from __future__ import annotations

import re
from pathlib import Path

from densefit.data.documents.base import Document, Section, decode_text, one_document

ATX = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
SETEXT = re.compile(r"^\s{0,3}(=+|-+)\s*$")
FRONT_MATTER = re.compile(r"\A---\n.*?\n---\n", re.S)
FENCE = re.compile(r"^\s{0,3}(```|~~~)")


def headed_sections(lines: list[str], heading_of) -> tuple[str, list[Section]]:
    """Split lines at headings; `heading_of(lines, i)` -> (heading text, lines it uses) or None."""
    sections, heading, body, title, i, fenced = [], "", [], "", 0, False
    while i < len(lines):
        fenced ^= bool(FENCE.match(lines[i]))
        found = None if fenced else heading_of(lines, i)
        if found is None:
            body.append(lines[i])
            i += 1
            continue
        sections.append(Section(heading, "\n".join(body)))
        heading, used = found
        title, body, i = title or heading, [], i + used
    sections.append(Section(heading, "\n".join(body)))
    return title, sections


def markdown_heading(lines: list[str], i: int):
    if m := ATX.match(lines[i]):
        return m.group(2), 1
    if i + 1 < len(lines) and lines[i].strip() and SETEXT.match(lines[i + 1]) and not lines[i].startswith(" " * 4):
        return lines[i].strip(), 2
    return None


def read(raw: bytes, path: Path) -> list[Document]:
    text = FRONT_MATTER.sub("", decode_text(raw))
    title, sections = headed_sections(text.splitlines(), markdown_heading)
    return one_document(str(path), title or path.stem, sections)
