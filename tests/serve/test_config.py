"""ServeConfig: defaults, DENSEFIT_SERVE_* variables, explicit values win; the key stays out of it."""

from __future__ import annotations

import dataclasses

import pytest

from densefit.errors import ConfigError
from densefit.serve.config import ServeConfig, env_var


def test_every_field_has_help_and_reads_its_env_var():
    fields = dataclasses.fields(ServeConfig)
    assert all(f.metadata.get("help") for f in fields)
    env = {env_var("port"): "8080", env_var("max_wait_ms"): "7.5", env_var("truncate"): "false",
           env_var("store"): "stores/man", env_var("max_input_tokens"): "none", env_var("host"): "0.0.0.0"}
    cfg = ServeConfig.from_env(env)
    assert (cfg.port, cfg.max_wait_ms, cfg.truncate, cfg.store, cfg.host) == (8080, 7.5, False, "stores/man", "0.0.0.0")
    assert cfg.max_input_tokens is None


def test_explicit_values_beat_the_environment_and_none_does_not():
    cfg = ServeConfig.from_env({env_var("port"): "8080", env_var("model"): "a"}, port=9000, model=None)
    assert cfg.port == 9000 and cfg.model == "a"


@pytest.mark.parametrize("name,value", [("port", "eighty"), ("truncate", "maybe"), ("max_queue", "0")])
def test_bad_values_name_the_variable(name, value):
    with pytest.raises(ConfigError) as err:
        ServeConfig.from_env({env_var(name): value})
    assert name in str(err.value) or env_var(name) in str(err.value)


def test_api_key_is_read_from_the_named_variable(monkeypatch):
    monkeypatch.setenv("MY_KEY", "s3cret")
    cfg = ServeConfig(api_key_env="MY_KEY")
    assert cfg.api_key() == "s3cret" and "s3cret" not in repr(cfg)
    monkeypatch.delenv("MY_KEY")
    with pytest.raises(ConfigError, match="MY_KEY"):
        cfg.api_key()


def test_compare_store_needs_its_model():
    with pytest.raises(ConfigError, match="compare_model"):
        ServeConfig(compare_store="stores/b")


def test_unknown_backend_lists_the_valid_ones():
    from densefit.errors import UnknownNameError

    with pytest.raises(UnknownNameError, match="openvino, openvino-int8, static, torch"):
        ServeConfig(backend="tensorrt")
