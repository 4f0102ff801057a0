"""The Python API: `fit`, `evaluate`, `load`. The CLI is a thin layer over these."""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from densefit.config import TrainConfig
from densefit.console import say
from densefit.data.beir import IRSet, is_beir_dir, load_beir
from densefit.errors import DataError
from densefit.evaluation.retrieval import RetrievalResult, evaluate_retrieval
from densefit.evaluation.sts import evaluate_sts
from densefit.inference.encoder import Encoder
from densefit.methods.losses import build_loss, default_matryoshka_dims, get_spec
from densefit.models import load_model, resolve_model
from densefit.train.checkpoints import write_json_atomic

TRAIN_JSON = "train.json"


@dataclass
class EvalOutcome:
    """Metrics of one model on one eval set, plus the ranked run for retrieval sets."""

    metrics: dict[str, float]
    kind: str
    seconds: float
    run: dict | None = None


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


def load(model: str = "default", **kwargs: Any) -> Encoder:
    """Load a model (`default`, a run or model folder, or a hub id) as an Encoder with `.encode()`."""
    precision = kwargs.pop("precision", "auto")
    return Encoder(load_model(model, **kwargs), precision=precision)


def load_eval_data(path: str | Path, split: str | None = None):
    """A BEIR folder gives an IRSet; a file of scored pairs gives STS columns."""
    if is_beir_dir(path):
        return load_beir(path, split)
    from densefit.data.formats import load_training_data

    data = load_training_data(path)
    if data.kind != "scored":
        raise DataError(f"cannot evaluate on {data.format} data", path=path,
                        expected="a BEIR-style folder (corpus.jsonl, queries.jsonl, qrels/) or an STS file "
                                 "(sentence1, sentence2, score)")
    return data


def evaluate_encoder(encoder: Encoder, target, ks=(1, 3, 5, 10, 100)) -> EvalOutcome:
    start = time.perf_counter()
    if isinstance(target, IRSet):
        result: RetrievalResult = evaluate_retrieval(encoder, target, ks=ks)
        return EvalOutcome(result.metrics, "retrieval", result.seconds, result.run)
    c = target.columns
    metrics = evaluate_sts(encoder, c["sentence1"], c["sentence2"], c["score"])
    return EvalOutcome(metrics, "sts", time.perf_counter() - start)


def evaluate(model: Any, data: str | Path, *, split: str | None = None, ks=(1, 3, 5, 10, 100),
             precision: str = "auto", max_seq_length: int | None = None) -> dict[str, float]:
    """Retrieval metrics on a BEIR folder, or Pearson/Spearman on an STS file."""
    encoder = model if isinstance(model, Encoder) else load(model, precision=precision, max_seq_length=max_seq_length)
    return evaluate_encoder(encoder, load_eval_data(data, split), ks).metrics


def _selection_evaluator(cfg: TrainConfig, target):
    """The evaluator that picks the best checkpoint: the dev split when there is one."""
    if not cfg.eval_steps or not isinstance(target, IRSet):
        return None
    from densefit.data.beir import available_splits
    from densefit.evaluation.evaluator import RetrievalEvaluator

    if "dev" in available_splits(target.path) and target.split != "dev":
        selection = load_beir(target.path, "dev")
    else:
        selection = target
        say(f"[yellow]note: selecting checkpoints on the '{target.split}' split, the same one reported; "
            "add qrels/dev.tsv for an unbiased after-score[/yellow]")
    return RetrievalEvaluator(selection, precision=cfg.precision)


def _prepare(cfg: TrainConfig):
    from datasets import Dataset

    from densefit.data.formats import load_training_data

    data = load_training_data(cfg.train, cfg.format, strict=cfg.strict, seed=cfg.seed)
    s = data.summary
    say(f"data: {s.path} as {s.format} ({s.kind}); {s.rows_kept} rows kept of {s.rows_read}; "
        f"dropped {s.empty_dropped} empty, {s.duplicates_dropped} duplicate")
    model = load_model(cfg.model, max_seq_length=cfg.max_seq_length, trust_remote_code=cfg.trust_remote_code)
    spec, why = get_spec(cfg.loss, data.kind)
    dims = cfg.matryoshka_dims or (default_matryoshka_dims(model.get_embedding_dimension())
                                   if cfg.loss == "matryoshka" else [])
    say(why + (f", wrapped in Matryoshka {dims}" if dims else ""))
    dataset = Dataset.from_dict(spec.shape(data.kind, data.columns))
    return data, model, spec, build_loss(spec, model, dims), dataset, why


def run_training(cfg: TrainConfig, callbacks: list | None = None) -> FitResult:
    """Load data and model, evaluate, train, evaluate again, and write OUT/train.json."""
    from densefit.train.run import train

    start = time.perf_counter()
    data, model, spec, loss, dataset, loss_reason = _prepare(cfg)
    target = load_eval_data(cfg.eval) if cfg.eval else None
    before = evaluate_encoder(Encoder(model, precision=cfg.precision), target) if target is not None else None
    if before:
        say(f"before: {_headline(before.metrics)}")
    outcome = train(cfg, model, loss, dataset, in_batch_negatives=spec.in_batch_negatives,
                    evaluator=_selection_evaluator(cfg, target), callbacks=callbacks)
    after = evaluate_encoder(Encoder(model, precision=cfg.precision), target) if target is not None else None
    if after:
        say(f"after:  {_headline(after.metrics)}")
    summary = {
        "config": cfg.to_dict(),
        "model": {"base": cfg.model, "resolved": resolve_model(cfg.model),
                  "dimension": model.get_embedding_dimension(), "max_seq_length": model.max_seq_length},
        "data": dataclasses.asdict(data.summary),
        "loss": {"name": spec.name, "reason": loss_reason, "matryoshka_dims": cfg.matryoshka_dims},
        "precision": outcome.precision,
        "train": {"steps": outcome.steps, "rows": outcome.train_rows, "final_loss": outcome.final_loss,
                  "resumed_from": outcome.resumed_from, "best_checkpoint": outcome.best_checkpoint,
                  "log_history": outcome.log_history},
        "eval": _eval_info(cfg.eval, target),
        "metrics_before": before.metrics if before else {},
        "metrics_after": after.metrics if after else {},
        "timings": {"train_s": outcome.seconds, "eval_before_s": before.seconds if before else 0.0,
                    "eval_after_s": after.seconds if after else 0.0, "total_s": time.perf_counter() - start},
    }
    train_json = Path(cfg.out) / TRAIN_JSON
    write_json_atomic(train_json, summary)
    return FitResult(Path(cfg.out), outcome.model_path, summary["metrics_before"], summary["metrics_after"],
                     train_json, before.run if before else None, after.run if after else None, summary)


def _eval_info(path, target) -> dict:
    if target is None:
        return {}
    if isinstance(target, IRSet):
        return {"path": str(path), "split": target.split, "queries": len(target.judged_queries()),
                "documents": len(target.corpus)}
    return {"path": str(path), "pairs": len(target)}


def _headline(metrics: dict[str, float]) -> str:
    keys = [k for k in ("mrr@10", "ndcg@10", "recall@100", "spearman", "pearson") if k in metrics]
    return ", ".join(f"{k} {metrics[k]:.4f}" for k in keys)


def fit(model: str = "default", train_data: str | Path = "", *, loss: str | None = None, epochs: float = 1.0,
        batch_size: int = 32, learning_rate: float = 5e-5, eval_data: str | Path | None = None,
        out: str | Path = "runs/densefit", callbacks: list | None = None, **options: Any) -> FitResult:
    """Fine-tune `model` on `train_data`; evaluates on `eval_data` before and after (Finetuner-style call)."""
    cfg = TrainConfig(model=model, train=str(train_data), loss=loss, epochs=epochs, batch_size=batch_size,
                      learning_rate=learning_rate, eval=str(eval_data) if eval_data else None, out=str(out),
                      **options)
    return run_training(cfg, callbacks=callbacks)
