"""Exact top-k search over normalised embeddings (inner product = cosine)."""

from __future__ import annotations

import numpy as np

QUERY_CHUNK = 1024


def exact_topk(queries: np.ndarray, corpus: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices and scores of the `k` best corpus rows per query, best first."""
    import torch

    k = min(k, corpus.shape[0])
    c = torch.from_numpy(np.ascontiguousarray(corpus, dtype=np.float32))
    idx, val = [], []
    for start in range(0, queries.shape[0], QUERY_CHUNK):
        q = torch.from_numpy(np.ascontiguousarray(queries[start : start + QUERY_CHUNK], dtype=np.float32))
        scores, index = torch.topk(q @ c.T, k=k, dim=1)
        idx.append(index.numpy())
        val.append(scores.numpy())
    if not idx:
        return np.zeros((0, k), dtype=np.int64), np.zeros((0, k), dtype=np.float32)
    return np.concatenate(idx), np.concatenate(val)


def to_run(query_ids: list[str], doc_ids: list[str], idx: np.ndarray, scores: np.ndarray) -> dict[str, dict[str, float]]:
    """Turn top-k arrays into a run: query id -> {doc id: score}."""
    return {
        qid: {doc_ids[j]: float(s) for j, s in zip(row_idx, row_scores)}
        for qid, row_idx, row_scores in zip(query_ids, idx, scores)
    }
