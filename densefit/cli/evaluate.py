"""`densefit eval`: metrics for one or more models on an IR set or STS file."""

from __future__ import annotations

import json
from typing import List, Optional

import typer

from densefit.cli.options import parse_int_list


def evaluate(
    data: str = typer.Option(..., "--data", help="BEIR-style IR folder or STS file (sentence1, sentence2, score)."),
    model: List[str] = typer.Option(["default"], "--model", help="Model to evaluate; repeat for side by side."),
    split: Optional[str] = typer.Option(None, help="qrels split of an IR folder (default: test, else dev)."),
    k: str = typer.Option("1,3,5,10,100", "--k", help="Comma-separated cut-offs for the retrieval metrics."),
    bm25: bool = typer.Option(False, "--bm25", help="Add a BM25 column (IR folders only)."),
    precision: str = typer.Option("auto", help="auto|fp32|bf16|fp16 for encoding."),
    max_seq_length: Optional[int] = typer.Option(None, help="Truncate texts to this many tokens."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Evaluate models; several --model values are shown side by side."""
    from densefit.api import evaluate_encoder, load, load_eval_data
    from densefit.cli.tables import HEADLINE, print_metric_table
    from densefit.data.beir import IRSet
    from densefit.evaluation.bm25 import bm25_run
    from densefit.evaluation.retrieval import evaluate_run

    ks = parse_int_list(k, "--k")
    target = load_eval_data(data, split)
    columns: dict[str, dict[str, float]] = {}
    if bm25 and isinstance(target, IRSet):
        columns["bm25"] = evaluate_run(bm25_run(target, k=max(ks)), target, ks).metrics
    for name in model:
        encoder = load(name, precision=precision, max_seq_length=max_seq_length)
        columns[name] = evaluate_encoder(encoder, target, ks).metrics
    if as_json:
        typer.echo(json.dumps(columns, indent=2))
        return
    keys = None
    if isinstance(target, IRSet):
        keys = [key for key in next(iter(columns.values())) if key in HEADLINE or key.endswith("@10")] or None
    print_metric_table(columns, keys=keys, delta=len(columns) > 1)
