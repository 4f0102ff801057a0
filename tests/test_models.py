"""Model resolution: default, local ST and plain HF folders, run folders, and hub ids offline."""

from __future__ import annotations

import pytest

from densefit.errors import ModelLoadError
from densefit.models import bundled_model_dir, load_model, resolve_model


def test_default_is_the_bundled_minilm():
    assert resolve_model("default") == bundled_model_dir()
    assert bundled_model_dir().endswith("model")


def test_plain_hf_folder_gets_mean_pooling(tiny_hf_model):
    model = load_model(tiny_hf_model)
    pooling = model[1]
    assert pooling.get_config_dict()["pooling_mode"] == "mean"
    assert model.encode(["a file"]).shape == (1, 32)


def test_run_folder_resolves_to_its_model(tmp_path, tiny_model):
    (tmp_path / "model").mkdir()
    (tmp_path / "train.json").write_text("{}")
    assert resolve_model(str(tmp_path)) == str(tmp_path / "model")


def test_folder_that_is_not_a_model(tmp_path):
    with pytest.raises(ModelLoadError, match="neither modules.json"):
        load_model(str(tmp_path))


def test_missing_local_path(tmp_path):
    with pytest.raises(ModelLoadError, match="does not exist"):
        load_model(str(tmp_path / "nope"))


def test_unreachable_hub_id_is_one_clear_error_without_network_retries(monkeypatch):
    import densefit.models as models

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr("huggingface_hub.constants.ENDPOINT", "http://127.0.0.1:9")  # nothing listens there
    calls = []
    real_load = models._load_st
    monkeypatch.setattr(models, "_load_st", lambda name, trc, local_only: calls.append(local_only)
                        or real_load(name, trc, local_only))
    with pytest.raises(ModelLoadError) as err:
        load_model("sentence-transformers/all-MiniLM-L6-v2")
    message = str(err.value)
    assert "sentence-transformers/all-MiniLM-L6-v2" in message
    assert "unreachable" in message and "--model default" in message
    assert calls == [True]  # only the local cache was tried: no minute of hub retries


def test_offline_mode_hub_id_error(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelLoadError, match="unreachable"):
        load_model("BAAI/bge-small-en-v1.5")
