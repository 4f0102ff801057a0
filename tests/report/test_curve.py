"""Learning curve: the saturating fit, the 2x projection, (the runs are in tests/methods/test_curve.py)."""

from __future__ import annotations

import pytest

from densefit.report.curve import fit_saturating, projection


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
