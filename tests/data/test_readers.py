"""Readers: every file type, line numbers, and every bad-input error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from densefit.data.beir import write_beir
from densefit.data.readers import Record, read_records
from densefit.errors import DataError

from ..conftest import write_jsonl

ROWS = [{"anchor": "a1", "positive": "p1"}, {"anchor": "a2", "positive": "p2"}]


def test_jsonl_rows_lines_and_blank_lines_skipped(tmp_path: Path) -> None:
    path = tmp_path / "train.jsonl"
    path.write_text('{"anchor": "a1", "positive": "p1"}\n\n  \n{"anchor": "a2", "positive": "p2"}\n')
    records = list(read_records(path))
    assert [r.row for r in records] == ROWS
    assert [r.line for r in records] == [1, 4]
    assert records[0].source == str(path)


def test_ndjson_and_bom(tmp_path: Path) -> None:
    path = tmp_path / "train.ndjson"
    path.write_bytes(b"\xef\xbb\xbf" + b'{"anchor": "a1", "positive": "p1"}\n')
    assert list(read_records(path)) == [Record(str(path), 1, ROWS[0])]


def test_json_array_line_is_element_number(tmp_path: Path) -> None:
    path = tmp_path / "train.json"
    path.write_text("  \n" + json.dumps(ROWS, indent=2))
    records = list(read_records(path))
    assert [(r.line, r.row) for r in records] == [(1, ROWS[0]), (2, ROWS[1])]


def test_json_file_of_lines(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "train.json", ROWS)
    assert [r.row for r in read_records(path)] == ROWS


def test_json_array_element_not_object(tmp_path: Path) -> None:
    path = tmp_path / "train.json"
    path.write_text(json.dumps([ROWS[0], ["x"]]))
    with pytest.raises(DataError, match=r"train\.json:2: element 2 of the array is a JSON array, not an object"):
        list(read_records(path))


def test_json_array_malformed_names_line(tmp_path: Path) -> None:
    path = tmp_path / "train.json"
    path.write_text('[\n{"anchor": "a"},\n{"anchor": }\n]')
    with pytest.raises(DataError, match=r"train\.json:3: malformed JSON: Expecting value"):
        list(read_records(path))


def test_csv_header_and_line_of_row_start(tmp_path: Path) -> None:
    path = tmp_path / "train.csv"
    path.write_text('anchor,positive\na1,"p1, with comma"\n\na2,"two\nlines"\na3,p3\n', encoding="utf-8")
    records = list(read_records(path))
    assert [r.row for r in records] == [
        {"anchor": "a1", "positive": "p1, with comma"},
        {"anchor": "a2", "positive": "two\nlines"},
        {"anchor": "a3", "positive": "p3"},
    ]
    assert [r.line for r in records] == [2, 4, 6]


def test_tsv(tmp_path: Path) -> None:
    path = tmp_path / "train.tsv"
    path.write_text("anchor\tpositive\r\na1\tp1\r\na2\tp2\r\n")
    records = list(read_records(path))
    assert [r.row for r in records] == ROWS
    assert [r.line for r in records] == [2, 3]


def test_csv_wrong_field_count(tmp_path: Path) -> None:
    path = tmp_path / "train.csv"
    path.write_text("anchor,positive\na1,p1\na2,p2,extra\n")
    with pytest.raises(DataError) as info:
        list(read_records(path))
    message = str(info.value)
    assert message.startswith(f"{path}:3: the row has 3 fields, the header has 2")
    assert "expected 2 comma-separated fields (anchor, positive)" in message
    assert "Fix: quote fields" in message


def test_tsv_wrong_field_count_after_multiline_row(tmp_path: Path) -> None:
    path = tmp_path / "train.tsv"
    path.write_text('anchor\tpositive\na1\t"x\ny"\nonly-one-field\n')
    with pytest.raises(DataError, match=r"train\.tsv:4: the row has 1 fields.*2 tab-separated"):
        list(read_records(path))


def test_csv_duplicate_header(tmp_path: Path) -> None:
    path = tmp_path / "train.csv"
    path.write_text("anchor,anchor\na,b\n")
    with pytest.raises(DataError, match=r"train\.csv:1: the header has column 'anchor' twice"):
        list(read_records(path))


def test_parquet(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "train.parquet"
    pq.write_table(pa.Table.from_pylist(ROWS + [{"anchor": "a3", "positive": None}]), path)
    records = list(read_records(path))
    assert [r.row for r in records] == ROWS + [{"anchor": "a3", "positive": None}]
    assert [r.line for r in records] == [1, 2, 3]


def test_parquet_unreadable(tmp_path: Path) -> None:
    path = tmp_path / "train.parquet"
    path.write_bytes(b"not parquet at all")
    with pytest.raises(DataError, match=r"train\.parquet: not a readable Parquet file"):
        list(read_records(path))


def test_datasets_folder(tmp_path: Path) -> None:
    import datasets

    folder = tmp_path / "ds"
    datasets.Dataset.from_dict({"anchor": ["a1", "a2"], "positive": ["p1", "p2"]}).save_to_disk(str(folder))
    records = list(read_records(folder))
    assert [(r.line, r.row) for r in records] == [(1, ROWS[0]), (2, ROWS[1])]


def test_datasets_dict_takes_train_split(tmp_path: Path) -> None:
    import datasets

    folder = tmp_path / "dd"
    train = datasets.Dataset.from_dict({"anchor": ["a1"], "positive": ["p1"]})
    test = datasets.Dataset.from_dict({"anchor": ["t"], "positive": ["t"]})
    datasets.DatasetDict({"train": train, "test": test}).save_to_disk(str(folder))
    assert [r.row for r in read_records(folder)] == [ROWS[0]]


def test_datasets_dict_without_train_lists_splits(tmp_path: Path) -> None:
    import datasets

    folder = tmp_path / "dd"
    ds = datasets.Dataset.from_dict({"anchor": ["a"], "positive": ["p"]})
    datasets.DatasetDict({"test": ds, "validation": ds}).save_to_disk(str(folder))
    with pytest.raises(DataError, match=r"no 'train' split; found test, validation"):
        list(read_records(folder))


def test_malformed_json_line_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "file.jsonl"
    path.write_text('{"anchor": "a", "positive": "p"}\n{"anchor": "b", "positive": "q"}\n'
                    '{"anchor": "c", "positive": }\n')
    with pytest.raises(DataError) as info:
        list(read_records(path))
    message = str(info.value)
    assert "file.jsonl:3: malformed JSON: Expecting value at column" in message
    assert "expected one JSON object per line" in message


def test_line_not_an_object(tmp_path: Path) -> None:
    path = tmp_path / "train.jsonl"
    path.write_text('{"anchor": "a"}\n["a", "b"]\n')
    with pytest.raises(DataError, match=r"train\.jsonl:2: the line is a JSON array, not an object"):
        list(read_records(path))


def test_undecodable_byte_reports_offset(tmp_path: Path) -> None:
    path = tmp_path / "train.jsonl"
    path.write_bytes(b'{"anchor": "ok"}\n{"anchor": "caf\xe9"}\n')
    with pytest.raises(DataError) as info:
        list(read_records(path))
    message = str(info.value)
    assert "train.jsonl:2: undecodable byte 0xe9 at byte offset 15 of the line" in message
    assert "re-save the file as UTF-8" in message


def test_undecodable_byte_in_json_array_and_csv(tmp_path: Path) -> None:
    array = tmp_path / "train.json"
    array.write_bytes(b'[\n{"anchor": "x"},\n{"anchor": "\xff"}]')
    with pytest.raises(DataError, match=r"train\.json:3: undecodable byte 0xff at byte offset 12"):
        list(read_records(array))
    table = tmp_path / "train.csv"
    table.write_bytes(b"anchor,positive\na,b\nc,\x80d\n")
    with pytest.raises(DataError, match=r"train\.csv:3: undecodable byte 0x80 at byte offset 2"):
        list(read_records(table))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"nope\.jsonl: no such file or folder"):
        read_records(tmp_path / "nope.jsonl")


def test_unknown_extension_lists_supported(tmp_path: Path) -> None:
    path = tmp_path / "train.xlsx"
    path.write_text("x")
    with pytest.raises(DataError) as info:
        read_records(path)
    message = str(info.value)
    assert "unsupported file type '.xlsx'" in message
    for ext in (".jsonl", ".ndjson", ".json", ".csv", ".tsv", ".parquet", "save_to_disk"):
        assert ext in message


def test_plain_folder_and_beir_folder_are_not_tables(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="not a saved datasets folder"):
        read_records(tmp_path / "empty")
    beir = write_beir(tmp_path / "ir", {"d1": {"text": "doc"}}, {"q1": "query"}, {"test": {"q1": {"d1": 1}}})
    with pytest.raises(DataError, match="BEIR-style IR set.*--format beir"):
        read_records(beir)
