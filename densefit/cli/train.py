"""`densefit train`: fine-tune a model on a data file, evaluated before and after."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from densefit.cli.options import parse_int_list, train_help as h


def train(
    train: str = typer.Option("", "--train", help=h("train") + " Optional for corpus-only methods (--corpus)."),
    model: str = typer.Option("default", help=h("model")),
    out: str = typer.Option("runs/densefit", help=h("out")),
    eval: Optional[str] = typer.Option(None, "--eval", help=h("eval")),
    format: Optional[str] = typer.Option(None, "--format", help=h("format")),
    strict: bool = typer.Option(False, help=h("strict")),
    loss: Optional[str] = typer.Option(None, help=h("loss")),
    matryoshka_dims: Optional[str] = typer.Option(None, help=h("matryoshka_dims")),
    epochs: Optional[float] = typer.Option(None, help=h("epochs")),
    max_steps: int = typer.Option(-1, help=h("max_steps")),
    batch_size: Optional[int] = typer.Option(None, help=h("batch_size")),
    learning_rate: Optional[float] = typer.Option(None, "--lr", "--learning-rate", help=h("learning_rate")),
    budget: Optional[str] = typer.Option(None, help=h("budget")),
    dev_queries: Optional[int] = typer.Option(None, help=h("dev_queries")),
    ship: str = typer.Option("best", help=h("ship")),
    warmup_ratio: float = typer.Option(0.1, help=h("warmup_ratio")),
    max_seq_length: Optional[int] = typer.Option(None, help=h("max_seq_length")),
    seed: int = typer.Option(0, help=h("seed")),
    eval_steps: int = typer.Option(0, help=h("eval_steps")),
    save_steps: int = typer.Option(0, help=h("save_steps")),
    save_total_limit: int = typer.Option(2, help=h("save_total_limit")),
    resume: bool = typer.Option(False, help=h("resume")),
    resume_force: bool = typer.Option(False, "--resume-force", help=h("resume_force")),
    precision: str = typer.Option("auto", help=h("precision")),
    logging_steps: int = typer.Option(10, help=h("logging_steps")),
    trust_remote_code: bool = typer.Option(False, help=h("trust_remote_code")),
    method: str = typer.Option("auto", help=h("method")),
    corpus: Optional[str] = typer.Option(None, help=h("corpus")),
    explain: bool = typer.Option(False, "--explain", help=h("explain")),
    mine: Optional[bool] = typer.Option(None, "--mine/--no-mine", help=h("mine")),
    mine_negatives: int = typer.Option(1, help=h("mine_negatives")),
    mine_depth: int = typer.Option(50, help=h("mine_depth")),
    mine_skip_top: int = typer.Option(0, help=h("mine_skip_top")),
    mine_margin: Optional[float] = typer.Option(None, help=h("mine_margin")),
    mine_relative_margin: Optional[float] = typer.Option(0.05, help=h("mine_relative_margin")),
    mine_index: str = typer.Option("auto", help=h("mine_index")),
    mine_cross_encoder: Optional[str] = typer.Option(None, help=h("mine_cross_encoder")),
    mine_review: Optional[str] = typer.Option(None, help=h("mine_review")),
    generator: str = typer.Option("extractive", help=h("generator")),
    generator_model: Optional[str] = typer.Option(None, help=h("generator_model")),
    generator_base_url: Optional[str] = typer.Option(None, help=h("generator_base_url")),
    generator_api_key: Optional[str] = typer.Option(None, help=h("generator_api_key")),
    queries_per_passage: int = typer.Option(3, help=h("queries_per_passage")),
    max_passages: int = typer.Option(0, help=h("max_passages")),
    cross_encoder: Optional[str] = typer.Option(None, help=h("cross_encoder")),
    cross_encoder_epochs: float = typer.Option(1.0, help=h("cross_encoder_epochs")),
    cross_encoder_steps: int = typer.Option(-1, help=h("cross_encoder_steps")),
    silver_per_query: int = typer.Option(4, help=h("silver_per_query")),
    retrievers: str = typer.Option("model,bm25", help=h("retrievers") + " Comma-separated."),
    report: bool = typer.Option(True, "--report/--no-report", help=h("report")),
    report_to: Optional[str] = typer.Option(None, "--report-to", help=h("report_to")),
    forgetting: Optional[str] = typer.Option(None, "--forgetting", help=h("forgetting")),
    merge: Optional[str] = typer.Option(None, "--merge", help=h("merge")),
    tsdae_noise: float = typer.Option(0.6, help=h("tsdae_noise")),
    tsdae_pooling: str = typer.Option("cls", help=h("tsdae_pooling")),
    max_sentences: int = typer.Option(0, help=h("max_sentences")),
    mlm_probability: float = typer.Option(0.15, help=h("mlm_probability")),
    mlm_first: bool = typer.Option(False, "--mlm-first", help=h("mlm_first")),
    mlm_epochs: float = typer.Option(1.0, help=h("mlm_epochs")),
    mlm_max_steps: int = typer.Option(-1, help=h("mlm_max_steps")),
    teacher: Optional[str] = typer.Option(None, help=h("teacher")),
    parallel_eval: Optional[str] = typer.Option(None, help=h("parallel_eval")),
    config: Optional[Path] = typer.Option(None, help="YAML file with these same fields; flags given here win."),
    no_progress: bool = typer.Option(False, "--no-progress", help="Hide the progress bars."),
) -> None:
    """Fine-tune MODEL on TRAIN; writes OUT/model, OUT/checkpoints and OUT/train.json."""
    values = dict(locals())  # first: exactly the options above
    values.pop("config")
    if values.pop("no_progress"):
        from densefit.console import set_progress

        set_progress(False)
    from densefit.api import run_training
    from densefit.cli.tables import print_metric_table
    from densefit.config import TrainConfig

    values["matryoshka_dims"] = parse_int_list(matryoshka_dims, "--matryoshka-dims")
    values["retrievers"] = [r.strip() for r in retrievers.split(",") if r.strip()]
    values["report_to"] = [name.strip() for name in (report_to or "").split(",") if name.strip()]
    from densefit.report.merge import parse_merge

    parse_merge(merge)  # a bad --merge fails now, not after training
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
