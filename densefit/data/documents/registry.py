"""File type -> reader (lazy imports). A new type is one reader file plus one line here."""

from __future__ import annotations

from pathlib import Path

from densefit.registry import Registry

READERS = Registry("document type", {
    "text": "densefit.data.documents.text:read",
    "markdown": "densefit.data.documents.markdown:read",
    "rst": "densefit.data.documents.rst:read",
    "html": "densefit.data.documents.html:read",
    "pdf": "densefit.data.documents.pdf:read",
    "man": "densefit.data.documents.man:read",
    "records": "densefit.data.documents.records:read",
})
SUFFIXES = {".txt": "text", ".text": "text", ".md": "markdown", ".markdown": "markdown", ".rst": "rst",
            ".html": "html", ".htm": "html", ".xhtml": "html", ".pdf": "pdf", ".json": "records",
            ".jsonl": "records"}


def type_of(path: Path) -> str | None:
    """The reader's name for a file, or None for a type no reader takes."""
    from densefit.data.documents.man import is_man_name

    if path.suffix.lower() in SUFFIXES:
        return SUFFIXES[path.suffix.lower()]
    return "man" if is_man_name(path.name) else None


def supported() -> str:
    return ", ".join(sorted(SUFFIXES)) + ", man pages (.1-.8, optionally .gz)"
