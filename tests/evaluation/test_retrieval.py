"""Dense retrieval, BM25 and STS evaluation produce correct, real numbers."""

from __future__ import annotations

import numpy as np
import pytest

from densefit.data.beir import IRSet
from densefit.evaluation.bm25 import bm25_run
from densefit.evaluation.retrieval import evaluate_run
from densefit.evaluation.search import exact_topk, to_run


def test_exact_topk_matches_a_full_sort():
    rng = np.random.default_rng(0)
    corpus = rng.normal(size=(500, 16)).astype(np.float32)
    queries = rng.normal(size=(7, 16)).astype(np.float32)
    idx, scores = exact_topk(queries, corpus, k=10)
    full = queries @ corpus.T
    assert np.array_equal(idx, np.argsort(-full, axis=1)[:, :10])
    assert np.allclose(scores, np.take_along_axis(full, idx, axis=1), atol=1e-5)


def test_k_larger_than_corpus_is_clipped():
    idx, _ = exact_topk(np.eye(3, dtype=np.float32), np.eye(3, dtype=np.float32), k=100)
    assert idx.shape == (3, 3)
    assert list(idx[:, 0]) == [0, 1, 2]


def _toy_set() -> IRSet:
    corpus = {"a": "the cat sat on the mat", "b": "dogs chase cars in the street",
              "c": "stock markets fell sharply today", "d": "a cat and a dog play"}
    queries = {"q1": "cat mat", "q2": "markets fell", "q3": "dog"}
    qrels = {"q1": {"a": 1}, "q2": {"c": 2}, "q3": {"b": 1, "d": 1}}
    return IRSet(corpus=corpus, queries=queries, qrels=qrels, split="test")


def test_bm25_finds_lexical_matches():
    irset = _toy_set()
    run = bm25_run(irset, k=10)
    assert max(run["q1"], key=run["q1"].get) == "a"
    assert max(run["q2"], key=run["q2"].get) == "c"
    metrics = evaluate_run(run, irset).metrics
    assert metrics["hit@1"] == pytest.approx(1.0)


def test_dense_retrieval_with_a_model(tiny_model, ir_set):
    import densefit

    metrics = densefit.evaluate(tiny_model, ir_set)
    assert set(metrics) >= {"mrr@10", "ndcg@10", "map@10", "recall@100", "precision@5", "hit@1", "f1@3",
                            "dcg@10", "r_precision"}
    assert metrics["recall@100"] == pytest.approx(1.0)  # 40 documents: every relevant one is in the top 100
    assert 0 < metrics["mrr@10"] <= 1


def test_to_run_keeps_ids_and_scores():
    run = to_run(["q"], ["x", "y"], np.array([[1, 0]]), np.array([[0.9, 0.1]]))
    assert run == {"q": {"y": pytest.approx(0.9), "x": pytest.approx(0.1)}}


def test_sts_evaluation_matches_scipy(tiny_model, tmp_path):
    from scipy.stats import spearmanr

    import densefit
    from densefit.inference.encoder import Encoder

    import random

    from ..conftest import sentence, write_jsonl

    rng = random.Random(5)
    rows = [{"sentence1": sentence(rng), "sentence2": sentence(rng), "score": (i % 6) * 1.0} for i in range(12)]
    path = write_jsonl(tmp_path / "sts.jsonl", rows)
    metrics = densefit.evaluate(tiny_model, path)
    enc = Encoder(densefit.load(tiny_model).model, precision="fp32")
    cos = np.sum(enc.encode([r["sentence1"] for r in rows]) * enc.encode([r["sentence2"] for r in rows]), axis=1)
    assert metrics["spearman"] == pytest.approx(spearmanr(cos, [r["score"] / 5 for r in rows]).statistic, abs=1e-6)
    assert metrics["pairs"] == len(rows)
