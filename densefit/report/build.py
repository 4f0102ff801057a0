"""Assemble the report's data: metric table with paired statistics, per-query view, scores.

Everything here is plain data (JSON-ready dicts); `html.py` draws it and
`write_report` puts `report.html` and `report-data.json` into a run folder.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path

from densefit.data.beir import IRSet
from densefit.evaluation.metrics import per_query_metrics
from densefit.io import write_text_atomic
from densefit.report.perquery import per_query_view
from densefit.report.scores import score_distribution
from densefit.report.stats import compare_metrics

HEADLINE = ("ndcg@10", "mrr@10", "recall@10", "recall@100", "map@10", "hit@1")
PER_QUERY_METRIC = "ndcg@10"
KS = (1, 3, 5, 10, 100)
BASE, TUNED, BM25 = "base", "fine-tuned", "bm25"
REPORT_HTML, REPORT_DATA = "report.html", "report-data.json"


@dataclass
class ReportInputs:
    """What a report is made from; every part but the title is optional."""

    title: str
    irset: IRSet | None = None
    runs: dict[str, dict] = field(default_factory=dict)  # name -> run (query id -> {doc id: score})
    metrics: dict[str, dict[str, float]] = field(default_factory=dict)  # name -> means (e.g. STS sets)
    models: dict[str, str] = field(default_factory=dict)  # name -> model id or folder
    summary: dict | None = None  # train.json
    audit: dict | None = None
    audit_warnings: list[str] = field(default_factory=list)
    forgetting: dict | None = None
    merge: dict | None = None
    base: str = BASE
    tuned: str = TUNED


def headline_metrics(available) -> list[str]:
    return [m for m in HEADLINE if m in available]


def compare_runs(irset: IRSet, runs: dict[str, dict], base: str, tuned: str, *, seed: int = 0) -> dict:
    """Mean metrics of every run, and paired statistics of `tuned` against each other run."""
    per_query = {name: per_query_metrics(run, irset.qrels, KS) for name, run in runs.items()}
    columns = {name: {m: sum(v.values()) / max(len(v), 1) for m, v in pq.items()} for name, pq in per_query.items()}
    metrics = headline_metrics(columns[tuned])
    others = sorted((n for n in runs if n != tuned), key=lambda n: n != base)  # the base first
    comparisons = {other: [c.to_dict() for c in compare_metrics(per_query[other], per_query[tuned], metrics,
                                                                seed=seed)]
                   for other in others}
    return {"columns": columns, "metrics": metrics, "comparisons": comparisons, "per_query": per_query,
            "queries": len(next(iter(per_query.values()))[metrics[0]]) if metrics else 0}


def _retrieval_sections(inputs: ReportInputs) -> dict:
    irset, runs = inputs.irset, inputs.runs
    table = compare_runs(irset, runs, inputs.base, inputs.tuned)
    pq = table.pop("per_query")
    view = per_query_view(irset, pq[inputs.base][PER_QUERY_METRIC], pq[inputs.tuned][PER_QUERY_METRIC],
                          runs[inputs.base], runs[inputs.tuned], PER_QUERY_METRIC)
    scores = {name: score_distribution(runs[name], irset.qrels).to_dict() for name in (inputs.base, inputs.tuned)}
    return {"headline": table, "per_query": dataclasses.asdict(view), "scores": scores,
            "eval": {"path": irset.path, "split": irset.split, "queries": len(irset.judged_queries()),
                     "documents": len(irset.corpus)}}


def build_report(inputs: ReportInputs) -> dict:
    """The report as one JSON-ready dict."""
    report = {"title": inputs.title, "created": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
              "models": inputs.models, "base": inputs.base, "tuned": inputs.tuned,
              "summary": _slim_summary(inputs.summary), "audit": inputs.audit,
              "audit_warnings": inputs.audit_warnings, "forgetting": inputs.forgetting, "merge": inputs.merge}
    if inputs.irset is not None and inputs.base in inputs.runs and inputs.tuned in inputs.runs:
        report.update(_retrieval_sections(inputs))
    elif inputs.metrics:
        report["headline"] = {"columns": inputs.metrics, "metrics": list(next(iter(inputs.metrics.values()))),
                              "comparisons": {}, "queries": 0}
    return report


def _slim_summary(summary: dict | None) -> dict | None:
    """train.json without what the report does not need to repeat."""
    if not summary:
        return None
    return {k: v for k, v in summary.items() if k not in ("metrics_before", "metrics_after")}




def write_report(out_dir: str | Path, report: dict) -> Path:
    """Write OUT/report.html (self-contained) and OUT/report-data.json; returns the HTML path."""
    from densefit.report.html import render_html

    out = Path(out_dir)
    write_text_atomic(out / REPORT_DATA, json.dumps(report, indent=1, default=str))
    html_path = out / REPORT_HTML
    write_text_atomic(html_path, render_html(report))
    return html_path
