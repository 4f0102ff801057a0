"""One place for user-facing progress messages (stderr, so --json stdout stays clean)."""

from __future__ import annotations

from rich.console import Console

console = Console(stderr=True, highlight=False)


def say(message: str) -> None:
    console.print(message)
