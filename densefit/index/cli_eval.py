"""The `densefit eval --store` column: metrics through the store plus recall vs exact, settings logged."""

from __future__ import annotations

from densefit.console import say
from densefit.index.evaluate import evaluate_store
from densefit.index.index import Index


def store_column(uri: str, model: str | None, irset, ks) -> dict[str, float]:
    with Index.open(uri, model=model) as index:
        result = evaluate_store(index, irset, ks)
    settings = ", ".join(f"{k}={v}" for k, v in result["settings"].items())
    say(f"store {uri}: {settings}; {result['queries']} queries searched in {result['search_s']:.2f} s")
    if result["corpus_missing_from_store"]:
        say(f"[yellow]note: {result['corpus_missing_from_store']} documents of the IR set are not in the store; "
            "index the set's corpus.jsonl into it for comparable metrics[/yellow]")
    return result["metrics"]
