"""Paired statistics over queries: bootstrap confidence intervals and a randomisation test.

Two models evaluated on the same queries give paired per-query values `a` and `b`.
The delta is mean(b - a).

* `paired_bootstrap_ci` resamples queries with replacement and takes percentiles of
  the resampled mean delta (the percentile method of `scipy.stats.bootstrap` with
  `paired=True`).
* `paired_permutation_test` is the paired randomisation test: under the null the two
  values of a query are exchangeable, so each delta's sign is flipped at random. The
  two-sided p-value follows `scipy.stats.permutation_test(permutation_type="samples")`:
  exact when all 2^n sign patterns fit in `n_resamples`, else Monte Carlo with the
  +1 correction, and twice the smaller one-sided p-value, capped at 1.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

import numpy as np

from densefit.errors import ConfigError

N_RESAMPLES = 10_000
CONFIDENCE = 0.95
ALPHA = 0.05
CHUNK = 1_000  # resamples per vectorised block (memory: CHUNK x n queries)
TIE_EPS = 1e-14  # relative tolerance for ties with the observed statistic, as in scipy


@dataclass
class PairedComparison:
    """Model B against model A on one metric, over the same queries."""

    metric: str
    a: float
    b: float
    delta: float
    ci_low: float
    ci_high: float
    p_value: float
    n: int
    confidence: float = CONFIDENCE

    @property
    def significant(self) -> bool:
        return self.p_value < ALPHA

    def to_dict(self) -> dict:
        return {**asdict(self), "significant": self.significant}


def _differences(a: Sequence[float], b: Sequence[float]) -> np.ndarray:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 1:
        raise ConfigError(f"paired samples need two 1-D arrays of the same length, got {a.shape} and {b.shape}")
    if a.size == 0:
        raise ConfigError("paired statistics need at least one query")
    return b - a


def _resampled_means(diff: np.ndarray, n_resamples: int, rng: np.random.Generator, draw) -> np.ndarray:
    out = np.empty(n_resamples)
    for start in range(0, n_resamples, CHUNK):
        size = min(CHUNK, n_resamples - start)
        out[start:start + size] = draw(rng, size, diff)
    return out


def paired_bootstrap_ci(a: Sequence[float], b: Sequence[float], *, n_resamples: int = N_RESAMPLES,
                        confidence: float = CONFIDENCE, seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap CI of mean(b - a), resampling queries with replacement."""
    if not 0 < confidence < 1:
        raise ConfigError(f"confidence must be in (0, 1), got {confidence}")
    diff = _differences(a, b)
    n = diff.size
    means = _resampled_means(diff, n_resamples, np.random.default_rng(seed),
                             lambda rng, m, d: d[rng.integers(0, n, size=(m, n))].mean(axis=1))
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return float(low), float(high)


def _sign_flip_null(diff: np.ndarray, n_resamples: int, seed: int) -> tuple[np.ndarray, bool]:
    """Null distribution of mean(sign * diff); exact (every sign pattern) when it fits."""
    n = diff.size
    if 2 ** n <= n_resamples:
        signs = np.array(list(itertools.product((1.0, -1.0), repeat=n)))
        return (signs * diff).mean(axis=1), True
    flip = lambda rng, m, d: ((rng.integers(0, 2, size=(m, d.size)) * 2 - 1) @ d) / d.size  # noqa: E731
    return _resampled_means(diff, n_resamples, np.random.default_rng(seed), flip), False


def paired_permutation_test(a: Sequence[float], b: Sequence[float], *, n_resamples: int = N_RESAMPLES,
                            seed: int = 0) -> float:
    """Two-sided p-value of the paired randomisation (sign-flip) test on mean(b - a)."""
    diff = _differences(a, b)
    observed = diff.mean()
    null, exact = _sign_flip_null(diff, n_resamples, seed)
    gamma = abs(TIE_EPS * observed)
    adjust = 0 if exact else 1
    greater = (np.count_nonzero(null >= observed - gamma) + adjust) / (null.size + adjust)
    less = (np.count_nonzero(null <= observed + gamma) + adjust) / (null.size + adjust)
    return float(min(1.0, 2 * min(greater, less)))


def compare_paired(metric: str, a: Mapping[str, float], b: Mapping[str, float], *,
                   n_resamples: int = N_RESAMPLES, confidence: float = CONFIDENCE,
                   seed: int = 0) -> PairedComparison:
    """Compare per-query values (query id -> value) of two models on the queries both have."""
    ids = [q for q in a if q in b]
    va = np.array([a[q] for q in ids], dtype=np.float64)
    vb = np.array([b[q] for q in ids], dtype=np.float64)
    low, high = paired_bootstrap_ci(va, vb, n_resamples=n_resamples, confidence=confidence, seed=seed)
    p = paired_permutation_test(va, vb, n_resamples=n_resamples, seed=seed)
    return PairedComparison(metric=metric, a=float(va.mean()), b=float(vb.mean()), delta=float((vb - va).mean()),
                            ci_low=low, ci_high=high, p_value=p, n=len(ids), confidence=confidence)


def compare_metrics(per_query_a: Mapping[str, Mapping[str, float]], per_query_b: Mapping[str, Mapping[str, float]],
                    metrics: Sequence[str], **kwargs) -> list[PairedComparison]:
    """`compare_paired` for each metric name (per-query dicts as from `per_query_metrics`)."""
    return [compare_paired(m, per_query_a[m], per_query_b[m], **kwargs) for m in metrics
            if m in per_query_a and m in per_query_b]
