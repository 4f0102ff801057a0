"""Vector search benchmark: densefit's embedded store vs faiss.IndexFlatIP vs numpy brute force, one run.

    flock /tmp/densefit-bench.lock .venv/bin/python bench/index.py            # 100k and 1M x 384
    .venv/bin/python bench/index.py --quick                                    # 20k, a smoke run

Data sets (384 dimensions, L2-normalised):
  random    random-normal vectors and queries (the worst case for any ANN: no structure);
  text      real all-MiniLM-L6-v2 embeddings of man-page texts and Bible verses (KJV), a few
            thousand encoded once (cached in ~/.cache/densefit/bench-index), tiled to N rows
            with small Gaussian noise; queries are man-page NAME descriptions and WEB verses.

For each size it measures build time (encoding excluded), single-query p50/p99, batch
QPS, recall@10 against exact search, RAM and disk. The embedded store is built and
served in child processes, so its RAM is measured alone (peak RSS of the serving
process, which opens the store from disk and answers the queries through
`Index.search_vectors`, i.e. including fetching ids, texts and metadata from SQLite).
The figures go into docs/benchmarks.md between the index markers.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # densefit from this checkout when run without an install
import common  # noqa: E402  (bench/common.py: machine line, sections, server helpers)

DOC = ROOT / "docs" / "benchmarks.md"
BEGIN, END = "<!-- index:BEGIN -->", "<!-- index:END -->"
DIM, K, CHUNK = 384, 10, 50_000
CACHE = Path.home() / ".cache" / "densefit" / "bench-index"
NOISE = 0.01  # per-dimension std of the noise added to tiled text embeddings


# ----------------------------------------------------------------------------- data
def _normalise(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def _texts(n_docs: int, n_queries: int) -> tuple[list[str], list[str]]:
    from densefit.data.builders.bible import bible_verses
    from densefit.data.builders.debian import cache_root
    from densefit.data.builders.manpages import fetch_man_tree, read_pages

    pages, _ = read_pages(fetch_man_tree(cache_root() / "manpages") / "usr" / "share" / "man")
    rng = np.random.default_rng(0)
    pages = [pages[i] for i in rng.permutation(len(pages))]
    kjv, web = bible_verses("KJV"), bible_verses("WEB")
    refs = [r for r in kjv if r in web]
    refs = [refs[i] for i in rng.permutation(len(refs))]
    half = n_docs // 2
    docs = [p.text[:1000] for p in pages[:half]] + [kjv[r] for r in refs[: n_docs - half]]
    queries = [p.description for p in pages[: n_queries // 2]] + [web[r] for r in refs[: n_queries - n_queries // 2]]
    return docs, queries


def text_embeddings(n_docs: int, n_queries: int) -> tuple[np.ndarray, np.ndarray]:
    """MiniLM embeddings of real texts, encoded once and cached."""
    path = CACHE / f"text-{n_docs}-{n_queries}.npz"
    if path.is_file():
        data = np.load(path, allow_pickle=False)
        return data["docs"], data["queries"]
    from densefit.api import load

    docs, queries = _texts(n_docs, n_queries)
    encoder = load("default")
    t = time.perf_counter()
    d, q = encoder.encode(docs), encoder.encode(queries)
    print(f"encoded {len(docs) + len(queries)} texts in {time.perf_counter() - t:.0f} s (cached in {path})")
    CACHE.mkdir(parents=True, exist_ok=True)
    np.savez(path, docs=d, queries=q)
    return d, q


def chunk(kind: str, n: int, start: int, stop: int, base: np.ndarray | None) -> np.ndarray:
    """Rows start..stop of the N-row data set, generated deterministically chunk by chunk."""
    rng = np.random.default_rng([n, start])
    if kind == "random":
        return _normalise(rng.standard_normal((stop - start, DIM), dtype=np.float32))
    rows = base[np.arange(start, stop) % len(base)]
    return _normalise(rows + NOISE * rng.standard_normal(rows.shape, dtype=np.float32))


def full(kind: str, n: int, base) -> np.ndarray:
    out = np.empty((n, DIM), dtype=np.float32)
    for s in range(0, n, CHUNK):
        out[s : min(n, s + CHUNK)] = chunk(kind, n, s, min(n, s + CHUNK), base)
    return out


def queries_for(kind: str, n_queries: int, base_queries) -> np.ndarray:
    if kind == "random":
        return _normalise(np.random.default_rng(12345).standard_normal((n_queries, DIM), dtype=np.float32))
    return base_queries[:n_queries]


# ----------------------------------------------------------------------------- measuring
def latencies(search, queries: np.ndarray) -> tuple[float, float, np.ndarray]:
    times, found = [], []
    for q in queries:
        t = time.perf_counter()
        found.append(search(q[None, :]))
        times.append(time.perf_counter() - t)
    ms = np.array(times) * 1000
    return float(np.percentile(ms, 50)), float(np.percentile(ms, 99)), np.vstack(found)


def qps(search, queries: np.ndarray) -> float:
    t = time.perf_counter()
    search(queries)
    return len(queries) / (time.perf_counter() - t)


def recall(found: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([len(set(f) & set(t)) / len(t) for f, t in zip(found, truth)]))


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def du_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20


# ----------------------------------------------------------------------------- the embedded store (child processes)
def child_build(args: dict) -> dict:
    from densefit.index import Index

    kind, n, store = args["kind"], args["n"], Path(args["store"])
    base = np.load(args["base"]) if args.get("base") else None
    t = time.perf_counter()
    with Index.open(store, create=True) as idx:
        for s in range(0, n, CHUNK):
            x = chunk(kind, n, s, min(n, s + CHUNK), base)
            idx.add([f"r{i}" for i in range(s, s + len(x))], [""] * len(x), vectors=x)
        write_s = time.perf_counter() - t
        idx.flush()  # loads the vectors, builds the ANN index and saves it
        info = idx.describe()
    return {"build_s": time.perf_counter() - t, "write_s": write_s, "disk_mb": du_mb(store),
            "build_peak_rss_mb": peak_rss_mb(), "describe": info}


def child_serve(args: dict) -> dict:
    from densefit.index import Index

    queries, truth = np.load(args["queries"]), np.load(args["truth"])
    t = time.perf_counter()
    idx = Index.open(args["store"])
    idx.search_vectors(queries[:1], k=K)  # opens the ANN cache
    open_s = time.perf_counter() - t

    def search(q):
        return np.array([[int(h.id[1:]) for h in hits] + [-1] * (K - len(hits))
                         for hits in idx.search_vectors(q, k=K)])

    search(queries[:5])  # warm-up
    p50, p99, found = latencies(search, queries)
    out = {"open_s": open_s, "p50_ms": p50, "p99_ms": p99, "qps": qps(search, queries),
           "recall": recall(found, truth), "serving_rss_mb": rss_mb(), "serving_peak_rss_mb": peak_rss_mb()}
    idx.close()
    return out


def run_child(role: str, args: dict) -> dict:
    env = {**os.environ, **{f"DENSEFIT_INDEX_{k.upper()}": str(v) for k, v in args.get("env", {}).items()}}
    proc = subprocess.run([sys.executable, __file__, "--child", role, json.dumps(args)], capture_output=True,
                          text=True, env=env, timeout=3600)
    if proc.returncode != 0:
        raise RuntimeError(f"{role} child failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ----------------------------------------------------------------------------- the peers (this process)
def flat_ip(x: np.ndarray, queries: np.ndarray, truth: np.ndarray) -> dict:
    import faiss

    before = rss_mb()
    t = time.perf_counter()
    index = faiss.IndexFlatIP(DIM)
    index.add(x)
    build = time.perf_counter() - t
    ram = rss_mb() - before
    threads = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)  # single queries on one thread, as the store does (faster on 2 cores)
    p50, p99, found = latencies(lambda q: index.search(q, K)[1], queries)
    faiss.omp_set_num_threads(threads)
    out = {"build_s": build, "p50_ms": p50, "p99_ms": p99, "qps": qps(lambda q: index.search(q, K), queries),
           "recall": recall(found, truth), "ram_mb": ram, "disk_mb": x.nbytes / 2**20}
    return out


def numpy_brute(x: np.ndarray, queries: np.ndarray, truth: np.ndarray, n_single: int) -> dict:
    def search(q):
        scores = q @ x.T
        top = np.argpartition(-scores, K, axis=1)[:, :K]
        order = np.argsort(-np.take_along_axis(scores, top, 1), axis=1)
        return np.take_along_axis(top, order, 1)

    def batch(q):
        return np.vstack([search(q[s : s + 64]) for s in range(0, len(q), 64)])

    p50, p99, found = latencies(search, queries[:n_single])
    return {"build_s": 0.0, "p50_ms": p50, "p99_ms": p99, "qps": qps(batch, queries),
            "recall": recall(found, truth[:n_single]), "ram_mb": x.nbytes / 2**20, "disk_mb": x.nbytes / 2**20}


# ----------------------------------------------------------------------------- one size
def run_size(kind: str, n: int, n_queries: int, text, env: dict, work: Path) -> dict:
    import faiss

    base_path = None
    if kind == "text":
        base_path = work / "base.npy"
        np.save(base_path, text[0])
    queries = queries_for(kind, n_queries, text[1] if text else None)
    store = work / f"store-{kind}-{n}"
    built = run_child("build", {"kind": kind, "n": n, "store": str(store), "base": str(base_path or ""), "env": env})
    x = full(kind, n, text[0] if text else None)
    truth = faiss.knn(queries, x, K, metric=faiss.METRIC_INNER_PRODUCT)[1]
    qpath, tpath = work / "q.npy", work / "truth.npy"
    np.save(qpath, queries)
    np.save(tpath, truth)
    served = run_child("serve", {"store": str(store), "queries": str(qpath), "truth": str(tpath), "env": env})
    numpy_row = numpy_brute(x, queries, truth, n_single=min(n_queries, 50 if n >= 500_000 else n_queries))
    flat_row = flat_ip(x, queries, truth)
    del x
    shutil.rmtree(store, ignore_errors=True)
    return {"kind": kind, "n": n, "queries": n_queries, "densefit": {**built, **served}, "faiss_flat": flat_row,
            "numpy": numpy_row}


# ----------------------------------------------------------------------------- report
def row(name: str, r: dict, ram_key: str) -> str:
    return (f"| {name} | {r['build_s']:.1f} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | {r['qps']:.0f} | "
            f"{r['recall']:.4f} | {r.get(ram_key, float('nan')):.0f} | {r['disk_mb']:.0f} |")


def table(res: dict) -> list[str]:
    d, f, npy = res["densefit"], res["faiss_flat"], res["numpy"]
    desc = d["describe"]
    setting = (f"IVF-Flat nlist {desc.get('nlist')}, nprobe {desc.get('nprobe')}" if desc.get("ann") == "ivf"
               else f"HNSW M {desc.get('hnsw_m')}, efC {desc.get('ef_construction')}, ef {desc.get('ef_search')}")
    lines = [f"**{res['kind']}, {res['n']:,} x {DIM}** ({res['queries']} queries; densefit store: {setting}, "
             f"mode {desc.get('mode')})", "",
             "| system | build s | p50 ms | p99 ms | batch q/s | recall@10 | RAM MB | disk MB |",
             "|---|---:|---:|---:|---:|---:|---:|---:|",
             row("densefit store (Index.search_vectors)", d, "serving_peak_rss_mb"),
             row("faiss.IndexFlatIP", f, "ram_mb"), row("numpy brute force", npy, "ram_mb"), "",
             f"Ratios (above 1 = the store is faster): p50 {f['p50_ms'] / d['p50_ms']:.1f}x vs IndexFlatIP and "
             f"{npy['p50_ms'] / d['p50_ms']:.1f}x vs numpy; batch QPS {d['qps'] / f['qps']:.2f}x IndexFlatIP "
             f"and {d['qps'] / npy['qps']:.2f}x numpy. Store RAM is the serving process's peak RSS (Python, "
             f"faiss, SQLite included); build {d['build_s']:.1f} s = {d['write_s']:.1f} s durable writes + ANN build "
             f"and save; reopen {d['open_s']:.1f} s.", ""]
    return lines


def write_doc(results: list[dict], command: str, machine_use: str) -> None:
    lines = [BEGIN, "## Vector index (`bench/index.py`)", "",
             f"`{command}` on {common.machine()}, {dt.date.today().isoformat()}; {machine_use}.", ""]
    for res in results:
        lines += table(res)
    lines.append(END)
    common.write_section("\n".join(lines), BEGIN, END)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="100000,1000000", help="comma-separated row counts")
    ap.add_argument("--data", default="text,random", help="text and/or random")
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--texts", type=int, default=3000, help="distinct texts encoded for the text data set")
    ap.add_argument("--quick", action="store_true", help="20k rows, 50 queries, 400 texts; no doc update")
    ap.add_argument("--no-doc", action="store_true")
    ap.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        role, payload = args.child
        print(json.dumps((child_build if role == "build" else child_serve)(json.loads(payload))))
        return
    if args.quick:
        args.sizes, args.queries, args.texts, args.no_doc = "20000", 50, 400, True
    watch, results = common.SharedWatch(), []
    with tempfile.TemporaryDirectory(prefix="densefit-bench-index-") as tmp:
        for kind in args.data.split(","):
            text = text_embeddings(args.texts, args.queries) if kind == "text" else None
            for n in (int(s) for s in args.sizes.split(",")):
                print(f"--- {kind} {n:,} x {DIM}", flush=True)
                res = run_size(kind, n, args.queries, text, {}, Path(tmp))
                results.append(res)
                print("\n".join(table(res)), flush=True)
                if not args.no_doc:  # after every size, so a long run leaves what it measured
                    write_doc(results, "flock /tmp/densefit-bench.lock .venv/bin/python bench/index.py " + " ".join(
                        a for a in sys.argv[1:]), watch.note())
                    print(f"wrote the index section of {DOC}", flush=True)


if __name__ == "__main__":
    main()
