"""Ranking metrics for retrieval runs: MRR, nDCG, MAP, recall, precision, hit rate, F1, DCG, R-precision.

Pure numpy + stdlib. Definitions follow ranx's defaults, which follow trec_eval:

* A *run* maps query id -> {doc id: score}; higher scores rank first. Ties count against
  the relevant documents: every non-relevant doc with the same score ranks ahead of them,
  and tied relevant docs follow each other by doc id ascending. Crediting ties to the
  relevant doc would inflate lexical baselines, whose many zero scores tie (ranx and
  trec_eval break ties their own ways; give unique scores if you need to match them).
* *Qrels* map query id -> {doc id: graded relevance}. A doc is relevant when its grade is
  > 0; binary metrics ignore the grade beyond that, nDCG/DCG use it as the gain.
* Only queries in the qrels with at least one relevant doc are evaluated. Such a query
  missing from the run scores 0 on every metric (like ``trec_eval -c`` and ranx's
  ``make_comparable=True``). Queries in the run but not in the qrels are ignored.

With ``rel@r`` = 1 if the doc at rank r is relevant, ``R`` = number of relevant docs:

* ``hit@k``       1 if any relevant doc is in the top k, else 0.
* ``precision@k`` relevant docs in the top k / k (k, not the ranking length, as in trec_eval).
* ``recall@k``    relevant docs in the top k / R.
* ``f1@k``        harmonic mean of precision@k and recall@k; 0 when both are 0.
* ``mrr@k``       1 / rank of the first relevant doc if it is within the top k, else 0.
* ``map@k``       sum over ranks r <= k with rel@r of precision@r, divided by R (not by
                  min(k, R)): ranx's ``map@k`` and trec_eval's ``map_cut_k`` both divide by R.
* ``dcg@k``       sum over r <= k of grade@r / log2(r + 1) (linear gain, Järvelin & Kekäläinen;
                  ranx's ``dcg``, not ``dcg_burges``).
* ``ndcg@k``      dcg@k / ideal dcg@k, the ideal ranking being the qrels' positive grades
                  sorted descending (ranx's ``ndcg`` and trec_eval's ``ndcg_cut_k``).
* ``r_precision`` relevant docs in the top R / R.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from densefit.errors import ConfigError

Run = dict[str, dict[str, float]]
Qrels = dict[str, dict[str, int]]

DEFAULT_KS = (1, 3, 5, 10, 100)
METRICS = ("mrr", "ndcg", "map", "recall", "precision", "hit", "f1", "dcg")
R_PRECISION = "r_precision"


# Public API ==================================================================


def metric_names(ks: Iterable[int] = DEFAULT_KS) -> list[str]:
    """Metric names in a stable table order: each metric at every k (ascending), then r_precision."""
    ks = _check_ks(ks)
    return [f"{metric}@{k}" for metric in METRICS for k in ks] + [R_PRECISION]


def per_query_metrics(run: Run, qrels: Qrels, ks: Iterable[int] = DEFAULT_KS) -> dict[str, dict[str, float]]:
    """Metric name (as in :func:`metric_names`) -> {query id: value} for every evaluated query.

    Evaluated queries are those in ``qrels`` with at least one doc of grade > 0, in qrels order.
    """
    ks = _check_ks(ks)
    judged = _judge(run, qrels, depth=ks[-1])
    stats = _CumulativeStats.of(judged)
    columns = {f"{metric}@{k}": _METRIC_AT_K[metric](stats, k) for metric in METRICS for k in ks}
    columns[R_PRECISION] = judged.r_hits / judged.n_relevant
    return {name: dict(zip(judged.query_ids, values.tolist())) for name, values in columns.items()}


def retrieval_metrics(run: Run, qrels: Qrels, ks: Iterable[int] = DEFAULT_KS) -> dict[str, float]:
    """Mean of :func:`per_query_metrics` over the evaluated queries."""
    per_query = per_query_metrics(run, qrels, ks)
    if not per_query[R_PRECISION]:
        raise ConfigError(
            "qrels have no query with a relevant document (grade > 0), so there is nothing to evaluate; "
            "check that the qrels file matches the queries and uses positive grades for relevant docs"
        )
    return {name: float(np.mean(list(values.values()))) for name, values in per_query.items()}


# Judging a run against the qrels ===============================================


@dataclass
class _Judged:
    """The run seen through the qrels, one row per evaluated query (rows filled in by `_fill_row`)."""

    query_ids: list[str]
    gains: np.ndarray  # (n, depth) grade of the doc at each rank (0 if not relevant or past the end)
    ideal: np.ndarray  # (n, depth) the query's positive grades sorted descending, 0-padded
    n_relevant: np.ndarray  # (n,) R: number of relevant docs
    r_hits: np.ndarray  # (n,) relevant docs in the top R


def _judge(run: Run, qrels: Qrels, depth: int) -> _Judged:
    _check_mapping(run, "run")
    _check_mapping(qrels, "qrels")
    for query_id in run.keys() - qrels.keys():  # ignored, but must still be well formed
        _scores(run[query_id], query_id)
    relevant = {query_id: _grades(judgements, query_id) for query_id, judgements in qrels.items()}
    relevant = {query_id: grades for query_id, grades in relevant.items() if grades}
    judged = _Judged(
        query_ids=list(relevant),
        gains=np.zeros((len(relevant), depth)),
        ideal=np.zeros((len(relevant), depth)),
        n_relevant=np.array([len(grades) for grades in relevant.values()], dtype=np.float64),
        r_hits=np.zeros(len(relevant)),
    )
    for row, (query_id, grades) in enumerate(relevant.items()):
        _fill_row(judged, row, _relevant_ranks(run.get(query_id, {}), grades, query_id), grades)
    return judged


def _fill_row(judged: _Judged, row: int, ranks: list[tuple[int, float]], grades: dict[str, float]) -> None:
    depth = judged.gains.shape[1]
    for rank, grade in ranks:
        if rank <= depth:
            judged.gains[row, rank - 1] = grade
    judged.r_hits[row] = sum(rank <= len(grades) for rank, _ in ranks)
    ideal = sorted(grades.values(), reverse=True)[:depth]
    judged.ideal[row, : len(ideal)] = ideal


def _relevant_ranks(
    doc_scores: Mapping[str, object], grades: dict[str, float], query_id: str
) -> list[tuple[int, float]]:
    """(rank, grade) of each relevant doc the run retrieved; ranks start at 1.

    The ranking is by score descending and ties count against the relevant docs, so a relevant
    doc's rank is 1 + the number of docs with a higher score, + the non-relevant docs with the
    same score, + the relevant docs with the same score and a smaller id. Counting that for
    the (few) relevant docs is much cheaper than sorting the whole ranking.
    """
    scores = _scores(doc_scores, query_id)
    ranks = []
    for doc_id, grade in grades.items():
        if doc_id in doc_scores:
            score = float(doc_scores[doc_id])
            ahead = int(np.count_nonzero(scores > score))
            if np.count_nonzero(scores == score) > 1:
                ahead += sum(other != doc_id and (other not in grades or other < doc_id)
                             for other, s in zip(doc_scores, scores.tolist()) if s == score)
            ranks.append((ahead + 1, grade))
    return ranks


def _scores(doc_scores: object, query_id: str) -> np.ndarray:
    where = f"run, query {query_id!r}"
    _check_mapping(doc_scores, where)
    return _numbers(doc_scores, where, "score")


def _grades(judgements: object, query_id: str) -> dict[str, float]:
    """The relevant docs (grade > 0) of one query and their grades."""
    where = f"qrels, query {query_id!r}"
    _check_mapping(judgements, where)
    grades = _numbers(judgements, where, "grade")
    return {doc_id: grade for doc_id, grade in zip(judgements, grades.tolist()) if grade > 0}


# Metrics from cumulative per-rank statistics ======================================


@dataclass(frozen=True)
class _CumulativeStats:
    """Column r-1 of each (n, depth) array describes the top r of every query's ranking."""

    hits: np.ndarray  # relevant docs in the top r
    dcg: np.ndarray  # DCG of the top r
    ideal_dcg: np.ndarray  # DCG of the ideal top r
    precision_sum: np.ndarray  # sum of precision@i over relevant ranks i <= r
    first_rank: np.ndarray  # (n,) rank of the first relevant doc within depth, inf if none
    n_relevant: np.ndarray  # (n,)

    @classmethod
    def of(cls, judged: _Judged) -> _CumulativeStats:
        ranks = np.arange(1, judged.gains.shape[1] + 1, dtype=np.float64)
        discount = 1.0 / np.log2(ranks + 1.0)
        relevant = judged.gains > 0
        hits = np.cumsum(relevant, axis=1, dtype=np.float64)
        first = np.where(relevant.any(axis=1), relevant.argmax(axis=1) + 1.0, np.inf)
        return cls(
            hits=hits,
            dcg=np.cumsum(judged.gains * discount, axis=1),
            ideal_dcg=np.cumsum(judged.ideal * discount, axis=1),
            precision_sum=np.cumsum(relevant * hits / ranks, axis=1),
            first_rank=first,
            n_relevant=judged.n_relevant,
        )


def _mrr(stats: _CumulativeStats, k: int) -> np.ndarray:
    return np.where(stats.first_rank <= k, 1.0 / stats.first_rank, 0.0)


def _ndcg(stats: _CumulativeStats, k: int) -> np.ndarray:
    # Every evaluated query has a relevant doc, so its ideal DCG@k (k >= 1) is > 0.
    return stats.dcg[:, k - 1] / stats.ideal_dcg[:, k - 1]


def _map(stats: _CumulativeStats, k: int) -> np.ndarray:
    return stats.precision_sum[:, k - 1] / stats.n_relevant


def _recall(stats: _CumulativeStats, k: int) -> np.ndarray:
    return stats.hits[:, k - 1] / stats.n_relevant


def _precision(stats: _CumulativeStats, k: int) -> np.ndarray:
    return stats.hits[:, k - 1] / k


def _hit(stats: _CumulativeStats, k: int) -> np.ndarray:
    return (stats.hits[:, k - 1] > 0).astype(np.float64)


def _f1(stats: _CumulativeStats, k: int) -> np.ndarray:
    precision, recall = _precision(stats, k), _recall(stats, k)
    total = precision + recall
    return np.divide(2 * precision * recall, total, out=np.zeros_like(total), where=total > 0)


def _dcg(stats: _CumulativeStats, k: int) -> np.ndarray:
    return stats.dcg[:, k - 1]


_METRIC_AT_K: dict[str, Callable[[_CumulativeStats, int], np.ndarray]] = {
    "mrr": _mrr,
    "ndcg": _ndcg,
    "map": _map,
    "recall": _recall,
    "precision": _precision,
    "hit": _hit,
    "f1": _f1,
    "dcg": _dcg,
}


# Input validation ================================================================


def _check_ks(ks: Iterable[int]) -> list[int]:
    """Distinct cutoffs, ascending; each must be an integer >= 1."""
    if isinstance(ks, (str, bytes)) or not isinstance(ks, Iterable):
        raise ConfigError(f"cutoffs ks must be a list of integers >= 1, got {ks!r}")
    ks = list(ks)
    for k in ks:
        if isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 1:
            raise ConfigError(f"cutoff k must be an integer >= 1, got {k!r} in ks={ks!r}")
    if not ks:
        raise ConfigError("cutoffs ks must name at least one k, e.g. ks=(1, 10)")
    return sorted({int(k) for k in ks})


def _check_mapping(value: object, where: str) -> None:
    if not isinstance(value, Mapping):
        raise ConfigError(f"{where}: expected a dict, got {type(value).__name__}")


def _numbers(values: Mapping[str, object], where: str, what: str) -> np.ndarray:
    """The mapping's values as float64; non-numbers (str, None, bool, ...) and NaN raise ConfigError."""
    raw = list(values.values())
    try:
        array = np.asarray(raw)
    except (TypeError, ValueError):
        array = None
    if array is None or array.ndim != 1 or array.dtype.kind not in "iuf" or bool in map(type, raw):
        _reject_non_numbers(values, where, what)
        array = np.asarray([float(value) for value in raw])  # e.g. ints beyond int64
    array = array.astype(np.float64, copy=False)
    if np.isnan(array).any():
        doc_id = next(doc for doc, value in zip(values, array) if np.isnan(value))
        raise ConfigError(f"{where}, doc {doc_id!r}: {what} is NaN; {what}s must be real numbers")
    return array


def _reject_non_numbers(values: Mapping[str, object], where: str, what: str) -> None:
    for doc_id, value in values.items():
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise ConfigError(
                f"{where}, doc {doc_id!r}: {what} {value!r} ({type(value).__name__}) is not a number; "
                f"{what}s must be int or float"
            )
