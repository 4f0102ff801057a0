"""The main job: man pages → BM25 and zero-shot → MNR fine-tune → before/after report.

Everything comes from Debian packages and the bundled MiniLM, so it runs on a
machine with no model hub.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from densefit.config import TrainConfig
from densefit.console import say
from densefit.io import write_json_atomic

TARGET_GAIN = 0.15
HEADLINE = "mrr@10"
EXAMPLES = 3


@dataclass
class DemoConfig:
    out: Path = Path("demo-out")
    epochs: float | None = None          # None: the same recipe `densefit train` plans, no demo-only tuning
    batch_size: int | None = None
    learning_rate: float | None = None
    precision: str = "auto"
    model: str = "default"
    max_seq_length: int | None = None


def _clear_previous(out: Path) -> None:
    """The demo owns its folder: a re-run replaces the last demo's outputs."""
    for name in ("model", "checkpoints", "train.json", "report.json"):
        path = out / name
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()


def _top(run: dict, qid: str, n: int = 5) -> list[tuple[str, float]]:
    return sorted(run.get(qid, {}).items(), key=lambda kv: (-kv[1], kv[0]))[:n]


def examples(irset, before: dict, after: dict, n: int = EXAMPLES) -> list[dict]:
    """Three test queries chosen by rule, the same every run: the biggest win, the median (a typical
    case) and the biggest loss in reciprocal rank @10 (ties by query id), with top 5 before and after."""
    from densefit.evaluation.metrics import per_query_metrics

    rr_before = per_query_metrics(before, irset.qrels, ks=(10,))["mrr@10"]
    rr_after = per_query_metrics(after, irset.qrels, ks=(10,))["mrr@10"]
    order = sorted((rr_after[q] - rr_before[q], q) for q in rr_before if q in rr_after)
    if not order:
        return []
    picks = [("biggest win", order[-1]), ("typical case (median change)", order[len(order) // 2]),
             ("biggest loss", order[0])][:n]
    rows, seen = [], set()
    for why, (delta, qid) in picks:
        if qid in seen:
            continue
        seen.add(qid)
        relevant = sorted(d for d, g in irset.qrels[qid].items() if g > 0)
        rows.append({"query": irset.queries[qid], "relevant": relevant, "before": _top(before, qid),
                     "after": _top(after, qid), "why": f"{why}: RR@10 {rr_before[qid]:.2f} → {rr_after[qid]:.2f}"})
    return rows


def print_examples(rows: list[dict]) -> None:
    from rich.console import Console
    from rich.table import Table

    for row in rows:
        table = Table(title=f"{row['why']}\nquery: {row['query']!r}   relevant: {', '.join(row['relevant'])}")
        table.add_column("rank", justify="right")
        table.add_column("before (zero-shot)")
        table.add_column("after (fine-tuned)")
        for rank, (b, a) in enumerate(zip(row["before"], row["after"]), 1):
            mark = lambda doc: f"{'✓ ' if doc[0] in row['relevant'] else '  '}{doc[0]} ({doc[1]:.3f})"  # noqa: E731
            table.add_row(str(rank), mark(b), mark(a))
        Console().print(table)


def run_demo(cfg: DemoConfig) -> dict:
    from densefit.api import run_training
    from densefit.cli.tables import print_metric_table
    from densefit.data.beir import load_beir
    from densefit.data.builders.manpages import build_manpages
    from densefit.evaluation.bm25 import bm25_run
    from densefit.evaluation.retrieval import evaluate_run

    start = time.perf_counter()
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    _clear_previous(out)
    data_dir = out / "data" / "manpages"
    say("[bold]1/4[/bold] building the man-page retrieval set from Debian packages")
    built = build_manpages(data_dir)
    say(f"     {built.pages} pages, {built.queries} queries, splits {built.split_sizes}")
    test = load_beir(data_dir, "test")
    say("[bold]2/4[/bold] BM25 baseline")
    t = time.perf_counter()
    bm25 = evaluate_run(bm25_run(test), test, seconds=time.perf_counter() - t).metrics
    say("[bold]3/4[/bold] zero-shot evaluation, then fine-tuning with densefit's defaults")
    train_cfg = TrainConfig(model=cfg.model, train=str(data_dir), eval=str(data_dir), out=str(out),
                            epochs=cfg.epochs, batch_size=cfg.batch_size, learning_rate=cfg.learning_rate,
                            precision=cfg.precision, max_seq_length=cfg.max_seq_length)
    fit = run_training(train_cfg)
    say("[bold]4/4[/bold] before/after on held-out test queries")
    print_metric_table({"bm25": bm25, "zero-shot": fit.metrics_before, "fine-tuned": fit.metrics_after},
                       keys=["mrr@10", "ndcg@10", "recall@10", "recall@100", "hit@1", "map@10"],
                       baseline="zero-shot",
                       title=f"man pages: {len(test.judged_queries())} test queries, {len(test.corpus)} documents")
    shown = examples(test, fit.runs_before or {}, fit.runs_after or {})
    say("examples, chosen by rule (the same every run): the biggest win, the median change and the biggest "
        "loss in reciprocal rank @10 on the test queries")
    print_examples(shown)
    report = _report(cfg, built, bm25, fit, shown, time.perf_counter() - start)
    write_json_atomic(out / "report.json", report)
    _say_verdict(report)
    say(f"report: {out / 'report.json'}   model: {fit.model_path}")
    return report


def _report(cfg: DemoConfig, built, bm25: dict, fit, shown: list[dict], seconds: float) -> dict:
    gain = fit.metrics_after[HEADLINE] - fit.metrics_before[HEADLINE]
    return {
        "config": {k: str(v) for k, v in asdict(cfg).items()},
        "data": {"pages": built.pages, "queries": built.queries, "splits": built.split_sizes,
                 "build_s": built.seconds},
        "metrics": {"bm25": bm25, "zero_shot": fit.metrics_before, "fine_tuned": fit.metrics_after},
        "gain": {HEADLINE: gain, f"{HEADLINE} vs bm25": fit.metrics_after[HEADLINE] - bm25[HEADLINE]},
        "targets": {f"{HEADLINE} gain >= {TARGET_GAIN}": gain >= TARGET_GAIN,
                    "fine-tuned beats bm25": fit.metrics_after[HEADLINE] > bm25[HEADLINE]},
        "train": {k: fit.summary[k] for k in ("loss", "precision", "timings")},
        "train_steps": fit.summary["train"]["steps"],
        "examples": shown,
        "timings": {"total_s": seconds},
        "model": str(fit.model_path),
    }


def _say_verdict(report: dict) -> None:
    for name, ok in report["targets"].items():
        say(f"target {name}: {'[green]met[/green]' if ok else '[red]NOT met[/red]'}")
    say(f"demo finished in {report['timings']['total_s']:.0f}s")
