"""AugSBERT for a small labelled set of (query, document) pairs.

1. train a cross-encoder on the gold pairs (positives = 1, a BM25 neighbour or random document = 0),
   or use --cross-encoder;
2. sample new pairs for every gold query: BM25 neighbours from the corpus (--corpus, else the
   gold documents) plus random documents, `silver_per_query` in all;
3. label them with the cross-encoder into a silver set (sigmoid scores, saved to OUT/silver.jsonl);
4. train the bi-encoder on gold plus silver. With the default MNR loss a silver pair the
   cross-encoder calls relevant (>= 0.5) becomes an extra positive, and the highest-ranked silver
   document it calls irrelevant becomes the query's hard negative. With --loss cosent or cosine,
   gold (1.0) and silver (their scores) train as scored pairs.
"""

from __future__ import annotations

import math
import random
from pathlib import Path

from densefit.config import TrainConfig
from densefit.console import say
from densefit.io import write_jsonl_atomic
from densefit.methods.common import (FitResult, Stages, evaluate_before, finish_run, load_base_model,
                                     train_columns)
from densefit.methods.losses import LOSSES
from densefit.methods.mining import group_pairs

CROSS_ENCODER_DIR, SILVER_FILE = "cross-encoder", "silver.jsonl"
RELEVANT = 0.5
SCORED_LOSSES = tuple(name for name, spec in LOSSES.items() if spec.kinds == ("scored",))  # cosine, cosent


def pool_documents(cfg: TrainConfig, gold_docs: list[str]) -> list[str]:
    from densefit.data.corpus import load_corpus

    extra = load_corpus(cfg.corpus).texts if cfg.corpus else []
    if cfg.max_passages and len(extra) > cfg.max_passages:
        extra = random.Random(cfg.seed).sample(extra, cfg.max_passages)
    return list(dict.fromkeys(gold_docs + extra))


def sample_candidates(queries: list[str], gold: list[list[str]], pool: list[str], per_query: int,
                      seed: int) -> list[list[str]]:
    """New documents per query: BM25 neighbours first (half), random ones after, never a gold document."""
    from densefit.methods.retrievers import retrieve

    rng = random.Random(seed)
    n_bm25 = max(1, per_query - per_query // 2)
    ranked = retrieve("bm25", queries, pool, n_bm25 + 10)
    out = []
    for q_gold, row in zip(gold, ranked):
        picked = [pool[d] for d in row if pool[d] not in q_gold][:n_bm25]
        while len(picked) < per_query and len(pool) > len(q_gold) + len(picked):
            cand = pool[rng.randrange(len(pool))]
            if cand not in q_gold and cand not in picked:
                picked.append(cand)
        out.append(picked)
    return out


def label_silver(ce, queries: list[str], candidates: list[list[str]]) -> list[dict]:
    from densefit.methods.cross_encoder import raw_scores

    pairs = [(q, d) for q, docs in zip(queries, candidates) for d in docs]
    logits = raw_scores(ce, pairs)
    return [{"query": q, "document": d, "logit": round(s, 4), "score": round(1 / (1 + math.exp(-s)), 4)}
            for (q, d), s in zip(pairs, logits)]


def mnr_columns(queries: list[str], gold: list[list[str]], silver: list[dict]) -> dict[str, list]:
    """Gold plus silver positives, each row with its query's hardest silver negative."""
    by_query: dict[str, list[dict]] = {}
    for row in silver:
        by_query.setdefault(row["query"], []).append(row)
    cols = {"anchor": [], "positive": [], "negative": []}
    for q, docs in zip(queries, gold):
        rows = by_query.get(q, [])
        negs = [r["document"] for r in rows if r["score"] < RELEVANT]  # BM25 order: hardest first
        positives = docs + [r["document"] for r in rows if r["score"] >= RELEVANT]
        for p in positives:
            cols["anchor"].append(q), cols["positive"].append(p), cols["negative"].append(negs[0] if negs else None)
    if any(n is None for n in cols["negative"]):
        cols.pop("negative")
    return cols


def scored_columns(queries: list[str], gold: list[list[str]], silver: list[dict]) -> dict[str, list]:
    s1 = [q for q, docs in zip(queries, gold) for _ in docs] + [r["query"] for r in silver]
    s2 = [d for docs in gold for d in docs] + [r["document"] for r in silver]
    scores = [1.0] * (len(s1) - len(silver)) + [r["score"] for r in silver]
    return {"sentence1": s1, "sentence2": s2, "score": scores}


def train_cross_encoder_on_gold(cfg: TrainConfig, queries, gold, pool, stages: Stages):
    from densefit.methods.cross_encoder import get_cross_encoder, labelled_pairs

    flat_q = [q for q, docs in zip(queries, gold) for _ in docs]
    flat_d = [d for docs in gold for d in docs]
    with stages.stage("cross-encoder") as info:
        hard = sample_candidates(flat_q, [[d] for d in flat_d], pool, 2, cfg.seed + 1)
        rows = lambda: labelled_pairs(flat_q, flat_d, pool, negatives_per=2, hard=hard, seed=cfg.seed)  # noqa: E731
        ce, ce_info = get_cross_encoder(cfg.cross_encoder, cfg.model, rows, Path(cfg.out) / CROSS_ENCODER_DIR,
                                        epochs=cfg.cross_encoder_epochs, max_steps=cfg.cross_encoder_steps,
                                        max_length=cfg.max_seq_length or 256, seed=cfg.seed)
        info.update(ce_info)
    return ce, ce_info


def run(cfg: TrainConfig, callbacks: list | None = None) -> FitResult:
    from densefit.methods.supervised import load_data

    stages = Stages()
    with stages.stage("load") as info:
        data = load_data(cfg)
        if data.kind != "retrieval":
            from densefit.errors import ConfigError

            raise ConfigError(f"augsbert needs (query, document) pairs; {cfg.train} holds {data.kind} data. "
                              "Fix: use --method supervised for scored or NLI data")
        queries, gold = group_pairs(data.columns["anchor"], data.columns["positive"])
        pool = pool_documents(cfg, [d for docs in gold for d in docs])
        model = load_base_model(cfg)
        info.update(gold_pairs=len(data), queries=len(queries), pool_documents=len(pool))
    target, before = evaluate_before(cfg, model)
    ce, ce_info = train_cross_encoder_on_gold(cfg, queries, gold, pool, stages)
    with stages.stage("silver") as info:
        silver = label_silver(ce, queries, sample_candidates(queries, gold, pool, cfg.silver_per_query, cfg.seed))
        write_jsonl_atomic(Path(cfg.out) / SILVER_FILE, silver)
        info.update(pairs=len(silver), relevant=sum(r["score"] >= RELEVANT for r in silver),
                    file=str(Path(cfg.out) / SILVER_FILE))
    say(f"silver: {info['pairs']} new pairs labelled, {info['relevant']} called relevant by the cross-encoder")
    scored = cfg.loss in SCORED_LOSSES
    columns = scored_columns(queries, gold, silver) if scored else mnr_columns(queries, gold, silver)
    outcome, loss_info = train_columns(cfg, model, columns, kind="scored" if scored else "retrieval",
                                       loss=cfg.loss if scored else (cfg.loss or "mnr"), stages=stages,
                                       callbacks=callbacks)
    summary = {"gold": {"pairs": len(data), "queries": len(queries)}, "silver": info, "pool": len(pool),
               "cross_encoder": ce_info}
    return finish_run(cfg, model, outcome, stages, target=target, before=before, data=summary, loss=loss_info)
