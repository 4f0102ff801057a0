"""First-stage retrievers for mining negatives of generated queries (GPL, AugSBERT sampling).

Each retriever maps (queries, documents, k) -> per query a list of document indices, best first.
Add one with a function and a RETRIEVERS entry.
"""

from __future__ import annotations

from typing import Callable

from densefit.errors import UnknownNameError


def bm25_topk(queries: list[str], docs: list[str], k: int, **_) -> list[list[int]]:
    import bm25s

    from densefit.evaluation.bm25 import STOPWORDS

    retriever = bm25s.BM25()
    retriever.index(bm25s.tokenize(docs, stopwords=STOPWORDS, show_progress=False), show_progress=False)
    tokens = bm25s.tokenize(queries, stopwords=STOPWORDS, show_progress=False)
    found, scores = retriever.retrieve(tokens, k=min(k, len(docs)), show_progress=False)
    return [[int(d) for d, s in zip(row, srow) if s > 0] for row, srow in zip(found, scores)]


def model_topk(queries: list[str], docs: list[str], k: int, *, encoder=None, index: str = "auto",
               **_) -> list[list[int]]:
    from densefit.methods.mining import resolve_index, search

    d_emb = encoder.encode(docs, show_progress=len(docs) > 5000, kind="document")
    idx, _scores = search(encoder.encode(queries, kind="query"), d_emb, k,
                          resolve_index(index, len(docs), len(queries)))
    return [[int(d) for d in row if d >= 0] for row in idx]


RETRIEVERS: dict[str, Callable[..., list[list[int]]]] = {"bm25": bm25_topk, "model": model_topk}


def retrieve(name: str, queries: list[str], docs: list[str], k: int, **kwargs) -> list[list[int]]:
    if name not in RETRIEVERS:
        raise UnknownNameError("retriever", name, list(RETRIEVERS))
    return RETRIEVERS[name](queries, docs, k, **kwargs)
