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
    test_queries: int = typer.Option(500, help="Queries in the test split (at least 300)."),
    dev_queries: int = typer.Option(50, help="Queries in the dev split, for checkpoint selection."),
) -> None:
    """Linux man pages (Debian manpages + manpages-dev): query = NAME description, doc = the page."""
    from densefit.data.builders.manpages import build_manpages

    summary = build_manpages(out, test_queries=test_queries, dev_queries=dev_queries)
    typer.echo(f"{summary.pages} pages, {summary.queries} queries {summary.split_sizes} -> {summary.out_dir} "
               f"({summary.seconds:.1f}s)")


@build_app.command("bible")
def build_bible_cmd(
    out: Path = typer.Option(..., "--out", help="Folder for the BEIR-style set."),
    query: str = typer.Option("KJV", help="Translation of the queries: KJV, WEB or SpaRV."),
    corpus: str = typer.Option("WEB", help="Translation of the documents: KJV, WEB or SpaRV."),
    queries: int = typer.Option(1000, help="Queries in the test split."),
    dev_queries: int = typer.Option(100, help="Queries in the dev split."),
    corpus_size: int = typer.Option(5000, help="Documents in the corpus (0: every aligned verse)."),
    seed: int = typer.Option(0, help="Seed for choosing the verses."),
) -> None:
    """Bible verse retrieval: a verse in one translation finds the same verse in another (KJV -> WEB)."""
    from densefit.data.builders.bible import build_bible_retrieval

    path = build_bible_retrieval(out, query=query, corpus=corpus, queries=queries, dev_queries=dev_queries,
                                 corpus_size=corpus_size or None, seed=seed)
    typer.echo(f"{query} -> {corpus} retrieval set: {path}")


@build_app.command("bible-parallel")
def build_bible_parallel_cmd(
    out: Path = typer.Option(..., "--out", help="Folder for train.tsv and the test/ BEIR set."),
    source: str = typer.Option("KJV", help="Source (teacher) language translation."),
    target: str = typer.Option("SpaRV", help="Target language translation."),
    train: int = typer.Option(5000, help="Parallel verse pairs for training."),
    test: int = typer.Option(1000, help="Held-out pairs for cross-lingual retrieval."),
    seed: int = typer.Option(0, help="Seed for choosing the verses."),
) -> None:
    """Parallel verses (English -> Spanish) for multilingual distillation, plus a cross-lingual test set."""
    from densefit.data.builders.bible import build_bible_parallel

    path = build_bible_parallel(out, source=source, target=target, train=train, test=test, seed=seed)
    typer.echo(f"{source} -> {target} parallel data: {path}/train.tsv, test set: {path}/test")


# Retrieval sets of the multi-domain quality benchmark (bench/quality.py): NAME -> (module:function, what it is).
DOMAIN_SETS = {
    "pydocs": ("pydocs:build_pydocs_sections", "Python library docs (python3.11-doc): heading -> section text."),
    "pyapi": ("pydocs:build_pydocs_api", "Python API reference (python3.11-doc): dotted name -> its description."),
    "debref": ("debref:build_debref", "Debian Reference (en, es, de): section heading -> section text."),
    "chatterbot": ("chatterbot:build_chatterbot", "chatterbot-corpus (28 languages): question -> answer."),
}


def _domain_command(name: str, target: str, doc: str):
    def command(out: Path = typer.Option(..., "--out", help="Folder for the BEIR-style set (train/dev/test split "
                                                             "by document).")) -> None:
        import importlib

        module, func = target.split(":")
        summary = getattr(importlib.import_module(f"densefit.data.builders.{module}"), func)(out)
        typer.echo(f"{summary.docs} documents, {summary.queries} queries {summary.split_sizes} -> {summary.out_dir} "
                   f"({summary.seconds:.1f}s)")

    command.__doc__ = doc
    build_app.command(name)(command)


for _name, (_target, _doc) in DOMAIN_SETS.items():
    _domain_command(_name, _target, _doc)
