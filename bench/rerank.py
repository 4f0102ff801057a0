"""Serve-time reranking: quality and latency of the bi-encoder stage and of the cross-encoder stage.

    .venv/bin/python bench/rerank.py --queries 100        # 100 test queries, N = 10 and 30
    .venv/bin/python bench/rerank.py --quick                               # smoke: 20 queries, 20 CE steps

1. The man-page IR set. No pretrained reranker is reachable offline, so a cross-encoder is trained here
   from MiniLM (new 1-logit head) on the *train* split: every gold pair plus one hard negative mined by
   MiniLM (`densefit.methods.mining`). It is cached in bench-out/rerank/ce (--retrain to redo it).
2. The test split's corpus is indexed with zero-shot MiniLM into a local store.
3. For each N, `densefit serve --store S --reranker CE --rerank-top-n N` runs as a real process, and every
   test query goes to /search one at a time, with `rerank` off (bi-encoder only) and on.
4. MRR@10, nDCG@10 and recall@10 of both stages are computed from what the server returned; the
   bi-encoder's recall@N is the ceiling reranking can reach. Latency is the client's, per request; the
   stage split is the server's own timings (embed_ms, search_ms, rerank_ms).
Writes the RERANK section of docs/benchmarks.md (not with --quick).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

import common  # noqa: E402  (bench/common.py: machine line, sections, server helpers)
from progress import line  # noqa: E402  (bench/progress.py: one line per phase)
from common import DOC, machine  # noqa: E402
from common import free_port, stop, wait_ready  # noqa: E402

BEGIN, END = "<!-- RERANK:BEGIN -->", "<!-- RERANK:END -->"
ROOT = Path(__file__).resolve().parent.parent
CE_MAX_LENGTH = 256
KEYS = ("mrr@10", "ndcg@10", "recall@10")


def ir_set(out: Path):
    from densefit.data.beir import load_beir
    from densefit.data.builders.manpages import build_manpages

    data = out / "manpages"
    build_manpages(data)
    return load_beir(data, "train"), load_beir(data, "test")


def train_reranker(train, out: Path, steps: int, retrain: bool) -> dict:
    """A cross-encoder from MiniLM on gold train pairs + one MiniLM-mined hard negative each; cached."""
    from densefit.api import load
    from densefit.methods.cross_encoder import labelled_pairs, train_cross_encoder
    from densefit.methods.mining import MiningConfig, mine

    info_file = out / "ce.json"
    if info_file.exists() and not retrain:
        return json.loads(info_file.read_text())
    qids = sorted(train.judged_queries())
    queries = [train.queries[q] for q in qids]
    gold = [[train.corpus[d] for d, g in train.qrels[q].items() if g > 0] for q in qids]
    pool = sorted(set(train.corpus.values()))
    mined = mine(load("default", max_seq_length=128), queries, gold, pool, MiningConfig(negatives=1))
    hard = [[pool[i] for i in negs] for negs in mined.negatives]
    rows = labelled_pairs(queries, [g[0] for g in gold], pool, negatives_per=1, hard=hard)
    _, info = train_cross_encoder("default", rows, out / "ce", max_steps=steps, max_length=CE_MAX_LENGTH,
                                  learning_rate=2e-5, batch_size=16)
    info_file.write_text(json.dumps(info, indent=1))
    return info


def build_store(test, out: Path) -> str:
    from densefit.index import Index

    path = out / "store"
    if (out / "store.done").exists():
        return str(path)
    ids = sorted(test.corpus)
    with Index.open(str(path), model="default", create=True) as idx:
        idx.upsert(ids, [test.corpus[d] for d in ids])
    (out / "store.done").write_text("ok")
    return str(path)


def serve(store: str, ce: str, top_n: int) -> tuple[subprocess.Popen, int]:
    port = free_port()
    cmd = [sys.executable, "-c", "from densefit.cli.app import main; main()", "serve", "--model", "default",
           "--store", store, "--reranker", ce, "--rerank-top-n", str(top_n), "--port", str(port),
           "--log-level", "warning", "--no-access-log"]
    proc = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    wait_ready(port, proc)
    return proc, port


def ask(client, port: int, query: str, k: int, rerank: bool) -> tuple[dict, float]:
    start = time.perf_counter()
    r = client.post(f"http://127.0.0.1:{port}/search", json={"query": query, "k": k, "rerank": rerank})
    ms = (time.perf_counter() - start) * 1000
    r.raise_for_status()
    return r.json(), ms


def stage_run(port: int, queries: dict[str, str], k: int, rerank: bool) -> dict:
    """Every query once, one at a time: the run (qid -> {doc: score}), client latencies, server timings."""
    import httpx

    run, lat, timings = {}, [], {"embed_ms": [], "search_ms": [], "rerank_ms": []}
    with httpx.Client(timeout=600) as client:
        ask(client, port, "warm-up query", k, rerank)
        for qid, text in queries.items():
            body, ms = ask(client, port, text, k, rerank)
            run[qid] = {h["id"]: float(len(body["hits"]) - i) for i, h in enumerate(body["hits"])}
            lat.append(ms)
            for key in timings:
                if key in body["timings"]:
                    timings[key].append(body["timings"][key])
    return {"run": run, "latency_ms": lat, "timings": {k: float(np.median(v)) for k, v in timings.items() if v}}


def scores(run: dict, qrels: dict, n: int) -> dict:
    from densefit.evaluation.metrics import retrieval_metrics

    m = retrieval_metrics(run, qrels, ks=sorted({10, n}))
    return {**{k: m[k] for k in KEYS}, f"recall@{n}": m[f"recall@{n}"]}


def measure(store: str, ce: str, top_n: int, queries: dict[str, str], qrels: dict) -> dict:
    proc, port = serve(store, ce, top_n)
    try:
        first = stage_run(port, queries, top_n, rerank=False)   # bi-encoder only, top N
        first["run"] = {q: dict(list(h.items())[:top_n]) for q, h in first["run"].items()}
        second = stage_run(port, queries, 10, rerank=True)      # top N reranked, top 10 kept
    finally:
        exit_code = stop(proc)
    top10 = {q: dict(list(h.items())[:10]) for q, h in first["run"].items()}
    return {"top_n": top_n, "exit_code": exit_code,
            "bi_encoder": {**scores(top10, qrels, 10), f"recall@{top_n}": scores(first["run"], qrels, top_n)
                           [f"recall@{top_n}"], **latency(first)},
            "reranked": {**scores(second["run"], qrels, 10), **latency(second)}}


def latency(stage: dict) -> dict:
    lat = np.asarray(stage["latency_ms"])
    return {"p50_ms": float(np.percentile(lat, 50)), "p99_ms": float(np.percentile(lat, 99)),
            "server": stage["timings"]}


def section(results: list[dict], ce: dict, n_queries: int, command: str) -> str:
    rows, verdicts = [], []
    for r in results:
        n, b, s = r["top_n"], r["bi_encoder"], r["reranked"]
        rows.append(f"| bi-encoder (MiniLM, top {n} fetched) | {b['mrr@10']:.4f} | {b['ndcg@10']:.4f} | "
                    f"{b['recall@10']:.4f} | {b['recall@' + str(n)]:.4f} | {b['p50_ms']:.1f} | {b['p99_ms']:.1f} | "
                    f"{_split(b['server'])} |")
        rows.append(f"| + cross-encoder rerank of top {n} | {s['mrr@10']:.4f} | {s['ndcg@10']:.4f} | "
                    f"{s['recall@10']:.4f} | - | {s['p50_ms']:.1f} | {s['p99_ms']:.1f} | {_split(s['server'])} |")
        gain = s["mrr@10"] - b["mrr@10"]
        verdicts.append(f"- top {n}: reranking changes MRR@10 by {gain:+.4f} and adds "
                        f"{s['p50_ms'] - b['p50_ms']:.0f} ms at p50: **{'better' if gain > 0 else 'NOT better'}** "
                        "than the bi-encoder alone")
    return f"""{BEGIN}
## Serve-time reranking: quality and latency of both stages (`bench/rerank.py`)

- command: `{command}`
- date: {dt.date.today().isoformat()}
- machine: {machine()}; server and client share the cores, one request at a time
- data: man-page test split, {n_queries} queries (seeded sample) against the full {{corpus}}-page corpus,
  indexed with zero-shot MiniLM (local store, exact search at this size)
- reranker: no pretrained cross-encoder is reachable offline, so one was **trained here** from MiniLM with a
  new 1-logit head on the train split ({ce['pairs']} rows: gold pairs + one MiniLM-mined hard negative each),
  {ce['steps']} steps, batch 16, max_length {CE_MAX_LENGTH}, {ce['seconds']:.0f} s. A real pretrained reranker
  (`--reranker cross-encoder/ms-marco-MiniLM-L-6-v2` where the hub is reachable) would be the fair test.

| stage | MRR@10 | nDCG@10 | recall@10 | recall@N | client p50 ms | client p99 ms | server split (median ms) |
|---|---|---|---|---|---|---|---|
{chr(10).join(rows)}

{chr(10).join(verdicts)}
{END}"""


def _split(timings: dict) -> str:
    return ", ".join(f"{k.removesuffix('_ms')} {v:.1f}" for k, v in timings.items())


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="20 queries, 20 CE steps, N = 10 only, no doc")
    p.add_argument("--queries", type=int, default=200, help="test queries (a seeded sample)")
    p.add_argument("--top-n", default="10,30", help="comma-separated bi-encoder depths to rerank")
    p.add_argument("--ce-steps", type=int, default=63, help="cross-encoder training steps (batch 16; 63 = 1 epoch)")
    p.add_argument("--retrain", action="store_true", help="train the cross-encoder again")
    p.add_argument("--out", default="bench-out/rerank")
    args = p.parse_args()
    out = Path(args.out) / ("quick" if args.quick else "full")
    out.mkdir(parents=True, exist_ok=True)
    train, test = ir_set(Path(args.out))
    line("cross-encoder: training or reading the cached one ...")
    ce = train_reranker(train, out, 20 if args.quick else args.ce_steps, args.retrain)
    line(f"indexing the {len(test.corpus):,} test documents ...")
    store = build_store(test, out)
    qids = sorted(test.judged_queries())
    random.Random(0).shuffle(qids)
    qids = sorted(qids[:20 if args.quick else args.queries])
    queries, qrels = {q: test.queries[q] for q in qids}, {q: test.qrels[q] for q in qids}
    depths = [10] if args.quick else [int(n) for n in args.top_n.split(",")]
    results = []
    for n in depths:
        line(f"measuring both stages through the server, rerank depth {n}, {len(queries)} queries ...")
        results.append(measure(store, ce["path"], n, queries, qrels))
        r = results[-1]
        line(f"depth {n}: MRR@10 {r['bi_encoder']['mrr@10']:.4f} -> {r['reranked']['mrr@10']:.4f} reranked, "
             f"p50 {r['bi_encoder']['p50_ms']:.0f} -> {r['reranked']['p50_ms']:.0f} ms")
    (out / "results.json").write_text(json.dumps({"ce": ce, "results": results}, indent=1))
    command = ".venv/bin/python bench/rerank.py " + " ".join(sys.argv[1:])
    text = section(results, ce, len(qids), command.strip()).replace("{corpus}", f"{len(test.corpus):,}")
    print(text)
    if not args.quick:
        common.write_section(text, BEGIN, END)
        print(f"wrote the RERANK section of {DOC}")


if __name__ == "__main__":
    main()
