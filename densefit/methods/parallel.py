"""Parallel sentences (source, target) for multilingual distillation.

Accepted files:
- TSV: `source<TAB>target` per line, with or without a header row naming the two columns
  (`source`/`target`, `src`/`tgt`, `english`/`non_english`);
- JSONL: one object per line with those keys, or a two-element array `["source", "target"]`.

Every malformed line raises a DataError naming the file and the line. Empty sides are errors
too (a silently dropped pair would shift nothing, but it hides a broken export).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from densefit.errors import DataError

KEY_PAIRS = (("source", "target"), ("src", "tgt"), ("english", "non_english"))
SUFFIXES = (".tsv", ".jsonl")
JSON_EXPECTED = '{"source": "...", "target": "..."} or ["source", "target"]'


@dataclass
class ParallelData:
    sources: list[str]
    targets: list[str]
    path: str
    duplicates_dropped: int = 0

    def __len__(self) -> int:
        return len(self.sources)

    def summary(self) -> dict:
        return {"path": self.path, "pairs": len(self), "duplicates_dropped": self.duplicates_dropped}


def _is_header(fields: list[str]) -> bool:
    return tuple(f.strip().lower() for f in fields) in KEY_PAIRS


def _tsv_pair(line: str, path: Path, lineno: int) -> tuple[str, str]:
    fields = line.split("\t")
    if len(fields) != 2:
        raise DataError(f"{len(fields)} tab-separated fields", path=path, line=lineno,
                        expected="2 fields: source<TAB>target", fix="remove tabs inside the sentences")
    return fields[0], fields[1]


def _json_pair(line: str, path: Path, lineno: int) -> tuple[str, str]:
    try:
        row = json.loads(line)
    except json.JSONDecodeError as exc:
        raise DataError(f"malformed JSON ({exc.msg})", path=path, line=lineno, expected=JSON_EXPECTED) from None
    if isinstance(row, list) and len(row) == 2:
        return row[0], row[1]
    if isinstance(row, dict):
        for src, tgt in KEY_PAIRS:
            if src in row and tgt in row:
                return row[src], row[tgt]
        raise DataError(f"no source/target keys among {sorted(row)}", path=path, line=lineno,
                        field="source", expected=JSON_EXPECTED, fix="name the keys 'source' and 'target'")
    raise DataError(f"a JSON {type(row).__name__}", path=path, line=lineno, expected=JSON_EXPECTED)


def _checked(pair: tuple, path: Path, lineno: int) -> tuple[str, str]:
    for name, value in zip(("source", "target"), pair):
        if not isinstance(value, str):
            raise DataError(f"a value of type {type(value).__name__}", path=path, line=lineno, field=name,
                            expected="a string")
        if not value.strip():
            raise DataError("empty text", path=path, line=lineno, field=name, expected="a non-empty sentence",
                            fix="drop the line or fill in the sentence")
    return pair[0].strip(), pair[1].strip()


def _lines(path: Path):
    with open(path, "rb") as fh:
        for lineno, raw in enumerate(fh, 1):
            try:
                text = raw.decode("utf-8").rstrip("\r\n")
            except UnicodeDecodeError as exc:
                raise DataError(f"undecodable byte at offset {exc.start}", path=path, line=lineno,
                                expected="UTF-8 text", fix="re-save the file as UTF-8") from None
            if text.strip():
                yield lineno, text.lstrip("\ufeff") if lineno == 1 else text


def read_parallel(path: str | Path) -> ParallelData:
    """Read (source, target) pairs; exact duplicate pairs are kept once."""
    p = Path(path)
    if not p.is_file():
        raise DataError("no such file", path=p, expected="a parallel TSV or JSONL file")
    if p.suffix.lower() not in SUFFIXES:
        raise DataError(f"unsupported file type '{p.suffix or p.name}'", path=p, expected="a .tsv or .jsonl file",
                        fix="write one 'source<TAB>target' per line into a .tsv file")
    parse = _tsv_pair if p.suffix.lower() == ".tsv" else _json_pair
    seen: set[tuple[str, str]] = set()
    data = ParallelData([], [], str(p))
    for lineno, line in _lines(p):
        if parse is _tsv_pair and not seen and not data.duplicates_dropped and _is_header(line.split("\t")):
            continue
        pair = _checked(parse(line, p, lineno), p, lineno)
        if pair in seen:
            data.duplicates_dropped += 1
            continue
        seen.add(pair)
        data.sources.append(pair[0])
        data.targets.append(pair[1])
    if not data.sources:
        raise DataError("no parallel pairs", path=p, expected="at least one source/target pair")
    return data
