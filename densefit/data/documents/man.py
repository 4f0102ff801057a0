"""man pages (`.1`-`.8`, gzipped or not): `.SH`/`.SS` split sections, the NAME line gives the title;
`.so` aliases of another page are skipped (the page they point to is read on its own)."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

from densefit.data.builders.manpages import _request_name, is_redirect, roff_to_text, source_lines, split_args
from densefit.data.documents.base import Document, Section, Unreadable, decode_text, one_document

SECTION_REQUESTS = {"SH", "SS"}
MAN_SUFFIX = re.compile(r"\.[1-8][a-z]*$")


def is_man_name(name: str) -> bool:
    return bool(MAN_SUFFIX.search(name.removesuffix(".gz")))


def _sections(lines: list[str]) -> list[Section]:
    sections, heading, body = [], "", []
    for line in lines:
        if _request_name(line) in SECTION_REQUESTS:
            sections.append(Section(heading, roff_to_text("\n".join(body))))
            heading, body = " ".join(split_args(line.lstrip(".'")[2:])).strip(), []
        else:
            body.append(line)
    sections.append(Section(heading, roff_to_text("\n".join(body))))
    return sections


def read(raw: bytes, path: Path) -> list[Document]:
    if path.name.endswith(".gz"):
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise Unreadable(f"broken gzip file ({exc})") from None
    source = decode_text(raw)
    if is_redirect(source):
        raise Unreadable("alias (.so) of another page")
    sections = _sections(source_lines(source))
    name = next((s.text for s in sections if s.heading.upper() == "NAME"), "")
    title = " ".join(name.split()) or path.name.removesuffix(".gz")
    return one_document(str(path), title, [s for s in sections if s.heading.upper() != "NAME"])
