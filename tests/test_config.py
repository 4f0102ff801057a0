"""Run configuration: validation, YAML, and help text on every field."""

from __future__ import annotations

import dataclasses

import pytest

from densefit.config import TrainConfig
from densefit.errors import ConfigError


@pytest.mark.parametrize("cls", [TrainConfig])
def test_every_field_has_help(cls):
    for f in dataclasses.fields(cls):
        assert len(f.metadata.get("help", "")) > 10, f.name


@pytest.mark.parametrize("bad,message", [
    ({"batch_size": 0}, "batch_size"), ({"learning_rate": 0}, "learning_rate"),
    ({"epochs": 0, "max_steps": -1}, "epochs"), ({"warmup_ratio": 1.5}, "warmup_ratio"),
])
def test_invalid_values_are_refused(bad, message):
    with pytest.raises(ConfigError, match=message):
        TrainConfig(train="x", **bad)


def test_yaml_fields_with_overrides(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("train: pairs.jsonl\nepochs: 3\nbatch_size: 16\n")
    cfg = TrainConfig.from_yaml(path, batch_size=64)
    assert (cfg.train, cfg.epochs, cfg.batch_size) == ("pairs.jsonl", 3, 64)


def test_yaml_unknown_field_lists_valid_ones(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("train: a.jsonl\nepoch: 3\n")
    with pytest.raises(ConfigError, match=r"unknown field\(s\) \['epoch'\].*epochs"):
        TrainConfig.from_yaml(path)
