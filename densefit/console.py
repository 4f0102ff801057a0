"""One place for user-facing messages and progress bars (stderr, so --json stdout stays clean).

Every long stage shows a rich progress bar through `progress()`; `--no-progress` (or
DENSEFIT_NO_PROGRESS=1) hides them all. Libraries' own tqdm bars (transformers, datasets, the
hub) are turned off by the CLI, so one progress library draws.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console

console = Console(stderr=True, highlight=False)
_state = {"progress": os.environ.get("DENSEFIT_NO_PROGRESS", "").lower() in ("", "0", "false", "no")}


def say(message: str) -> None:
    console.print(message)


def set_progress(enabled: bool) -> None:
    """Show (True) or hide (False) every progress bar from here on (--no-progress)."""
    _state["progress"] = enabled


def progress_enabled() -> bool:
    return _state["progress"]


@contextmanager
def progress(description: str, total: float | None, unit: str = "", show: bool = True) -> Iterator:
    """A rich bar for one stage; yields `advance(n=1)`. Hidden when `show` is False or progress is off."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, \
        TimeRemainingColumn

    columns = [TextColumn(f"{description}"), BarColumn(), MofNCompleteColumn(),
               TextColumn(unit), TimeElapsedColumn(), TimeRemainingColumn()]
    with Progress(*columns, console=console, disable=not (show and progress_enabled()),
                  transient=False) as bar:
        task = bar.add_task(description, total=total)
        yield lambda n=1: bar.advance(task, n)


def quiet_library_bars() -> None:
    """Turn off the tqdm bars of transformers, datasets and the hub (read when they are imported)."""
    for var in ("HF_HUB_DISABLE_PROGRESS_BARS", "HF_DATASETS_DISABLE_PROGRESS_BARS"):
        os.environ.setdefault(var, "1")
