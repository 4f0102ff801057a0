"""The one way benchmarks write their figures: replace their own marked section of docs/benchmarks.md."""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

DOC = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"


def write_section(text: str, begin: str, end: str, doc: Path = DOC) -> None:
    """Replace the text between `begin` and `end` (markers included in `text`), or append it; atomic."""
    current = doc.read_text() if doc.exists() else "# Benchmarks\n"
    if begin in current:
        current = re.sub(re.escape(begin) + ".*?" + re.escape(end), lambda _: text, current, flags=re.S)
    else:
        current = current.rstrip() + "\n\n" + text + "\n"
    fd, tmp = tempfile.mkstemp(prefix=f".{doc.name}.", dir=doc.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(current)
    os.replace(tmp, doc)
