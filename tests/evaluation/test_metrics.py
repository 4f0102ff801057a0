"""Tests for densefit.evaluation.metrics: hand-computed cases, errors, and cross-checks
against two independent implementations (ranx and pytrec_eval / trec_eval)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from densefit.errors import ConfigError
from densefit.evaluation.metrics import (
    DEFAULT_KS,
    METRICS,
    metric_names,
    per_query_metrics,
    retrieval_metrics,
)

KS = (1, 3, 5, 10, 100)  # 100 is longer than every generated ranking (<= 30 docs)
TOL = 1e-6


# Random data =================================================================


def make_data(seed: int, graded: bool, n_queries: int = 80) -> tuple[dict, dict]:
    """Random qrels and run with unique scores and every edge case the brief lists.

    - several relevant docs per query, graded 0..3 or binary 0/1 (grade 0 = judged non-relevant);
    - queries whose judged docs are all grade 0 (not evaluated);
    - queries missing from the run;
    - queries whose ranking contains no relevant doc;
    - queries with an empty ranking;
    - rankings shorter than the largest k;
    - run queries absent from the qrels (ignored).
    """
    rng = np.random.default_rng(seed)
    max_grade = 3 if graded else 1
    qrels, run = {}, {}
    for q in range(n_queries):
        qid = f"q{q}"
        judged = rng.choice(40, size=rng.integers(1, 13), replace=False)
        grades = rng.integers(0, max_grade + 1, size=len(judged))
        if q % 17 == 5:
            grades[:] = 0
        else:
            grades[0] = max(grades[0], 1)
        qrels[qid] = {f"d{d}": int(g) for d, g in zip(judged, grades)}
        if q % 11 == 3:
            continue  # missing from the run
        pool = np.arange(40) if q % 13 != 7 else np.setdiff1d(np.arange(40), judged[grades > 0])
        n_ret = 0 if q % 19 == 9 else int(rng.integers(1, 31))
        retrieved = rng.choice(pool, size=min(n_ret, len(pool)), replace=False)
        scores = rng.permutation(len(retrieved)) + rng.random()  # unique: no tie-order differences
        run[qid] = {f"d{d}": float(s) for d, s in zip(retrieved, scores)}
    run["extra"] = {"d1": 1.0, "d2": 0.5}
    return qrels, run


def evaluated(qrels: dict) -> dict:
    """Queries with at least one relevant doc: the ones densefit evaluates."""
    return {q: docs for q, docs in qrels.items() if any(g > 0 for g in docs.values())}


DATASETS = [(seed, graded) for seed in (0, 1, 2) for graded in (False, True)]


def test_random_data_covers_the_edge_cases():
    qrels, run = make_data(0, graded=True)
    ev = evaluated(qrels)
    assert set(qrels) - set(ev), "some queries have no relevant doc"
    assert set(ev) - set(run), "some evaluated queries are missing from the run"
    assert any(q in run and not set(run[q]) & {d for d, g in ev[q].items() if g > 0} for q in ev)
    assert any(q in run and not run[q] for q in ev), "an empty ranking"
    assert max(sum(g > 0 for g in docs.values()) for docs in ev.values()) >= 5
    assert {g for docs in qrels.values() for g in docs.values()} == {0, 1, 2, 3}


# Cross-check against ranx =====================================================

# densefit name -> ranx name, per k (r_precision has no k).
RANX_NAMES = {
    "mrr": "mrr",
    "ndcg": "ndcg",  # linear gain (Järvelin); ranx's `ndcg_burges` is the 2**grade - 1 variant
    "map": "map",
    "recall": "recall",
    "precision": "precision",
    "hit": "hit_rate",
    "f1": "f1",
    "dcg": "dcg",
}


def ranx_scores(qrels: dict, run: dict) -> tuple[dict[str, dict[str, float]], dict[str, float]]:
    """Per-query and mean ranx scores keyed by densefit metric names.

    Deliberate differences handled here, not in densefit:
    - ranx averages over *every* qrels query, scoring 0 those without a relevant doc;
      densefit leaves them out, so ranx gets only the evaluated queries.
    - ranx refuses a run whose query ids differ from the qrels'; `make_comparable=True`
      adds empty rankings for missing queries (scored 0, as densefit does) and drops
      run-only queries (ignored by densefit too).
    """
    from ranx import Qrels, Run, evaluate

    ranx_qrels, ranx_run = Qrels(evaluated(qrels)), Run(run)
    names = {f"{RANX_NAMES[m]}@{k}": f"{m}@{k}" for m in METRICS for k in KS} | {"r-precision": "r_precision"}
    per_query = evaluate(ranx_qrels, ranx_run, list(names), return_mean=False, make_comparable=True)
    query_ids = list(ranx_run.get_query_ids())
    per_query = {names[m]: dict(zip(query_ids, map(float, values))) for m, values in per_query.items()}
    means = evaluate(ranx_qrels, Run(run), list(names), make_comparable=True)
    return per_query, {names[m]: float(v) for m, v in means.items()}


@pytest.mark.filterwarnings("ignore:unsafe cast")  # numba, inside ranx's reciprocal rank
@pytest.mark.parametrize(("seed", "graded"), DATASETS)
def test_matches_ranx_per_query_and_mean(seed, graded):
    qrels, run = make_data(seed, graded)
    expected_per_query, expected_means = ranx_scores(qrels, run)
    got_per_query = per_query_metrics(run, qrels, KS)
    got_means = retrieval_metrics(run, qrels, KS)

    assert set(got_per_query) == set(expected_per_query) == set(metric_names(KS))
    for name, expected in expected_per_query.items():
        assert set(got_per_query[name]) == set(expected) == set(evaluated(qrels)), name
        for qid, value in expected.items():
            assert got_per_query[name][qid] == pytest.approx(value, abs=TOL), (name, qid)
        assert got_means[name] == pytest.approx(expected_means[name], abs=TOL), name


# Cross-check against pytrec_eval (trec_eval) ======================================


def truncated(run: dict, k: int) -> dict:
    return {q: dict(sorted(docs.items(), key=lambda kv: -kv[1])[:k]) for q, docs in run.items()}


def trec_scores(qrels: dict, run: dict) -> dict[str, dict[str, float]]:
    """Per-query trec_eval scores keyed by densefit metric names.

    trec_eval's MRR (recip_rank) has no cutoff, so mrr@k is computed on the run truncated to k.
    trec_eval leaves out queries missing from the run (densefit scores them 0, like
    `trec_eval -c`), but keeps queries whose judged docs are all non-relevant, scoring them 0
    (densefit leaves those out); the test compares the queries both keep.
    """
    import pytrec_eval

    cut = ",".join(map(str, KS))
    measures = {f"ndcg_cut.{cut}", f"P.{cut}", f"recall.{cut}", f"map_cut.{cut}", f"success.{cut}", "Rprec"}
    names = {"ndcg_cut": "ndcg", "P": "precision", "recall": "recall", "map_cut": "map", "success": "hit"}
    results = pytrec_eval.RelevanceEvaluator(qrels, measures).evaluate(run)
    out: dict[str, dict[str, float]] = {}
    for qid, scores in results.items():
        for measure, value in scores.items():
            if measure == "Rprec":
                out.setdefault("r_precision", {})[qid] = value
            else:
                base, k = measure.rsplit("_", 1)
                out.setdefault(f"{names[base]}@{k}", {})[qid] = value
    for k in KS:
        rr = pytrec_eval.RelevanceEvaluator(qrels, {"recip_rank"}).evaluate(truncated(run, k))
        out[f"mrr@{k}"] = {qid: scores["recip_rank"] for qid, scores in rr.items()}
    return out


@pytest.mark.parametrize(("seed", "graded"), DATASETS)
def test_matches_pytrec_eval_per_query(seed, graded):
    qrels, run = make_data(seed, graded)
    expected = trec_scores(qrels, run)
    got = per_query_metrics(run, qrels, KS)
    assert len(expected) == 6 * len(KS) + 1
    retrieved = {q for q in qrels if q in run}  # includes empty rankings
    for name, per_query in expected.items():
        assert set(per_query) == retrieved, name
        assert set(got[name]) & retrieved == set(evaluated(qrels)) & retrieved, name
        for qid in set(got[name]) & retrieved:
            assert got[name][qid] == pytest.approx(per_query[qid], abs=TOL), (name, qid)
        no_relevant = retrieved - set(evaluated(qrels))
        assert no_relevant and all(per_query[q] == 0.0 for q in no_relevant), name


def test_queries_missing_from_run_score_zero():
    qrels, run = make_data(3, graded=True)
    missing = set(evaluated(qrels)) - set(run)
    assert missing
    per_query = per_query_metrics(run, qrels, KS)
    for name, values in per_query.items():
        assert all(values[q] == 0.0 for q in missing), name


# Hand-computed examples ========================================================


def test_relevant_at_rank_two():
    run = {"q": {"a": 0.9, "b": 0.8, "c": 0.1}}
    qrels = {"q": {"b": 1, "c": 0}}
    m = retrieval_metrics(run, qrels, ks=(1, 10))
    assert m["mrr@10"] == 0.5
    assert m["mrr@1"] == 0.0
    assert m["hit@1"] == 0.0 and m["hit@10"] == 1.0
    assert m["precision@1"] == 0.0
    assert m["precision@10"] == pytest.approx(0.1)  # divides by k even past the ranking's end
    assert m["recall@10"] == 1.0
    assert m["f1@10"] == pytest.approx(2 * 0.1 * 1.0 / 1.1)
    assert m["map@10"] == 0.5
    assert m["ndcg@10"] == pytest.approx(1 / math.log2(3))
    assert m["dcg@10"] == pytest.approx(1 / math.log2(3))
    assert m["r_precision"] == 0.0


def test_graded_ndcg_and_dcg():
    run = {"q": {"a": 3.0, "b": 2.0, "c": 1.0, "d": 0.0}}
    qrels = {"q": {"a": 1, "b": 0, "c": 3, "e": 2}}
    m = retrieval_metrics(run, qrels, ks=(1, 3))
    dcg3 = 1 / math.log2(2) + 0 + 3 / math.log2(4)
    ideal3 = 3 / math.log2(2) + 2 / math.log2(3) + 1 / math.log2(4)
    assert m["dcg@1"] == pytest.approx(1.0)
    assert m["ndcg@1"] == pytest.approx(1 / 3)
    assert m["dcg@3"] == pytest.approx(dcg3)
    assert m["ndcg@3"] == pytest.approx(dcg3 / ideal3)


def test_map_divides_by_all_relevant_docs():
    run = {"q": {"a": 0.9, "x": 0.8, "b": 0.7, "y": 0.6, "c": 0.5}}
    qrels = {"q": {"a": 1, "b": 2, "c": 1, "z": 1}}  # R = 4, z never retrieved
    m = retrieval_metrics(run, qrels, ks=(1, 3, 5))
    assert m["map@1"] == pytest.approx(1 / 4)
    assert m["map@3"] == pytest.approx((1 + 2 / 3) / 4)
    assert m["map@5"] == pytest.approx((1 + 2 / 3 + 3 / 5) / 4)
    assert m["recall@3"] == pytest.approx(2 / 4)
    assert m["r_precision"] == pytest.approx(2 / 4)  # a and b in the top 4


def test_mean_is_over_queries_with_a_relevant_doc_only():
    run = {"q1": {"a": 1.0}, "q2": {"a": 1.0}, "q3": {"b": 1.0}, "only_in_run": {"a": 1.0}}
    qrels = {"q1": {"a": 1}, "q2": {"b": 1}, "q3": {"b": 0}, "q4": {"c": 2}}
    per_query = per_query_metrics(run, qrels, ks=(1,))
    assert per_query["hit@1"] == {"q1": 1.0, "q2": 0.0, "q4": 0.0}
    assert retrieval_metrics(run, qrels, ks=(1,))["hit@1"] == pytest.approx(1 / 3)


def test_ties_count_against_the_relevant_document():
    run = {"q": {"c": 1.0, "b": 1.0, "a": 1.0, "z": 2.0}}
    per_query = per_query_metrics(run, {"q": {"b": 1}}, ks=(1, 3, 4))
    assert per_query["mrr@3"]["q"] == 0.0  # z, then the tied non-relevant a and c, then b
    assert per_query["mrr@4"]["q"] == pytest.approx(1 / 4)
    both = per_query_metrics(run, {"q": {"b": 1, "c": 1}}, ks=(4,))
    assert both["precision@4"]["q"] == 0.5 and both["mrr@4"]["q"] == pytest.approx(1 / 3)  # z, a, b, c


def test_a_zero_score_lexical_run_gets_no_credit_from_ties():
    run = {"q": {f"d{i}": 0.0 for i in range(50)}}
    assert retrieval_metrics(run, {"q": {"d0": 1}}, ks=(10,))["mrr@10"] == 0.0


def test_integer_and_numpy_scores_are_accepted():
    run = {"q": {"a": 2, "b": np.float32(3.5), "c": np.int64(1)}}
    assert per_query_metrics(run, {"q": {"a": 1}}, ks=(1, 2))["mrr@2"] == {"q": 0.5}


def test_metric_names_order():
    assert metric_names((10, 1)) == [
        "mrr@1", "mrr@10", "ndcg@1", "ndcg@10", "map@1", "map@10", "recall@1", "recall@10",
        "precision@1", "precision@10", "hit@1", "hit@10", "f1@1", "f1@10", "dcg@1", "dcg@10",
        "r_precision",
    ]  # fmt: skip
    assert len(metric_names()) == len(METRICS) * len(DEFAULT_KS) + 1
    qrels, run = make_data(0, graded=False, n_queries=10)
    assert list(retrieval_metrics(run, qrels)) == metric_names()


def test_no_relevant_queries():
    qrels = {"q": {"a": 0}}
    assert per_query_metrics({"q": {"a": 1.0}}, qrels) == {name: {} for name in metric_names()}
    with pytest.raises(ConfigError, match="no query with a relevant document"):
        retrieval_metrics({"q": {"a": 1.0}}, qrels)


# Errors =====================================================================


@pytest.mark.parametrize("bad", ["0.5", None, True, [1.0], 1 + 2j])
def test_non_numeric_score_raises(bad):
    run = {"q": {"a": 1.0, "b": bad}}
    with pytest.raises(ConfigError, match=r"query 'q', doc 'b': score .* is not a number"):
        retrieval_metrics(run, {"q": {"a": 1}})


def test_non_numeric_score_in_a_run_only_query_raises():
    with pytest.raises(ConfigError, match="not a number"):
        retrieval_metrics({"q": {"a": 1.0}, "other": {"a": "high"}}, {"q": {"a": 1}})


def test_nan_score_raises():
    with pytest.raises(ConfigError, match="NaN"):
        retrieval_metrics({"q": {"a": float("nan")}}, {"q": {"a": 1}})


def test_non_numeric_grade_raises():
    with pytest.raises(ConfigError, match=r"qrels, query 'q', doc 'a': grade 'yes'"):
        retrieval_metrics({"q": {"a": 1.0}}, {"q": {"a": "yes"}})


@pytest.mark.parametrize("ks", [(-1,), (10, -5), (0,), (2.5,), ("10",), (), "10"])
def test_bad_k_raises(ks):
    with pytest.raises(ConfigError, match="ks"):
        retrieval_metrics({"q": {"a": 1.0}}, {"q": {"a": 1}}, ks=ks)
    with pytest.raises(ConfigError):
        metric_names(ks)


def test_non_dict_inputs_raise():
    with pytest.raises(ConfigError, match="run: expected a dict"):
        retrieval_metrics([("q", "a")], {"q": {"a": 1}})
    with pytest.raises(ConfigError, match="run, query 'q': expected a dict"):
        retrieval_metrics({"q": ["a"]}, {"q": {"a": 1}})
