"""Build a report end to end: after training (the hook), from a run folder, or for two models."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from densefit.console import say
from densefit.data.beir import IRSet
from densefit.errors import ConfigError, DensefitError
from densefit.report.build import BASE, BM25, TUNED, ReportInputs, build_report, write_report

DEFAULT_MAX_DROP = 0.02
AUTO = "auto"


def parse_merge(value: str | None) -> str | float | None:
    """None/'none' -> None, 'auto' -> 'auto', '0.5' -> 0.5 (a weight in [0, 1])."""
    if value in (None, "", "none", "off"):
        return None
    if value == AUTO:
        return AUTO
    try:
        weight = float(value)
    except ValueError:
        raise ConfigError(f"--merge must be 'auto' or a weight in [0, 1], got '{value}'") from None
    if not 0.0 <= weight <= 1.0:
        raise ConfigError(f"--merge weight must be in [0, 1], got {weight}")
    return weight


@dataclass
class ReportJob:
    """Everything a report needs; models load lazily (only forgetting and merge need them)."""

    out: Path
    title: str
    base_model: str
    tuned_model: str
    summary: dict | None = None
    target: object | None = None  # an IRSet, or STS columns, or None
    runs: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)
    train_path: str | None = None
    eval_path: str | None = None
    forgetting: str | None = None
    merge: str | float | None = None
    max_drop: float = DEFAULT_MAX_DROP
    precision: str = "auto"
    bm25: bool = True
    card_dir: Path | None = None
    max_seq_length: int | None = None  # the run's truncation, so the base model is scored like the tuned one
    loaded: dict = field(default_factory=dict)  # "base"/"tuned" -> SentenceTransformer
    merger: object | None = None  # (job, forgetting, general set) -> merge section; methods.merge.merge_step

    def model(self, which: str):
        if which not in self.loaded:
            from densefit.models import load_model

            name = self.base_model if which == "base" else self.tuned_model
            self.loaded[which] = load_model(name, max_seq_length=self.max_seq_length)
        return self.loaded[which]


def _audit(job: ReportJob) -> tuple[dict | None, list[str]]:
    """`densefit data check` on the training file, with the fine-tuned model's tokenizer."""
    if not job.train_path:
        return None, []
    from densefit.data.audit import audit, warnings

    tokenizer = job.model("tuned").tokenizer

    def count_tokens(texts: list[str]) -> list[int]:
        return [len(ids) for ids in tokenizer(texts, add_special_tokens=True, truncation=False)["input_ids"]]

    try:
        found = audit(job.train_path, eval_path=job.eval_path, count_tokens=count_tokens,
                      max_seq_length=job.model("tuned").max_seq_length)
    except Exception as exc:  # noqa: BLE001 - e.g. unlabelled text for an unsupervised method
        say(f"[yellow]report: no data audit ({type(exc).__name__}: {exc})[/yellow]")
        return None, []
    return found.to_dict(), warnings(found)


def _forgetting_and_merge(job: ReportJob) -> tuple[dict | None, dict | None]:
    spec = job.forgetting or ("bible" if job.merge is not None else None)
    if spec is None:
        return None, None
    from densefit.inference.select import as_encoder
    from densefit.report.forgetting import forgetting_check, general_set

    say(f"report: forgetting check on '{spec}'")
    try:
        block, _ = forgetting_check(as_encoder(job.model("base"), precision=job.precision),
                                    as_encoder(job.model("tuned"), precision=job.precision), spec,
                                    threshold=job.max_drop)
    except DensefitError as exc:
        if job.merge is not None:
            raise  # the merge search needs the general-domain set
        say(f"[yellow]report: forgetting check skipped: {exc}[/yellow]")
        return {"error": str(exc)}, None
    if job.merge is not None and job.merger is None:
        raise ConfigError("a merge was asked for but no merge step was given. Fix: pass "
                          "merger=densefit.methods.merge.merge_step, or run `densefit report RUN --merge auto`")
    merge = job.merger(job, block, general_set(spec)[1]) if job.merge is not None else None
    return block, merge


def mean_of(job: ReportJob, which: str, metric: str) -> float:
    """The mean per-query `metric` of the base or tuned run."""
    from densefit.evaluation.metrics import per_query_metrics

    values = per_query_metrics(job.runs[BASE if which == "base" else TUNED], job.target.qrels, (1, 10, 100))[metric]
    return sum(values.values()) / max(len(values), 1)


def run_job(job: ReportJob) -> Path:
    """Compute every section, write OUT/report.html (+ report-data.json) and the model card."""
    if isinstance(job.target, IRSet) and job.bm25 and BM25 not in job.runs:
        from densefit.evaluation.bm25 import bm25_run

        job.runs = {BM25: bm25_run(job.target), **job.runs}
    audit, audit_warnings = _audit(job)
    forgetting, merge = _forgetting_and_merge(job)
    inputs = ReportInputs(title=job.title, irset=job.target if isinstance(job.target, IRSet) else None,
                          runs=job.runs, metrics=job.metrics, summary=job.summary, audit=audit,
                          audit_warnings=audit_warnings, forgetting=forgetting, merge=merge,
                          models={BASE: job.base_model, TUNED: job.tuned_model})
    report = build_report(inputs)
    path = write_report(job.out, report)
    if job.card_dir is not None and job.summary:
        from densefit.report.card import write_model_card

        write_model_card(job.card_dir, job.summary, report)
    if forgetting and forgetting.get("warning"):
        say(f"[bold yellow]{forgetting['message']}[/bold yellow]")
    say(f"report: {path}")
    return path


# Entry points ==================================================================


def write_run_report(cfg, result, *, model=None, target=None, merger=None) -> Path | None:
    """The training hook: OUT/report.html and OUT/model/README.md. A failure warns; the model is kept."""
    if not getattr(cfg, "report", True):
        return None
    try:
        return run_job(_job_from_fit(cfg, result, model, target, merger))
    except Exception as exc:  # noqa: BLE001 - a report must never cost the user the trained model
        say(f"[yellow]warning: the report could not be written ({type(exc).__name__}: {exc}); "
            f"the trained model is safe in {result.model_path}[/yellow]")
        return None


def _job_from_fit(cfg, result, model, target, merger=None) -> ReportJob:
    runs = {BASE: result.runs_before, TUNED: result.runs_after} if result.runs_before and result.runs_after else {}
    metrics = {} if runs else ({BASE: result.metrics_before, TUNED: result.metrics_after}
                               if result.metrics_before else {})
    job = ReportJob(out=Path(result.run_dir), title=f"densefit report: {Path(result.run_dir).name}",
                    base_model=cfg.model, tuned_model=str(result.model_path), summary=result.summary,
                    target=target, runs=runs, metrics=metrics, train_path=cfg.train or None, eval_path=cfg.eval,
                    forgetting=getattr(cfg, "forgetting", None), merge=parse_merge(getattr(cfg, "merge", None)),
                    precision=cfg.precision, card_dir=Path(result.model_path), max_seq_length=cfg.max_seq_length,
                    merger=merger)
    if model is not None:
        job.loaded["tuned"] = model
    return job


def _evaluate_pair(job: ReportJob, ks=(1, 3, 5, 10, 100)) -> None:
    from densefit.evaluation.targets import evaluate_encoder
    from densefit.inference.select import as_encoder

    for name, which in ((BASE, "base"), (TUNED, "tuned")):
        say(f"report: evaluating {name} ({job.base_model if which == 'base' else job.tuned_model})")
        outcome = evaluate_encoder(as_encoder(job.model(which), precision=job.precision), job.target, ks)
        if outcome.run is not None:
            job.runs[name] = outcome.run
        else:
            job.metrics[name] = outcome.metrics


def report_run(run_dir: str | Path, *, data: str | None = None, forgetting: str | None = None,
               merge: str | None = None, bm25: bool = True, precision: str = "auto",
               max_drop: float = DEFAULT_MAX_DROP, merger=None) -> Path:
    """Rebuild RUN/report.html and RUN/model/README.md from a finished run folder."""
    from densefit.evaluation.targets import load_eval_data

    run = Path(run_dir)
    train_json = run / "train.json"
    if not train_json.is_file():
        raise ConfigError(f"'{run}' is not a densefit run folder (no train.json). Fix: pass the --out folder of "
                          "`densefit train`, or use `densefit compare --model A --model B --data DIR`")
    summary = json.loads(train_json.read_text(encoding="utf-8"))
    cfg = summary.get("config") or {}
    eval_path = data or cfg.get("eval")
    job = ReportJob(out=run, title=f"densefit report: {run.resolve().name}", base_model=cfg.get("model", "default"),
                    tuned_model=str(run / "model"), summary=summary,
                    target=load_eval_data(eval_path) if eval_path else None, train_path=cfg.get("train") or None,
                    eval_path=eval_path, forgetting=forgetting, merge=parse_merge(merge), max_drop=max_drop,
                    precision=precision, bm25=bm25, card_dir=run / "model", max_seq_length=cfg.get("max_seq_length"),
                    merger=merger)
    if job.target is not None:
        _evaluate_pair(job)
    return run_job(job)


def compare_models(base: str, tuned: str, data: str, out: str | Path, *, forgetting: str | None = None,
                   bm25: bool = False, precision: str = "auto", max_drop: float = DEFAULT_MAX_DROP) -> Path:
    """A report comparing two models on one eval set (no training log, no model card)."""
    from densefit.evaluation.targets import load_eval_data

    job = ReportJob(out=Path(out), title=f"densefit compare: {Path(tuned).name} vs {Path(base).name}",
                    base_model=base, tuned_model=tuned, target=load_eval_data(data), eval_path=data,
                    forgetting=forgetting, max_drop=max_drop, precision=precision, bm25=bm25)
    _evaluate_pair(job)
    return run_job(job)
