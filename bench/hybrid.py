"""Hybrid search on the quality benchmark's domains: dense, lexical (FTS5 BM25), RRF and convex fusion.

    .venv/bin/python bench/hybrid.py [--only manpages,pydocs] [--no-doc]

For each domain of bench/quality.py (its data must be built: run that bench first), for the zero-shot
MiniLM and for the model `densefit train` made there with its defaults: every mode on the test split, the
convex weight and the `auto` choice from the dev split, paired CIs against dense. Writes the HYBRID section
of docs/benchmarks.md. Every sentence of its summary is computed from this run's figures.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import common  # bench/common.py: machine line, sections
from progress import line  # bench/progress.py: one line per phase

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "bench-out" / "quality" / "data"
MODELS = ROOT / "bench-out" / "quality" / "runs" / "models"
DOMAINS = ("manpages", "pydocs", "debref", "chatterbot", "pyapi", "bible-es")
BEGIN, END = "<!-- HYBRID:BEGIN -->", "<!-- HYBRID:END -->"
MODES = ("dense", "lexical", "rrf", "convex")


def tuned_model(domain: str) -> str | None:
    record = MODELS / domain / "densefit" / "trained.json"
    if not record.is_file():
        return None
    path = json.loads(record.read_text())["model"]
    return path if Path(path).is_dir() else None


def run_one(domain: str, model: str) -> dict:
    from densefit.api import load
    from densefit.data.beir import load_beir
    from densefit.evaluation.hybrid import evaluate_hybrid
    from densefit.evaluation.metrics import per_query_metrics
    from densefit.report.stats import compare_paired

    target, dev = load_beir(DATA / domain, "test"), load_beir(DATA / domain, "dev")
    start = time.perf_counter()
    result = evaluate_hybrid(load(model), target, dev, ks=(10,))
    per_query = {n: per_query_metrics(run, target.qrels, (10,)) for n, run in result.runs.items()}
    vs = {}
    for n in MODES[1:]:
        for metric in ("mrr@10", "ndcg@10"):
            c = compare_paired(metric, per_query["dense"][metric], per_query[n][metric])
            vs[f"{n} {metric}"] = {"delta": c.delta, "ci": [c.ci_low, c.ci_high]}
    return {"metrics": result.metrics, "weight": result.weight, "choice": result.choice, "vs_dense": vs,
            "queries": len(target.judged_queries()), "docs": len(target.corpus), "seconds": time.perf_counter() - start}


def engines_on_dev(domain: str) -> dict[str, float]:
    """MRR@10 of the two lexical engines on the dev split: the figure that chose FTS5 over bm25s."""
    from densefit.data.beir import load_beir
    from densefit.evaluation.bm25 import bm25_run
    from densefit.evaluation.lexical import fts5_run
    from densefit.evaluation.metrics import retrieval_metrics

    dev = load_beir(DATA / domain, "dev")
    return {name: retrieval_metrics(run(dev), dev.qrels, (10,))["mrr@10"]
            for name, run in (("fts5", fts5_run), ("bm25s", bm25_run))}


def cell(r: dict, mode: str) -> str:
    value = r["metrics"][mode]["mrr@10"]
    if mode == "dense":
        return f"{value:.3f}"
    d = r["vs_dense"][f"{mode} mrr@10"]
    return f"{value:.3f} ({d['delta']:+.3f} [{d['ci'][0]:+.3f}, {d['ci'][1]:+.3f}])"


def auto_cell(r: dict) -> str:
    chosen = r["choice"]["chosen"]
    return f"{chosen}, {r['metrics'][chosen]['mrr@10']:.3f}" + (f" (w={r['weight']:g})" if chosen == "convex" else "")


def summary(results: dict, engines: dict) -> list[str]:
    lines = []
    if engines:
        ahead = [d for d, e in engines.items() if e["fts5"] >= e["bm25s"]]
        figures = ", ".join(f"{d} {e['fts5']:.3f} vs {e['bm25s']:.3f}" for d, e in engines.items())
        verdict = ("so the store keeps FTS5 (same file, same transactions)" if 2 * len(ahead) >= len(engines)
                   else "so bm25s should replace it")
        lines.append(f"- lexical engine, MRR@10 on the dev splits, FTS5 vs bm25s: {figures}. FTS5 is at least as "
                     f"good on {len(ahead)} of {len(engines)}, {verdict}.")
    for label in ("zero-shot", "tuned"):
        rows = [(d, r) for (d, m), r in results.items() if m == label]
        if not rows:
            continue
        wins = [d for d, r in rows if r["vs_dense"]["convex mrr@10"]["ci"][0] > 0]
        losses = [d for d, r in rows if r["vs_dense"]["convex mrr@10"]["ci"][1] < 0]
        auto_dense = [d for d, r in rows if r["choice"]["chosen"] == "dense"]
        auto_loses = [d for d, r in rows if r["metrics"][r["choice"]["chosen"]]["mrr@10"]
                      < r["metrics"]["dense"]["mrr@10"]]
        lines.append(f"- {label}: convex fusion is above dense with its 95% CI above zero on {len(wins)} of "
                     f"{len(rows)} domains ({', '.join(wins) or 'none'}) and below it on {len(losses)} "
                     f"({', '.join(losses) or 'none'}). `auto` kept dense on {len(auto_dense)} "
                     f"({', '.join(auto_dense) or 'none'}); its dev choice scored below dense on test on "
                     f"{len(auto_loses)} ({', '.join(auto_loses) or 'none'}).")
    return lines


def section(results: dict, engines: dict, command: str, watch) -> str:
    head = ("| domain | model | queries / docs | dense | lexical | rrf | convex (w from dev) | auto (dev) |\n"
            "|---|---|---|---|---|---|---|---|")
    rows = [f"| {d} | {m} | {r['queries']} / {r['docs']} | " + " | ".join(cell(r, x) for x in MODES[:3])
            + f" | w={r['weight']:g}: {cell(r, 'convex')} | {auto_cell(r)} |" for (d, m), r in results.items()]
    return "\n".join([BEGIN, "## Hybrid search: dense + FTS5 BM25 on the quality domains (`bench/hybrid.py`)", "",
                      f"- command: `{command}`", f"- date: {common.today()}",
                      f"- machine: {common.machine()}; {watch.note()}",
                      "- MRR@10 on each domain's test split; in brackets the change against dense with its 95% "
                      "paired-bootstrap CI. The convex weight (dense share) and `auto` are chosen on the dev split "
                      "(nDCG@10); lexical is SQLite FTS5 BM25 (porter stemming), the engine the embedded store uses. "
                      "`tuned` is the model `densefit train` made with its defaults in the QUALITY run.",
                      "", head, *rows, "", *summary(results, engines), END])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", default="", help="comma-separated domains (default: all six)")
    ap.add_argument("--no-doc", action="store_true", help="do not rewrite docs/benchmarks.md")
    args = ap.parse_args()
    watch, results, engines = common.SharedWatch(), {}, {}
    for domain in [d for d in (args.only.split(",") if args.only else DOMAINS) if d]:
        if not (DATA / domain / "corpus.jsonl").is_file():
            line(f"{domain}: no data in {DATA / domain} (run bench/quality.py first); skipped")
            continue
        engines[domain] = engines_on_dev(domain)
        for label, model in (("zero-shot", "default"), ("tuned", tuned_model(domain))):
            if model is None:
                line(f"{domain} {label}: no trained model from bench/quality.py; skipped")
                continue
            r = results[(domain, label)] = run_one(domain, model)
            line(f"{domain} {label}: dense {r['metrics']['dense']['mrr@10']:.4f} lexical "
                 f"{r['metrics']['lexical']['mrr@10']:.4f} rrf {r['metrics']['rrf']['mrr@10']:.4f} convex "
                 f"{r['metrics']['convex']['mrr@10']:.4f} (w {r['weight']:g}); auto {r['choice']['chosen']}")
    command = ".venv/bin/python bench/hybrid.py" + (f" --only {args.only}" if args.only else "")
    text = section(results, engines, command, watch)
    print(text)
    if not args.no_doc and results:
        common.write_section(text, BEGIN, END)


if __name__ == "__main__":
    main()
