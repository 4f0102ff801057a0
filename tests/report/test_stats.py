"""Paired bootstrap CI and randomisation test, checked against scipy on planted data."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from densefit.errors import ConfigError
from densefit.report.stats import compare_paired, paired_bootstrap_ci, paired_permutation_test


def _mean_delta(x, y, axis=-1):
    return np.mean(y - x, axis=axis)


def _planted(shift: float, n: int = 300, seed: int = 1):
    rng = np.random.default_rng(seed)
    a = rng.uniform(0, 1, n)
    b = np.clip(a + shift + rng.normal(0, 0.25, n), 0, 1)
    return a, b


@pytest.mark.parametrize("shift", [0.0, 0.03, 0.1])
def test_bootstrap_ci_matches_scipy(shift):
    a, b = _planted(shift)
    low, high = paired_bootstrap_ci(a, b, n_resamples=20_000, seed=0)
    ref = stats.bootstrap((a, b), _mean_delta, paired=True, vectorized=True, method="percentile",
                          n_resamples=20_000, confidence_level=0.95, rng=np.random.default_rng(5))
    width = ref.confidence_interval.high - ref.confidence_interval.low
    assert low == pytest.approx(ref.confidence_interval.low, abs=0.05 * width)
    assert high == pytest.approx(ref.confidence_interval.high, abs=0.05 * width)
    assert low < np.mean(b - a) < high


@pytest.mark.parametrize("shift", [0.0, 0.03])
def test_permutation_p_matches_scipy(shift):
    a, b = _planted(shift)
    ours = paired_permutation_test(a, b, n_resamples=20_000, seed=0)
    ref = stats.permutation_test((a, b), _mean_delta, permutation_type="samples", vectorized=True,
                                 n_resamples=5_000, rng=np.random.default_rng(3)).pvalue
    assert ours == pytest.approx(ref, abs=0.01 + 0.1 * ref)


def test_exact_permutation_matches_scipy_on_small_samples():
    a = np.array([0.1, 0.5, 0.3, 0.9, 0.2, 0.4, 0.8, 0.6])
    b = np.array([0.3, 0.6, 0.2, 1.0, 0.5, 0.4, 0.9, 0.9])
    ours = paired_permutation_test(a, b)
    ref = stats.permutation_test((a, b), _mean_delta, permutation_type="samples", vectorized=True).pvalue
    assert ours == pytest.approx(ref, rel=1e-12)


def test_real_difference_is_detected():
    a, b = _planted(0.1)
    result = compare_paired("ndcg@10", dict(enumerate(a)), dict(enumerate(b)))
    assert result.significant and result.p_value < 0.001
    assert 0 < result.ci_low < result.delta < result.ci_high
    assert result.n == 300


def test_identical_models_are_not_flagged():
    a, _ = _planted(0.0)
    result = compare_paired("mrr@10", dict(enumerate(a)), dict(enumerate(a.copy())))
    assert result.p_value == 1.0 and not result.significant
    assert result.delta == result.ci_low == result.ci_high == 0.0


def test_noise_only_difference_is_not_flagged():
    a, b = _planted(0.0, seed=7)
    b = a + np.random.default_rng(8).normal(0, 0.2, a.size)
    b -= (b - a).mean()  # no real difference in means
    result = compare_paired("ndcg@10", dict(enumerate(a)), dict(enumerate(b)))
    assert result.p_value > 0.5 and result.ci_low < 0 < result.ci_high


def test_compare_uses_only_shared_queries_and_rejects_bad_input():
    result = compare_paired("m", {"q1": 0.0, "q2": 1.0, "q3": 0.5}, {"q2": 1.0, "q3": 1.0, "q4": 0.0})
    assert result.n == 2 and result.delta == pytest.approx(0.25)
    with pytest.raises(ConfigError):
        paired_permutation_test([0.1, 0.2], [0.1])
    with pytest.raises(ConfigError):
        paired_bootstrap_ci([], [])
