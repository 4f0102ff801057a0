"""--time-target shortens the build's training to what the stages around it leave, and never lengthens it."""

from __future__ import annotations

import pytest

from densefit.build.config import BuildConfig
from densefit.build.pipeline import fitted_budget
from densefit.errors import ConfigError


def _state(spent_before_index: float, index_s: float, written: int, rows: int) -> dict:
    return {"stages": {"chunks": {"seconds": spent_before_index}, "queries": {"seconds": 0.0},
                       "index-base": {"seconds": index_s, "written": written, "rows": rows}}}


# the man-page folder's figures: 24 s chunking, 310 s for the base pass over 14460 chunks
FOLDER = _state(24.0, 310.0, 14460, 14460)


@pytest.mark.parametrize("settings,state,budget,capped", [
    ({}, _state(10.0, 30.0, 3000, 3000), "5m", False),                       # a small folder: 5m fits
    ({}, FOLDER, "166s", True),                                              # 900 - 334 - 310 - 90
    ({"time_target": "10m"}, FOLDER, "120s", True),                          # nothing left: the least training
    ({"time_target": "none"}, FOLDER, "5m", False),                          # no target: the budget as given
    ({"budget": "epochs"}, FOLDER, None, False),                             # full epochs asked for
    ({}, _state(24.0, 2.0, 12, 14460), "5m", False),                         # a resumed pass: no rate to go on
    ({"budget": "2m"}, FOLDER, "2m", False),                                 # a budget that fits is kept
])
def test_fitted_budget_fits_what_the_target_leaves(settings, state, budget, capped):
    cfg = BuildConfig(folder="docs", out="out", **settings)
    got, why = fitted_budget(cfg, state)
    assert got == budget
    assert (why is not None) == capped
    if capped:
        assert cfg.time_target in why and "index pass" in why


def test_a_missed_target_is_said_in_the_reason():
    _, why = fitted_budget(BuildConfig(folder="d", out="o", time_target="10m"), FOLDER)
    assert "will be missed" in why


def test_a_bad_time_target_is_refused_with_the_form_to_use():
    with pytest.raises(ConfigError, match="time-target '15 minutes' is not a duration; write it like 90s"):
        BuildConfig(folder="d", out="o", time_target="15 minutes")
