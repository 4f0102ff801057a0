"""The in-memory search structure of the embedded store: faiss, exact below a size, IVF or HNSW above.

Rows sit at positions 0..n-1 in rowid order; `labels[pos]` is the store's rowid.
Deleted or filtered-out rows are excluded with a faiss IDSelectorBitmap over
positions, so nothing is rebuilt for a delete. The vectors live in one place only:
a flat index while small, then inside the ANN structure (IVF-Flat lists or the
HNSW storage); exact search over the ANN structure scans every list (IVF) or the
storage (HNSW). An IVF is retrained from its own vectors when the table has grown
4x since training.
"""

from __future__ import annotations

import contextlib
import math

import numpy as np

from densefit.index.config import IndexConfig

RETRAIN_GROWTH = 4
TRAIN_POINTS_PER_LIST = 64
KMEANS_ITERATIONS = 10
SMALL_BATCH = 8  # query batches below this run on one thread: OpenMP start-up and spinning cost more


def _faiss():
    import faiss

    return faiss


@contextlib.contextmanager
def _threads_for(n_queries: int):
    """One faiss thread for a few queries (lower latency, no spinning on a busy machine), all for batches."""
    faiss = _faiss()
    if n_queries >= SMALL_BATCH:
        yield
        return
    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(before)


class VectorTable:
    """Vectors by position, searchable exactly or through an ANN, with a mask of live positions."""

    def __init__(self, dim: int, cfg: IndexConfig) -> None:
        self.dim, self.cfg = dim, cfg
        self.flat = _faiss().IndexFlatIP(dim)
        self.ann = None            # faiss IndexIVFFlat or IndexHNSWFlat once large
        self.trained_size = 0
        self.labels = np.zeros(0, dtype=np.int64)
        self.alive = np.zeros(0, dtype=bool)

    @property
    def size(self) -> int:
        return len(self.labels)

    @property
    def mode(self) -> str:
        if self.ann is None:
            return "exact"
        return "ivf" if hasattr(self.ann, "nprobe") else "hnsw"

    def vectors(self) -> np.ndarray:
        """All stored vectors by position (a view while exact or HNSW, a copy for IVF)."""
        faiss = _faiss()
        if self.mode == "ivf":
            return self.ann.reconstruct_n(0, self.ann.ntotal) if self.ann.ntotal else np.zeros((0, self.dim), np.float32)
        store = faiss.downcast_index(self.ann.storage) if self.mode == "hnsw" else self.flat
        if store.ntotal == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        return faiss.rev_swig_ptr(store.get_xb(), store.ntotal * self.dim).reshape(store.ntotal, self.dim)

    # -- writes --------------------------------------------------------------------
    def append(self, rowids: np.ndarray, vectors: np.ndarray) -> None:
        if len(rowids) == 0:
            return
        (self.ann or self.flat).add(np.ascontiguousarray(vectors, dtype=np.float32))
        self.labels = np.concatenate([self.labels, rowids.astype(np.int64)])
        self.alive = np.concatenate([self.alive, np.ones(len(rowids), dtype=bool)])
        if self.ann is None and int(self.alive.sum()) > self.cfg.exact_below:
            self.build_ann()
        elif self.mode == "ivf" and self.size > RETRAIN_GROWTH * self.trained_size:
            self.build_ann()

    def build_ann(self) -> None:
        """Move every vector into a new ANN structure (IVF is trained on a sample of them)."""
        data = np.array(self.vectors(), copy=True)
        self.ann = self._new_ivf(data) if self.cfg.ann == "ivf" else self._new_hnsw()
        self.flat.reset()
        self.ann.add(data)
        self.trained_size = len(data)
        if self.mode == "ivf":
            self.ann.make_direct_map()

    def _new_ivf(self, data: np.ndarray):
        faiss = _faiss()
        nlist = max(8, min(int(self.cfg.nlist_factor * math.sqrt(len(data))), len(data) // 39))
        ivf = faiss.IndexIVFFlat(faiss.IndexFlatIP(self.dim), self.dim, nlist, faiss.METRIC_INNER_PRODUCT)
        rng = np.random.default_rng(0)
        sample = data[rng.choice(len(data), min(len(data), nlist * TRAIN_POINTS_PER_LIST), replace=False)]
        ivf.cp.niter = KMEANS_ITERATIONS
        ivf.train(sample)
        ivf.nprobe = self.cfg.nprobe
        return ivf

    def _new_hnsw(self):
        faiss = _faiss()
        hnsw = faiss.IndexHNSWFlat(self.dim, self.cfg.hnsw_m, faiss.METRIC_INNER_PRODUCT)
        hnsw.hnsw.efConstruction = self.cfg.ef_construction
        hnsw.hnsw.efSearch = self.cfg.ef_search
        return hnsw

    def positions(self, rowids: np.ndarray) -> np.ndarray:
        """Positions of the given rowids that are in the table (labels are sorted ascending)."""
        rowids = np.asarray(rowids, dtype=np.int64)
        pos = np.searchsorted(self.labels, rowids)
        ok = pos < len(self.labels)
        ok[ok] = self.labels[pos[ok]] == rowids[ok]
        return pos[ok]

    def kill(self, rowids: np.ndarray) -> None:
        self.alive[self.positions(rowids)] = False

    def set_alive(self, rowids: np.ndarray) -> None:
        self.alive[:] = False
        self.alive[self.positions(np.sort(np.asarray(rowids, dtype=np.int64)))] = True

    # -- search --------------------------------------------------------------------
    def search(self, queries: np.ndarray, k: int, allowed: np.ndarray | None = None,
               exact: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """(scores, rowids) of the top-k live rows per query; rowid -1 pads short results.

        `allowed` is a boolean mask over positions (a metadata filter), combined with the
        live mask. Small allowed sets, and `exact=True`, are scored exactly.
        """
        mask = self.alive if allowed is None else (self.alive & allowed)
        live = int(mask.sum())
        queries = np.ascontiguousarray(queries, dtype=np.float32)
        if live == 0 or len(queries) == 0:
            return (np.full((len(queries), k), -np.inf, np.float32), np.full((len(queries), k), -1, np.int64))
        exact = exact or live <= self.cfg.exact_below
        with _threads_for(len(queries)):
            if self.ann is None or (exact and self.mode == "hnsw"):
                return self._flat_exact(queries, k, mask, live)
            return self._ann_search(queries, k, mask, live, exact)

    def _flat_exact(self, queries, k, mask, live):
        faiss = _faiss()
        vecs = self.vectors()
        pos = np.flatnonzero(mask) if live < len(mask) else None
        sub = vecs[pos] if pos is not None else vecs
        scores, idx = faiss.knn(queries, sub, min(k, len(sub)), metric=faiss.METRIC_INNER_PRODUCT)
        return self._to_rowids(scores, idx if pos is None else np.where(idx >= 0, pos[np.maximum(idx, 0)], -1), k)

    def _ann_search(self, queries, k, mask, live, exact):
        faiss = _faiss()
        selectivity = live / len(mask)
        if self.mode == "ivf":
            params = faiss.SearchParametersIVF()
            params.nprobe = self.ann.nlist if exact else self._widen(self.cfg.nprobe, selectivity, self.ann.nlist)
        else:
            params = faiss.SearchParametersHNSW()
            params.efSearch = self._widen(max(self.cfg.ef_search, k), selectivity, 4096)
        bits = None
        if live < len(mask):
            bits = np.packbits(mask, bitorder="little")
            params.sel = faiss.IDSelectorBitmap(len(mask), faiss.swig_ptr(bits))
        scores, idx = self.ann.search(queries, k, params=params)
        del bits
        return self._to_rowids(scores, idx, k)

    @staticmethod
    def _widen(value: int, selectivity: float, cap: int) -> int:
        """Search wider when deletions or a filter hide part of the index."""
        if selectivity < 0.5:
            value = int(value * min(8.0, 0.5 / max(selectivity, 1e-6)))
        return max(1, min(value, cap))

    def _to_rowids(self, scores, idx, k):
        rowids = np.where(idx >= 0, self.labels[np.maximum(idx, 0)], -1)
        if rowids.shape[1] < k:
            pad = k - rowids.shape[1]
            rowids = np.pad(rowids, ((0, 0), (0, pad)), constant_values=-1)
            scores = np.pad(scores, ((0, 0), (0, pad)), constant_values=-np.inf)
        return scores, rowids
