"""Bad input found by attacking the readers: lone surrogates, inf scores, non-UTF-8 text, wrong JSON
columns, and files with many bad lines. Each is a DataError naming file, line and field, never a traceback;
nothing is written."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from densefit.data.beir import load_beir, write_beir
from densefit.data.formats import load_training_data
from densefit.data.readers import MAX_PROBLEMS, DataErrors, read_records
from densefit.errors import DataError

SURROGATE_LINE = '{"anchor": "fine", "positive": "broken \\ud800 text"}\n'


def pairs_file(tmp_path: Path, lines: list[str], name: str = "pairs.jsonl") -> Path:
    path = tmp_path / name
    path.write_text("".join(lines), encoding="utf-8")
    return path


def test_a_lone_surrogate_in_jsonl_names_file_line_and_field(tmp_path):
    path = pairs_file(tmp_path, ['{"anchor": "a", "positive": "b"}\n', SURROGATE_LINE])
    with pytest.raises(DataError) as err:
        list(read_records(path))
    assert (err.value.path, err.value.line, err.value.field) == (str(path), 2, "positive")
    assert "lone surrogate at character 8" in str(err.value)


def test_a_valid_surrogate_pair_is_an_ordinary_character(tmp_path):
    path = pairs_file(tmp_path, ['{"anchor": "smile \\ud83d\\ude00", "positive": "b"}\n'])
    assert [r.row["anchor"] for r in read_records(path)] == ["smile \U0001F600"]


def test_a_lone_surrogate_in_a_json_array_names_the_element(tmp_path):
    path = tmp_path / "rows.json"
    path.write_text('[{"text": "ok"}, {"text": "x", "meta": {"tags": ["a", "\\udfff"]}}]', encoding="utf-8")
    with pytest.raises(DataError) as err:
        list(read_records(path))
    assert err.value.line == 2 and err.value.field == "meta.tags.1"


def test_a_lone_surrogate_in_a_beir_corpus(tmp_path):
    folder = write_beir(tmp_path / "ir", {"d1": {"text": "one"}, "d2": {"text": "two"}}, {"q1": "query"}, {"test": {"q1": {"d1": 1}}})
    corpus = folder / "corpus.jsonl"
    corpus.write_text(corpus.read_text() + '{"_id": "d3", "text": "bad \\ud800"}\n', encoding="utf-8")
    with pytest.raises(DataError) as err:
        load_beir(folder, "test")
    assert err.value.line == 3 and err.value.field == "text"


def densefit(*args) -> subprocess.CompletedProcess:
    """A real `densefit` command in its own process, as a user runs it."""
    return subprocess.run([str(Path(sys.executable).with_name("densefit")), *map(str, args)], capture_output=True,
                          text=True, timeout=600, env={**os.environ, "HF_HUB_OFFLINE": "1"})


def test_train_and_index_refuse_surrogates_without_a_traceback_or_a_store(tmp_path, tiny_model):
    path = pairs_file(tmp_path, ['{"anchor": "a", "positive": "b"}\n', SURROGATE_LINE])
    trained = densefit("train", "--model", tiny_model, "--train", path, "--out", tmp_path / "run")
    assert trained.returncode == 2 and "pairs.jsonl:2" in trained.stderr and "Traceback" not in trained.stderr
    assert not (tmp_path / "run" / "model").exists()
    corpus = pairs_file(tmp_path, ['{"id": "1", "text": "fine"}\n', '{"id": "2", "text": "bad \\udc00"}\n'],
                        "corpus.jsonl")
    store = tmp_path / "store"
    indexed = densefit("index", "--model", tiny_model, "--corpus", corpus, "--store", store, "--no-progress")
    said = " ".join(indexed.stderr.split())
    assert indexed.returncode == 2 and "corpus.jsonl:2" in said and "field 'text'" in said
    assert "Traceback" not in said
    assert not store.exists(), "a refused corpus must not leave an empty store behind"


def test_an_infinite_qrels_score_names_its_line(tmp_path):
    folder = write_beir(tmp_path / "ir", {"d1": {"text": "one"}}, {"q1": "query"}, {"test": {"q1": {"d1": 1}}})
    (folder / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td1\tinf\n", encoding="utf-8")
    with pytest.raises(DataError) as err:
        load_beir(folder, "test")
    assert err.value.line == 2 and err.value.field == "score" and "'inf' is not a number" in str(err.value)


def test_encode_of_a_txt_file_with_a_latin1_byte_names_its_line(tmp_path, tiny_model):
    text = tmp_path / "texts.txt"
    text.write_bytes(b"first line\nsecond line\ncaf\xe9 au lait\n")
    result = densefit("encode", "--model", tiny_model, "--input", text, "--out", tmp_path / "out.parquet")
    said = " ".join(result.stderr.split())
    assert result.returncode == 2 and "texts.txt:3" in said and "0xe9" in said and "Traceback" not in said
    assert not (tmp_path / "out.parquet").exists()


def test_malformed_json_reports_the_column_in_the_line_itself(tmp_path):
    path = pairs_file(tmp_path, ['{"anchor": "a", "positive": \n'])  # cut off: the value is missing
    with pytest.raises(DataError) as err:
        list(read_records(path))
    assert err.value.line == 1 and "at column 29" in str(err.value)  # 28 characters, then the missing value


def test_every_bad_line_of_a_file_is_reported_in_one_run(tmp_path):
    good = '{"anchor": "a%d", "positive": "b%d"}\n'
    lines = [good % (i, i) for i in range(10)]
    lines[2], lines[5], lines[8] = "{not json\n", "[1, 2]\n", SURROGATE_LINE
    with pytest.raises(DataErrors) as err:
        load_training_data(pairs_file(tmp_path, lines))
    assert [e.line for e in err.value.errors] == [3, 6, 9]
    said = str(err.value)
    assert "3 problems" in said and "pairs.jsonl:3" in said and "pairs.jsonl:6" in said and "pairs.jsonl:9" in said


def test_row_level_problems_are_collected_too_and_stop_at_the_limit(tmp_path):
    lines = ['{"anchor": "a", "positive": "b"}\n'] + ['{"anchor": "a", "positive": 7}\n'] * 30
    with pytest.raises(DataErrors) as err:
        load_training_data(pairs_file(tmp_path, lines))
    assert len(err.value.errors) == MAX_PROBLEMS and err.value.errors[0].line == 2
    assert f"stopped at the first {MAX_PROBLEMS}" in str(err.value)
