"""Terminal tables shared by eval, train and demo."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

HEADLINE = ("mrr@10", "ndcg@10", "map@10", "recall@10", "recall@100", "hit@1", "r_precision")


def print_metric_table(columns: dict[str, dict[str, float]], *, keys: list[str] | None = None,
                       title: str | None = None, delta: bool = True, baseline: str | None = None) -> None:
    """Metrics as rows, models as columns; a final delta column compares the last to `baseline` (or the first)."""
    names = list(columns)
    base = baseline or names[0]
    first = columns[base]
    keys = keys or [k for k in first if k != "pairs"]
    table = Table(title=title)
    table.add_column("metric")
    for name in names:
        table.add_column(name, justify="right")
    show_delta = delta and len(names) > 1
    if show_delta:
        table.add_column(f"Δ {names[-1]} vs {base}", justify="right")
    for key in keys:
        cells = [f"{columns[n].get(key, float('nan')):.4f}" for n in names]
        if show_delta:
            cells.append(f"{columns[names[-1]].get(key, 0) - first.get(key, 0):+.4f}")
        table.add_row(key, *cells)
    Console().print(table)
