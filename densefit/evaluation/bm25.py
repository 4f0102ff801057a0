"""BM25 baseline (bm25s), so every report shows how a lexical retriever does."""

from __future__ import annotations

from densefit.data.beir import IRSet

STOPWORDS = "en"


def bm25_run(irset: IRSet, k: int = 100) -> dict[str, dict[str, float]]:
    """Score the judged queries of `irset` against its corpus with BM25 (k1=1.5, b=0.75)."""
    import bm25s

    doc_ids = list(irset.corpus)
    retriever = bm25s.BM25()
    retriever.index(bm25s.tokenize([irset.corpus[d] for d in doc_ids], stopwords=STOPWORDS, show_progress=False),
                    show_progress=False)
    queries = irset.judged_queries()
    qids = list(queries)
    tokens = bm25s.tokenize([queries[q] for q in qids], stopwords=STOPWORDS, show_progress=False)
    docs, scores = retriever.retrieve(tokens, k=min(k, len(doc_ids)), show_progress=False)
    return {
        qid: {doc_ids[int(j)]: float(s) for j, s in zip(row_docs, row_scores) if s > 0}
        for qid, row_docs, row_scores in zip(qids, docs, scores)
    }
