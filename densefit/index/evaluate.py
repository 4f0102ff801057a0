"""Evaluate retrieval through a real store, with its ANN settings, plus recall@k against exact search.

The judged queries of an IR set are embedded with the store's model and searched in
the store (what users get). The same queries are also searched exactly: in the
embedded store by a full scan of its vectors (`exact=True`); for Milvus/OpenSearch
by encoding the IR set's corpus and scoring it exhaustively. `recall_vs_exact@k` is
the mean share of the exact top-k that the store's top-k contains.
"""

from __future__ import annotations

import time

import numpy as np

from densefit.data.beir import IRSet
from densefit.evaluation.metrics import DEFAULT_KS
from densefit.evaluation.retrieval import evaluate_run
from densefit.evaluation.search import exact_topk, to_run
from densefit.index.index import Index
from densefit.index.local import LocalStore


def _run(hits_per_query, query_ids) -> dict[str, dict[str, float]]:
    return {qid: {h.id: h.score for h in hits} for qid, hits in zip(query_ids, hits_per_query)}


def _exact_run(index: Index, irset: IRSet, query_vecs: np.ndarray, query_ids: list[str], k: int):
    if isinstance(index.store, LocalStore):
        return _run(index.search_vectors(query_vecs, k=k, exact=True), query_ids)
    doc_ids = list(irset.corpus)
    doc_vecs = index.encoder.encode([irset.corpus[d] for d in doc_ids], kind="document")
    idx, scores = exact_topk(query_vecs, doc_vecs, k)
    return to_run(query_ids, doc_ids, idx, scores)


def recall_vs_exact(ann: dict, exact: dict, ks) -> dict[str, float]:
    out = {}
    for k in ks:
        shares = []
        for qid, ranked in exact.items():
            top_exact = sorted(ranked, key=ranked.get, reverse=True)[:k]
            top_ann = sorted(ann.get(qid, {}), key=ann.get(qid, {}).get, reverse=True)[:k]
            if top_exact:
                shares.append(len(set(top_exact) & set(top_ann)) / len(top_exact))
        out[f"recall_vs_exact@{k}"] = float(np.mean(shares)) if shares else 0.0
    return out


def evaluate_store(index: Index, irset: IRSet, ks=DEFAULT_KS) -> dict:
    """Metrics of the store's own search on `irset`, its recall against exact search, and its settings."""
    start = time.perf_counter()
    queries = irset.judged_queries()
    query_ids = list(queries)
    query_vecs = index.encoder.encode([queries[q] for q in query_ids], kind="query")
    k = max(ks)
    t = time.perf_counter()
    ann = _run(index.search_vectors(query_vecs, k=k), query_ids)
    search_s = time.perf_counter() - t
    metrics = evaluate_run(ann, irset, ks).metrics
    metrics.update(recall_vs_exact(ann, _exact_run(index, irset, query_vecs, query_ids, k), ks))
    missing = len(set(irset.corpus) - index.existing(list(irset.corpus)))
    return {"metrics": metrics, "settings": index.describe(), "queries": len(query_ids),
            "corpus_missing_from_store": missing, "search_s": search_s, "seconds": time.perf_counter() - start}
