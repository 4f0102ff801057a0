"""Learning curve: the saturating fit, the 2x projection, and a real run on a tiny model."""

from __future__ import annotations

import json

import numpy as np
import pytest

from densefit.report.curve import fit_saturating, learning_curve, projection, subset_rows


def test_power_fit_recovers_a_planted_curve():
    sizes = [50, 125, 250, 500, 1000]
    values = [0.8 - 1.5 * n ** -0.6 for n in sizes]
    fit = fit_saturating(sizes, values)
    assert fit.kind == "power"
    assert fit(2000) == pytest.approx(0.8 - 1.5 * 2000 ** -0.6, abs=1e-3)
    proj = projection(fit, 1000, min_gain=0.001)
    assert proj["gain"] == pytest.approx((0.8 - 1.5 * 2000 ** -0.6) - (0.8 - 1.5 * 1000 ** -0.6), abs=1e-3)
    assert proj["pays_off"] and "likely to pay off" in proj["verdict"]


def test_flat_curve_says_more_data_will_not_help():
    fit = fit_saturating([10, 25, 50, 100], [0.5, 0.51, 0.505, 0.51])
    proj = projection(fit, 100, min_gain=0.01)
    assert not proj["pays_off"] and "Little gain" in proj["verdict"]


def test_subsets_are_nested_and_seeded():
    small, large = subset_rows(100, 0.1, seed=3), subset_rows(100, 0.5, seed=3)
    assert len(small) == 10 and len(large) == 50 and set(small) <= set(large)
    assert subset_rows(100, 0.1, seed=3) == small != subset_rows(100, 0.1, seed=4)


def test_learning_curve_on_a_tiny_model(tmp_path, tiny_model, report_data):
    pairs, ir, _ = report_data
    curve = learning_curve(pairs, ir, tmp_path / "curve", model=tiny_model, fractions=(0.25, 0.5, 1.0),
                           epochs=1, batch_size=16, learning_rate=5e-4)
    assert [p["examples"] for p in curve["points"]] == [24, 48, 96]
    assert all(0 <= p["value"] <= 1 for p in curve["points"])
    assert np.isfinite(curve["projection"]["gain"]) and curve["projection"]["projected_n"] == 192
    saved = json.loads((tmp_path / "curve" / "curve.json").read_text())
    assert saved["points"] == curve["points"]
    html = (tmp_path / "curve" / "curve.html").read_text()
    assert "<svg" in html and curve["projection"]["verdict"][:20] in html
    assert (tmp_path / "curve" / "frac-025" / "run" / "train.json").is_file()
