"""Lone surrogates: JSON can spell them ("\\ud800"), Python decodes them, and then every tokenizer and UTF-8
writer fails far from the file. The readers refuse them where they are read, naming file, line and field."""

from __future__ import annotations

import re

from densefit.errors import DataError

ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")  # a surrogate spelled as a JSON escape
FIX = "replace the escape with the character it stands for, or remove it; valid text has no lone surrogates"


def _find(value: object, where: str) -> tuple[str, int] | None:
    """(field path, character index) of the first lone surrogate in a decoded JSON value, or None."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            return where, exc.start
        return None
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        found = _find(item, f"{where}.{key}" if where else str(key))
        if found:
            return found
    return None


def spells_surrogate(raw_text: str) -> bool:
    """True when JSON text spells a surrogate escape: only such text needs the walk of its values."""
    return "\\u" in raw_text and ESCAPE.search(raw_text) is not None


def check_decoded(raw_text: str, value: object, path: object, line: int | None) -> None:
    """Raise DataError when `value`, decoded from the JSON text `raw_text`, holds a lone surrogate
    (clean text costs one substring test)."""
    if spells_surrogate(raw_text):
        check_value(value, path, line)


def check_value(value: object, path: object, line: int | None) -> None:
    """Raise DataError naming the field when a decoded JSON value holds a lone surrogate."""
    found = _find(value, "")
    if found:
        field, at = found
        raise DataError(f"a lone surrogate at character {at + 1} of the value, which is not valid Unicode",
                        path=path, line=line, field=field or None, expected="valid Unicode text", fix=FIX)
