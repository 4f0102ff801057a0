"""Train a SentenceTransformer on prepared columns through the stock trainer.

`train()` knows nothing about methods or evaluation reports: it takes a model,
a loss and columns, and returns where the model went and what happened.
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from densefit.config import TrainConfig
from densefit.console import say
from densefit.errors import ConfigError
from densefit.inference.precision import explain_precision, resolve_precision
from densefit.io import staged_dir
from densefit.train.attention import restore_sdpa
from densefit.train.checkpoints import latest_checkpoint, publish, remove_incomplete
from densefit.train.fingerprint import check_and_record, fingerprint
from densefit.train.trainer import AtomicCheckpointTrainer
from densefit.train.tracking import report_targets

CHECKPOINTS, MODEL = "checkpoints", "model"


@dataclass
class TrainOutcome:
    model_path: Path
    steps: int
    seconds: float
    precision: str
    resumed_from: str | None
    best_checkpoint: str | None
    log_history: list[dict] = field(default_factory=list)
    train_rows: int = 0

    @property
    def final_loss(self) -> float | None:
        losses = [e["loss"] for e in self.log_history if "loss" in e]
        return losses[-1] if losses else None


def training_device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def device_is_cuda() -> bool:
    return training_device() == "cuda"


def cpu_device_kwargs(precision: str) -> dict:
    """TrainingArguments for CPU runs: transformers 5 refuses bf16 without a GPU unless told it is on CPU,
    and CPU DDP (torchrun / accelerate launch) needs gloo. Used by the sentence-transformers trainer and
    MLM; the cross-encoder trainer (GPL, AugSBERT) always trains in fp32 and does not take these yet."""
    if device_is_cuda():
        return {}
    kwargs = {"use_cpu": True} if precision == "bf16" else {}
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        kwargs.update(use_cpu=True, ddp_backend="gloo")
    return kwargs


def explain_dropout(model, choice: str) -> None:
    """Apply --dropout and say what it changed (nothing is said for the model's own)."""
    from densefit.train.dropout import apply_dropout

    changed = apply_dropout(model, choice)
    if choice != "model":
        say(f"dropout {choice}: {changed} dropout layers set to 0 while training (--dropout model keeps them)")


def _save_steps(cfg: TrainConfig) -> tuple[str, int]:
    steps = cfg.save_steps or cfg.eval_steps
    return ("steps", steps) if steps else ("epoch", 0)


def build_arguments(cfg: TrainConfig, out: Path, precision: str, in_batch_negatives: bool, best_metric: str | None):
    """Stock training arguments; `best_metric` (an evaluator key) turns on best-checkpoint selection."""
    from sentence_transformers import SentenceTransformerTrainingArguments

    save_strategy, save_steps = _save_steps(cfg)
    evaluate = best_metric is not None and cfg.eval_steps > 0
    kwargs = dict(
        output_dir=str(out / CHECKPOINTS),
        num_train_epochs=cfg.epochs,
        max_steps=cfg.max_steps,
        per_device_train_batch_size=cfg.batch_size,
        learning_rate=cfg.learning_rate,
        warmup_steps=cfg.warmup_ratio,  # transformers 5: a float < 1 is a ratio of the total steps
        seed=cfg.seed,
        data_seed=cfg.seed,
        bf16=precision == "bf16",
        fp16=precision == "fp16",
        batch_sampler=_batch_sampler(cfg, in_batch_negatives),
        save_strategy=save_strategy,
        save_total_limit=cfg.save_total_limit,
        eval_strategy="steps" if evaluate else "no",
        load_best_model_at_end=evaluate,
        logging_steps=cfg.logging_steps,
        logging_first_step=True,
        report_to=report_targets(getattr(cfg, "report_to", []), out),
        dataloader_num_workers=0,
        dataloader_pin_memory=device_is_cuda(),
        disable_tqdm=True,  # the bar is densefit's (train/progress.py), drawn with rich like every other
    )
    if save_steps:
        kwargs["save_steps"] = save_steps
    kwargs.update(cpu_device_kwargs(precision))
    if evaluate:
        kwargs.update(eval_steps=cfg.eval_steps, metric_for_best_model=f"eval_{best_metric}", greater_is_better=True)
    return SentenceTransformerTrainingArguments(**kwargs)


def _batch_sampler(cfg: TrainConfig, in_batch_negatives: bool):
    from sentence_transformers.base.sampler import BatchSamplers

    if not in_batch_negatives:
        return BatchSamplers.BATCH_SAMPLER
    if getattr(cfg, "group_by_length", False):
        from densefit.train.sampler import LengthGroupedNoDuplicatesBatchSampler

        return LengthGroupedNoDuplicatesBatchSampler
    return BatchSamplers.NO_DUPLICATES


def column_prompts(cfg: TrainConfig, columns: list[str]) -> dict[str, str]:
    """The trainer's `prompts` argument: --query-prompt on the anchor column, --document-prompt on the others
    of query-document rows (positive, negative, negative_2, ...)."""
    query, document = getattr(cfg, "query_prompt", None), getattr(cfg, "document_prompt", None)
    if "anchor" not in columns:
        return {}
    found = {"anchor": query} if query else {}
    found.update({c: document for c in columns if document and c.startswith(("positive", "negative"))})
    return found


def _resume_point(cfg: TrainConfig, out: Path) -> str | None:
    ckpt_root = out / CHECKPOINTS
    if not cfg.resume:
        if latest_checkpoint(ckpt_root) or (out / MODEL).exists():
            raise ConfigError(f"'{out}' already holds a run. Fix: pass --resume to continue it, or choose another --out")
        return None
    removed = remove_incomplete(ckpt_root)
    if removed:
        say(f"resume: removed incomplete checkpoint folders {removed}")
    latest = latest_checkpoint(ckpt_root)
    say(f"resume: continuing from {latest}" if latest else "resume: no complete checkpoint yet, starting fresh")
    return str(latest) if latest else None


def _remove_staged_models(out: Path) -> None:
    """`OUT/.model.*`: a final save that was killed before its rename; never a complete model."""
    for stage in out.glob(".model.*"):
        shutil.rmtree(stage, ignore_errors=True)
        say(f"train: removed {stage.name}, left by a save that was interrupted")


def save_model_atomic(model, final: Path) -> Path:
    staged = staged_dir(final.parent, ".model.")
    try:
        model.save(str(staged), safe_serialization=True)
        publish(staged, final, step=0)
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise
    return final


def train(cfg: TrainConfig, model, loss, dataset, *, in_batch_negatives: bool = False, evaluator=None,
          callbacks: list | None = None) -> TrainOutcome:
    """Run the stock trainer with densefit's defaults; the final model lands in OUT/model."""
    cfg = cfg.settled()  # settings nobody planned (a direct call, not through a method) take stock values
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    resume_from = _resume_point(cfg, out)
    _remove_staged_models(out)
    check_and_record(out, fingerprint(cfg, loss), resuming=resume_from is not None,
                     force=getattr(cfg, "resume_force", False))
    device = training_device()
    precision = resolve_precision(cfg.precision, device)
    say(explain_precision(cfg.precision, device))
    explain_dropout(model, getattr(cfg, "dropout", "model"))
    best_metric = evaluator.metric_key if evaluator is not None else None
    args = build_arguments(cfg, out, precision, in_batch_negatives, best_metric)
    args.prompts = column_prompts(cfg, dataset.column_names) or None
    from transformers import PrinterCallback

    from densefit.train.progress import RichProgress

    trainer = AtomicCheckpointTrainer(model=model, args=args, train_dataset=dataset, loss=loss,
                                      evaluator=evaluator, callbacks=[RichProgress(), *(callbacks or [])])
    trainer.remove_callback(PrinterCallback)  # it prints raw log dicts when tqdm is off; train.json has them
    start = time.perf_counter()
    trainer.train(resume_from_checkpoint=resume_from)
    seconds = time.perf_counter() - start
    restore_sdpa(model)  # the model handed on (and saved) runs stock SDPA
    if trainer.args.should_save:  # DDP: only the main process writes the final model
        save_model_atomic(model, out / MODEL)
    trainer.accelerator.wait_for_everyone()
    model_path = out / MODEL
    return TrainOutcome(model_path=model_path, steps=trainer.state.global_step, seconds=seconds,
                        precision=precision, resumed_from=resume_from,
                        best_checkpoint=trainer.state.best_model_checkpoint,
                        log_history=list(trainer.state.log_history), train_rows=len(dataset))
