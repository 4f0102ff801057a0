"""Cross-encoders for AugSBERT labelling, GPL pseudo-labels and mining rescoring.

`cross_encoder` may be any CrossEncoder folder or hub id. Without one (the offline case: no
pretrained reranker is reachable), `train_cross_encoder` trains one from a bi-encoder base (the
bundled MiniLM by default) with a fresh 1-logit head (num_labels=1) on the pairs that exist.
Scores are raw logits (no sigmoid), which is what GPL's margins need.
"""

from __future__ import annotations

import random
import time
from pathlib import Path

from densefit.console import say
from densefit.errors import ModelLoadError
from densefit.io import umask_modes

CE_MAX_LENGTH = 256


def load_cross_encoder(name: str, max_length: int | None = None, num_labels: int | None = None):
    from sentence_transformers.cross_encoder import CrossEncoder

    from densefit.models import resolve_model

    path = resolve_model(name)  # 'default', a folder, or a hub id passed through
    try:
        return CrossEncoder(str(path), num_labels=num_labels, max_length=max_length or CE_MAX_LENGTH)
    except OSError as exc:
        raise ModelLoadError(f"cannot load cross-encoder '{name}': {exc}. Fix: give a local CrossEncoder folder, "
                             "or leave --cross-encoder unset to train one on the available pairs") from None


def raw_scores(ce, pairs: list[tuple[str, str]], batch_size: int = 64) -> list[float]:
    """Raw logits for (query, document) pairs."""
    import torch

    if not pairs:
        return []
    scores = ce.predict([list(p) for p in pairs], batch_size=batch_size, activation_fn=torch.nn.Identity(),
                        show_progress_bar=False, convert_to_numpy=True)
    return [float(s) for s in scores]


def labelled_pairs(queries: list[str], positives: list[str], pool: list[str], negatives_per: int = 1,
                   hard: list[list[str]] | None = None, seed: int = 0) -> dict[str, list]:
    """Cross-encoder training rows: each (query, positive) as 1, plus hard or random documents as 0."""
    rng = random.Random(seed)
    q, d, y = [], [], []
    for i, (query, pos) in enumerate(zip(queries, positives)):
        q.append(query), d.append(pos), y.append(1.0)
        options = [n for n in (hard[i] if hard else []) if n != pos][:negatives_per]
        while len(options) < negatives_per and len(pool) > 1:
            cand = pool[rng.randrange(len(pool))]
            if cand != pos:
                options.append(cand)
        for neg in options:
            q.append(query), d.append(neg), y.append(0.0)
    return {"query": q, "document": d, "label": y}


def train_cross_encoder(base: str, rows: dict[str, list], out: Path, *, epochs: float = 1.0, batch_size: int = 16,
                        learning_rate: float = 2e-5, max_length: int = CE_MAX_LENGTH, seed: int = 0,
                        max_steps: int = -1) -> tuple[object, dict]:
    """Train a 1-logit cross-encoder from `base` with binary cross-entropy; saved to `out`."""
    from datasets import Dataset
    from sentence_transformers.cross_encoder import CrossEncoderTrainer, CrossEncoderTrainingArguments
    from sentence_transformers.cross_encoder.losses import BinaryCrossEntropyLoss

    say(f"cross-encoder: training one from '{base}' with a new 1-logit head (num_labels=1) on {len(rows['label'])} "
        "pairs, because no pretrained cross-encoder was given (none is reachable offline)")
    ce = load_cross_encoder(base, max_length=max_length, num_labels=1)
    args = CrossEncoderTrainingArguments(
        output_dir=str(out.parent / f".{out.name}-checkpoints"), num_train_epochs=epochs, max_steps=max_steps,
        per_device_train_batch_size=batch_size, learning_rate=learning_rate, warmup_steps=0.1, seed=seed,
        save_strategy="no", report_to="none", logging_steps=10, dataloader_num_workers=0,
        dataloader_pin_memory=False)
    start = time.perf_counter()
    trainer = CrossEncoderTrainer(model=ce, args=args, train_dataset=Dataset.from_dict(rows),
                                  loss=BinaryCrossEntropyLoss(ce))
    trainer.train()
    ce.save(str(out), safe_serialization=True)
    umask_modes(out)
    info = {"base": base, "trained_here": True, "pairs": len(rows["label"]), "steps": trainer.state.global_step,
            "seconds": round(time.perf_counter() - start, 2), "path": str(out), "max_length": max_length}
    return ce, info


def get_cross_encoder(name: str | None, base: str, rows_fn, out: Path, **train_kwargs) -> tuple[object, dict]:
    """The given cross-encoder, or one trained here on `rows_fn()` when `name` is None."""
    if name:
        say(f"cross-encoder: {name}")
        return load_cross_encoder(name), {"name": name, "trained_here": False}
    return train_cross_encoder(base, rows_fn(), out, **train_kwargs)
