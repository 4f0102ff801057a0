"""MLM: adaptive pre-training on the domain corpus, then pooling, as a sentence-transformer.

The base model's transformer is loaded as `AutoModelForMaskedLM` (its own MLM head when the
checkpoint has one; a sentence-transformers model such as the bundled MiniLM has none, so the
head starts new, and the log says so), trained with masked-token prediction on corpus
sentences through the stock transformers Trainer, and saved with its head in OUT/mlm
(safetensors). The adapted encoder weights go back into the base model's own modules (its
pooling, normalisation, tokenizer and sequence length), saved as OUT/model.

`--method mlm` gives the MLM-adapted model; `--mlm-first` runs this stage into OUT/mlm-stage and
then the chosen method on the adapted model (see `run_after_mlm`).
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import time
from pathlib import Path

from densefit.config import TrainConfig
from densefit.console import say
from densefit.errors import ConfigError
from densefit.io import publish_dir, staged_dir, write_json_atomic
from densefit.methods.common import FitResult, Stages, evaluate_before, finish_run, load_base_model
from densefit.methods.sentences import corpus_path, corpus_sentences, sample

MLM_DIR, STAGE_DIR = "mlm", "mlm-stage"
LOSS_NAME = "masked-lm"


def masked_lm(model) -> tuple[object, str]:
    """An AutoModelForMaskedLM holding the ST model's current transformer weights; and how its head was made."""
    import transformers
    from transformers import AutoModelForMaskedLM

    hf = model.transformers_model
    verbosity = transformers.logging.get_verbosity()
    transformers.logging.set_verbosity_error()
    try:
        mlm, info = AutoModelForMaskedLM.from_pretrained(hf.config._name_or_path, use_safetensors=True,
                                                         output_loading_info=True)
        head = "new" if any(not k.startswith(f"{mlm.base_model_prefix}.") for k in info["missing_keys"]) \
            else "pretrained"
    except (OSError, ValueError):
        mlm, head = AutoModelForMaskedLM.from_config(hf.config), "new"
    finally:
        transformers.logging.set_verbosity(verbosity)
    _copy_encoder(hf, getattr(mlm, mlm.base_model_prefix))
    return mlm, head


def _copy_encoder(source, dest) -> None:
    """Load `source`'s weights into `dest`; only a pooler may be missing on one side."""
    missing, unexpected = dest.load_state_dict(source.state_dict(), strict=False)
    odd = [k for k in [*missing, *unexpected] if not k.startswith("pooler.")]
    if odd:
        raise ConfigError(f"MLM: the masked-LM model does not match the encoder ({odd[:3]} ...). Fix: use a model "
                          "whose architecture has a masked-LM head (BERT, RoBERTa, XLM-R, ...)")


def tokenized(tokenizer, sentences: list[str], max_length: int):
    from datasets import Dataset

    ds = Dataset.from_dict({"text": sentences})
    return ds.map(lambda b: tokenizer(b["text"], truncation=True, max_length=max_length,
                                      return_special_tokens_mask=True),
                  batched=True, remove_columns=["text"])


def _arguments(cfg: TrainConfig, out: Path, precision: str):
    from transformers import TrainingArguments

    from densefit.train.run import cpu_device_kwargs, device_is_cuda

    return TrainingArguments(
        output_dir=str(out / "mlm-checkpoints"), num_train_epochs=cfg.epochs, max_steps=cfg.max_steps,
        per_device_train_batch_size=cfg.batch_size, learning_rate=cfg.learning_rate,
        warmup_steps=cfg.warmup_ratio, seed=cfg.seed, data_seed=cfg.seed, bf16=precision == "bf16",
        fp16=precision == "fp16", save_strategy="no", logging_steps=cfg.logging_steps, logging_first_step=True,
        report_to="none", dataloader_num_workers=0, dataloader_pin_memory=device_is_cuda(),
        **cpu_device_kwargs(precision),
    )


def _save_hf_atomic(mlm, tokenizer, final: Path) -> None:
    staged = staged_dir(final.parent, f".{final.name}.")
    try:
        mlm.save_pretrained(str(staged), safe_serialization=True)
        tokenizer.save_pretrained(str(staged))
        publish_dir(staged, final)
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise


def train_mlm(cfg: TrainConfig, model, sentences: list[str], callbacks: list | None = None):
    """Masked-LM training of `model`'s transformer on `sentences`; the ST model gets the adapted weights."""
    from transformers import DataCollatorForLanguageModeling, Trainer

    from densefit.inference.precision import explain_precision, resolve_precision
    from densefit.train.run import TrainOutcome, save_model_atomic, training_device

    out = Path(cfg.out)
    if (out / "model").exists() or (out / MLM_DIR).exists():
        raise ConfigError(f"'{out}' already holds a run. Fix: choose another --out (MLM runs do not resume)")
    out.mkdir(parents=True, exist_ok=True)
    mlm, head = masked_lm(model)
    say(f"MLM: masked-LM head is {head}" + (" (the base model has none: it starts from random weights, "
                                               "which is expected for a sentence-transformers model)" if head == "new"
                                               else ""))
    device = training_device()
    precision = resolve_precision(cfg.precision, device)
    say(explain_precision(cfg.precision, device))
    tok = model.tokenizer
    if cfg.max_steps > 0:  # tokenize only what the steps can use (a seeded sample, not the corpus' first pages)
        sentences = sample(sentences, cfg.max_steps * cfg.batch_size, cfg.seed)
    collator = DataCollatorForLanguageModeling(tok, mlm_probability=cfg.mlm_probability, seed=cfg.seed)
    dataset = tokenized(tok, sentences, model.max_seq_length)
    trainer = Trainer(model=mlm, args=_arguments(cfg, out, precision), train_dataset=dataset,
                      data_collator=collator, callbacks=callbacks or [])
    start = time.perf_counter()
    trainer.train()
    seconds = time.perf_counter() - start
    _save_hf_atomic(mlm, tok, out / MLM_DIR)
    _copy_encoder(getattr(mlm, mlm.base_model_prefix), model.transformers_model)
    path = save_model_atomic(model, out / "model")
    shutil.rmtree(out / "mlm-checkpoints", ignore_errors=True)
    return TrainOutcome(model_path=path, steps=trainer.state.global_step, seconds=seconds, precision=precision,
                        resumed_from=None, best_checkpoint=None, log_history=list(trainer.state.log_history),
                        train_rows=len(dataset)), head


def run(cfg: TrainConfig, callbacks: list | None = None) -> FitResult:
    """Evaluate the base model, adapt it to the corpus with MLM, evaluate the pooled result."""
    stages = Stages()
    model = load_base_model(cfg)
    target, before = evaluate_before(cfg, model)
    with stages.stage("sentences") as info:
        sentences, summary = corpus_sentences(corpus_path(cfg), limit=cfg.max_sentences, seed=cfg.seed)
        info.update(sentences=len(sentences))
    say(f"MLM: {len(sentences)} sentences from {summary['documents']} documents, "
        f"{cfg.mlm_probability:.0%} of tokens masked")
    with stages.stage("train") as info:
        outcome, head = train_mlm(cfg, model, sentences, callbacks)
        info.update(steps=outcome.steps, rows=outcome.train_rows, mlm_head=head, mlm_model=str(Path(cfg.out) / MLM_DIR))
    loss_info = {"name": LOSS_NAME, "reason": "MLM: masked-token prediction on the domain corpus",
                 "mlm_probability": cfg.mlm_probability, "head": head}
    return finish_run(cfg, model, outcome, stages, target=target, before=before,
                      data={**summary, "mlm_model": str(Path(cfg.out) / MLM_DIR)}, loss=loss_info)


def stage_config(cfg: TrainConfig) -> TrainConfig:
    """The MLM stage of --mlm-first: its own folder, epochs and steps; no checkpoint selection."""
    return dataclasses.replace(cfg, method="mlm", mlm_first=False, out=str(Path(cfg.out) / STAGE_DIR),
                               epochs=cfg.mlm_epochs, max_steps=cfg.mlm_max_steps, eval_steps=0, save_steps=0,
                               resume=False).settled()


def run_after_mlm(cfg: TrainConfig, run_method) -> FitResult:
    """--mlm-first: MLM into OUT/mlm-stage, then `run_method` on the adapted model.

    The final train.json's metrics_before are the *base* model's (the whole pipeline's before);
    the MLM stage's own figures are under "mlm_stage".
    """
    stage_cfg = stage_config(cfg)
    stage_dir = Path(stage_cfg.out)
    if cfg.resume and (stage_dir / "train.json").is_file() and (stage_dir / "model").is_dir():
        say(f"resume: reusing the finished MLM stage in {stage_dir}")
        stage = json.loads((stage_dir / "train.json").read_text())
    else:
        stage = run(stage_cfg).summary
    result = run_method(dataclasses.replace(cfg, model=str(stage_dir / "model"), mlm_first=False))
    summary = result.summary
    summary["mlm_stage"] = {"out": str(stage_dir), "base_model": cfg.model, "steps": stage["train"]["steps"],
                            "train_s": stage["timings"]["train_s"], "metrics_after": stage["metrics_after"]}
    if stage["metrics_before"]:
        summary["metrics_before"] = result.metrics_before = stage["metrics_before"]
    write_json_atomic(result.train_json, summary)
    return result
