"""Confidence intervals: Wilson for success rates, a percentile bootstrap for medians over trials."""

from __future__ import annotations

import numpy as np
from scipy.stats import norm


def wilson(successes, trials, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for a binomial proportion (works for 0 and all successes, unlike Wald)."""
    k = np.asarray(successes, dtype=float)
    n = np.asarray(trials, dtype=float)
    if np.any(n <= 0) or np.any(k < 0) or np.any(k > n):
        raise ValueError(f"need 0 <= successes <= trials and trials > 0 (got {successes!r}, {trials!r})")
    z = norm.ppf(0.5 + level / 2)
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return np.clip(centre - half, 0.0, 1.0), np.clip(centre + half, 0.0, 1.0)


def median_ci(values: np.ndarray, level: float = 0.95, boot: int = 2000, seed: int = 0) -> tuple[float, float, float]:
    """Median of the finite values with a percentile-bootstrap interval (fixed seed: same values, same interval)."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return float("nan"), float("nan"), float("nan")
    if v.size == 1:
        return float(v[0]), float(v[0]), float(v[0])
    rng = np.random.default_rng(seed)
    meds = np.median(rng.choice(v, size=(boot, v.size), replace=True), axis=1)
    a = (1 - level) / 2
    return float(np.median(v)), float(np.quantile(meds, a)), float(np.quantile(meds, 1 - a))
