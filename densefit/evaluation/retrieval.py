"""Dense retrieval evaluation on an IR set: encode, exact search, metrics."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from densefit.data.beir import IRSet
from densefit.evaluation.metrics import DEFAULT_KS, retrieval_metrics
from densefit.evaluation.search import exact_topk, to_run
from densefit.inference.encoder import TextEncoder

Run = dict[str, dict[str, float]]


@dataclass
class RetrievalResult:
    metrics: dict[str, float]
    run: Run
    seconds: float
    queries: int
    documents: int
    extra: dict = field(default_factory=dict)


SHOW_FROM_DOCS = 2000  # a corpus this large takes more than a few seconds to encode on a CPU


def dense_run(encoder: TextEncoder, irset: IRSet, k: int = 100, show_progress: bool | None = None,
              corpus_emb=None) -> Run:
    """Top-k corpus documents for every judged query of `irset` (`corpus_emb`: the corpus, already encoded)."""
    doc_ids = list(irset.corpus)
    queries = irset.judged_queries()
    query_ids = list(queries)
    if corpus_emb is None:
        corpus_emb = encode_corpus(encoder, irset, show_progress)
    query_emb = encoder.encode([queries[q] for q in query_ids], kind="query")
    idx, scores = exact_topk(query_emb, corpus_emb, k)
    return to_run(query_ids, doc_ids, idx, scores)


def encode_corpus(encoder: TextEncoder, irset: IRSet, show_progress: bool | None = None):
    """The corpus embeddings in `irset.corpus` order (what `dense_run` searches)."""
    show = len(irset.corpus) >= SHOW_FROM_DOCS if show_progress is None else show_progress
    return encoder.encode(list(irset.corpus.values()), show_progress=show, kind="document")


def evaluate_run(run: Run, irset: IRSet, ks=DEFAULT_KS, seconds: float = 0.0) -> RetrievalResult:
    metrics = retrieval_metrics(run, irset.qrels, ks=ks)
    return RetrievalResult(metrics, run, seconds, len(irset.judged_queries()), len(irset.corpus))


def evaluate_retrieval(encoder: TextEncoder, irset: IRSet, ks=DEFAULT_KS,
                       show_progress: bool | None = None) -> RetrievalResult:
    start = time.perf_counter()
    run = dense_run(encoder, irset, k=max(ks), show_progress=show_progress)
    return evaluate_run(run, irset, ks, seconds=time.perf_counter() - start)


def retrieval_delta(reference, other, eval_dir: str, metric: str = "mrr@10") -> dict:
    """`metric` of two encoders of the same model (torch and an export) on a BEIR folder, and the change."""
    from densefit.data.beir import load_beir

    target = load_beir(eval_dir)
    before = evaluate_retrieval(reference, target).metrics[metric]
    after = evaluate_retrieval(other, target).metrics[metric]
    return {"metric": metric, "torch": before, "export": after, "delta": after - before}
