"""`densefit index` and `densefit search`: thin layers over densefit.index."""

from __future__ import annotations

import json
from typing import List, Optional

import typer

from densefit.index.config import help_of

STORE_HELP = ("Store URI: a folder (embedded default), a .db file (Milvus Lite), milvus://host:19530/collection "
              "or opensearch://host:9200/index.")


def index(
    store: str = typer.Option(..., "--store", help=STORE_HELP),
    corpus: Optional[str] = typer.Option(None, "--corpus", help="Corpus: JSONL/CSV/TSV/Parquet with id and text "
                                         "columns (other columns become metadata), or a BEIR folder."),
    model: Optional[str] = typer.Option(None, "--model", help="Model to embed with (default: the one recorded in "
                                        "the store, else 'default')."),
    upsert: bool = typer.Option(False, "--upsert", help="Replace rows whose id is already stored (default: skip "
                                "them, which is also how a killed run resumes)."),
    delete: Optional[str] = typer.Option(None, "--delete", help="Ids to remove: a,b,c or @file (one per line)."),
    batch_size: Optional[int] = typer.Option(None, "--batch-size", help=help_of("batch_size")),
    no_progress: bool = typer.Option(False, "--no-progress", help="Hide the progress bar."),
) -> None:
    """Embed a corpus into a store (resumable), or update it with --upsert / --delete."""
    from densefit.errors import ConfigError
    from densefit.index.build import index_corpus
    from densefit.index.config import IndexConfig
    from densefit.index.corpus import read_id_list
    from densefit.index.registry import scheme_of

    if not corpus and not delete:
        raise ConfigError("nothing to do: pass --corpus FILE (to add or --upsert) and/or --delete IDS")
    if model is None and corpus and not _store_exists(store, scheme_of(store)):
        model = "default"
    index_corpus(store, corpus, model=model, upsert=upsert, delete=read_id_list(delete) if delete else None,
                 config=IndexConfig.from_env(batch_size=batch_size), show_progress=not no_progress)


def _store_exists(store: str, scheme: str) -> bool:
    from pathlib import Path

    if scheme == "file":
        path = Path(store)
        return path.exists() and not (path.is_dir() and not any(path.iterdir()))
    if scheme == "milvus-lite":
        return Path(store).exists()
    return True  # a server store: use the recorded model when there is one


def search(
    query: str = typer.Argument(..., help="The query text."),
    store: str = typer.Option(..., "--store", help=STORE_HELP),
    model: Optional[str] = typer.Option(None, "--model", help="Model for the query (default: the store's; another "
                                        "model is refused)."),
    k: int = typer.Option(10, "-k", "--k", help="Number of hits."),
    filter: Optional[List[str]] = typer.Option(None, "--filter", help="Metadata equality, repeatable: field=text "
                                               "or field:=JSON (numbers, booleans)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
    width: int = typer.Option(80, "--snippet", help="Characters of text shown per hit in the table."),
    mode: str = typer.Option("dense", "--mode", help="dense (the model), lexical (BM25 over the texts) or hybrid "
                             "(both, fused); `densefit eval --hybrid` shows which wins on your data."),
    fusion: str = typer.Option("rrf", "--fusion", help="hybrid: rrf (reciprocal ranks) or convex (normalised "
                               "scores mixed by --weight)."),
    weight: float = typer.Option(0.5, "--weight", help="hybrid convex: the dense share in [0, 1] (`densefit eval "
                                 "--hybrid` chooses it on a dev split)."),
) -> None:
    """Search a store: a table of rank, id, score and a text snippet (or --json)."""
    from densefit.index import Index
    from densefit.index.filters import parse_filter_args

    where = parse_filter_args(filter)
    with Index.open(store, model=model) as idx:
        hits = idx.search(query, k=k, filter=where, mode=mode, fusion=fusion, weight=weight)
    if as_json:
        typer.echo(json.dumps([{"rank": r, "id": h.id, "score": h.score, "text": h.text, "metadata": h.metadata}
                               for r, h in enumerate(hits, 1)], ensure_ascii=False, indent=2))
        return
    _print_hits(hits, width)


def _print_hits(hits, width: int) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table()
    for name, justify in (("rank", "right"), ("id", "left"), ("score", "right"), ("text", "left")):
        table.add_column(name, justify=justify)
    for rank, hit in enumerate(hits, 1):
        snippet = " ".join(hit.text.split())
        snippet = snippet if len(snippet) <= width else snippet[: width - 1] + "…"
        table.add_row(str(rank), hit.id, f"{hit.score:.4f}", snippet)
    Console().print(table)
