"""`densefit mine`: hard negatives for query-document pairs, written as triplets JSONL."""

from __future__ import annotations

from typing import Optional

import typer

from densefit.cli.options import train_help as h


def mine(
    train: str = typer.Option(..., "--train", help="Query-document pairs (any pairs format, or a BEIR folder)."),
    corpus: str = typer.Option(..., "--corpus", help=h("corpus")),
    out: str = typer.Option(..., "--out", help="Triplets JSONL to write (anchor, positive, negative, negative_2...)."),
    model: str = typer.Option("default", help=h("model")),
    negatives: int = typer.Option(1, help=h("mine_negatives")),
    depth: int = typer.Option(50, help=h("mine_depth")),
    skip_top: int = typer.Option(0, help=h("mine_skip_top")),
    margin: Optional[float] = typer.Option(None, help=h("mine_margin")),
    relative_margin: Optional[float] = typer.Option(0.05, help=h("mine_relative_margin")),
    index: str = typer.Option("auto", help=h("mine_index")),
    cross_encoder: Optional[str] = typer.Option(None, help=h("mine_cross_encoder")),
    review: Optional[str] = typer.Option(None, help="JSONL for the dropped suspected false negatives "
                                                    "(default: OUT without suffix + .review.jsonl)."),
    max_seq_length: Optional[int] = typer.Option(None, help=h("max_seq_length")),
    precision: str = typer.Option("auto", help=h("precision")),
    seed: int = typer.Option(0, help=h("seed")),
) -> None:
    """Mine hard negatives from CORPUS for the pairs in TRAIN with MODEL; writes OUT."""
    from densefit.methods.mining import MiningConfig, mine_file

    mcfg = MiningConfig(negatives, depth, skip_top, margin, relative_margin, index, cross_encoder, review=review,
                        seed=seed)
    stats = mine_file(model, train, corpus, out, mcfg, precision=precision, max_seq_length=max_seq_length)
    typer.echo(f"triplets: {out} ({stats['queries']} queries, {stats['suspected_false_negatives']} suspected "
               f"false negatives dropped)")
