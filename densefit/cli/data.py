"""`densefit data`: audit files without training, and build example sets from local packages."""

from __future__ import annotations

import json
from pathlib import Path
from typing import List, Optional

import typer

app = typer.Typer(help="Check data files and build example data sets.", no_args_is_help=True)
build_app = typer.Typer(help="Build a retrieval set from local packages.", no_args_is_help=True)
app.add_typer(build_app, name="build")


@app.command("check")
def check(
    files: List[str] = typer.Argument(..., help="Training files or BEIR folders to audit."),
    eval: Optional[str] = typer.Option(None, "--eval", help="Eval set to check for train/eval leakage."),
    model: str = typer.Option("default", help="Model whose tokenizer and max_seq_length measure the lengths."),
    format: Optional[str] = typer.Option(None, "--format", help="Data format; detected when not given."),
    as_json: bool = typer.Option(False, "--json", help="Print the audit as JSON."),
) -> None:
    """Row counts, format, duplicates, empties, token lengths and leakage, without training."""
    from densefit.console import console
    from densefit.data.audit import audit, render_audit
    from densefit.models import load_model

    st = load_model(model)
    tokenizer = st.tokenizer

    def count_tokens(texts: list[str]) -> list[int]:
        return [len(ids) for ids in tokenizer(texts, add_special_tokens=True, truncation=False)["input_ids"]]

    report = audit(files, eval_path=eval, count_tokens=count_tokens, max_seq_length=st.max_seq_length,
                   format=format)
    if as_json:
        typer.echo(json.dumps(report.to_dict(), indent=2, default=str))
    else:
        render_audit(report, console)


@build_app.command("manpages")
def build_manpages_cmd(
    out: Path = typer.Option(..., "--out", help="Folder for the BEIR-style set (corpus, queries, qrels)."),
    test_queries: int = typer.Option(500, help="Queries in the test split (at least 500)."),
    dev_queries: int = typer.Option(50, help="Queries in the dev split, for checkpoint selection."),
) -> None:
    """Linux man pages (Debian manpages + manpages-dev): query = NAME description, doc = the page."""
    from densefit.data.builders.manpages import build_manpages

    summary = build_manpages(out, test_queries=test_queries, dev_queries=dev_queries)
    typer.echo(f"{summary.pages} pages, {summary.queries} queries {summary.split_sizes} -> {summary.out_dir} "
               f"({summary.seconds:.1f}s)")
