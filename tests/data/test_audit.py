"""Audit: per-file summaries, token-length stats, leakage, and the rendered report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rich.console import Console

from densefit.data.audit import audit, find_leakage, render_audit
from densefit.data.beir import load_beir, write_beir
from densefit.data.formats import load_training_data

from ..conftest import write_jsonl


def count_words(texts: list[str]) -> list[int]:
    return [len(t.split()) for t in texts]


def pairs(path: Path, items: list[tuple[str, str]]) -> Path:
    return write_jsonl(path, [{"anchor": a, "positive": p} for a, p in items])


def render(report) -> str:
    console = Console(record=True, width=250, color_system=None)
    render_audit(report, console)
    return console.export_text()


def test_summary_counts_per_file(tmp_path: Path) -> None:
    path = pairs(tmp_path / "t.jsonl", [("a", "p"), ("a", "p"), ("", "p"), ("b", "q")])
    report = audit([path])
    (only,) = report.files
    s = only.summary
    assert (s.format, s.rows_read, s.rows_kept, s.empty_dropped, s.duplicates_dropped) == ("pairs", 4, 2, 1, 1)
    assert only.lengths == []
    assert report.leakage == []


def test_length_stats_with_word_counter(tmp_path: Path) -> None:
    items = [(" ".join(["w"] * n), f"doc {n}") for n in range(1, 11)]  # anchors of 1..10 words
    path = pairs(tmp_path / "t.jsonl", items)
    report = audit(path, count_tokens=count_words, max_seq_length=8)
    anchor, positive = report.files[0].lengths
    assert (anchor.column, anchor.count, anchor.min, anchor.max) == ("anchor", 10, 1, 10)
    assert anchor.p50 == pytest.approx(5.5)
    assert anchor.p90 == pytest.approx(9.1)
    assert anchor.p99 == pytest.approx(9.91)
    assert (anchor.over_limit, anchor.limit) == (2, 8)  # 9 and 10 words will be truncated
    assert (positive.column, positive.min, positive.max, positive.over_limit) == ("positive", 2, 2, 0)


def test_length_counts_each_distinct_text_once(tmp_path: Path) -> None:
    seen: list[str] = []

    def counter(texts: list[str]) -> list[int]:
        seen.extend(texts)
        return count_words(texts)

    path = write_jsonl(tmp_path / "n.jsonl", [{"question": "q", "pos_doc": ["a b", "c"], "neg_doc": ["n"]}])
    report = audit(path, count_tokens=counter)
    assert sorted(seen) == ["a b", "c", "n", "q"]
    by_column = {s.column: s for s in report.files[0].lengths}
    assert by_column["negative"].count == 2  # both rows, though counted once
    assert by_column["positive"].max == 2


def test_leakage_between_files_with_whitespace_normalised(tmp_path: Path) -> None:
    left = pairs(tmp_path / "a.jsonl", [("what is  rust", "a language"), ("q2", "p2"), ("q3", "shared doc")])
    right = pairs(tmp_path / "b.jsonl", [("what is rust\n", "other"), ("Q2", "p9"), ("q7", " shared   doc ")])
    report = audit([left, right])
    (leak,) = report.leakage
    assert (leak.left, leak.right) == (str(left), str(right))
    assert (leak.shared_queries, leak.shared_positives) == (1, 1)  # "Q2" differs in case: not shared
    assert leak.examples == ["query: what is rust", "positive: shared doc"]


def test_no_leakage_reported_as_zero(tmp_path: Path) -> None:
    left = pairs(tmp_path / "a.jsonl", [("q1", "p1")])
    right = pairs(tmp_path / "b.jsonl", [("q2", "p2")])
    (leak,) = audit([left, right]).leakage
    assert (leak.shared_queries, leak.shared_positives, leak.examples) == (0, 0, [])


def make_beir(tmp_path: Path) -> Path:
    corpus = {f"d{i}": {"text": f"document {i}"} for i in range(1, 6)}
    queries = {"q1": "train query", "q2": "test query", "q3": "planted query", "q4": "another"}
    qrels = {
        "train": {"q1": {"d1": 1}, "q3": {"d2": 1}},
        "test": {"q2": {"d3": 1}, "q3": {"d4": 1}, "q4": {"d2": 1, "d5": 0}},
    }
    return write_beir(tmp_path / "ir", corpus, queries, qrels)


def test_leakage_against_beir_eval(tmp_path: Path) -> None:
    beir = make_beir(tmp_path)
    train = pairs(tmp_path / "t.jsonl", [("test query", "fresh doc"), ("new", "document 4"), ("x", "document 5")])
    report = audit([train], eval_path=beir)
    (leak,) = report.leakage
    assert (leak.left, leak.right) == (str(train), str(beir))
    # "document 5" is judged 0 in test, so it is not a relevant document there
    assert (leak.shared_queries, leak.shared_positives) == (1, 1)


def test_beir_folder_as_training_file_checks_train_against_test(tmp_path: Path) -> None:
    beir = make_beir(tmp_path)
    report = audit([beir])
    assert report.files[0].summary.format == "beir"
    (leak,) = report.leakage
    assert (leak.left, leak.right) == (f"{beir} (train)", f"{beir} (test)")
    # q3 is judged in both splits; d2 is relevant in both
    assert (leak.shared_queries, leak.shared_positives) == (1, 1)
    assert leak.examples == ["query: planted query", "positive: document 2"]


def test_find_leakage_between_training_data_and_irset(tmp_path: Path) -> None:
    beir = make_beir(tmp_path)
    data = load_training_data(pairs(tmp_path / "t.jsonl", [("another", "document 3")]))
    leak = find_leakage(data, load_beir(beir, "test"), "mine", "theirs")
    assert (leak.left, leak.right, leak.shared_queries, leak.shared_positives) == ("mine", "theirs", 1, 1)


def test_eval_file_and_every_pair_of_files(tmp_path: Path) -> None:
    a = pairs(tmp_path / "a.jsonl", [("q1", "p1")])
    b = pairs(tmp_path / "b.jsonl", [("q1", "p2")])
    c = write_jsonl(tmp_path / "c.jsonl", [{"sentence1": "q1", "sentence2": "p2", "score": 0.5}])
    ev = pairs(tmp_path / "ev.jsonl", [("q9", "p1")])
    report = audit([a, b, c], eval_path=ev)
    found = {(Path(leak.left).name, Path(leak.right).name): (leak.shared_queries, leak.shared_positives)
             for leak in report.leakage}
    assert found == {
        ("a.jsonl", "b.jsonl"): (1, 0), ("a.jsonl", "c.jsonl"): (1, 0), ("b.jsonl", "c.jsonl"): (1, 1),
        ("a.jsonl", "ev.jsonl"): (0, 1), ("b.jsonl", "ev.jsonl"): (0, 0), ("c.jsonl", "ev.jsonl"): (0, 0),
    }


def test_to_dict_is_json_ready(tmp_path: Path) -> None:
    a = pairs(tmp_path / "a.jsonl", [("q1", "p1")])
    b = pairs(tmp_path / "b.jsonl", [("q1", "p2")])
    as_dict = audit([a, b], count_tokens=count_words, max_seq_length=4).to_dict()
    text = json.loads(json.dumps(as_dict))
    assert text["files"][0]["summary"]["rows_kept"] == 1
    assert text["files"][0]["lengths"][0]["column"] == "anchor"
    assert text["leakage"][0]["shared_queries"] == 1


def test_render_tables_and_warnings(tmp_path: Path) -> None:
    long_doc = " ".join(["w"] * 20)
    a = pairs(tmp_path / "a.jsonl", [("q1", long_doc), ("q2", "short"), ("query", "p")])
    b = pairs(tmp_path / "b.jsonl", [("q1", "other")])
    out = render(audit([a, b], count_tokens=count_words, max_seq_length=10))
    assert "Training data" in out and "Token lengths" in out and "Leakage" in out
    assert "pairs" in out
    assert f"Warning: leakage: {a} and {b} share 1 queries and 0 positives" in out
    assert f"Warning: 33% of 'positive' texts in {a} are longer than 10 tokens and will be truncated" in out


def test_render_without_problems_has_no_warning(tmp_path: Path) -> None:
    a = pairs(tmp_path / "a.jsonl", [("q1", "p1"), ("q2", "p2")])
    out = render(audit([a], count_tokens=count_words, max_seq_length=10))
    assert "Warning" not in out
    assert "a.jsonl" in out
