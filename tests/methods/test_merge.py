"""The weight merge: linear interpolation of the parameters, the weight choice under a general-domain limit."""

from __future__ import annotations

import pytest


def test_interpolation_is_linear_in_weights(tiny_model, tmp_path):
    import torch

    from densefit.models import load_model
    from densefit.methods.merge import interpolate, save_merged
    from tests.conftest import build_tiny_model

    base = load_model(tiny_model)
    other = load_model(str(build_tiny_model(tmp_path / "other", seed=5)))
    merged = interpolate(base, other, 0.25)
    key = next(k for k, v in base.state_dict().items() if v.is_floating_point() and v.ndim == 2)
    expected = 0.75 * base.state_dict()[key] + 0.25 * other.state_dict()[key]
    assert torch.allclose(merged.state_dict()[key], expected, atol=1e-6)
    path = save_merged(base, other, 0.25, tmp_path / "merged")
    assert torch.allclose(load_model(str(path)).state_dict()[key], expected, atol=1e-6)


def test_choose_weight_limits_the_general_drop():
    from densefit.methods.merge import choose_weight, parse_merge

    points = [{"weight": 0.0, "in_domain": 0.40, "general": 0.60}, {"weight": 0.5, "in_domain": 0.55, "general": 0.59},
              {"weight": 1.0, "in_domain": 0.60, "general": 0.50}]
    assert choose_weight(points, max_drop=0.02)["weight"] == 0.5
    assert choose_weight(points, max_drop=0.2)["weight"] == 1.0
    assert parse_merge("auto") == "auto" and parse_merge("0.3") == 0.3 and parse_merge(None) is None
    from densefit.errors import ConfigError

    with pytest.raises(ConfigError):
        parse_merge("1.5")
