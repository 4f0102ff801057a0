"""Formats: detection, conversion to canonical columns, cleaning, and every error."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from densefit.data.beir import write_beir
from densefit.data.formats import FORMATS, detect_format, load_training_data
from densefit.errors import DataError, UnknownNameError

from ..conftest import write_jsonl


def write_csv(path: Path, header: list[str], rows: list[list], delimiter: str = ",") -> Path:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, delimiter=delimiter)
        writer.writerow(header)
        writer.writerows(rows)
    return path


# --- detection -------------------------------------------------------------------------------

@pytest.mark.parametrize(("keys", "expected"), [
    ({"question", "pos_doc", "neg_doc"}, "nemo"),
    ({"question", "pos_doc"}, "nemo"),
    ({"premise", "hypothesis", "label"}, "nli"),
    ({"sentence1", "sentence2", "score"}, "sts"),
    ({"sentence1", "sentence2", "similarity"}, "sts"),
    ({"anchor", "positive", "negative"}, "triplets"),
    ({"query", "pos", "hard_negative"}, "triplets"),
    ({"anchor", "positive"}, "pairs"),
    ({"question", "answer"}, "pairs"),
    ({"sentence1", "sentence2"}, "pairs"),
    ({"text1", "text2", "id"}, "pairs"),
    ({"text", "label"}, "labelled"),
])
def test_detect_from_keys(tmp_path: Path, keys: set[str], expected: str) -> None:
    assert detect_format(tmp_path / "x.jsonl", keys) == expected


def test_registry_order_is_detection_order() -> None:
    assert list(FORMATS) == ["beir", "nemo", "nli", "sts", "triplets", "pairs", "labelled"]


def test_detect_from_file_and_beir_folder(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "t.jsonl", [{"premise": "p", "hypothesis": "h", "label": 0}])
    assert detect_format(path) == "nli"
    beir = write_beir(tmp_path / "ir", {"d": {"text": "x"}}, {"q": "y"}, {"train": {"q": {"d": 1}}})
    assert detect_format(beir) == "beir"


def test_undetectable_columns_list_every_format(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "odd.jsonl", [{"foo": "a", "bar": "b"}])
    with pytest.raises(DataError) as info:
        load_training_data(path)
    message = str(info.value)
    assert "odd.jsonl:1: cannot tell the format from the columns bar, foo" in message
    assert "nemo: question, pos_doc, optional neg_doc" in message
    assert "nli: premise, hypothesis, label" in message
    assert "sts: sentence1, sentence2, score (or similarity)" in message
    assert "labelled: text, label" in message
    assert "beir: a folder with corpus.jsonl" in message
    assert "Fix: rename the columns or pass --format NAME" in message


def test_unknown_format_lists_valid_names(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "t.jsonl", [{"anchor": "a", "positive": "p"}])
    with pytest.raises(UnknownNameError) as info:
        load_training_data(path, format="msmarco")
    assert str(info.value) == (
        "unknown format 'msmarco'; choose one of: beir, labelled, nemo, nli, pairs, sts, triplets")


# --- conversion ------------------------------------------------------------------------------

def test_pairs_with_aliases_noted(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "t.jsonl", [{"query": "q1", "passage": "p1", "id": 7},
                                              {"query": "q2", "passage": "p2", "id": 8}])
    data = load_training_data(path)
    assert (data.format, data.kind, len(data)) == ("pairs", "retrieval", 2)
    assert data.columns == {"anchor": ["q1", "q2"], "positive": ["p1", "p2"]}
    assert data.summary.notes == ["column 'query' used as anchor", "column 'passage' used as positive",
                                  "ignored columns: id"]


def test_triplets_from_csv(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "t.csv", ["anchor", "positive", "negative"], [["a", "p", "n"], ["b", "q", "m"]])
    data = load_training_data(path)
    assert data.format == "triplets"
    assert data.columns == {"anchor": ["a", "b"], "positive": ["p", "q"], "negative": ["n", "m"]}
    assert data.summary.notes == []


def test_nemo_lists_cycle_negatives(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "nemo.jsonl", [
        {"question": "q1", "pos_doc": ["p1"], "neg_doc": ["n1", "n2", "n3"]},
        {"question": "q2", "pos_doc": ["p2", "p3", "p4"], "neg_doc": "n4"},
    ])
    data = load_training_data(path)
    assert (data.format, data.kind) == ("nemo", "retrieval")
    assert data.columns == {
        "anchor": ["q1", "q1", "q1", "q2", "q2", "q2"],
        "positive": ["p1", "p1", "p1", "p2", "p3", "p4"],
        "negative": ["n1", "n2", "n3", "n4", "n4", "n4"],
    }
    assert (data.summary.rows_read, data.summary.rows_kept) == (2, 6)


def test_nemo_without_negatives_one_row_per_positive(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "nemo.jsonl", [{"question": "q1", "pos_doc": ["p1", "p2"]},
                                                 {"question": "q2", "pos_doc": "p3", "neg_doc": []}])
    data = load_training_data(path)
    assert data.columns == {"anchor": ["q1", "q1", "q2"], "positive": ["p1", "p2", "p3"]}


def test_nemo_mixed_negatives_drops_the_column_with_a_note(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "nemo.jsonl", [{"question": "q1", "pos_doc": ["p1"], "neg_doc": ["n1"]},
                                                 {"question": "q2", "pos_doc": ["p2"]}])
    data = load_training_data(path)
    assert list(data.columns) == ["anchor", "positive"]
    assert "1 of 2 rows had no neg_doc, so the negative column was not used" in data.summary.notes


def test_nemo_empty_pos_doc_dropped_or_strict_error(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "nemo.jsonl", [{"question": "q1", "pos_doc": ["p1", " "]},
                                                 {"question": "q2", "pos_doc": []}])
    data = load_training_data(path)
    assert data.columns == {"anchor": ["q1"], "positive": ["p1"]}
    assert data.summary.empty_dropped == 1
    assert data.summary.other_dropped == {"empty documents in lists": 1}
    write_jsonl(path, [{"question": "q1", "pos_doc": ["p1"]}, {"question": "q2", "pos_doc": []}])
    with pytest.raises(DataError, match=r"nemo\.jsonl:2: field 'pos_doc': no documents"):
        load_training_data(path, strict=True)


def test_nemo_doc_list_of_wrong_type(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "nemo.jsonl", [{"question": "q1", "pos_doc": {"text": "p"}}])
    expected = r"nemo\.jsonl:1: field 'pos_doc': a value of type dict.*expected a list of strings"
    with pytest.raises(DataError, match=expected):
        load_training_data(path)


def test_nli_string_and_int_labels(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "nli.jsonl", [
        {"premise": "p1", "hypothesis": "h1", "label": "Entailment"},
        {"premise": "p2", "hypothesis": "h2", "label": " NEUTRAL "},
        {"premise": "p3", "hypothesis": "h3", "label": "contradiction"},
        {"premise": "p4", "hypothesis": "h4", "label": 2},
        {"premise": "p5", "hypothesis": "h5", "label": "1"},
    ])
    data = load_training_data(path)
    assert (data.format, data.kind) == ("nli", "nli")
    assert data.columns["label"] == [0, 1, 2, 2, 1]
    assert data.columns["premise"] == ["p1", "p2", "p3", "p4", "p5"]


@pytest.mark.parametrize("label", ["maybe", 3, -1, True, None])
def test_nli_bad_label(tmp_path: Path, label: object) -> None:
    path = write_jsonl(tmp_path / "nli.jsonl", [{"premise": "p", "hypothesis": "h", "label": 0},
                                                {"premise": "p2", "hypothesis": "h2", "label": label}])
    with pytest.raises(DataError) as info:
        load_training_data(path)
    message = str(info.value)
    assert message.startswith(f"{path}:2: field 'label': label {label!r} is not an NLI label")
    assert "expected one of entailment, neutral, contradiction or 0, 1, 2" in message


def test_sts_zero_to_five_is_divided(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "sts.csv", ["sentence1", "sentence2", "score"],
                     [["a", "b", "5"], ["c", "d", "2.5"], ["e", "f", "0"]])
    data = load_training_data(path)
    assert (data.format, data.kind) == ("sts", "scored")
    assert data.columns["score"] == [1.0, 0.5, 0.0]
    assert data.summary.notes == ["scores on a 0-5 scale were divided by 5"]


def test_sts_zero_to_one_kept_and_similarity_alias(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "sts.jsonl", [{"sentence1": "a", "sentence2": "b", "similarity": 0.25},
                                                {"sentence1": "c", "sentence2": "d", "similarity": 1}])
    data = load_training_data(path)
    assert data.columns["score"] == [0.25, 1.0]
    assert data.summary.notes == ["column 'similarity' used as score"]


@pytest.mark.parametrize(("score", "reason"), [("high", "score 'high' is not a number"),
                                               (5.5, "score 5.5 is out of range"),
                                               (-0.1, "score -0.1 is out of range"),
                                               (None, "score an empty value is not a number")])
def test_sts_bad_score(tmp_path: Path, score: object, reason: str) -> None:
    path = write_jsonl(tmp_path / "sts.jsonl", [{"sentence1": "a", "sentence2": "b", "score": 1},
                                                {"sentence1": "c", "sentence2": "d", "score": score}])
    with pytest.raises(DataError) as info:
        load_training_data(path)
    message = str(info.value)
    assert message.startswith(f"{path}:2: field 'score': {reason}")
    assert "expected a number in [0, 5]" in message


def labelled_rows() -> list[dict]:
    return [{"text": f"t{i}", "label": label} for i, label in enumerate(["a", "a", "a", "b", "b", "c"])]


def test_labelled_sampling(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "lab.jsonl", labelled_rows())
    data = load_training_data(path, seed=3)
    label_of = {r["text"]: r["label"] for r in labelled_rows()}
    assert (data.format, data.kind) == ("labelled", "retrieval")
    assert data.columns["anchor"] == ["t0", "t1", "t2", "t3", "t4"]
    for anchor, pos, neg in zip(data.columns["anchor"], data.columns["positive"], data.columns["negative"]):
        assert pos != anchor and label_of[pos] == label_of[anchor]
        assert label_of[neg] != label_of[anchor]
    assert data.summary.other_dropped == {"singleton labels": 1}
    assert (data.summary.rows_read, data.summary.rows_kept) == (6, 5)


def test_labelled_sampling_is_deterministic_per_seed(tmp_path: Path) -> None:
    rows = [{"text": f"t{i}", "label": i % 4} for i in range(40)]
    path = write_jsonl(tmp_path / "lab.jsonl", rows)
    first, again = load_training_data(path, seed=1), load_training_data(path, seed=1)
    other = load_training_data(path, seed=2)
    assert first.columns == again.columns
    assert first.columns["anchor"] == other.columns["anchor"]
    assert (first.columns["positive"], first.columns["negative"]) != (other.columns["positive"],
                                                                      other.columns["negative"])


def test_labelled_single_label_has_no_negative(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "lab.jsonl", [{"text": "x", "label": 1}, {"text": "y", "label": 1}])
    data = load_training_data(path)
    assert data.columns == {"anchor": ["x", "y"], "positive": ["y", "x"]}
    assert "only one label, so there are no negatives" in data.summary.notes


def test_labelled_all_singletons_is_an_error(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "lab.jsonl", [{"text": "x", "label": 1}, {"text": "y", "label": 2}])
    with pytest.raises(DataError, match="labelled documents need at least two texts with the same label"):
        load_training_data(path)


def test_beir_train_pairs(tmp_path: Path) -> None:
    corpus = {"d1": {"text": "doc one"}, "d2": {"text": "doc two", "title": "T"}, "d3": {"text": "doc three"}}
    queries = {"q1": "query one", "q2": "query two", "q3": "held out"}
    qrels = {"train": {"q1": {"d1": 1, "d3": 0}, "q2": {"d2": 2}}, "test": {"q3": {"d3": 1}}}
    folder = write_beir(tmp_path / "ir", corpus, queries, qrels)
    data = load_training_data(folder)
    assert (data.format, data.kind) == ("beir", "retrieval")
    assert data.columns == {"anchor": ["query one", "query two"], "positive": ["doc one", "T doc two"]}
    assert data.summary.rows_read == 3
    assert data.summary.other_dropped == {"non-relevant judgements (grade <= 0)": 1}


def test_beir_without_train_split_lists_splits(tmp_path: Path) -> None:
    folder = write_beir(tmp_path / "ir", {"d": {"text": "x"}}, {"q": "y"},
                        {"test": {"q": {"d": 1}}, "dev": {"q": {"d": 1}}})
    with pytest.raises(DataError, match=r"no train split; found dev, test.*expected qrels/train\.tsv"):
        load_training_data(folder)


def test_datasets_folder_loads(tmp_path: Path) -> None:
    import datasets

    folder = tmp_path / "ds"
    datasets.Dataset.from_dict({"premise": ["p"], "hypothesis": ["h"], "label": [2]}).save_to_disk(str(folder))
    data = load_training_data(folder)
    assert data.columns == {"premise": ["p"], "hypothesis": ["h"], "label": [2]}


def test_to_dataset(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "t.jsonl", [{"anchor": "a", "positive": "p", "negative": "n"}])
    ds = load_training_data(path).to_dataset()
    assert ds.column_names == ["anchor", "positive", "negative"]
    assert ds[0] == {"anchor": "a", "positive": "p", "negative": "n"}


# --- --format override -----------------------------------------------------------------------

def test_format_override_and_still_validated(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "t.jsonl", [{"anchor": "a", "positive": "p", "negative": "n"}])
    data = load_training_data(path, format="pairs")
    assert data.format == "pairs"
    assert data.columns == {"anchor": ["a"], "positive": ["p"]}
    assert data.summary.notes == ["ignored columns: negative"]
    with pytest.raises(DataError) as info:
        load_training_data(path, format="nli")
    assert str(info.value).startswith(f"{path}:1: field 'premise': missing column (expected columns premise")


def test_format_override_needs_its_columns(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "t.jsonl", [{"text": "a", "label": "x"}, {"text": "b", "label": "x"}])
    assert load_training_data(path).format == "labelled"
    with pytest.raises(DataError, match="field 'anchor': missing column"):
        load_training_data(path, format="pairs")


# --- bad rows --------------------------------------------------------------------------------

def test_missing_column_in_later_row(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "t.jsonl", [{"query": "a", "positive": "p"}, {"query": "b", "positive": "q"},
                                              {"query": "c"}])
    with pytest.raises(DataError) as info:
        load_training_data(path)
    expected = f"{path}:3: field 'positive': missing column (expected columns query, positive)"
    assert str(info.value).startswith(expected)


def test_non_string_text_is_an_error_even_when_not_strict(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "t.jsonl", [{"anchor": "a", "positive": "p"}, {"anchor": 42, "positive": "q"}])
    expected = r"t\.jsonl:2: field 'anchor': a value of type int, not text \(expected a string\)"
    with pytest.raises(DataError, match=expected):
        load_training_data(path)


def test_bad_line_fails_the_whole_load(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    path.write_text('{"anchor": "a", "positive": "p"}\n' * 5 + '{"anchor": "b", "positive": \n')
    with pytest.raises(DataError, match=r"t\.jsonl:6: malformed JSON"):
        load_training_data(path)


def test_empties_and_duplicates_counted(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "t.jsonl", [
        {"anchor": "a", "positive": "p"},
        {"anchor": "   ", "positive": "p"},
        {"anchor": "b", "positive": None},
        {"anchor": "a", "positive": "p"},
        {"anchor": "a", "positive": "p2"},
        {"anchor": "a", "positive": "p"},
    ])
    data = load_training_data(path)
    assert data.columns == {"anchor": ["a", "a"], "positive": ["p", "p2"]}
    s = data.summary
    assert (s.rows_read, s.rows_kept, s.empty_dropped, s.duplicates_dropped) == (6, 2, 2, 2)


def test_strict_empty_names_line_and_field(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "t.jsonl", [{"anchor": "a", "positive": "p"}, {"anchor": "b", "positive": ""}])
    with pytest.raises(DataError) as info:
        load_training_data(path, strict=True)
    assert str(info.value).startswith(f"{path}:2: field 'positive': empty text (expected a non-empty string)")


def test_strict_duplicate_names_both_lines(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "t.tsv", ["anchor", "positive"], [["a", "p"], ["b", "q"], ["a", "p"]], "\t")
    with pytest.raises(DataError) as info:
        load_training_data(path, strict=True)
    assert str(info.value).startswith(f"{path}:4: duplicate of line 2")


def test_nothing_left_is_an_error(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "t.jsonl", [{"anchor": "", "positive": "p"}, {"anchor": "b", "positive": " "}])
    with pytest.raises(DataError, match=r"no usable rows \(2 read, 2 empty, 0 duplicates, 0 other\)"):
        load_training_data(path)


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    path.write_text("\n\n")
    with pytest.raises(DataError, match="the file has no rows"):
        load_training_data(path)
