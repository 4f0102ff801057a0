"""What every reader returns: a Document with a title and (heading, text) sections; `Unreadable` to skip."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

BINARY_SNIFF = 8192  # bytes looked at for NUL: a text file has none


class Unreadable(Exception):
    """A file the build skips, with the reason shown in the report (not an error: the build goes on)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class Section:
    heading: str
    text: str


@dataclass
class Document:
    source: str                      # path relative to the folder (plus "#id" for a record of a JSONL file)
    title: str
    sections: list[Section] = field(default_factory=list)


def decode_text(raw: bytes) -> str:
    """UTF-8 text (a BOM dropped), or Unreadable for binary content or another encoding."""
    if b"\x00" in raw[:BINARY_SNIFF]:
        raise Unreadable("binary file (NUL bytes)")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise Unreadable(f"not UTF-8 (byte {exc.start}: {raw[exc.start:exc.start + 1]!r}); "
                         "re-save the file as UTF-8") from None


def clean(text: str) -> str:
    """Whitespace runs inside a line collapsed, blank-line runs kept as one paragraph break."""
    paragraphs = (" ".join(p.split()) for p in re.split(r"\n\s*\n", text))
    return "\n\n".join(p for p in paragraphs if p)


def one_document(source: str, title: str, sections: list[Section]) -> list[Document]:
    """The sections with text, as one Document; Unreadable("no text") when none has any."""
    kept = [Section(s.heading, clean(s.text)) for s in sections]
    kept = [s for s in kept if s.text]
    if not kept:
        raise Unreadable("no text")
    return [Document(source, title.strip() or source, kept)]
