"""Evaluation targets for training runs: load an IR set or STS file, score an encoder on it.

`densefit.api` re-exports these; methods use them to evaluate before and after training.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from densefit.data.beir import IRSet, is_beir_dir, load_beir
from densefit.errors import DataError
from densefit.evaluation.retrieval import RetrievalResult, evaluate_retrieval
from densefit.evaluation.sts import evaluate_sts
from densefit.inference.encoder import TextEncoder

HEADLINE_KEYS = ("mrr@10", "ndcg@10", "recall@100", "spearman", "pearson")


@dataclass
class EvalOutcome:
    """Metrics of one model on one eval set, plus the ranked run for retrieval sets."""

    metrics: dict[str, float]
    kind: str
    seconds: float
    run: dict | None = None


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


def evaluate_encoder(encoder: TextEncoder, target, ks=(1, 3, 5, 10, 100)) -> EvalOutcome:
    start = time.perf_counter()
    if isinstance(target, IRSet):
        result: RetrievalResult = evaluate_retrieval(encoder, target, ks=ks)
        return EvalOutcome(result.metrics, "retrieval", result.seconds, result.run)
    c = target.columns
    metrics = evaluate_sts(encoder, c["sentence1"], c["sentence2"], c["score"])
    return EvalOutcome(metrics, "sts", time.perf_counter() - start)


def eval_info(path, target) -> dict:
    if target is None:
        return {}
    if isinstance(target, IRSet):
        return {"path": str(path), "split": target.split, "queries": len(target.judged_queries()),
                "documents": len(target.corpus)}
    return {"path": str(path), "pairs": len(target)}


def headline(metrics: dict[str, float]) -> str:
    keys = [k for k in HEADLINE_KEYS if k in metrics]
    return ", ".join(f"{k} {metrics[k]:.4f}" for k in keys)
