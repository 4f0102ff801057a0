"""Metadata filters: a flat dict of field -> value, matched by equality (all fields must match).

    {"section": "2"}                 rows whose metadata["section"] == "2"
    {"section": "2", "lang": "en"}   both must hold

Values are strings, numbers or booleans; types matter ("2" is not 2). Each backend
turns the same dict into its own query (SQL, a Milvus expression, an OpenSearch
bool/term filter).
"""

from __future__ import annotations

import json
import re

from densefit.index.errors import FilterError

FIELD_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")
SCALARS = (str, int, float, bool)


def check_filter(filter: dict | None) -> dict | None:
    """Validate a filter; returns it (or None when empty)."""
    if not filter:
        return None
    if not isinstance(filter, dict):
        raise FilterError(f"a filter must be a dict of field -> value, got {type(filter).__name__}")
    for key, value in filter.items():
        if not isinstance(key, str) or not FIELD_RE.match(key):
            raise FilterError(f"filter field {key!r} is not a plain name (letters, digits, _ . -)")
        if not isinstance(value, SCALARS):
            raise FilterError(f"filter value for '{key}' must be a string, number or boolean, "
                              f"got {type(value).__name__}")
    return filter


def parse_filter_args(items: list[str] | None) -> dict | None:
    """CLI `--filter field=value` (a string) or `--filter field:=JSON` (a number/boolean), repeatable."""
    if not items:
        return None
    out: dict = {}
    for item in items:
        if ":=" in item:
            key, raw = item.split(":=", 1)
            try:
                out[key.strip()] = json.loads(raw)
            except ValueError:
                raise FilterError(f"--filter '{item}': the value after := must be JSON (2, 1.5, true)") from None
        elif "=" in item:
            key, value = item.split("=", 1)
            out[key.strip()] = value
        else:
            raise FilterError(f"--filter '{item}' must look like field=text or field:=2")
    return check_filter(out)


def filter_sql(filter: dict) -> tuple[str, list]:
    """SQLite WHERE clause over the JSON `metadata` column."""
    parts, params = [], []
    for key, value in check_filter(filter).items():
        if isinstance(value, bool):
            parts.append(f"json_type(metadata, '$.\"{key}\"') = ?")
            params.append("true" if value else "false")
        else:
            parts.append(f"json_extract(metadata, '$.\"{key}\"') = ?")
            params.append(value)
    return " AND ".join(parts), params
