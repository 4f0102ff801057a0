"""Pick the embedded ANN engine: faiss HNSW vs usearch vs hnswlib vs lancedb, one run, same data.

    flock /tmp/densefit-bench.lock .venv/bin/python bench/index_engines.py [--data text|random] [--n 100000] [--quick]

Prints build time, single-query p50/p99, batch QPS and recall@10 against exact search for each
installed candidate (faiss IVF-Flat, faiss HNSW32, usearch, hnswlib, LanceDB IVF-HNSW-SQ). The numbers and the choice are written down in docs/index.md.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time

import numpy as np


def normal(n: int, dim: int, seed: int) -> np.ndarray:
    x = np.random.default_rng(seed).standard_normal((n, dim), dtype=np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def recall(found: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([len(set(f) & set(t)) / len(t) for f, t in zip(found, truth)]))


def timed_single(search, queries: np.ndarray) -> tuple[float, float, np.ndarray]:
    lat, rows = [], []
    for q in queries:
        t = time.perf_counter()
        rows.append(search(q[None, :]))
        lat.append(time.perf_counter() - t)
    lat_ms = np.array(lat) * 1000
    return float(np.percentile(lat_ms, 50)), float(np.percentile(lat_ms, 99)), np.vstack(rows)


def faiss_hnsw(x, ef):
    import faiss

    index = faiss.IndexHNSWFlat(x.shape[1], 32, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = 80
    index.add(x)
    index.hnsw.efSearch = ef
    return lambda q: index.search(q, 10)[1]


def faiss_ivf(x, ef):
    import faiss

    nlist = int(4 * np.sqrt(len(x)))
    index = faiss.IndexIVFFlat(faiss.IndexFlatIP(x.shape[1]), x.shape[1], nlist, faiss.METRIC_INNER_PRODUCT)
    index.cp.niter = 10
    sample = x[np.random.default_rng(0).choice(len(x), min(len(x), nlist * 64), replace=False)]
    index.train(sample)
    index.add(x)
    index.nprobe = 64
    return lambda q: index.search(q, 10)[1]


def usearch_hnsw(x, ef):
    from usearch.index import Index

    index = Index(ndim=x.shape[1], metric="ip", dtype="f32", connectivity=16, expansion_add=128,
                  expansion_search=ef)
    index.add(np.arange(len(x)), x)

    def search(q):
        m = index.search(q, 10)
        return np.asarray(m.keys).reshape(len(q), -1)

    return search


def hnswlib_hnsw(x, ef):
    import hnswlib

    index = hnswlib.Index(space="ip", dim=x.shape[1])
    index.init_index(max_elements=len(x), M=16, ef_construction=128)
    index.add_items(x, np.arange(len(x)))
    index.set_ef(ef)
    return lambda q: index.knn_query(q, k=10)[0]


def lancedb_ivf(x, ef):
    import lancedb
    import pyarrow as pa

    folder = tempfile.mkdtemp(prefix="lance-bench-")
    db = lancedb.connect(folder)
    vec = pa.FixedSizeListArray.from_arrays(pa.array(x.reshape(-1)), x.shape[1])
    table = db.create_table("t", pa.table({"id": np.arange(len(x)), "vector": vec}))
    table.create_index(metric="dot", index_type="IVF_HNSW_SQ", num_partitions=max(1, len(x) // 50000))

    def search(q):
        rows = []
        for v in q:
            res = table.search(v).metric("dot").limit(10).select(["id", "_distance"]).ef(ef).to_arrow()
            rows.append(np.asarray(res["id"]))
        return np.vstack(rows)

    search.cleanup = lambda: shutil.rmtree(folder, ignore_errors=True)
    return search


CANDIDATES = {"faiss-ivf-flat": faiss_ivf, "faiss-hnsw32": faiss_hnsw, "usearch-hnsw16": usearch_hnsw, "hnswlib-hnsw16": hnswlib_hnsw,
              "lancedb-ivf-hnsw-sq": lancedb_ivf}


def text_data(n: int, n_queries: int) -> tuple[np.ndarray, np.ndarray]:
    """Tiled MiniLM embeddings of man pages and Bible verses, as bench/index.py builds them."""
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location("bench_index", Path(__file__).with_name("index.py"))
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    docs, queries = bench.text_embeddings(2000, 300)
    return bench.full("text", n, docs), queries[:n_queries]


def run(n: int, n_queries: int, ef: int, data: str, only: list[str] | None) -> None:
    import faiss

    x, q = (normal(n, 384, 0), normal(n_queries, 384, 1)) if data == "random" else text_data(n, n_queries)
    truth = faiss.knn(q, x, 10, metric=faiss.METRIC_INNER_PRODUCT)[1]
    print(f"data={data} n={n} dim=384 queries={n_queries} ef={ef} (IVF: nlist 4*sqrt(n), nprobe 64)")
    for name, make in CANDIDATES.items():
        if only and name not in only:
            continue
        try:
            t = time.perf_counter()
            search = make(x, ef)
            build = time.perf_counter() - t
        except ImportError as exc:
            print(f"{name:22s} not installed ({exc})")
            continue
        p50, p99, found = timed_single(search, q)
        t = time.perf_counter()
        search(q)
        qps = n_queries / (time.perf_counter() - t)
        print(f"{name:22s} build {build:7.1f} s  p50 {p50:6.3f} ms  p99 {p99:6.3f} ms  "
              f"batch {qps:8.0f} q/s  recall@10 {recall(found, truth):.4f}")
        getattr(search, "cleanup", lambda: None)()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--queries", type=int, default=500)
    ap.add_argument("--ef", type=int, default=128)
    ap.add_argument("--data", default="text", choices=["text", "random"])
    ap.add_argument("--only", default="", help="comma-separated candidate names")
    ap.add_argument("--quick", action="store_true", help="5k vectors, 50 queries: a smoke run")
    args = ap.parse_args()
    if args.quick:
        args.n, args.queries = 5000, 50
    run(args.n, args.queries, args.ef, args.data, [o for o in args.only.split(",") if o] or None)


if __name__ == "__main__":
    main()
