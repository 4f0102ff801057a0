"""Every training method on the man-page set, each under its own data condition, same test queries.

    flock /tmp/densefit-bench.lock .venv/bin/python bench/methods.py            # full run (~40 min, 2 CPUs)
    .venv/bin/python bench/methods.py --quick                                   # smoke: small subset, 2 steps
    .venv/bin/python bench/methods.py --only genq,gpl                           # some methods

Conditions: GenQ, GPL (and TSDAE) see only the corpus; AugSBERT 200 labelled pairs (plus the unlabelled
corpus to sample from); supervised all 500 training pairs, with and without mined negatives.
Every model, and zero-shot MiniLM, is scored by the same code on the same 500 test queries against the
full corpus at EVAL_SEQ tokens. Training runs at TRAIN_SEQ tokens with capped steps to fit a CPU budget.
Writes docs/benchmarks.md between the METHODS markers (and bench-out/methods/results.json).

Adding a method is one ENTRIES line: name -> Entry(condition, config function[, evaluate function]).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import common  # noqa: E402  (bench/common.py: machine line, sections, server helpers)
from common import DOC, machine  # noqa: E402

BEGIN, END = "<!-- METHODS:BEGIN -->", "<!-- METHODS:END -->"
KEYS = ("mrr@10", "ndcg@10")
TRAIN_SEQ, EVAL_SEQ = 128, 256
AUGSBERT_PAIRS = 200
TARGET_CORPUS_GAIN = 0.05


@dataclass
class Ctx:
    """What every entry may use: the IR set folder, the 200-pair file, budgets, the output root."""

    data: Path
    small_pairs: Path
    out: Path
    quick: bool
    steps: Callable[[int], int]   # full-run step cap -> the cap for this run


@dataclass
class Entry:
    condition: str
    config: Callable[[Ctx], dict]                       # TrainConfig fields (model, out, seq length added)
    evaluate: Callable[[Ctx, Path], dict] | None = None  # default: man-page test split at EVAL_SEQ


def _mnr(ctx: Ctx, **kw) -> dict:
    return dict(loss="mnr", batch_size=32, learning_rate=1e-4, **kw)


ENTRIES: dict[str, Entry] = {
    "supervised": Entry("all 500 training pairs, MNR (in-batch negatives), 1 epoch",
                        lambda c: _mnr(c, method="supervised", train=str(c.data), max_steps=c.steps(-1))),
    "supervised+mined": Entry("all 500 training pairs, MNR + 1 mined hard negative (whole corpus, relative "
                              "margin 0.05), 1 epoch",
                              lambda c: _mnr(c, method="supervised", train=str(c.data), max_steps=c.steps(-1),
                                             mine=True, mine_negatives=1)),
    "augsbert": Entry(f"{AUGSBERT_PAIRS} labelled pairs (+ unlabelled corpus to sample from), 2 epochs",
                      lambda c: _mnr(c, method="augsbert", train=str(c.small_pairs), corpus=str(c.data), epochs=2,
                                     max_steps=c.steps(-1), cross_encoder_steps=c.steps(-1), silver_per_query=4)),
    "genq": Entry("corpus only; extractive generator, 2 queries/passage, 30 steps",
                  lambda c: _mnr(c, method="genq", corpus=str(c.data), queries_per_passage=2,
                                 max_steps=c.steps(30))),
    "gpl": Entry("corpus only (500 sampled documents); extractive queries, negatives from MiniLM + BM25, "
                 "own cross-encoder trained 1 epoch on the 1,000 generated/mined pairs, MarginMSE, 30 steps",
                 lambda c: dict(method="gpl", corpus=str(c.data), queries_per_passage=1, max_passages=500,
                                batch_size=32, learning_rate=5e-5, max_steps=c.steps(30),
                                cross_encoder_steps=c.steps(-1),
                                retrievers=["model", "bm25"])),
}


# --------------------------------------------------------------------------- data

def build_data(out: Path, quick: bool) -> tuple[Path, Path]:
    from densefit.data.beir import load_beir
    from densefit.data.builders.manpages import build_manpages

    data = out / "data" / "manpages"
    build_manpages(data)
    if quick:
        data = subset(data, out / "data" / "quick", n_queries=30)
    train = load_beir(data, "train")
    qids = sorted(train.qrels)
    random.Random(0).shuffle(qids)
    rows = [{"anchor": train.queries[q], "positive": train.corpus[d]}
            for q in qids[:AUGSBERT_PAIRS] for d, g in train.qrels[q].items() if g > 0]
    small = out / "data" / "augsbert_pairs.jsonl"
    small.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return data, small


def subset(data: Path, out: Path, n_queries: int) -> Path:
    """A small IR set for --quick: a few queries per split and their documents plus 100 others."""
    from densefit.data.beir import load_beir, write_beir

    splits = {s: load_beir(data, s) for s in ("train", "test")}
    qrels = {s: dict(sorted(ir.qrels.items())[:n_queries]) for s, ir in splits.items()}
    corpus = splits["test"].corpus
    keep = {d for q in qrels.values() for rel in q.values() for d in rel} | set(sorted(corpus)[:100])
    queries = splits["test"].queries
    return write_beir(out, {d: {"text": corpus[d]} for d in sorted(keep)}, queries, qrels)


# --------------------------------------------------------------------------- runs

def test_metrics(ctx: Ctx, model: str) -> dict:
    from densefit.api import evaluate

    return {k: v for k, v in evaluate(model, ctx.data, split="test", max_seq_length=EVAL_SEQ).items() if k in KEYS}


def run_entry(name: str, entry: Entry, ctx: Ctx, model: str) -> dict:
    from densefit.api import run_training
    from densefit.config import TrainConfig

    out = ctx.out / "runs" / name.replace("+", "_")
    shutil.rmtree(out, ignore_errors=True)
    cfg = TrainConfig(**{"model": model, "out": str(out), "max_seq_length": TRAIN_SEQ, **entry.config(ctx)})
    start = time.perf_counter()
    result = run_training(cfg)
    train_s = time.perf_counter() - start
    metrics = (entry.evaluate or (lambda c, p: test_metrics(c, str(p))))(ctx, result.model_path)
    stage_list = result.summary.get("method", {}).get("stages", [])
    stages = {s["name"]: s["seconds"] for s in stage_list}
    return {"condition": entry.condition, "metrics": metrics, "train_s": round(train_s, 1), "stages": stages,
            "steps": result.summary["train"]["steps"], "teacher": teacher_margins(stage_list)}


def teacher_margins(stage_list: list[dict]) -> dict | None:
    """GPL's pseudo-label statistics (cross-encoder logit margins), when the method has a label stage."""
    label = next((s for s in stage_list if s["name"] == "label"), None)
    return {k: label[k] for k in ("margin_mean", "margin_p5", "margin_p95", "negative_margins")} if label else None


# --------------------------------------------------------------------------- report

def verdicts(results: dict, zero: dict) -> list[str]:
    lines = []
    for name, r in results.items():
        if "error" in r:
            continue
        gain = r["metrics"]["mrr@10"] - zero["mrr@10"]
        lines.append(f"- {name}: MRR@10 {gain:+.4f} vs zero-shot" + ("" if gain > 0 else " — **does not beat zero-shot**")
                     + teacher_note(r.get("teacher")))
    sup, mined = results.get("supervised", {}), results.get("supervised+mined", {})
    if "metrics" in sup and "metrics" in mined:
        ok = mined["metrics"]["mrr@10"] > sup["metrics"]["mrr@10"]
        lines.append(f"- target: supervised MNR with mined negatives beats MNR without: **{'met' if ok else 'NOT met'}**")
    corpus_only = [n for n in ("genq", "gpl", "tsdae") if "metrics" in results.get(n, {})]
    if corpus_only:
        best = max(corpus_only, key=lambda n: results[n]["metrics"]["mrr@10"])
        gain = results[best]["metrics"]["mrr@10"] - zero["mrr@10"]
        ok = gain >= TARGET_CORPUS_GAIN
        lines.append(f"- target: a corpus-only method gains >= +{TARGET_CORPUS_GAIN} MRR@10 over zero-shot: "
                     f"**{'met' if ok else 'NOT met'}** (best: {best}, {gain:+.4f})")
    return lines


def teacher_note(t: dict | None) -> str:
    if not t:
        return ""
    return (f"; its cross-encoder's logit margins: mean {t['margin_mean']:.3f} (p5 {t['margin_p5']:.3f}, p95 "
            f"{t['margin_p95']:.3f}), the mined negative preferred in {t['negative_margins']} pairs"
            + (": a teacher with no signal, and MarginMSE towards zero margins collapses the model"
               if abs(t["margin_mean"]) < 0.1 else ""))


def provenance(results: dict) -> str:
    """Which command produced which rows (with --only, the other rows come from earlier runs)."""
    by: dict[str, list[str]] = {}
    for name, r in results.items():
        by.setdefault(r.get("command", "an earlier run (command not recorded)"), []).append(name)
    return "\n".join(f"  - {', '.join(names)}: `{cmd}`" if cmd.startswith(".venv") else f"  - {', '.join(names)}: {cmd}"
                     for cmd, names in by.items())


def section(report: dict, command: str) -> str:
    zero, bm25 = report["zero_shot"], report["bm25"]
    rows = [f"| BM25 | — | {bm25['mrr@10']:.4f} | {bm25['ndcg@10']:.4f} | | — |",
            f"| zero-shot MiniLM | — | {zero['mrr@10']:.4f} | {zero['ndcg@10']:.4f} | | — |"]
    for name, r in report["results"].items():
        if "error" in r:
            rows.append(f"| {name} | {r['condition']} | failed: {r['error']} | | | |")
            continue
        m = r["metrics"]
        rows.append(f"| {name} | {r['condition']} | {m['mrr@10']:.4f} | {m['ndcg@10']:.4f} | "
                    f"{m['mrr@10'] - zero['mrr@10']:+.4f} / {m['ndcg@10'] - zero['ndcg@10']:+.4f} | "
                    f"{r['train_s']:.0f} s ({r['steps']} steps) |")
    stages = "\n".join(f"- {n}: " + ", ".join(f"{k} {v:.0f} s" for k, v in r.get("stages", {}).items())
                       for n, r in report["results"].items() if "stages" in r)
    return f"""{BEGIN}
## Methods: man pages, MiniLM-L6, each method under its own data condition

- command: `{command}`; rows by the command that produced them:
{provenance(report['results'])}
- date: {report['date']}
- machine: {machine()}; {report.get('machine_use', 'machine use not measured')}
- data: man-page set, {report['test_queries']} test queries against all {report['documents']} documents; scored at
  {EVAL_SEQ} tokens; training at {TRAIN_SEQ} tokens, fp32, capped steps (see each run's train.json)
- corpus-only methods train on the whole corpus (no queries, no labels), as in GPL/BEIR domain adaptation

| method | data condition | MRR@10 | nDCG@10 | Δ vs zero-shot (MRR / nDCG) | training (whole method) |
|---|---|---|---|---|---|
{chr(10).join(rows)}

{chr(10).join(verdicts(report['results'], zero))}

Stage timings:
{stages}

Whole bench: {report['total_s']:.0f} s.
{END}"""


def baselines(ctx: Ctx, model: str) -> tuple[dict, dict, int, int]:
    from densefit.data.beir import load_beir
    from densefit.evaluation.bm25 import bm25_run
    from densefit.evaluation.retrieval import evaluate_run

    test = load_beir(ctx.data, "test")
    bm25 = {k: v for k, v in evaluate_run(bm25_run(test), test).metrics.items() if k in KEYS}
    return test_metrics(ctx, model), bm25, len(test.judged_queries()), len(test.corpus)


def previous_results(out: Path, args) -> dict:
    """With --only, keep the other entries' figures from the last full run (same data and baselines)."""
    path = out / "results.json"
    if not args.only or args.quick or not path.exists():
        return {}
    old = json.loads(path.read_text()).get("results", {})
    return {name: r for name, r in old.items() if name in ENTRIES}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small subset, 2 steps per method, no doc update")
    parser.add_argument("--only", default="", help="comma-separated entries (default: all)")
    parser.add_argument("--out", default="bench-out/methods")
    parser.add_argument("--model", default="default")
    parser.add_argument("--doc-only", action="store_true", help="rewrite the doc section from OUT/results.json")
    args = parser.parse_args()
    if args.doc_only:
        common.write_section(section(json.loads((Path(args.out) / "results.json").read_text()),
                                     ".venv/bin/python bench/methods.py --doc-only"), BEGIN, END)
        return
    start, watch = time.perf_counter(), common.SharedWatch()
    out = Path(args.out)
    data, small = build_data(out, args.quick)
    ctx = Ctx(data, small, out, args.quick, steps=(lambda cap: 2) if args.quick else (lambda cap: cap))
    zero, bm25, n_queries, n_docs = baselines(ctx, args.model)
    print(f"zero-shot {zero}  bm25 {bm25}", flush=True)
    names = [n for n in (args.only.split(",") if args.only else ENTRIES) if n]
    results = {}
    command = ".venv/bin/python bench/methods.py" + (
        f" --only {args.only}" if args.only else "")
    for name in names:
        try:
            results[name] = {**run_entry(name, ENTRIES[name], ctx, args.model), "command": command}
        except Exception as exc:  # noqa: BLE001 - one failing method must not hide the others' figures
            results[name] = {"condition": ENTRIES[name].condition, "error": f"{type(exc).__name__}: {exc}"}
        print(name, json.dumps(results[name]), flush=True)
    results = {**previous_results(out, args), **results}
    report = {"date": dt.date.today().isoformat(), "zero_shot": zero, "bm25": bm25, "results": results,
              "test_queries": n_queries, "documents": n_docs, "total_s": time.perf_counter() - start,
              "machine_use": watch.note()}
    (out / "results.json").write_text(json.dumps(report, indent=2))
    text = section(report, command)
    print(text)
    if not args.quick:
        common.write_section(text, BEGIN, END)
        print(f"updated {DOC}")


if __name__ == "__main__":
    main()
