"""Read rows from JSON Lines, JSON arrays, CSV, TSV, Parquet and `datasets` folders.

Every row comes back as a `Record` that remembers where it came from, so any later
check can name the file and line. Every problem is a `DataError` that says where,
what was expected and how to fix it.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from densefit.data.beir import is_beir_dir
from densefit.data.unicode import check_decoded, check_value, spells_surrogate
from densefit.errors import DataError

BOM = b"\xef\xbb\xbf"
HF_MARKERS = ("state.json", "dataset_dict.json")
OBJECT_FIX = 'write one object per line, such as {"anchor": "...", "positive": "..."}'
UTF8_FIX = "re-save the file as UTF-8 (for example: iconv -f latin1 -t utf-8 in > out)"


@dataclass(frozen=True)
class Record:
    """One row and where it came from.

    `line` is the 1-based physical line where the row starts for JSON Lines, CSV and
    TSV; the 1-based element number for a JSON array; the 1-based row number for
    Parquet files and `datasets` folders.
    """

    source: str
    line: int
    row: dict


MAX_PROBLEMS = 20


class DataErrors(DataError):
    """Several problems of one file, reported together (the first MAX_PROBLEMS)."""

    def __init__(self, source: str, errors: list[DataError], stopped: bool) -> None:
        self.errors = errors
        more = f"; stopped at the first {MAX_PROBLEMS}" if stopped else ""
        listed = "\n  ".join(str(e) for e in errors)
        super().__init__(f"{len(errors)} problems{more}:\n  {listed}\n", path=source, line=errors[0].line,
                         fix="fix these lines and run again")


class Problems:
    """Collects the DataErrors of one file; raises them together at the end, or at MAX_PROBLEMS."""

    def __init__(self, source: str) -> None:
        self.source, self.errors = source, []

    def add(self, err: DataError) -> None:
        self.errors.append(err)
        if len(self.errors) >= MAX_PROBLEMS:
            raise DataErrors(self.source, self.errors, stopped=True)

    def raise_any(self) -> None:
        if len(self.errors) == 1:
            raise self.errors[0]
        if self.errors:
            raise DataErrors(self.source, self.errors, stopped=False)


def _json_type(value: object) -> str:
    """The JSON name of a decoded value's type, for error messages."""
    names = {list: "array", str: "string", bool: "boolean", int: "number", float: "number", type(None): "null"}
    return names.get(type(value), type(value).__name__)


def _undecodable(raw_line: bytes, offset: int, source: str, lineno: int) -> DataError:
    """The error for a byte that is not valid UTF-8, at `offset` within its line."""
    return DataError(f"undecodable byte 0x{raw_line[offset]:02x} at byte offset {offset} of the line",
                     path=source, line=lineno, expected="UTF-8 text", fix=UTF8_FIX)


def _decode_line(raw: bytes, source: str, lineno: int) -> str:
    """Decode one physical line as strict UTF-8 (dropping a leading BOM on line 1)."""
    skip = len(BOM) if lineno == 1 and raw.startswith(BOM) else 0
    try:
        return raw[skip:].decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _undecodable(raw, exc.start + skip, source, lineno) from None


def _decoded_lines(path: Path, source: str, problems: "Problems | None" = None) -> Iterator[tuple[int, str]]:
    """Yield (1-based line number, text) for each physical line, line endings kept. With `problems`, an
    undecodable line is recorded there and skipped; without, it raises."""
    with open(path, "rb") as fh:
        for lineno, raw in enumerate(fh, 1):
            try:
                yield lineno, _decode_line(raw, source, lineno)
            except DataError as err:
                if problems is None:
                    raise
                problems.add(err)


def _parse_object(text: str, source: str, lineno: int, expected: str) -> dict:
    """Parse one JSON Lines line, which must hold a single JSON object (columns count in the line itself)."""
    text = text.rstrip("\r\n")
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(f"malformed JSON: {exc.msg} at column {exc.colno}", path=source, line=lineno,
                        expected=expected, fix="repair or remove this line") from None
    if not isinstance(value, dict):
        raise DataError(f"the line is a JSON {_json_type(value)}, not an object", path=source, line=lineno,
                        expected=expected, fix=OBJECT_FIX)
    check_decoded(text, value, source, lineno)
    return value


def read_jsonl(path: Path, source: str) -> Iterator[Record]:
    """JSON Lines: one object per line; blank lines are skipped. Bad lines are collected (up to
    MAX_PROBLEMS) and raised together when the file ends, so one run names them all."""
    expected = "one JSON object per line"
    problems = Problems(source)
    for lineno, text in _decoded_lines(path, source, problems):
        if text.strip():
            try:
                yield Record(source, lineno, _parse_object(text, source, lineno, expected))
            except DataError as err:
                problems.add(err)
    problems.raise_any()


def read_text_lines(path: str | os.PathLike) -> Iterator[tuple[int, str]]:
    """(1-based line number, text without its line ending) for each line of a UTF-8 text file; a byte that
    is not UTF-8 is a DataError naming the line."""
    for lineno, text in _decoded_lines(Path(path), str(path)):
        yield lineno, text.rstrip("\r\n")


def _first_char(path: Path) -> str:
    """The first non-whitespace character of a file (after a BOM), or '' for an empty file."""
    with open(path, "rb") as fh:
        head = fh.read(len(BOM))
        if head != BOM:
            fh.seek(0)
        while chunk := fh.read(4096):
            stripped = chunk.lstrip()
            if stripped:
                return chr(stripped[0])
    return ""


def _decode_whole(raw: bytes, source: str) -> str:
    """Decode a whole file as strict UTF-8; an error names its line and byte offset in it."""
    skip = len(BOM) if raw.startswith(BOM) else 0
    try:
        return raw[skip:].decode("utf-8")
    except UnicodeDecodeError as exc:
        bad = exc.start + skip
        line_start = raw.rfind(b"\n", 0, bad) + 1
        raise _undecodable(raw[line_start:], bad - line_start, source, raw.count(b"\n", 0, bad) + 1) from None


def read_json_array(path: Path, source: str) -> Iterator[Record]:
    """A JSON array of objects; `line` is the element number (1-based)."""
    text = _decode_whole(path.read_bytes(), source)
    try:
        items = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(f"malformed JSON: {exc.msg} at column {exc.colno}", path=source, line=exc.lineno,
                        expected="a JSON array of objects",
                        fix="repair the JSON, or write one object per line") from None
    if not isinstance(items, list):
        raise DataError(f"the file holds a JSON {_json_type(items)}, not an array", path=source,
                        expected="a JSON array of objects", fix="write one object per line instead")
    suspicious = spells_surrogate(text)
    for index, item in enumerate(items, 1):
        if not isinstance(item, dict):
            raise DataError(f"element {index} of the array is a JSON {_json_type(item)}, not an object",
                            path=source, line=index, expected="a JSON array of objects")
        if suspicious:
            check_value(item, source, index)
        yield Record(source, index, item)


def read_json(path: Path, source: str) -> Iterator[Record]:
    """`.json`: a JSON array when the file starts with `[`, JSON Lines otherwise."""
    if _first_char(path) == "[":
        return read_json_array(path, source)
    return read_jsonl(path, source)


def _check_header(header: list[str], source: str, lineno: int) -> None:
    """A CSV/TSV header must name every column, each once."""
    seen: set[str] = set()
    for name in header:
        if not name.strip() or name in seen:
            problem = "an empty column name" if not name.strip() else f"column '{name}' twice"
            raise DataError(f"the header has {problem}", path=source, line=lineno,
                            expected="a header row naming each column once", fix="fix the first row of the file")
        seen.add(name)


def _field_count_error(row: list[str], header: list[str], source: str, lineno: int, tab: bool) -> DataError:
    """The error for a CSV/TSV row whose field count differs from the header's."""
    kind = "tab" if tab else "comma"
    fix = ("remove tabs inside fields, or quote such fields" if tab
           else "quote fields that contain commas, quotes or line breaks")
    return DataError(f"the row has {len(row)} fields, the header has {len(header)}", path=source, line=lineno,
                     expected=f"{len(header)} {kind}-separated fields ({', '.join(header)})", fix=fix)


def _read_delimited(path: Path, source: str, delimiter: str) -> Iterator[Record]:
    """CSV/TSV with a header row; `line` is the physical line where each row starts."""
    csv.field_size_limit(2**31 - 1)
    reader = csv.reader((text for _, text in _decoded_lines(path, source)), delimiter=delimiter)
    header: list[str] | None = None
    end = 0
    while True:
        start = end + 1
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise DataError(f"unreadable row ({exc})", path=source, line=start,
                            expected="well-formed delimited text") from None
        end = reader.line_num
        if not row or row == [""]:
            continue
        if header is None:
            _check_header(row, source, start)
            header = row
        elif len(row) != len(header):
            raise _field_count_error(row, header, source, start, delimiter == "\t")
        else:
            yield Record(source, start, dict(zip(header, row)))


def read_csv(path: Path, source: str) -> Iterator[Record]:
    """Comma-separated values with a header row."""
    return _read_delimited(path, source, ",")


def read_tsv(path: Path, source: str) -> Iterator[Record]:
    """Tab-separated values with a header row."""
    return _read_delimited(path, source, "\t")


def read_parquet(path: Path, source: str) -> Iterator[Record]:
    """Parquet via pyarrow, streamed in batches; `line` is the row number."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as exc:
        raise DataError(f"not a readable Parquet file ({exc})", path=source, expected="a Parquet file",
                        fix="re-export the file, for example with pandas.DataFrame.to_parquet") from None
    number = 0
    for batch in parquet.iter_batches(batch_size=1024):
        for row in batch.to_pylist():
            number += 1
            yield Record(source, number, row)


def is_datasets_dir(path: str | os.PathLike) -> bool:
    """True for a folder written by `Dataset.save_to_disk` or `DatasetDict.save_to_disk`."""
    p = Path(path)
    return p.is_dir() and any((p / name).is_file() for name in HF_MARKERS)


def read_datasets_dir(path: Path, source: str) -> Iterator[Record]:
    """A `save_to_disk` folder; a DatasetDict must have a 'train' split. `line` is the row number."""
    import datasets

    try:
        loaded = datasets.load_from_disk(str(path))
    except Exception as exc:  # datasets raises many types for a damaged folder
        raise DataError(f"cannot load the datasets folder ({exc})", path=source,
                        expected="a folder written by Dataset.save_to_disk") from None
    if isinstance(loaded, datasets.DatasetDict):
        if "train" not in loaded:
            raise DataError(f"no 'train' split; found {', '.join(sorted(loaded)) or 'none'}", path=source,
                            expected="a DatasetDict with a 'train' split",
                            fix="save the split to train on as 'train', or save a single Dataset")
        loaded = loaded["train"]
    for number, row in enumerate(loaded, 1):
        yield Record(source, number, dict(row))


READERS: dict[str, Callable[[Path, str], Iterator[Record]]] = {
    ".jsonl": read_jsonl,
    ".ndjson": read_jsonl,
    ".json": read_json,
    ".csv": read_csv,
    ".tsv": read_tsv,
    ".parquet": read_parquet,
}
SUPPORTED = (*READERS, "a folder saved with datasets' save_to_disk")


def _directory_reader(path: Path, source: str) -> Callable[[Path, str], Iterator[Record]]:
    """The reader for a folder: only `datasets` folders hold rows."""
    if is_datasets_dir(path):
        return read_datasets_dir
    if is_beir_dir(path):
        raise DataError("this is a BEIR-style IR set, not a table of rows", path=source,
                        expected="a file of rows", fix="load it with --format beir (or leave --format out)")
    raise DataError("this folder is not a saved datasets folder", path=source,
                    expected=f"a folder containing {' or '.join(HF_MARKERS)}",
                    fix="pass a data file, or save the data with Dataset.save_to_disk")


def reader_for(path: str | os.PathLike) -> Callable[[Path, str], Iterator[Record]]:
    """Pick the reader by extension (or folder type); errors name the supported types."""
    p, source = Path(path), str(path)
    if not p.exists():
        raise DataError("no such file or folder", path=source, expected="an existing path",
                        fix="check the path and the current directory")
    if p.is_dir():
        return _directory_reader(p, source)
    reader = READERS.get(p.suffix.lower())
    if reader is None:
        raise DataError(f"unsupported file type '{p.suffix or p.name}'", path=source,
                        expected=f"one of {', '.join(SUPPORTED)}", fix="convert the file to JSON Lines (.jsonl)")
    return reader


def read_records(path: str | os.PathLike) -> Iterator[Record]:
    """Yield every row of a data file or `datasets` folder, each with its source and line.

    Errors (missing file, unknown type, bad bytes, malformed rows) are raised as
    `DataError` before the first record when they concern the whole file, else when
    the bad row is reached.
    """
    reader = reader_for(path)
    return reader(Path(path), str(path))
