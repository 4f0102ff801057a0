"""`densefit export`: ONNX / ONNX int8 / OpenVINO (int8) / static, with a parity check and a comparison table."""

from __future__ import annotations

import functools
import sys
from pathlib import Path
from typing import Optional

import typer

from densefit.config import help_of
from densefit.inference.export import ExportConfig


def h(name: str) -> str:
    return help_of(ExportConfig, name)


def export(
    model: str = typer.Option("default", help=h("model")),
    format: str = typer.Option("onnx", "--format", help=h("format") + " Comma-separated for several."),
    out: Optional[str] = typer.Option(None, "--out", help="Folder to write; with several formats, one sub-folder "
                                      "each. Default: MODEL/exports/FORMAT for a model folder you own, else "
                                      "$XDG_CACHE_HOME/densefit/exports/...; backend=auto finds it there."),
    eval: Optional[str] = typer.Option(None, "--eval", help=h("eval")),
    max_seq_length: Optional[int] = typer.Option(None, help=h("max_seq_length")),
    sample: int = typer.Option(256, help=h("sample")),
    calibration: int = typer.Option(64, help=h("calibration")),
) -> None:
    """Export MODEL, check parity against torch, and print speed, size and quality per variant."""
    from densefit.evaluation.retrieval import retrieval_delta
    from densefit.inference.export import export_model, get_variant

    formats = [f.strip() for f in format.split(",") if f.strip()]
    for name in formats:
        get_variant(name)  # unknown names fail before any work
    manifests = []
    for name in formats:
        target = _target(out, name, len(formats), model)
        cfg = ExportConfig(model=model, format=name, out=str(target), max_seq_length=max_seq_length,
                           eval=eval, sample=sample, calibration=calibration)
        check = functools.partial(retrieval_delta, eval_dir=eval) if eval else None
        manifests.append((target, export_model(cfg, check=check)))
    print_export_table(manifests)


def _target(out: Optional[str], name: str, n: int, model: str) -> Path:
    from densefit.inference.export import default_out

    if out is None:
        return default_out(model, name)
    return Path(out) / name if n > 1 else Path(out)


def print_export_table(manifests: list[tuple[Path, dict]]) -> None:
    """Speed, size and quality of each export against torch fp32 on this machine."""
    from rich.console import Console
    from rich.table import Table

    from densefit.inference.select import ineligible_reason

    table = Table(title="exports vs torch fp32 (this machine)")
    for col in ("variant", "docs/s", "torch docs/s", "speed-up", "size MB", "min cos", "mean cos", "Δ metric",
                "auto may pick"):
        table.add_column(col, justify="left" if col in ("variant", "auto may pick") else "right")
    for folder, m in manifests:
        p, r = m["parity"], m["parity"].get("retrieval")
        delta = f"{r['delta']:+.4f} {r['metric']}" if r else "-"
        why = ineligible_reason(m)
        table.add_row(m["format"], f"{p['docs_per_s']:.1f}", f"{p['torch_docs_per_s']:.1f}", f"{p['speedup']:.2f}x",
                      f"{m['size_mb']:.1f}", _cosine(p["min_cosine"]), _cosine(p["mean_cosine"]), delta,
                      "yes" if why is None else f"no: {why}")
    Console(width=None if sys.stdout.isatty() else 160).print(table)


def _cosine(value: float | None) -> str:
    return "other space" if value is None else f"{value:.5f}"
