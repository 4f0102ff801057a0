"""`densefit report`, `densefit compare`, `densefit curve`: the before/after report and the learning curve."""

from __future__ import annotations

from typing import List, Optional

import typer

from densefit.cli.options import parse_int_list

FORGETTING_HELP = "Forgetting check: 'bible' (KJV→WEB paraphrase retrieval), a BEIR folder, or 'none'."
MAX_DROP_HELP = "General-domain drop of ndcg@10 that is flagged (and the limit for --merge auto)."


def _spec(value: Optional[str]) -> Optional[str]:
    return None if value in (None, "", "none", "off") else value


def report(
    run_dir: str = typer.Argument(..., help="A run folder written by `densefit train` (holds train.json)."),
    data: Optional[str] = typer.Option(None, "--data", help="Eval set (default: the run's --eval)."),
    forgetting: str = typer.Option("bible", "--forgetting", help=FORGETTING_HELP),
    merge: Optional[str] = typer.Option(None, "--merge", help="'auto' or a weight in [0, 1]: WiSE-FT merge of base "
                                                              "and fine-tuned, written to RUN/model-merged."),
    bm25: bool = typer.Option(True, "--bm25/--no-bm25", help="Add BM25 to the metric table."),
    max_drop: float = typer.Option(0.02, "--max-drop", help=MAX_DROP_HELP),
    precision: str = typer.Option("auto", help="auto|fp32|bf16|fp16 for encoding."),
) -> None:
    """Rebuild RUN_DIR/report.html and the model card RUN_DIR/model/README.md."""
    from densefit.methods.merge import merge_step
    from densefit.report import report_run

    path = report_run(run_dir, data=data, forgetting=_spec(forgetting), merge=merge, bm25=bm25,
                      precision=precision, max_drop=max_drop, merger=merge_step)
    typer.echo(f"report: {path}")


def compare(
    model: List[str] = typer.Option(..., "--model", help="Two models: the baseline first, then the candidate."),
    data: str = typer.Option(..., "--data", help="BEIR-style IR folder (or STS file)."),
    out: str = typer.Option("densefit-compare", "--out", help="Folder for report.html."),
    forgetting: str = typer.Option("none", "--forgetting", help=FORGETTING_HELP),
    bm25: bool = typer.Option(False, "--bm25", help="Add BM25 to the metric table."),
    max_drop: float = typer.Option(0.02, "--max-drop", help=MAX_DROP_HELP),
    precision: str = typer.Option("auto", help="auto|fp32|bf16|fp16 for encoding."),
) -> None:
    """Compare two models on one eval set with paired statistics; writes OUT/report.html."""
    from densefit.errors import ConfigError
    from densefit.report import compare_models

    if len(model) != 2:
        raise ConfigError(f"compare needs exactly two --model values (baseline, candidate), got {len(model)}")
    path = compare_models(model[0], model[1], data, out, forgetting=_spec(forgetting), bm25=bm25,
                          precision=precision, max_drop=max_drop)
    typer.echo(f"report: {path}")


def curve(
    train: str = typer.Option(..., "--train", help="Training data file or folder."),
    data: str = typer.Option(..., "--data", help="BEIR-style IR folder to evaluate every point on."),
    out: str = typer.Option("densefit-curve", "--out", help="Folder for the runs, curve.html and curve.json."),
    model: str = typer.Option("default", help="Base model."),
    fractions: str = typer.Option("10,25,50,100", help="Percentages of the training data to train on."),
    epochs: float = typer.Option(1.0, help="Epochs at every point (the same budget per example)."),
    batch_size: int = typer.Option(32, help="Pairs per batch (capped at the subset size)."),
    learning_rate: float = typer.Option(5e-5, "--lr", "--learning-rate", help="Peak learning rate."),
    max_seq_length: Optional[int] = typer.Option(None, help="Truncate texts to this many tokens."),
    seed: int = typer.Option(0, help="Seed for the subsets and for training."),
    metric: str = typer.Option("ndcg@10", help="Metric to plot and fit."),
    min_gain: float = typer.Option(0.01, help="Projected gain at 2x above which more data 'pays off'."),
) -> None:
    """Train on growing fractions of the data, fit a saturating curve and project the gain at 2x."""
    from densefit.methods.curve import learning_curve

    percents = parse_int_list(fractions, "--fractions")
    result = learning_curve(train, data, out, model=model, fractions=[p / 100 for p in percents], seed=seed,
                            metric=metric, min_gain=min_gain, epochs=epochs, batch_size=batch_size,
                            learning_rate=learning_rate, max_seq_length=max_seq_length)
    for p in result["points"]:
        typer.echo(f"{p['fraction']:>5.0%}  {p['examples']:>7}  {metric} {p['value']:.4f}")
    typer.echo(result["projection"]["verdict"])
    typer.echo(f"curve: {result['html']}")
