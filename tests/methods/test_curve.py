"""The learning-curve runs: nested seeded subsets, one training run per point, the page written."""

from __future__ import annotations

import json

import numpy as np

from densefit.methods.curve import learning_curve, subset_rows
from tests.report.conftest import report_data  # noqa: F401 (the shared tiny pairs and IR set)


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
