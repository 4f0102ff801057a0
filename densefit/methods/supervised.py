"""Supervised training on labelled data (pairs, triplets, scored pairs, NLI), optionally with mined negatives."""

from __future__ import annotations

import dataclasses

from densefit.config import TrainConfig
from densefit.console import say
from densefit.methods.common import (FitResult, Stages, evaluate_before, finish_run, load_base_model,
                                     selection_evaluator, train_columns)


def load_data(cfg: TrainConfig):
    from densefit.data.formats import load_training_data

    data = load_training_data(cfg.train, cfg.format, strict=cfg.strict, seed=cfg.seed)
    s = data.summary
    say(f"data: {s.path} as {s.format} ({s.kind}); {s.rows_kept} rows kept of {s.rows_read}; "
        f"dropped {s.empty_dropped} empty, {s.duplicates_dropped} duplicate")
    return data


def add_mined_negatives(cfg: TrainConfig, model, data, stages: Stages) -> tuple[dict, dict, dict]:
    """Columns with mined `negative` (plus negative_2..N) and what mining did."""
    from densefit.methods.mining import mine_for_columns

    with stages.stage("mine") as info:
        columns, extra, report = mine_for_columns(cfg, model, data.columns, data.kind)
        info.update(report)
    return columns, extra, report


def run(cfg: TrainConfig, callbacks: list | None = None) -> FitResult:
    """Load the data, evaluate, (mine), train, evaluate again, write OUT/train.json."""
    stages = Stages()
    with stages.stage("load") as info:
        data = load_data(cfg)
        model = load_base_model(cfg)
        info.update(rows=len(data), format=data.format)
    columns, extra, mined = data.columns, {}, None
    if cfg.mine:
        columns, extra, mined = add_mined_negatives(cfg, model, data, stages)
    target, before = evaluate_before(cfg, model)
    outcome, loss_info = train_columns(cfg, model, columns, kind=data.kind, stages=stages, callbacks=callbacks,
                                       evaluator=selection_evaluator(cfg, target), extra_columns=extra)
    summary = dataclasses.asdict(data.summary)
    if mined is not None:
        summary["mined"] = mined
    return finish_run(cfg, model, outcome, stages, target=target, before=before, data=summary, loss=loss_info)
