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


def test_derived_tables_follow_their_source():
    """Tables that repeat another's facts are derived from it, so they cannot drift apart."""
    from densefit.inference.export import NEEDS, VARIANTS
    from densefit.inference.select import BACKENDS
    from densefit.methods.augsbert import SCORED_LOSSES
    from densefit.methods.losses import LOSSES

    assert set(BACKENDS) == {"auto", "torch", *VARIANTS} and set(NEEDS) == set(VARIANTS)
    assert set(SCORED_LOSSES) == {"cosine", "cosent"} and all(LOSSES[n].kinds == ("scored",) for n in SCORED_LOSSES)


def test_a_registry_imports_lazily_and_names_the_valid_entries():
    import sys

    from densefit.errors import UnknownNameError
    from densefit.registry import Registry

    reg = Registry("thing", {"json": "json:dumps", "given": len})
    assert reg.names() == ["given", "json"] and reg.get("given") is len and reg.path("json") == "json:dumps"
    assert reg.get("json") is sys.modules["json"].dumps
    with pytest.raises(UnknownNameError, match="unknown thing 'nope'; choose one of: given, json"):
        reg.get("nope")


def test_from_env_reads_typed_values_and_flags_win(monkeypatch):
    from densefit.index.config import IndexConfig

    monkeypatch.setenv("DENSEFIT_INDEX_NPROBE", "7")
    monkeypatch.setenv("DENSEFIT_INDEX_EXACT_BELOW", "100")
    cfg = IndexConfig.from_env(exact_below=5)
    assert cfg.nprobe == 7 and cfg.exact_below == 5
    monkeypatch.setenv("DENSEFIT_INDEX_NPROBE", "many")
    with pytest.raises(ConfigError, match="DENSEFIT_INDEX_NPROBE='many' is not a valid int"):
        IndexConfig.from_env()
