"""Fusing a dense and a lexical ranking: reciprocal-rank fusion, and a convex mix of normalised scores.

A run maps query id -> {doc id: score} (higher is better). RRF ignores the scores and adds
1 / (RRF_K + rank) over the runs. The convex mix min-max normalises each run's scores per query
(a document a run did not return gets that run's 0) and adds `weight * dense + (1 - weight) * lexical`;
its weight is chosen on a dev split (`choose_weight`), never on the split that is reported.
Fusion can lose to dense alone when the lexical run is weak; `choose_mode` falls back to dense then.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

Run = dict[str, dict[str, float]]
RRF_K = 60
WEIGHTS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
MODES = ("dense", "lexical", "hybrid")
FUSIONS = ("rrf", "convex")


def _ranked(scores: Mapping[str, float]) -> list[str]:
    return sorted(scores, key=lambda d: (-scores[d], d))


def rrf(runs: Sequence[Run], k: int = RRF_K, depth: int = 100) -> Run:
    """Reciprocal-rank fusion of several runs over the same queries, cut at `depth`."""
    fused: Run = {}
    for qid in dict.fromkeys(q for run in runs for q in run):
        total: dict[str, float] = {}
        for run in runs:
            for rank, doc in enumerate(_ranked(run.get(qid, {})), start=1):
                total[doc] = total.get(doc, 0.0) + 1.0 / (k + rank)
        fused[qid] = {d: total[d] for d in _ranked(total)[:depth]}
    return fused


def minmax(scores: Mapping[str, float]) -> dict[str, float]:
    """Scores mapped onto [0, 1] (all equal: all 1)."""
    if not scores:
        return {}
    low, high = min(scores.values()), max(scores.values())
    return {d: (s - low) / (high - low) if high > low else 1.0 for d, s in scores.items()}


def convex(dense: Run, lexical: Run, weight: float, depth: int = 100) -> Run:
    """weight * normalised dense + (1 - weight) * normalised lexical, per query, cut at `depth`."""
    if not 0.0 <= weight <= 1.0:
        raise ValueError(f"weight must be in [0, 1], got {weight}")
    fused: Run = {}
    for qid in dict.fromkeys([*dense, *lexical]):
        a, b = minmax(dense.get(qid, {})), minmax(lexical.get(qid, {}))
        total = {d: weight * a.get(d, 0.0) + (1.0 - weight) * b.get(d, 0.0) for d in {*a, *b}}
        fused[qid] = {d: total[d] for d in _ranked(total)[:depth]}
    return fused


def _mean(run: Run, qrels, metric: str) -> float:
    from densefit.evaluation.metrics import retrieval_metrics

    return retrieval_metrics(run, qrels, (int(metric.split("@")[1]) if "@" in metric else 10,))[metric]


def choose_weight(dense: Run, lexical: Run, qrels, metric: str = "ndcg@10",
                  weights: Sequence[float] = WEIGHTS) -> tuple[float, dict[float, float]]:
    """The convex weight with the best mean `metric` on these (dev) runs, and every weight's score."""
    scores = {w: _mean(convex(dense, lexical, w), qrels, metric) for w in weights}
    best = max(scores, key=lambda w: (scores[w], w))  # ties: the weight nearer dense
    return best, scores


def choose_mode(dense: Run, lexical: Run, qrels, metric: str = "ndcg@10") -> dict:
    """On dev runs: the best of dense, RRF and convex (its weight chosen here); dense unless fusion wins."""
    weight, by_weight = choose_weight(dense, lexical, qrels, metric)
    scores = {"dense": _mean(dense, qrels, metric), "rrf": _mean(rrf([dense, lexical]), qrels, metric),
              "convex": by_weight[weight]}
    best = max(("rrf", "convex"), key=lambda m: scores[m])
    chosen = best if scores[best] > scores["dense"] else "dense"
    return {"metric": metric, "dev": scores, "weight": weight, "chosen": chosen,
            "why": (f"{chosen} ({scores[chosen]:.4f} {metric} on dev vs dense {scores['dense']:.4f})"
                    if chosen != "dense" else
                    f"dense: fusion did not beat it on dev (best fusion {best} {scores[best]:.4f} vs dense "
                    f"{scores['dense']:.4f} {metric})")}
