"""GPL: generated queries, negatives from one or more retrievers, cross-encoder margins, MarginMSE.

1. queries per corpus document from the generator (as GenQ);
2. for each query, a hard negative sampled from the top `mine_depth` of each retriever in
   `retrievers` (the base model itself, BM25), never the query's own document;
3. pseudo-labels: the cross-encoder's raw logit margin CE(q, pos) - CE(q, neg), not sigmoid scores;
   with no --cross-encoder (the offline case) one is trained here on the generated pairs, and the
   log and train.json say so;
4. MarginMSE training. The bi-encoder's similarity is cosine times a scale chosen so that the
   95th-percentile |margin| corresponds to a cosine gap of 1 (normalised models cannot reach
   logit-sized dot products); the scale is recorded in train.json.
"""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np

from densefit.config import TrainConfig
from densefit.console import say
from densefit.methods.common import (FitResult, Stages, evaluate_before, finish_run, load_base_model,
                                     method_corpus)

CROSS_ENCODER_DIR = "cross-encoder"


WEAK_MARGIN = 0.1  # mean logit margin below which a cross-encoder teaches almost nothing
WEAK_REVERSED = 0.3  # share of pairs where it prefers the mined negative

def sample_negatives(queries: list[str], sources: list[int], docs: list[str], cfg: TrainConfig, encoder,
                     stages: Stages) -> list[int]:
    """One negative per query, drawn from the union of the retrievers' top lists (minus the source)."""
    from densefit.methods.retrievers import retrieve

    with stages.stage("mine") as info:
        pools = [set() for _ in queries]
        for name in cfg.retrievers:
            for i, row in enumerate(retrieve(name, queries, docs, cfg.mine_depth, encoder=encoder,
                                             index=cfg.mine_index)):
                pools[i].update(d for d in row[cfg.mine_skip_top:] if d != sources[i] and docs[d] != docs[sources[i]])
        rng = random.Random(cfg.seed)
        negatives = [rng.choice(sorted(p)) if p else _random_other(rng, len(docs), sources[i])
                     for i, p in enumerate(pools)]
        info.update(retrievers=list(cfg.retrievers), depth=cfg.mine_depth,
                    queries_without_candidates=sum(1 for p in pools if not p))
    return negatives


def _random_other(rng: random.Random, n: int, avoid: int) -> int:
    d = rng.randrange(n)
    return d if d != avoid or n == 1 else (d + 1) % n


def pseudo_labels(cfg: TrainConfig, queries, positives, negatives, stages: Stages) -> tuple[list[float], dict]:
    from densefit.methods.cross_encoder import get_cross_encoder, labelled_pairs, raw_scores

    with stages.stage("cross-encoder") as info:
        rows = lambda: labelled_pairs(queries, positives, positives, hard=[[n] for n in negatives],  # noqa: E731
                                      seed=cfg.seed)
        ce, ce_info = get_cross_encoder(cfg.cross_encoder, cfg.model, rows, Path(cfg.out) / CROSS_ENCODER_DIR,
                                        epochs=cfg.cross_encoder_epochs, max_steps=cfg.cross_encoder_steps,
                                        max_length=cfg.max_seq_length or 256, seed=cfg.seed)
        info.update(ce_info)
    with stages.stage("label") as info:
        pos = np.array(raw_scores(ce, list(zip(queries, positives))))
        neg = np.array(raw_scores(ce, list(zip(queries, negatives))))
        margins = (pos - neg).tolist()
        info.update(margin_mean=round(float(np.mean(margins)), 4), margin_p5=round(float(np.percentile(margins, 5)), 4),
                    margin_p95=round(float(np.percentile(margins, 95)), 4),
                    negative_margins=int(sum(m < 0 for m in margins)))
    say(f"pseudo-labels: {len(margins)} margins, mean {info['margin_mean']:.3f}, "
        f"{info['negative_margins']} where the cross-encoder prefers the mined negative")
    if weak_teacher(margins):
        say("[yellow]warning: the cross-encoder barely separates positives from negatives (mean margin "
            f"{info['margin_mean']:.3f}); MarginMSE on such labels can collapse the model (measured on man pages: "
            "MRR@10 0.58 -> about 0.1). Pass a trained cross-encoder with --cross-encoder, or use --method genq.[/yellow]")
    return margins, ce_info


def weak_teacher(margins: list[float]) -> bool:
    """True when the pseudo-labels carry almost no signal: a small mean margin or many reversed pairs."""
    values = np.asarray(margins)
    return abs(float(values.mean())) < WEAK_MARGIN or float((values < 0).mean()) > WEAK_REVERSED


def margin_scale(margins: list[float]) -> float:
    return max(1.0, float(np.percentile(np.abs(margins), 95)))


def train_margin_mse(cfg: TrainConfig, model, columns: dict, stages: Stages, callbacks):
    from datasets import Dataset
    from sentence_transformers.sentence_transformer.losses import MarginMSELoss
    from sentence_transformers.util import pairwise_cos_sim

    from densefit.train.run import train

    scale = margin_scale(columns["label"])
    loss = MarginMSELoss(model, similarity_fct=lambda a, b: scale * pairwise_cos_sim(a, b))
    with stages.stage("train") as info:
        outcome = train(cfg, model, loss, Dataset.from_dict(columns), callbacks=callbacks)
        info.update(steps=outcome.steps, rows=outcome.train_rows)
    return outcome, {"name": "margin-mse", "reason": "GPL: MarginMSE on cross-encoder logit margins",
                     "similarity": f"{scale:.3f} * cosine", "matryoshka_dims": []}


def run(cfg: TrainConfig, callbacks: list | None = None) -> FitResult:
    from densefit.inference.select import as_encoder
    from densefit.methods.genq import generate_pairs

    stages = Stages()
    with stages.stage("load") as info:
        corpus = method_corpus(cfg)
        model = load_base_model(cfg)
        info.update(corpus.summary())
    target, before = evaluate_before(cfg, model)
    generated, gen_info = generate_pairs(cfg, corpus, stages)
    index_of = {t: i for i, t in enumerate(corpus.texts)}
    sources = [index_of[p] for p in generated["positive"]]
    negs = sample_negatives(generated["anchor"], sources, corpus.texts, cfg, as_encoder(model, precision=cfg.precision),
                            stages)
    negatives = [corpus.texts[d] for d in negs]
    margins, ce_info = pseudo_labels(cfg, generated["anchor"], generated["positive"], negatives, stages)
    columns = {"anchor": generated["anchor"], "positive": generated["positive"], "negative": negatives,
               "label": margins}
    outcome, loss_info = train_margin_mse(cfg, model, columns, stages, callbacks)
    data = {"corpus": corpus.summary(), "generated": {k: v for k, v in gen_info.items() if k != "examples"},
            "cross_encoder": ce_info}
    return finish_run(cfg, model, outcome, stages, target=target, before=before, data=data, loss=loss_info)
