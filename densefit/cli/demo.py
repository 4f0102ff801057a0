"""`densefit demo`: the whole path on Linux man pages, with nothing to download from a model hub."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer


def demo(
    out: Path = typer.Option(Path("demo-out"), "--out", help="Folder for report.json, model/ and the data."),
    epochs: Optional[float] = typer.Option(None, help="Training epochs (default: the recipe's plan, as in train)."),
    batch_size: Optional[int] = typer.Option(None, help="MNR batch size (default: the recipe's)."),
    learning_rate: Optional[float] = typer.Option(None, "--lr", help="Peak learning rate (default: the recipe's)."),
    precision: str = typer.Option("auto", help="auto|fp32|bf16|fp16."),
    max_seq_length: Optional[int] = typer.Option(None, help="Token limit (default: the model's own, 256)."),
) -> None:
    """Build the man-page set, evaluate BM25 and zero-shot MiniLM, fine-tune with train's defaults, compare."""
    from densefit.demo import DemoConfig, run_demo

    run_demo(DemoConfig(out=out, epochs=epochs, batch_size=batch_size, learning_rate=learning_rate,
                        precision=precision, max_seq_length=max_seq_length))
