"""--report-to: TensorBoard, MLflow (local file store) and wandb (offline) on a tiny run."""

from __future__ import annotations

import pytest

from densefit.errors import UnknownNameError
from densefit.train.tracking import report_targets


def test_tensorboard_mlflow_and_wandb_offline(tmp_path, tiny_model, report_data, monkeypatch):
    import densefit

    for key in ("MLFLOW_TRACKING_URI", "MLFLOW_ALLOW_FILE_STORE", "WANDB_MODE", "WANDB_DIR", "TENSORBOARD_LOGGING_DIR"):
        monkeypatch.delenv(key, raising=False)
    pairs, _, _ = report_data
    out = tmp_path / "run"
    densefit.fit(model=tiny_model, train_data=pairs, out=out, epochs=1, batch_size=32, method="supervised",
                 report_to=["tensorboard", "mlflow", "wandb"], logging_steps=1, report=False)
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(next((out / "tensorboard").rglob("events.out.tfevents.*")).parent)).Reload()
    assert len(events.Scalars("train/loss")) == 3

    import mlflow

    mlflow.set_tracking_uri((out / "mlruns").as_uri())
    runs = mlflow.search_runs(experiment_names=["densefit"], output_format="list")
    assert runs and "loss" in runs[0].data.metrics
    assert list((out / "wandb").glob("offline-run-*"))


def test_unknown_tracker_lists_valid_names(tmp_path):
    with pytest.raises(UnknownNameError, match="tensorboard"):
        report_targets(["comet"], tmp_path)
    assert report_targets([], tmp_path) == "none"
