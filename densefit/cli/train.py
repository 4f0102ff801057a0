"""`densefit train`: fine-tune a model on a data file, evaluated before and after.

Its options are the fields of TrainConfig (help, types and defaults live there only). A flag given on
the command line wins over the same field in --config, even when it equals the default.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from densefit.cli.options import config_command, extra_option, given_values
from densefit.config import TRAIN_PANELS, TrainConfig

ALIASES = {"learning_rate": ("--lr",)}
PANEL_OF = {name: panel for panel, names in TRAIN_PANELS.items() for name in names}


def run(config: Optional[Path] = None, no_progress: bool = False, **values) -> None:
    """Fine-tune MODEL on TRAIN; writes OUT/model, OUT/checkpoints and OUT/train.json."""
    if no_progress:
        from densefit.console import set_progress

        set_progress(False)
    from densefit.api import run_training
    from densefit.cli.tables import print_metric_table
    from densefit.report.pipeline import parse_merge

    given = given_values(TrainConfig, values)
    parse_merge(given.get("merge"))  # a bad --merge fails now, not after training
    cfg = TrainConfig.from_yaml(config, **given) if config else TrainConfig(**given)
    result = run_training(cfg)
    if result.metrics_before:
        print_metric_table({"before": result.metrics_before, "after": result.metrics_after})
    typer.echo(f"model: {result.model_path}\nrun summary: {result.train_json}")


train = config_command(TrainConfig, run, aliases=ALIASES, panels={n: PANEL_OF.get(n, "Training") for n in
                                                                  TrainConfig.__dataclass_fields__},
                       extra=[extra_option("config", Optional[Path], "--config", rich_help_panel="Data",
                                           help="YAML file with these same fields; flags given here win."),
                              extra_option("no_progress", bool, "--no-progress", default=False,
                                           help="Hide the progress bars.")])
