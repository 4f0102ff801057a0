"""`--report-to`: experiment trackers the stock trainer logs to, with local defaults.

* tensorboard: event files in OUT/tensorboard;
* mlflow: a local file store, OUT/mlruns (tracking URI file:...), unless MLFLOW_TRACKING_URI is set
  (mlflow 3 needs MLFLOW_ALLOW_FILE_STORE=true for it, which is set too);
* wandb: offline mode (files in OUT/wandb) unless WANDB_MODE is set.

A variable the user set is never overridden; one densefit set for an earlier run is.
"""

from __future__ import annotations

import os
from pathlib import Path

from densefit.errors import UnknownNameError

TRACKERS = ("tensorboard", "mlflow", "wandb")
_SET_BY_US: dict[str, str] = {}


def _default_env(key: str, value: str) -> None:
    if key not in os.environ or os.environ[key] == _SET_BY_US.get(key):
        os.environ[key] = value
        _SET_BY_US[key] = value


def report_targets(names: list[str] | None, out: Path) -> list[str] | str:
    """Validated tracker names for TrainingArguments.report_to ("none" when empty); sets local defaults."""
    if isinstance(names, str):
        names = names.split(",")
    names = [n.strip().lower() for n in names or [] if n.strip() and n.strip().lower() != "none"]
    for name in names:
        if name not in TRACKERS:
            raise UnknownNameError("tracker for --report-to", name, TRACKERS)
    out = Path(out).resolve()
    if "tensorboard" in names:
        _default_env("TENSORBOARD_LOGGING_DIR", str(out / "tensorboard"))
    if "mlflow" in names:
        _default_env("MLFLOW_TRACKING_URI", (out / "mlruns").as_uri())
        _default_env("MLFLOW_EXPERIMENT_NAME", "densefit")
        _default_env("MLFLOW_ALLOW_FILE_STORE", "true")  # mlflow 3 keeps the file store behind this opt-in
    if "wandb" in names:
        _default_env("WANDB_MODE", "offline")
        _default_env("WANDB_DIR", str(out))
        _default_env("WANDB_PROJECT", "densefit")
    return names or "none"
