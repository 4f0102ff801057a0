"""Fusion on planted runs: RRF and convex give the rankings worked out by hand, the weight is chosen on dev,
and fusion that loses to dense falls back to dense."""

from __future__ import annotations

import pytest

from densefit.evaluation.fusion import RRF_K, choose_mode, choose_weight, convex, minmax, rrf


def test_rrf_adds_reciprocal_ranks():
    dense = {"q": {"a": 0.9, "b": 0.8, "c": 0.1}}
    lexical = {"q": {"c": 12.0, "a": 3.0}}
    fused = rrf([dense, lexical])["q"]
    assert fused["a"] == pytest.approx(1 / (RRF_K + 1) + 1 / (RRF_K + 2))
    assert fused["c"] == pytest.approx(1 / (RRF_K + 3) + 1 / (RRF_K + 1))
    assert fused["b"] == pytest.approx(1 / (RRF_K + 2))
    assert list(fused) == ["a", "c", "b"]


def test_convex_mixes_normalised_scores_and_missing_documents_count_zero():
    dense = {"q": {"a": 0.9, "b": 0.5, "c": 0.1}}   # normalised: a 1, b 0.5, c 0
    lexical = {"q": {"c": 10.0, "b": 0.0}}           # normalised: c 1, b 0; a missing: 0
    assert minmax(dense["q"]) == {"a": 1.0, "b": 0.5, "c": 0.0}
    fused = convex(dense, lexical, 0.25)["q"]
    assert fused == pytest.approx({"a": 0.25, "b": 0.125, "c": 0.75})
    assert list(fused) == ["c", "a", "b"]
    assert list(convex(dense, lexical, 1.0)["q"]) == ["a", "b", "c"]  # weight 1: dense order
    with pytest.raises(ValueError):
        convex(dense, lexical, 1.5)


def test_the_weight_is_chosen_where_the_lexical_run_knows_better():
    qrels = {"q1": {"x": 1}, "q2": {"y": 1}}
    dense = {"q1": {"w": 0.9, "x": 0.8}, "q2": {"y": 0.9, "v": 0.1}}  # q1 wrong at rank 1, q2 right
    lexical = {"q1": {"x": 5.0, "w": 1.0}, "q2": {"v": 5.0, "y": 4.95, "z": 0.0}}  # q1 right, q2 nearly
    weight, scores = choose_weight(dense, lexical, qrels, metric="mrr@10")
    # by hand: q1 is right for weights < 0.5, q2 for weights > 0.0099; ties go to the weight nearer dense
    assert weight == 0.4 and scores[0.4] == 1.0 and scores[0.5] < 1.0 and scores[0.9] < 1.0


def test_fusion_that_loses_on_dev_falls_back_to_dense():
    qrels = {f"q{i}": {f"d{i}": 1} for i in range(5)}
    dense = {f"q{i}": {f"d{i}": 0.9, "noise": 0.5} for i in range(5)}  # dense is perfect
    lexical = {f"q{i}": {"noise": 9.0, "other": 8.0, "more": 7.0} for i in range(5)}  # lexical never finds it
    choice = choose_mode(dense, lexical, qrels, metric="mrr@10")
    assert choice["chosen"] == "dense" and "did not beat" in choice["why"]
    assert choice["dev"]["dense"] == 1.0 and choice["dev"]["rrf"] < 1.0
