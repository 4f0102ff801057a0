"""Multilingual distillation: parallel-data reading, translation match, and an end-to-end run."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest

from densefit.config import TrainConfig
from densefit.errors import DataError
from densefit.evaluation.translation import translation_match
from densefit.methods.parallel import read_parallel
from tests.conftest import sentence


def translate(text: str) -> str:
    """A made-up 'target language': every word reversed, with an -o ending."""
    return " ".join(w[::-1] + "o" for w in text.split())


def _pairs(n: int, seed: int) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    src = [sentence(rng, 6) for _ in range(n)]
    return [(s, translate(s)) for s in src]


def _tsv(path, pairs, header=True):
    lines = (["source\ttarget"] if header else []) + [f"{s}\t{t}" for s, t in pairs]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# --- reading parallel data -------------------------------------------------------------------------

def test_reads_tsv_with_and_without_header_and_drops_duplicates(tmp_path):
    pairs = [("one file", "uno"), ("two disks", "dos"), ("one file", "uno")]
    for header in (True, False):
        data = read_parallel(_tsv(tmp_path / f"p{header}.tsv", pairs, header))
        assert data.sources == ["one file", "two disks"] and data.targets == ["uno", "dos"]
        assert data.duplicates_dropped == 1


def test_reads_jsonl_objects_and_arrays(tmp_path):
    path = tmp_path / "p.jsonl"
    path.write_text('{"source": "a file", "target": "un archivo"}\n\n["a disk", "un disco"]\n'
                    '{"src": "a lock", "tgt": "un cerrojo"}\n', encoding="utf-8")
    data = read_parallel(path)
    assert data.sources == ["a file", "a disk", "a lock"]
    assert data.targets == ["un archivo", "un disco", "un cerrojo"]


@pytest.mark.parametrize("name, content, line, needle", [
    ("bad.tsv", "source\ttarget\na\tb\nc\td\te\n", 3, "3 tab-separated fields"),
    ("one.tsv", "a\tb\njust one field\n", 2, "1 tab-separated fields"),
    ("empty.tsv", "a\tb\nc\t  \n", 2, "field 'target': empty text"),
    ("bad.jsonl", '{"source": "a", "target": "b"}\n{"source": "a", \n', 2, "malformed JSON"),
    ("keys.jsonl", '{"source": "a", "target": "b"}\n{"en": "a", "es": "b"}\n', 2, "no source/target keys"),
    ("type.jsonl", '{"source": 3, "target": "b"}\n', 1, "field 'source': a value of type int"),
    ("scalar.jsonl", '"just text"\n', 1, "a JSON str"),
])
def test_bad_lines_name_file_and_line(tmp_path, name, content, line, needle):
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(DataError) as err:
        read_parallel(path)
    assert err.value.line == line and str(path) == str(err.value.path)
    assert f"{path}:{line}:" in str(err.value) and needle in str(err.value)


def test_undecodable_bytes_and_wrong_type_are_data_errors(tmp_path):
    path = tmp_path / "latin.tsv"
    path.write_bytes("a\tb\ncaf\xe9\tx\n".encode("latin-1"))
    with pytest.raises(DataError, match=r"latin.tsv:2: undecodable"):
        read_parallel(path)
    other = tmp_path / "p.csv"
    other.write_text("a,b\n")
    with pytest.raises(DataError, match="unsupported file type"):
        read_parallel(other)


# --- translation match -----------------------------------------------------------------------------

def test_translation_match_counts_top1_in_both_directions():
    src = np.eye(4, dtype=np.float32)
    tgt = np.eye(4, dtype=np.float32)[[0, 1, 3, 2]]  # pairs 2 and 3 swapped
    scores = translation_match(src, tgt)
    assert scores["translation_match@1_src2tgt"] == 0.5 and scores["translation_match@1_tgt2src"] == 0.5
    assert translation_match(src, src)["translation_match@1"] == 1.0


def test_aligned_pairs_from_an_ir_set(tmp_path):
    from densefit.data.beir import IRSet
    from densefit.methods.distill import aligned_pairs

    ir = IRSet(corpus={"d1": "uno", "d2": "dos"}, queries={"q1": "one", "q2": "two"},
               qrels={"q1": {"d1": 1}, "q2": {"d2": 1}}, split="test")
    assert aligned_pairs(ir) == (["one", "two"], ["uno", "dos"])
    ir.qrels["q2"] = {"d1": 1}  # two queries share a document: not a 1:1 alignment
    assert aligned_pairs(ir) == ([], [])


# --- end to end ------------------------------------------------------------------------------------

def _cross_lingual_set(folder, pairs):
    from densefit.data.beir import write_beir

    corpus = {f"d{i}": {"text": t} for i, (_, t) in enumerate(pairs)}
    queries = {f"q{i}": s for i, (s, _) in enumerate(pairs)}
    return write_beir(folder, corpus, queries, {"test": {f"q{i}": {f"d{i}": 1} for i in range(len(pairs))}})


def test_distill_end_to_end_on_tiny_model(tmp_path, tiny_model):
    from sentence_transformers import SentenceTransformer

    from densefit.methods.registry import run_method

    train = _tsv(tmp_path / "train.tsv", _pairs(96, 0))
    ir = _cross_lingual_set(tmp_path / "xl", _pairs(24, 1))
    cfg = TrainConfig(model=tiny_model, method="distill", train=str(train), eval=str(ir), out=str(tmp_path / "run"),
                      batch_size=16, epochs=4, learning_rate=2e-3, warmup_ratio=0.0, logging_steps=1)
    result = run_method(cfg)
    summary = json.loads(result.train_json.read_text())
    assert summary["method"]["name"] == "distill" and summary["loss"]["name"] == "mse"
    assert summary["data"]["pairs"] == 96 and summary["data"]["translation_pairs"] == 24
    for metrics in (summary["metrics_before"], summary["metrics_after"]):
        assert {"mrr@10", "translation_match@1", "translation_match@1_src2tgt"} <= set(metrics)
    assert summary["metrics_after"] == result.metrics_after
    losses = [e["loss"] for e in summary["train"]["log_history"] if "loss" in e]
    assert len(losses) >= 20 and np.mean(losses[-4:]) < np.mean(losses[:4])  # the MSE to the teacher falls
    assert SentenceTransformer(str(result.model_path)).encode([translate("file disk")]).shape == (1, 32)


def test_distill_with_a_parallel_eval_file_and_a_separate_teacher(tmp_path, tiny_model):
    from densefit.methods.registry import run_method

    train = _tsv(tmp_path / "train.tsv", _pairs(32, 0))
    held = _tsv(tmp_path / "held.tsv", _pairs(10, 5), header=False)
    # a teacher named apart from --model is loaded on its own (same weights here)
    cfg = TrainConfig(model=tiny_model, teacher=tiny_model + "/", method="distill", train=str(train),
                      parallel_eval=str(held), out=str(tmp_path / "run"), batch_size=16, max_steps=2)
    result = run_method(cfg)
    assert set(result.metrics_before) == set(result.metrics_after) == {
        "translation_match@1", "translation_match@1_src2tgt", "translation_match@1_tgt2src"}
    assert result.summary["data"]["translation_pairs_from"] == str(held)
    assert 0.0 <= result.metrics_after["translation_match@1"] <= 1.0
