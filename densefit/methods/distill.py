"""Multilingual knowledge distillation (Reimers and Gurevych, 2020).

A teacher embeds the source-language sentences; the student learns to put both the source
sentence and its translation where the teacher put the source (MSE; sentence-transformers'
MSELoss with the teacher's embedding broadcast to both columns). Training data is parallel
text: `--train pairs.tsv` (or .jsonl), see densefit/methods/parallel.py.

Evaluated before and after with cross-lingual retrieval on `--eval` (a BEIR folder, e.g.
source-language queries over a target-language corpus) and with translation-match accuracy
(top-1 of the aligned sentence, both directions) on `--parallel-eval` or on the aligned
query/document pairs of `--eval`.
"""

from __future__ import annotations

import time

from densefit.config import TrainConfig
from densefit.console import say
from densefit.errors import ConfigError
from densefit.evaluation.targets import EvalOutcome
from densefit.evaluation.translation import KEY, evaluate_translation
from densefit.inference.select import as_encoder
from densefit.methods.common import (FitResult, Stages, evaluate_before, finish_run, load_base_model,
                                     selection_evaluator)
from densefit.methods.parallel import read_parallel
from densefit.io import write_json_atomic

LOSS_NAME = "mse"


def aligned_pairs(irset) -> tuple[list[str], list[str]]:
    """(query, document) texts of an IR set whose judged queries each have exactly one distinct relevant doc."""
    sources, targets, seen = [], [], set()
    for qid, text in irset.judged_queries().items():
        relevant = [d for d, g in irset.qrels[qid].items() if g > 0]
        if len(relevant) != 1 or relevant[0] in seen:
            return [], []
        seen.add(relevant[0])
        sources.append(text)
        targets.append(irset.corpus[relevant[0]])
    return sources, targets


def eval_pairs(cfg: TrainConfig, target) -> tuple[list[str], list[str], str | None]:
    """Held-out aligned pairs for translation-match accuracy, and where they came from."""
    from densefit.data.beir import IRSet

    if cfg.parallel_eval:
        data = read_parallel(cfg.parallel_eval)
        return data.sources, data.targets, cfg.parallel_eval
    if isinstance(target, IRSet):
        sources, targets = aligned_pairs(target)
        if sources:
            return sources, targets, f"{cfg.eval} (aligned query/document pairs)"
    say("[yellow]note: no translation-match accuracy: pass --parallel-eval FILE, or an --eval set whose queries "
        "each have one aligned document[/yellow]")
    return [], [], None


def load_teacher(cfg: TrainConfig, student):
    """The teacher model; the student itself when no other teacher is named (labels come before training)."""
    if not cfg.teacher or cfg.teacher == cfg.model:
        return student
    return load_base_model(cfg, cfg.teacher)


def teacher_labels(teacher, student, sources: list[str]):
    """The teacher's own (unchanged) embeddings of the source sentences."""
    t_dim, s_dim = teacher.get_embedding_dimension(), student.get_embedding_dimension()
    if t_dim != s_dim:
        raise ConfigError(f"teacher embeddings have {t_dim} dimensions, the student's {s_dim}. Fix: pick a student "
                          "with the teacher's dimension")
    return teacher.encode(sources, batch_size=64, convert_to_numpy=True, show_progress_bar=False)


def _translation(cfg: TrainConfig, model, pairs) -> dict[str, float]:
    if not pairs[0]:
        return {}
    scores = evaluate_translation(as_encoder(model, precision=cfg.precision), pairs[0], pairs[1])
    say(f"translation match@1: {scores[KEY]:.4f} (source->target {scores[KEY + '_src2tgt']:.4f}, "
        f"target->source {scores[KEY + '_tgt2src']:.4f}, {len(pairs[0])} pairs)")
    return scores


def _train(cfg: TrainConfig, student, parallel, labels, target, callbacks):
    from datasets import Dataset
    from sentence_transformers.sentence_transformer.losses import MSELoss

    from densefit.train.run import train

    dataset = Dataset.from_dict({"source": parallel.sources, "target": parallel.targets, "label": labels.tolist()})
    return train(cfg, student, MSELoss(student), dataset, evaluator=selection_evaluator(cfg, target),
                 callbacks=callbacks)


def run(cfg: TrainConfig, callbacks: list | None = None) -> FitResult:
    """Distil the teacher's source-language embeddings into the student, for source and target sentences."""
    stages = Stages()
    with stages.stage("parallel") as info:
        parallel = read_parallel(cfg.train)
        info.update(pairs=len(parallel))
    student = load_base_model(cfg)
    target, before = evaluate_before(cfg, student)
    pairs = eval_pairs(cfg, target)
    start = time.perf_counter()
    tm_before = _translation(cfg, student, pairs)
    with stages.stage("teacher") as info:
        labels = teacher_labels(load_teacher(cfg, student), student, parallel.sources)
        info.update(teacher=cfg.teacher or cfg.model, sentences=len(parallel))
    if before is None:
        before = EvalOutcome({}, "translation", time.perf_counter() - start)
    before.metrics.update(tm_before)
    with stages.stage("train") as info:
        outcome = _train(cfg, student, parallel, labels, target, callbacks)
        info.update(steps=outcome.steps, rows=outcome.train_rows)
    tm_after = _translation(cfg, student, pairs)
    data = {**parallel.summary(), "teacher": cfg.teacher or cfg.model, "translation_pairs": len(pairs[0]),
            "translation_pairs_from": pairs[2]}
    loss_info = {"name": LOSS_NAME, "reason": "distillation: student(source) and student(target) -> teacher(source)"}
    result = finish_run(cfg, student, outcome, stages, target=target, before=before, data=data, loss=loss_info)
    result.metrics_after.update(tm_after)  # the same dict as the summary's metrics_after
    result.summary["metrics_after"] = result.metrics_after
    write_json_atomic(result.train_json, result.summary)
    return result
