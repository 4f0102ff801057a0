"""`densefit train`: fine-tune a model on a data file, evaluated before and after."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from densefit.cli.options import parse_int_list, train_help as h


def train(
    train: str = typer.Option(..., "--train", help=h("train")),
    model: str = typer.Option("default", help=h("model")),
    out: str = typer.Option("runs/densefit", help=h("out")),
    eval: Optional[str] = typer.Option(None, "--eval", help=h("eval")),
    format: Optional[str] = typer.Option(None, "--format", help=h("format")),
    strict: bool = typer.Option(False, help=h("strict")),
    loss: Optional[str] = typer.Option(None, help=h("loss")),
    matryoshka_dims: Optional[str] = typer.Option(None, help=h("matryoshka_dims")),
    epochs: float = typer.Option(1.0, help=h("epochs")),
    max_steps: int = typer.Option(-1, help=h("max_steps")),
    batch_size: int = typer.Option(32, help=h("batch_size")),
    learning_rate: float = typer.Option(5e-5, "--lr", "--learning-rate", help=h("learning_rate")),
    warmup_ratio: float = typer.Option(0.1, help=h("warmup_ratio")),
    max_seq_length: Optional[int] = typer.Option(None, help=h("max_seq_length")),
    seed: int = typer.Option(0, help=h("seed")),
    eval_steps: int = typer.Option(0, help=h("eval_steps")),
    save_steps: int = typer.Option(0, help=h("save_steps")),
    save_total_limit: int = typer.Option(2, help=h("save_total_limit")),
    resume: bool = typer.Option(False, help=h("resume")),
    precision: str = typer.Option("auto", help=h("precision")),
    logging_steps: int = typer.Option(10, help=h("logging_steps")),
    trust_remote_code: bool = typer.Option(False, help=h("trust_remote_code")),
    config: Optional[Path] = typer.Option(None, help="YAML file with these same fields; flags given here win."),
) -> None:
    """Fine-tune MODEL on TRAIN; writes OUT/model, OUT/checkpoints and OUT/train.json."""
    values = dict(locals())  # first: exactly the options above
    values.pop("config")
    from densefit.api import run_training
    from densefit.cli.tables import print_metric_table
    from densefit.config import TrainConfig

    values["matryoshka_dims"] = parse_int_list(matryoshka_dims, "--matryoshka-dims")
    cfg = TrainConfig.from_yaml(config, **_explicit(values)) if config else TrainConfig(**values)
    result = run_training(cfg)
    if result.metrics_before:
        print_metric_table({"before": result.metrics_before, "after": result.metrics_after})
    typer.echo(f"model: {result.model_path}\nrun summary: {result.train_json}")


def _explicit(values: dict) -> dict:
    """Flags that differ from their defaults (so a YAML file can set the rest)."""
    from densefit.config import TrainConfig

    defaults = TrainConfig(train="x").to_dict()
    return {k: v for k, v in values.items() if k == "train" or v != defaults.get(k)}
