"""The evaluate stage: the held-out test queries searched exactly over the vectors of both indexes, so each
model embeds the corpus once, for its index, and not again for its score. Paired bootstrap CIs of the
built model against the base, per query."""

from __future__ import annotations

from pathlib import Path

KS = (1, 10, 100)
HEADLINE = ("mrr@10", "ndcg@10")


def store_run(store: Path, irset) -> dict[str, dict[str, float]]:
    from densefit.index import Index

    queries = irset.judged_queries()
    ids = list(queries)
    with Index.open(str(store)) as idx:
        vectors = idx.encoder.encode([queries[q] for q in ids], kind="query")
        hits = idx.search_vectors(vectors, k=max(KS), exact=True)
    return {qid: {h.id: h.score for h in row} for qid, row in zip(ids, hits)}


def compare(base_store: Path, built_store: Path, data: Path) -> dict:
    """Metrics of both indexes on the test split, and the built-minus-base CI of the headline metrics."""
    from densefit.data.beir import load_beir
    from densefit.evaluation.metrics import per_query_metrics
    from densefit.evaluation.retrieval import evaluate_run
    from densefit.report.stats import compare_paired

    test = load_beir(data, "test")
    runs = {"base": store_run(base_store, test), "built": store_run(built_store, test)}
    metrics = {name: evaluate_run(run, test, KS).metrics for name, run in runs.items()}
    per_query = {name: per_query_metrics(run, test.qrels, ks=(10,)) for name, run in runs.items()}
    cis = {}
    for metric in HEADLINE:
        c = compare_paired(metric, per_query["base"][metric], per_query["built"][metric])
        cis[metric] = {"delta": c.delta, "ci_low": c.ci_low, "ci_high": c.ci_high, "p_value": c.p_value, "n": c.n}
    return {"before": metrics["base"], "after": metrics["built"], "paired": cis, "queries": len(test.qrels)}
