"""`densefit demo`: the whole path on Linux man pages, with nothing to download from a model hub."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer


def demo(
    out: Path = typer.Option(Path("demo-out"), "--out", help="Folder for report.json, model/ and the data."),
    epochs: float = typer.Option(2.0, help="Training epochs over the man-page training pairs."),
    batch_size: int = typer.Option(32, help="MNR batch size."),
    learning_rate: float = typer.Option(1e-4, "--lr", help="Peak learning rate."),
    precision: str = typer.Option("auto", help="auto|fp32|bf16|fp16."),
    max_seq_length: Optional[int] = typer.Option(None, help="Token limit (default: the model's own, 256)."),
) -> None:
    """Build the man-page set, evaluate BM25 and zero-shot MiniLM, fine-tune with MNR, compare."""
    from densefit.demo import DemoConfig, run_demo

    run_demo(DemoConfig(out=out, epochs=epochs, batch_size=batch_size, learning_rate=learning_rate,
                        precision=precision, max_seq_length=max_seq_length))
