"""What every training method shares: load, evaluate before, train, evaluate after, write train.json.

How to add a method
-------------------
1. Write `densefit/methods/NAME.py` with

       def run(cfg: TrainConfig, callbacks: list | None = None) -> FitResult:
           stages = Stages()                       # timings of each stage go into train.json
           model = load_base_model(cfg)
           target, before = evaluate_before(cfg, model)
           with stages.stage("prepare") as info:   # any JSON-able details: info["rows"] = ...
               columns = ...
           outcome, loss_info = train_columns(cfg, model, columns, stages=stages, callbacks=callbacks)
           # (or build your own loss + datasets.Dataset and call densefit.train.run.train inside
           #  `with stages.stage("train"):`)
           return finish_run(cfg, model, outcome, stages, target=target, before=before,
                             data={...what the method trained on...}, loss=loss_info)

   `callbacks` is optional in the signature: the dispatcher passes it only when given.
2. Add one line to METHODS in densefit/methods/registry.py: "NAME": "densefit.methods.NAME:run".
3. If `--method auto` should pick it, add a rule to densefit/methods/auto.py and to the table
   in docs/methods.md.

Every method thereby writes the same OUT/model folder and OUT/train.json: the supervised keys
(config, model, data, loss, precision, train, eval, metrics_before/after, timings) plus a
"method" block {name, reason, stages: [{name, seconds, ...details}]}.
"""

from __future__ import annotations

import contextlib
import contextvars
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from densefit.config import TrainConfig
from densefit.console import say
from densefit.evaluation.targets import EvalOutcome, eval_info, evaluate_encoder, headline, load_eval_data
from densefit.inference.select import as_encoder
from densefit.io import write_json_atomic

TRAIN_JSON = "train.json"
_REASON: contextvars.ContextVar[str] = contextvars.ContextVar("densefit_method_reason", default="as requested")


@dataclass
class FitResult:
    run_dir: Path
    model_path: Path
    metrics_before: dict[str, float]
    metrics_after: dict[str, float]
    train_json: Path
    runs_before: dict | None = None
    runs_after: dict | None = None
    summary: dict = field(default_factory=dict)


@contextlib.contextmanager
def method_reason(reason: str) -> Iterator[None]:
    """Record why the running method was chosen (the auto chooser sets this)."""
    token = _REASON.set(reason)
    try:
        yield
    finally:
        _REASON.reset(token)


class Stages:
    """Named, timed stages of one method run; each stage may carry JSON-able details."""

    def __init__(self) -> None:
        self.start = time.perf_counter()
        self.items: list[dict[str, Any]] = []

    @contextlib.contextmanager
    def stage(self, name: str) -> Iterator[dict[str, Any]]:
        details: dict[str, Any] = {}
        t0 = time.perf_counter()
        say(f"[bold]stage[/bold] {name}")
        try:
            yield details
        finally:
            self.items.append({"name": name, "seconds": round(time.perf_counter() - t0, 3), **details})

    def elapsed(self) -> float:
        return time.perf_counter() - self.start


def load_base_model(cfg: TrainConfig, model: str | None = None):
    """The base model, with --query-prompt / --document-prompt set on it: the before and after scores, mining
    and the saved model folder (config_sentence_transformers.json) all use them."""
    from densefit.models import load_model

    loaded = load_model(model or cfg.model, max_seq_length=cfg.max_seq_length, trust_remote_code=cfg.trust_remote_code)
    given = {"query": cfg.query_prompt, "document": cfg.document_prompt}
    if any(given.values()):
        loaded.prompts = {**(loaded.prompts or {}), **{k: v for k, v in given.items() if v}}
    return loaded


def evaluate_before(cfg: TrainConfig, model) -> tuple[Any, EvalOutcome | None]:
    """Load the eval target (None without --eval) and score the untrained model on it."""
    if not cfg.eval:
        return None, None
    target = load_eval_data(cfg.eval)
    before = evaluate_encoder(as_encoder(model, precision=cfg.precision), target)
    say(f"before: {headline(before.metrics)}")
    return target, before


def evaluate_after(cfg: TrainConfig, model, target) -> EvalOutcome | None:
    if target is None:
        return None
    after = evaluate_encoder(as_encoder(model, precision=cfg.precision), target)
    say(f"after:  {headline(after.metrics)}")
    return after


def selection_evaluator(cfg: TrainConfig, target):
    """The evaluator that picks the best checkpoint: the dev split when there is one."""
    from densefit.data.beir import IRSet, available_splits, load_beir
    from densefit.evaluation.evaluator import RetrievalEvaluator

    if not cfg.eval_steps or not isinstance(target, IRSet):
        return None
    if "dev" in available_splits(target.path) and target.split != "dev":
        selection = load_beir(target.path, "dev")
    else:
        selection = target
        say(f"[yellow]note: selecting checkpoints on the '{target.split}' split, the same one reported; "
            "add qrels/dev.tsv for an unbiased after-score[/yellow]")
    return RetrievalEvaluator(selection, precision=cfg.precision)


def train_columns(cfg: TrainConfig, model, columns: dict[str, list], *, kind: str = "retrieval",
                  loss: str | None = None, stages: Stages | None = None, callbacks: list | None = None,
                  evaluator=None, extra_columns: dict[str, list] | None = None):
    """Train `model` on canonical columns with a registry loss; returns (TrainOutcome, loss info).

    `extra_columns` (e.g. negative_2..N for MNR) are appended after the loss's own columns.
    """
    from datasets import Dataset

    from densefit.methods.losses import build_loss, default_matryoshka_dims, get_spec
    from densefit.train.run import train

    spec, why = get_spec(loss if loss is not None else cfg.loss, kind)
    dims = cfg.matryoshka_dims or (default_matryoshka_dims(model.get_embedding_dimension())
                                   if cfg.loss == "matryoshka" else [])
    say(why + (f", wrapped in Matryoshka {dims}" if dims else ""))
    shaped = spec.shape(kind, columns)
    if extra_columns and spec.in_batch_negatives:
        shaped.update(extra_columns)
    built = build_loss(spec, model, dims)
    with (stages.stage("train") if stages else contextlib.nullcontext({})) as info:
        outcome = train(cfg, model, built, Dataset.from_dict(shaped), in_batch_negatives=spec.in_batch_negatives,
                        evaluator=evaluator, callbacks=callbacks)
        info.update(steps=outcome.steps, rows=outcome.train_rows)
    inner = built.loss if dims else built  # MatryoshkaLoss wraps the loss that names the run
    return outcome, {"name": spec.name, "class": type(inner).__name__, "reason": why,
                     "matryoshka_dims": cfg.matryoshka_dims}


def method_block(cfg: TrainConfig, stages: Stages) -> dict:
    return {"name": cfg.method, "reason": _REASON.get(), "stages": stages.items}


def finish_run(cfg: TrainConfig, model, outcome, stages: Stages, *, target=None, before: EvalOutcome | None = None,
               data: dict | None = None, loss: dict | None = None, recipe: dict | None = None) -> FitResult:
    """Evaluate after training, write OUT/train.json atomically and return the FitResult.

    `recipe` (the auto recipe's plan and what it shipped) goes into train.json and the report."""
    from densefit.models import resolve_model

    after = evaluate_after(cfg, model, target)
    summary = {
        "config": cfg.to_dict(),
        "method": method_block(cfg, stages),
        "model": {"base": cfg.model, "resolved": resolve_model(cfg.model),
                  "dimension": model.get_embedding_dimension(), "max_seq_length": model.max_seq_length},
        "data": data or {},
        "loss": loss or {},
        "precision": outcome.precision,
        "train": {"steps": outcome.steps, "rows": outcome.train_rows, "final_loss": outcome.final_loss,
                  "resumed_from": outcome.resumed_from, "best_checkpoint": outcome.best_checkpoint,
                  "log_history": outcome.log_history},
        "eval": eval_info(cfg.eval, target),
        "metrics_before": before.metrics if before else {},
        "metrics_after": after.metrics if after else {},
        "timings": {"train_s": outcome.seconds, "eval_before_s": before.seconds if before else 0.0,
                    "eval_after_s": after.seconds if after else 0.0, "total_s": stages.elapsed()},
    }
    if recipe is not None:
        summary["recipe"] = recipe
    train_json = Path(cfg.out) / TRAIN_JSON
    write_json_atomic(train_json, summary)
    result = FitResult(Path(cfg.out), outcome.model_path, summary["metrics_before"], summary["metrics_after"],
                       train_json, before.run if before else None, after.run if after else None, summary)
    from densefit.methods.merge import merge_step
    from densefit.report import write_run_report  # OUT/report.html + model card; a failure only warns

    write_run_report(cfg, result, model=model, target=target, merger=merge_step)
    return result


def method_corpus(cfg: TrainConfig):
    """The documents a corpus-only method trains on: --corpus, else a BEIR --train folder's corpus.

    `max_passages` > 0 keeps a seeded random sample of that many documents.
    """
    import random

    from densefit.data.beir import is_beir_dir
    from densefit.data.corpus import load_corpus
    from densefit.errors import ConfigError

    source = cfg.corpus or (cfg.train if cfg.train and is_beir_dir(cfg.train) else None)
    if not source:
        raise ConfigError(f"method '{cfg.method}' needs documents: pass --corpus FILE (a .txt file, a table with a "
                          "text column, or a BEIR folder)")
    corpus = load_corpus(source)
    if cfg.max_passages and len(corpus) > cfg.max_passages:
        keep = sorted(random.Random(cfg.seed).sample(range(len(corpus)), cfg.max_passages))
        corpus.ids, corpus.texts = [corpus.ids[i] for i in keep], [corpus.texts[i] for i in keep]
    say(f"corpus: {len(corpus)} documents from {source}")
    return corpus


