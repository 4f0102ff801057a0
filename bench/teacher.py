"""An offline cross-encoder teacher, leave-one-domain-out: does reranking with it beat the bi-encoder?

    .venv/bin/python bench/teacher.py                              # held out: manpages, pydocs; 12 min each
    .venv/bin/python bench/teacher.py --held-out manpages --budget 3m --queries 50   # a short look

No pretrained cross-encoder is reachable offline, and one trained on a single domain's ~1,000 pairs learns
nothing (RERANK section). So for each held-out domain H:
1. The labelled *train* pairs of every other counted domain of bench/quality.py are pooled: up to
   --pairs-per-domain queries each, every gold pair labelled 1, one MiniLM-mined hard negative (false-negative
   filters on) and one random document of the same domain labelled 0. H's data is never read for training.
2. A cross-encoder is trained from MiniLM with a new 1-logit head (densefit.methods.cross_encoder) for as
   many steps as --budget allows; the step time is measured on real batches first, so the linear schedule
   ends where the budget does.
3. On H's test split (a seeded sample of --queries), zero-shot MiniLM retrieves the top --top from the whole
   corpus; the cross-encoder reorders them. MRR@10 (ties count against the relevant document) of both, with
   a paired-bootstrap CI, and the cross-encoder's cost per query.
Mined rows and trained models are cached in bench-out/teacher/ (--fresh redoes them). Writes the TEACHER
section of docs/benchmarks.md; every sentence of it is computed from this run's figures.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import time
from pathlib import Path

import numpy as np

import common  # noqa: E402  (bench/common.py: machine line, sections)
from progress import line  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench-out" / "teacher"
BEGIN, END = "<!-- TEACHER:BEGIN -->", "<!-- TEACHER:END -->"
CE_MAX_LENGTH = 128     # shorter than the bi-encoder's 256: twice the training steps in the same budget
BATCH = 16
POOL_DOCS = 1500        # documents of a domain's train split that mining searches (its gold ones included)
TIMED_BATCHES = 3       # real batches timed (forward + backward) before the budget becomes steps; first dropped
STEP_OVERHEAD = 1.15    # trainer bookkeeping on top of the timed forward + backward


def domains():
    sys.path.insert(0, str(ROOT / "bench"))
    import quality

    return quality


def domain_rows(name: str, per_domain: int, encoder, fresh: bool) -> dict[str, list]:
    """Labelled cross-encoder rows from one domain's train split (cached as JSON)."""
    from densefit.data.beir import load_beir
    from densefit.methods.cross_encoder import labelled_pairs
    from densefit.methods.mining import MiningConfig, mine

    path = OUT / "rows" / f"{name}.json"
    if path.is_file() and not fresh:
        return json.loads(path.read_text())
    train = load_beir(domains().domain_dir(name), "train")
    rng = random.Random(0)
    qids = sorted(train.judged_queries())
    qids = rng.sample(qids, min(per_domain, len(qids)))
    gold = [[train.corpus[d] for d, g in train.qrels[q].items() if g > 0] for q in qids]
    others = sorted(set(train.corpus.values()) - {t for g in gold for t in g})
    pool = sorted({t for g in gold for t in g} | set(rng.sample(others, max(0, min(len(others),
                                                                                   POOL_DOCS - len(gold))))))
    queries = [train.queries[q] for q in qids]
    mined = mine(encoder, queries, gold, pool, MiningConfig(negatives=1))
    hard = [[pool[i] for i in negs] for negs in mined.negatives]
    rows = labelled_pairs(queries, [g[0] for g in gold], pool, negatives_per=2, hard=hard, seed=0)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(rows, ensure_ascii=False))
    return rows


def pooled(names: list[str], per_domain: int, encoder, fresh: bool) -> tuple[dict[str, list], dict[str, int]]:
    rows, counts = {"query": [], "document": [], "label": []}, {}
    for name in names:
        part = domain_rows(name, per_domain, encoder, fresh)
        counts[name] = len(part["label"])
        for key in rows:
            rows[key] += part[key]
    order = random.Random(1).sample(range(len(rows["label"])), len(rows["label"]))
    return {k: [v[i] for i in order] for k, v in rows.items()}, counts


def step_seconds(rows: dict[str, list]) -> float:
    """Median seconds of forward + backward over real batches of `rows` (the first, warming up, dropped)."""
    import torch

    from densefit.methods.cross_encoder import load_cross_encoder

    ce = load_cross_encoder("default", max_length=CE_MAX_LENGTH, num_labels=1)
    model, tok = ce.model, ce.tokenizer
    model.train()
    times = []
    for b in range(TIMED_BATCHES):
        sl = slice(b * BATCH, (b + 1) * BATCH)
        enc = tok(rows["query"][sl], rows["document"][sl], truncation=True, max_length=CE_MAX_LENGTH,
                  padding=True, return_tensors="pt")
        t = time.perf_counter()
        model(**enc).logits.float().pow(2).mean().backward()
        times.append(time.perf_counter() - t)
        model.zero_grad(set_to_none=True)
    return float(np.median(times[1:])) * STEP_OVERHEAD


def train_teacher(held_out: str, train_names: list[str], args, encoder) -> dict:
    from densefit.methods.cross_encoder import train_cross_encoder

    folder = OUT / f"ce-without-{held_out}"
    info_file = folder.with_suffix(".json")
    if info_file.is_file() and not args.fresh:
        return json.loads(info_file.read_text())
    rows, counts = pooled(train_names, args.pairs_per_domain, encoder, args.fresh)
    per_step = step_seconds(rows)
    steps = max(1, int(args.budget_s / per_step))
    line(f"teacher without {held_out}: {len(rows['label'])} rows from {len(counts)} domains, "
         f"{per_step:.2f} s/step measured -> {steps} steps in {args.budget_s:.0f} s")
    shutil.rmtree(folder, ignore_errors=True)
    _, info = train_cross_encoder("default", rows, folder, max_steps=steps, batch_size=BATCH,
                                  max_length=CE_MAX_LENGTH, learning_rate=2e-5)
    info.update(rows_per_domain=counts, step_s=per_step, budget_s=args.budget_s,
                epochs=steps * BATCH / len(rows["label"]))
    info_file.write_text(json.dumps(info, indent=1))
    return info


def rerank_eval(held_out: str, ce_path: str, args, encoder) -> dict:
    """Zero-shot MiniLM top-N over H's whole corpus, then the cross-encoder's order; per-query MRR@10."""
    from densefit.data.beir import load_beir
    from densefit.evaluation.metrics import per_query_metrics
    from densefit.methods.cross_encoder import load_cross_encoder, raw_scores
    from densefit.report.stats import paired_bootstrap_ci

    test = load_beir(domains().domain_dir(held_out), "test")
    qids = sorted(test.judged_queries())
    qids = sorted(random.Random(0).sample(qids, min(args.queries, len(qids))))
    qrels = {q: test.qrels[q] for q in qids}
    ids = sorted(test.corpus)
    d_emb = encoder.encode([test.corpus[d] for d in ids], kind="document", show_progress=False)
    q_emb = encoder.encode([test.queries[q] for q in qids], kind="query")
    sims = q_emb @ d_emb.T
    top = np.argsort(-sims, axis=1)[:, :args.top]
    first = {q: {ids[j]: float(sims[i, j]) for j in top[i]} for i, q in enumerate(qids)}
    ce = load_cross_encoder(ce_path, max_length=CE_MAX_LENGTH)
    t = time.perf_counter()
    second = {}
    for i, q in enumerate(qids):
        cands = [ids[j] for j in top[i]]
        scores = raw_scores(ce, [(test.queries[q], test.corpus[d]) for d in cands])
        second[q] = dict(zip(cands, scores))
    ce_ms = (time.perf_counter() - t) / len(qids) * 1000
    a = per_query_metrics(first, qrels, ks=(10, args.top))
    b = per_query_metrics(second, qrels, ks=(10,))
    mrr_a, mrr_b = [a["mrr@10"][q] for q in qids], [b["mrr@10"][q] for q in qids]
    low, high = paired_bootstrap_ci(mrr_a, mrr_b)
    return {"domain": held_out, "queries": len(qids), "docs": len(ids), "top": args.top,
            "bi_mrr": float(np.mean(mrr_a)), "ce_mrr": float(np.mean(mrr_b)), "ci": [low, high],
            "recall_top": float(np.mean([a[f"recall@{args.top}"][q] for q in qids])), "ce_ms_per_query": ce_ms}


def section(results: list[dict], args, note: str) -> str:
    rows, verdicts = [], []
    for r in results:
        e, t = r["eval"], r["teacher"]
        delta = e["ce_mrr"] - e["bi_mrr"]
        rows.append(f"| {e['domain']} | {', '.join(t['rows_per_domain'])} | {sum(t['rows_per_domain'].values())} | "
                    f"{t['steps']} ({t['epochs']:.2f} ep, {t['seconds']:.0f} s) | {e['queries']} / {e['docs']} | "
                    f"{e['recall_top']:.3f} | {e['bi_mrr']:.4f} | {e['ce_mrr']:.4f} | "
                    f"{delta:+.4f} [{e['ci'][0]:+.3f}, {e['ci'][1]:+.3f}] | {e['ce_ms_per_query']:.0f} |")
        better = e["ci"][0] > 0
        verdicts.append(f"- {e['domain']} (held out): reranking the top {e['top']} changes MRR@10 by {delta:+.4f}; "
                        + ("the CI lies above zero, so the teacher beats the bi-encoder here."
                           if better else "the CI does not lie above zero, so it does **not** beat the bi-encoder "
                           "here."))
    beats = [r["eval"]["domain"] for r in results if r["eval"]["ci"][0] > 0]
    verdict = (f"The teacher beats the bi-encoder on every held-out domain measured ({', '.join(beats)}), so it "
               "can be offered as a reranker and GPL teacher." if len(beats) == len(results) else
               f"It beats the bi-encoder on {len(beats)} of {len(results)} held-out domains, so it is not offered "
               "as `--reranker` nor as the GPL teacher of `build`; GPL stays marked \"needs a pretrained "
               "cross-encoder\".")
    return "\n".join([
        BEGIN, "## TEACHER: an offline cross-encoder, leave-one-domain-out (`bench/teacher.py`)", "",
        f"`{args.command}` — {common.machine()}, {common.today()}; {note}.", "",
        f"Trained from MiniLM (new 1-logit head), max_length {CE_MAX_LENGTH}, batch {BATCH}, lr 2e-5, for the "
        f"steps a {args.budget_s / 60:.0f}-minute budget allows, on the pooled train pairs of the other domains "
        f"(up to {args.pairs_per_domain} queries each: gold = 1, one MiniLM-mined hard and one random "
        f"negative = 0). Scored on the held-out domain's test split; first stage zero-shot MiniLM.", "",
        "| held out | trained on | rows | steps | queries / docs | recall@N | bi-encoder MRR@10 | reranked MRR@10 | "
        "Δ [95% CI] | CE ms/query |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        *rows, "", *verdicts, "", verdict, END])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--held-out", default="manpages,pydocs", help="comma-separated domains to hold out in turn")
    p.add_argument("--budget", default="12m", help="training time of each teacher, e.g. 12m")
    p.add_argument("--pairs-per-domain", type=int, default=400)
    p.add_argument("--queries", type=int, default=200, help="test queries of the held-out domain (seeded)")
    p.add_argument("--top", type=int, default=20, help="bi-encoder candidates the teacher reorders")
    p.add_argument("--fresh", action="store_true", help="mine and train again")
    args = p.parse_args()
    from densefit.api import load
    from densefit.config import parse_duration

    args.budget_s = parse_duration(args.budget, "budget")
    args.command = "python bench/teacher.py " + " ".join(sys.argv[1:])
    quality = domains()
    counted = quality.counted_domains()
    held = [n for n in args.held_out.split(",") if n]
    unknown = sorted(set(held) - set(counted))
    if unknown:
        raise SystemExit(f"unknown domain(s) {unknown}; known: {', '.join(counted)}")
    watch = common.SharedWatch()
    encoder = load("default")
    results = []
    for name in held:
        teacher = train_teacher(name, [n for n in counted if n != name], args, encoder)
        line(f"rerank eval on {name} ...")
        results.append({"teacher": teacher, "eval": rerank_eval(name, teacher["path"], args, encoder)})
        (OUT / "results.json").write_text(json.dumps(results, indent=1))
    text = section(results, args, watch.note())
    common.write_section(text, BEGIN, END)
    print(text)


if __name__ == "__main__":
    main()
