"""The chatterbot-corpus IR set builder: YAML -> pairs, drops, grouping, a build from a folder."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from densefit.data.beir import load_beir
from densefit.data.builders.chatterbot import (
    Pair,
    build_from_folder,
    doc_id,
    group_pairs,
    parse_conversations,
)
from densefit.errors import DensefitError, UnknownNameError

CORPUS_FILE = """categories:
- AI
conversations:
- - What is AI?
  - Artificial Intelligence is the branch of engineering
    devoted to constructing machines that think.
- - Are you sentient?
  - Sort of.
  - By the strictest definition,   I may be.
- - Hello
  - Hello, how are you?
- - Only one utterance
- just a string
- - 42
  - a number as question
- - Empty answer
  - "   "
"""


def test_parse_conversations_joins_the_reply_and_counts_drops() -> None:
    dropped: dict[str, int] = {}
    pairs = parse_conversations(CORPUS_FILE, "english", dropped)
    assert pairs == [
        Pair("english", "What is AI?",
             "Artificial Intelligence is the branch of engineering devoted to constructing machines that think."),
        Pair("english", "Are you sentient?", "Sort of.\nBy the strictest definition, I may be."),
    ]
    assert dropped == {"answer_contains_question": 1, "malformed": 4}


def test_answer_containing_the_question_is_dropped_case_and_space_insensitively() -> None:
    dropped: dict[str, int] = {}
    text = "conversations:\n- - How  ARE you\n  - I asked myself how are you, once.\n- - Hi\n  - Nothing.\n"
    assert parse_conversations(text, "english", dropped) == []  # "hi" is in "nothing", as verbatim_leaks sees it
    assert dropped == {"answer_contains_question": 2}


def test_files_without_conversations_give_no_pairs_and_bad_yaml_is_an_error() -> None:
    assert parse_conversations("categories:\n- greetings\n", "english", {}) == []
    assert parse_conversations("", "english", {}) == []
    with pytest.raises(DensefitError, match="ai.yml is not valid YAML.*force-reinstall"):
        parse_conversations("conversations: [- - a", "english", {}, source="english/ai.yml")


def test_identical_answers_are_one_document_and_identical_questions_one_query() -> None:
    corpus, groups = group_pairs([
        Pair("english", "Are you sapient?", "No."),
        Pair("english", "Are you sapient?", "Do you think I am?"),
        Pair("english", "Are you a robot?", "No."),
        Pair("swedish", "Är du en robot?", "No."),
        Pair("english", "Are you sapient?", "No."),
    ])
    assert corpus == {doc_id("Do you think I am?"): {"text": "Do you think I am?", "lang": "english"},
                      doc_id("No."): {"text": "No.", "lang": "english,swedish"}}
    assert groups == {"Are you a robot?": [doc_id("No.")],
                      "Are you sapient?": sorted([doc_id("No."), doc_id("Do you think I am?")]),
                      "Är du en robot?": [doc_id("No.")]}
    assert doc_id("No.") == "a" + hashlib.sha1(b"No.").hexdigest()[:16]  # the text alone fixes id and split


# --------------------------------------------------------------------------- build from a folder


def _write_corpus(root: Path, lang: str, n: int, word: str) -> None:
    """`n` conversations in two files, every question and every answer distinct."""
    folder = root / lang
    folder.mkdir(parents=True)
    for part, numbers in (("ai", range(0, n, 2)), ("food", range(1, n, 2))):
        lines = ["categories:", f"- {part}", "conversations:"]
        for i in numbers:
            lines += [f"- - {word} question {i}?", f"  - {word} reply number {i}"]
        (folder / f"{part}.yml").write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_build_from_folder_writes_a_loadable_multilingual_set(tmp_path: Path) -> None:
    data = tmp_path / "data"
    _write_corpus(data, "english", 60, "hello")
    _write_corpus(data, "spanish", 40, "hola")
    (data / "notes").mkdir()  # a folder without .yml files is no language
    summary = build_from_folder(data, tmp_path / "out", test_docs=10, dev_docs=5, min_test=1)
    assert summary.docs == 100 and summary.queries == 100
    assert summary.split_sizes == {"train": 85, "dev": 5, "test": 10}
    assert summary.dropped == {"over_train_cap": 0, "straddles_splits": 0}
    assert summary.languages["english"]["pairs"] == 60 and summary.languages["spanish"]["docs"] == 40
    assert sum(summary.languages[lang]["test"] for lang in ("english", "spanish")) == 10

    rows = [json.loads(line) for line in (tmp_path / "out" / "corpus.jsonl").read_text().splitlines()]
    assert {row["lang"] for row in rows} == {"english", "spanish"}
    test = load_beir(tmp_path / "out", "test")
    assert len(test.qrels) == 10 and all(len(rel) == 1 for rel in test.qrels.values())


def test_build_one_language_and_refuse_unknown_ones(tmp_path: Path) -> None:
    data = tmp_path / "data"
    _write_corpus(data, "english", 30, "hello")
    _write_corpus(data, "spanish", 30, "hola")
    summary = build_from_folder(data, tmp_path / "out", languages=["spanish"], test_docs=5, dev_docs=5, min_test=1)
    assert list(summary.languages) == ["spanish"] and summary.docs == 30
    with pytest.raises(UnknownNameError, match="english, spanish"):
        build_from_folder(data, tmp_path / "out", languages=["klingon"], test_docs=5, dev_docs=5)
    with pytest.raises(DensefitError, match="pip install chatterbot-corpus"):
        build_from_folder(tmp_path / "nowhere", tmp_path / "out", test_docs=5, dev_docs=5)


def test_build_refuses_too_few_test_queries(tmp_path: Path) -> None:
    _write_corpus(tmp_path / "data", "english", 30, "hello")
    with pytest.raises(DensefitError, match="at least 300"):
        build_from_folder(tmp_path / "data", tmp_path / "out", test_docs=5, dev_docs=5)
    assert not (tmp_path / "out").exists()
