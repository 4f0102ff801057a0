"""`densefit eval`: metrics for one or more models on an IR set or STS file."""

from __future__ import annotations

import json
from typing import List, Optional

import typer

from densefit.cli.options import parse_int_list


def evaluate(
    data: Optional[str] = typer.Option(None, "--data", help="BEIR-style IR folder or STS file (sentence1, sentence2, "
                                                            "score); not needed with --mteb."),
    model: List[str] = typer.Option(["default"], "--model", help="Model to evaluate; repeat for side by side."),
    store: Optional[str] = typer.Option(None, "--store", help="Evaluate through this vector store (its ANN settings; "
                                        "its recorded model unless --model is given) and report recall@k vs exact."),
    split: Optional[str] = typer.Option(None, help="qrels split of an IR folder (default: test, else dev)."),
    k: str = typer.Option("1,3,5,10,100", "--k", help="Comma-separated cut-offs for the retrieval metrics."),
    bm25: bool = typer.Option(False, "--bm25", help="Add a BM25 column (IR folders only)."),
    precision: str = typer.Option("auto", help="auto|fp32|bf16|fp16 for encoding."),
    max_seq_length: Optional[int] = typer.Option(None, help="Truncate texts to this many tokens."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
    mteb: Optional[str] = typer.Option(None, "--mteb", help="Run MTEB tasks instead (comma-separated names, or BEIR "
                                                            "folders as local retrieval tasks); MTEB result format."),
    mteb_out: str = typer.Option("mteb-results", "--mteb-out", help="Folder for MTEB's result files."),
    no_progress: bool = typer.Option(False, "--no-progress", help="Hide the progress bars."),
    hybrid: Optional[str] = typer.Option(None, "--hybrid", help="on: dense, lexical (BM25), RRF and convex fusion "
                                         "side by side, with paired CIs against dense; auto: also choose the mode "
                                         "on the dev split (dense unless fusion wins there). IR folders only."),
) -> None:
    """Evaluate models; several --model values are shown side by side."""
    if no_progress:
        from densefit.console import set_progress

        set_progress(False)
    if mteb:
        return _run_mteb(model, mteb, mteb_out, as_json)
    if data is None:
        from densefit.errors import ConfigError

        raise ConfigError("--data is required: a BEIR-style folder or an STS file (or use --mteb TASK)")
    from densefit.api import evaluate_encoder, load, load_eval_data
    from densefit.cli.tables import print_metric_table
    from densefit.data.beir import IRSet
    from densefit.evaluation.bm25 import bm25_run
    from densefit.evaluation.retrieval import evaluate_run

    ks = parse_int_list(k, "--k")
    if hybrid:
        return _run_hybrid(model[0], data, split, ks, hybrid, as_json, precision=precision,
                           max_seq_length=max_seq_length)
    target = load_eval_data(data, split)
    columns: dict[str, dict[str, float]] = {}
    if bm25 and isinstance(target, IRSet):
        columns["bm25"] = evaluate_run(bm25_run(target, k=max(ks)), target, ks).metrics
    if store and not isinstance(target, IRSet):
        from densefit.errors import ConfigError

        raise ConfigError("--store evaluates retrieval: --data must be a BEIR-style IR folder")
    if store:
        columns[f"store {store}"] = store_column(store, None if model == ["default"] else model[0], target, ks)
    for name in ([] if store else model):
        encoder = load(name, precision=precision, max_seq_length=max_seq_length)
        columns[name] = evaluate_encoder(encoder, target, ks).metrics
    if as_json:
        typer.echo(json.dumps(columns, indent=2))
        return
    print_metric_table(columns, keys=shown_keys(columns, isinstance(target, IRSet), bool(store)),
                       delta=len(columns) > 1)


def shown_keys(columns: dict, retrieval: bool, store: bool) -> list[str] | None:
    """The table's rows: the headline metrics and every @10 one (+ recall vs exact through a store)."""
    if not retrieval:
        return None
    from densefit.cli.tables import HEADLINE

    keys = [key for key in next(iter(columns.values())) if key in HEADLINE or key.endswith("@10")] or None
    if store:
        keys = list(dict.fromkeys([*(keys or []), *(key for c in columns.values() for key in c
                                                    if key.startswith("recall_vs_exact"))]))
    return keys


def _run_mteb(models: list[str], tasks: str, out: str, as_json: bool) -> None:
    """`--mteb`: evaluate each model through the mteb package; print main scores."""
    from densefit.report.mteb_task import run_mteb

    specs = [t.strip() for t in tasks.split(",") if t.strip()]
    results = {name: run_mteb(name, specs, out) for name in models}
    if as_json:
        typer.echo(json.dumps({m: {t: r["main_score"] for t, r in rs.items()} for m, rs in results.items()}, indent=2))
        return
    for name, rows in results.items():
        for task, r in rows.items():
            typer.echo(f"{name}  {task}  main score {r['main_score']:.4f}  ({r['path']})")


def store_column(uri: str, model: str | None, irset, ks) -> dict[str, float]:
    """The `--store` column: metrics through the store plus recall vs exact, with its settings said."""
    from densefit.console import say
    from densefit.index.evaluate import evaluate_store
    from densefit.index.index import Index

    with Index.open(uri, model=model) as index:
        result = evaluate_store(index, irset, ks)
    settings = ", ".join(f"{k}={v}" for k, v in result["settings"].items())
    say(f"store {uri}: {settings}; {result['queries']} queries searched in {result['search_s']:.2f} s")
    if result["corpus_missing_from_store"]:
        say(f"[yellow]note: {result['corpus_missing_from_store']} documents of the IR set are not in the store; "
            "index the set's corpus.jsonl into it for comparable metrics[/yellow]")
    return result["metrics"]


def _run_hybrid(model: str, data: str, split: Optional[str], ks: list[int], hybrid: str, as_json: bool,
                **load_options) -> None:
    """`--hybrid on|auto`: the four modes on the reported split, fusion settings from the dev split."""
    from densefit.api import load
    from densefit.cli.tables import print_metric_table
    from densefit.data.beir import available_splits, is_beir_dir, load_beir
    from densefit.errors import ConfigError
    from densefit.evaluation.hybrid import evaluate_hybrid
    from densefit.evaluation.metrics import per_query_metrics
    from densefit.report.stats import compare_paired

    if hybrid not in ("on", "auto"):
        raise ConfigError(f"--hybrid must be 'on' or 'auto', got '{hybrid}'")
    if not is_beir_dir(data):
        raise ConfigError(f"--hybrid compares retrieval modes: --data must be a BEIR-style IR folder, got '{data}'")
    if split == "dev":
        raise ConfigError("--hybrid chooses its fusion settings on the dev split, so it cannot also report it. "
                          "Fix: --split test (or leave --split out)")
    target = load_beir(data, split)
    dev = load_beir(data, "dev") if "dev" in available_splits(data) else None
    result = evaluate_hybrid(load(model, **load_options), target, dev, ks)
    names = {"dense": "dense", "lexical": "lexical (BM25)", "rrf": "hybrid rrf",
             "convex": f"hybrid convex w={result.weight:g}"}
    columns = {names[n]: m for n, m in result.metrics.items()}
    per_query = {n: per_query_metrics(run, target.qrels, ks) for n, run in result.runs.items()}
    comparisons = {n: compare_paired("ndcg@10", per_query["dense"]["ndcg@10"], per_query[n]["ndcg@10"])
                   for n in ("lexical", "rrf", "convex")}
    chosen = result.choice["chosen"] if hybrid == "auto" and result.choice else "dense"
    if as_json:
        typer.echo(json.dumps({"metrics": columns, "weight": result.weight, "dev_choice": result.choice,
                               "chosen": chosen, "vs_dense_ndcg@10": {
                                   n: {"delta": c.delta, "ci": [c.ci_low, c.ci_high], "p": c.p_value}
                                   for n, c in comparisons.items()}}, indent=2))
        return
    print_metric_table(columns, keys=shown_keys(columns, True, False), delta=False)
    for n, c in comparisons.items():
        verdict = "better" if c.ci_low > 0 else "worse" if c.ci_high < 0 else "no clear difference"
        typer.echo(f"{names[n]} vs dense: ndcg@10 {c.delta:+.4f} (95% CI {c.ci_low:+.4f} to {c.ci_high:+.4f}, "
                   f"p {c.p_value:.3f}): {verdict}")
    for note in result.notes:
        typer.echo(note)
    if hybrid == "auto":
        typer.echo(f"auto: {chosen}" + ("" if chosen != "dense" or result.choice is None
                                        else " (fusion did not win on dev)"))
