"""`densefit encode`: a streaming, resumable batch encode into Parquet."""

from __future__ import annotations

from typing import Optional

import typer

from densefit.config import help_of
from densefit.inference.batch import EncodeJobConfig


def h(name: str) -> str:
    return help_of(EncodeJobConfig, name)


def encode(
    input: str = typer.Option(..., "--input", help=h("input")),
    out: str = typer.Option(..., "--out", help=h("out")),
    model: str = typer.Option("default", help=h("model")),
    text_field: str = typer.Option("text", help=h("text_field")),
    id_field: Optional[str] = typer.Option("id", help=h("id_field")),
    backend: str = typer.Option("auto", help=h("backend")),
    precision: str = typer.Option("auto", help=h("precision")),
    batch_size: int = typer.Option(64, help=h("batch_size")),
    chunk_size: int = typer.Option(2048, help=h("chunk_size")),
    workers: int = typer.Option(1, help=h("workers")),
    ray: bool = typer.Option(False, "--ray", help=h("ray")),
    overwrite: bool = typer.Option(False, "--overwrite", help=h("overwrite")),
    no_progress: bool = typer.Option(False, "--no-progress", help="Hide the progress bars."),
) -> None:
    """Encode every text of INPUT into OUT (Parquet: row, id, embedding); re-run to resume after a kill."""
    if no_progress:
        from densefit.console import set_progress

        set_progress(False)
    cfg = EncodeJobConfig(**{k: v for k, v in locals().items() if k != "no_progress"})
    from densefit.inference.batch import run_encode_job

    result = run_encode_job(cfg)
    typer.echo(f"{result.rows} rows in {result.out} ({result.parts_written} part(s) encoded now, "
               f"{result.parts_done_before} reused; {result.seconds:.1f} s)")
