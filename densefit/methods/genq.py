"""GenQ: generate queries for each corpus document with a pluggable generator, then train with MNR."""

from __future__ import annotations

from pathlib import Path

from densefit.config import TrainConfig
from densefit.console import say
from densefit.io import write_jsonl_atomic
from densefit.methods.common import (FitResult, Stages, evaluate_before, finish_run, load_base_model,
                                     method_corpus, train_columns)

GENERATED_FILE = "generated_queries.jsonl"


def generate_pairs(cfg: TrainConfig, corpus, stages: Stages) -> tuple[dict[str, list], dict]:
    """(query, passage) columns from the generator, saved to OUT/generated_queries.jsonl for review."""
    from densefit.methods.generators.registry import build_generator

    with stages.stage("generate") as info:
        generator = build_generator(cfg)
        queries = generator.generate(corpus.texts, cfg.queries_per_passage)
        anchors, positives, rows = [], [], []
        for doc_id, text, qs in zip(corpus.ids, corpus.texts, queries):
            for q in qs:
                anchors.append(q), positives.append(text), rows.append({"_id": doc_id, "query": q})
        path = write_jsonl_atomic(Path(cfg.out) / GENERATED_FILE, rows)
        info.update(generator=generator.describe(), passages=len(corpus), queries=len(anchors), file=str(path),
                    examples=rows[:3])
    say(f"generated {len(anchors)} queries for {len(corpus)} passages ({path}); e.g. {[r['query'] for r in rows[:3]]}")
    return {"anchor": anchors, "positive": positives}, info


def run(cfg: TrainConfig, callbacks: list | None = None) -> FitResult:
    stages = Stages()
    with stages.stage("load") as info:
        corpus = method_corpus(cfg)
        model = load_base_model(cfg)
        info.update(corpus.summary())
    target, before = evaluate_before(cfg, model)
    columns, gen_info = generate_pairs(cfg, corpus, stages)
    outcome, loss_info = train_columns(cfg, model, columns, loss=cfg.loss or "mnr", stages=stages,
                                       callbacks=callbacks)
    data = {"corpus": corpus.summary(), "generated": {k: v for k, v in gen_info.items() if k != "examples"}}
    return finish_run(cfg, model, outcome, stages, target=target, before=before, data=data, loss=loss_info)
