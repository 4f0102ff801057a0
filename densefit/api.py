"""The Python API: `fit`, `evaluate`, `load`. The CLI is a thin layer over these."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from densefit.config import TrainConfig
from densefit.evaluation.targets import EvalOutcome, evaluate_encoder, load_eval_data  # noqa: F401 (re-exported)
from densefit.evaluation.targets import eval_info as _eval_info, headline as _headline  # noqa: F401
from densefit.inference.encoder import TextEncoder
from densefit.inference.select import as_encoder
from densefit.methods.common import TRAIN_JSON, FitResult  # noqa: F401 (re-exported)


def load(model: str = "default", **kwargs: Any) -> TextEncoder:
    """Load a model (`default`, a run or model folder, or a hub id) as a TextEncoder
    (`.encode(texts, kind=...)`), through the one loader every layer uses.

    `backend="auto"` (default) uses an export of the model (`<model>/exports/`, or the user cache for a
    model you do not own) only when its parity check passed and it was measured faster on this CPU;
    "torch", "onnx", "onnx-int8", "openvino" or "openvino-int8" force one.
    """
    from densefit.inference.select import load_encoder

    return load_encoder(model, **kwargs)


def evaluate(model: Any, data: str | Path, *, split: str | None = None, ks=(1, 3, 5, 10, 100),
             precision: str = "auto", max_seq_length: int | None = None) -> dict[str, float]:
    """Retrieval metrics on a BEIR folder, or Pearson/Spearman on an STS file."""
    encoder = as_encoder(model, precision=precision, max_seq_length=max_seq_length)
    return evaluate_encoder(encoder, load_eval_data(data, split), ks).metrics


def run_training(cfg: TrainConfig, callbacks: list | None = None) -> FitResult:
    """Run `cfg.method` (auto: chosen from the data): evaluate, train, evaluate again, write OUT/train.json."""
    from densefit.methods.registry import run_method

    return run_method(cfg, callbacks=callbacks)


def fit(model: str = "default", train_data: str | Path = "", *, loss: str | None = None, epochs: float | None = None,
        batch_size: int | None = None, learning_rate: float | None = None, eval_data: str | Path | None = None,
        out: str | Path = "runs/densefit", callbacks: list | None = None, method: str = "auto",
        **options: Any) -> FitResult:
    """Fine-tune `model` on `train_data` (or `corpus=...`) with `method` (auto: chosen from the data);
    evaluates on `eval_data` before and after (Finetuner-style call). Settings left at None are planned by
    the recipe (query-document pairs under method auto) or take sentence-transformers' defaults."""
    cfg = TrainConfig(model=model, train=str(train_data), method=method, loss=loss, epochs=epochs,
                      batch_size=batch_size, learning_rate=learning_rate, eval=str(eval_data) if eval_data else None, out=str(out),
                      **options)
    return run_training(cfg, callbacks=callbacks)
