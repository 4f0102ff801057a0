"""One line per phase of a long bench: its name, its rate when it has one, and the time since the start.

    with phase("encode pages", unit="docs") as p:
        vectors = encoder.encode(texts)
        p.count = len(texts)
    # [   61.2 s] encode pages: 2,741 docs in 58.3 s (47.0 docs/s)
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass

START = time.perf_counter()


def line(text: str) -> None:
    print(f"[{time.perf_counter() - START:8.1f} s] {text}", flush=True)


@dataclass
class Step:
    count: float | None = None
    note: str = ""


def rate(count: float | None, seconds: float, unit: str) -> str:
    if count is None:
        return f"{seconds:.1f} s"
    return f"{count:,.0f} {unit} in {seconds:.1f} s ({count / max(seconds, 1e-9):,.1f} {unit}/s)"


@contextmanager
def phase(name: str, unit: str = "items"):
    """Print the phase's start, then its end with the count set on the yielded Step, its rate and note."""
    line(f"{name} ...")
    step, t0 = Step(), time.perf_counter()
    yield step
    line(f"{name}: {rate(step.count, time.perf_counter() - t0, unit)}" + (f"; {step.note}" if step.note else ""))
