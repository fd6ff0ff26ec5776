"""Convergence rates and phases read off recorded trajectories (:class:`sim.overparam.Trajectory`).

* :func:`power_law_exponent`: slope of log L against log T over the late window (the last decade of the
  run by default), per trial, by least squares with its standard error.  The paper's n >= 2 rate is
  L ~ T^-3, i.e. a slope of -3.
* :func:`linear_rate`: slope of log L against T (per step / per unit time) over the window where the loss
  lies between ``hi`` and a floor above float64 round-off; the paper's n = 1 rate is linear, and the
  theory here (``theory.xudu_claims`` xd.n1.linear) predicts 2 log(1 - lr/2) per GD step locally.
* :func:`phases`: the three phases.  T1 = first record with max_i theta_i <= ``theta_end`` (Phase 1:
  the students align while small); T2 = first record after T1 where the angular part of the loss is at
  least the linear part ||sum w - v||^2/4 (Phase 2 drives the residual ||v|| - H to 0 exponentially; Phase 3
  is the slow angular convergence).  These operational thresholds are ours; the paper's phases are
  defined by its proof constants.
* :func:`median_ci`: median over trials with a percentile-bootstrap 95% interval (fixed seed).
"""

from __future__ import annotations

import numpy as np

FLOOR = 1e-26  # losses below this are round-off dominated in float64 for O(1) weights


def _ols(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    if x.size < 3:
        return float("nan"), float("nan")
    A = np.vstack([x, np.ones_like(x)]).T
    coef, res, *_ = np.linalg.lstsq(A, y, rcond=None)
    resid = y - A @ coef
    dof = max(x.size - 2, 1)
    s2 = float(resid @ resid) / dof
    se = float(np.sqrt(s2 / np.sum((x - x.mean()) ** 2)))
    return float(coef[0]), se


def power_law_exponent(t: np.ndarray, loss: np.ndarray, start_fraction: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """Per-trial slope (and its standard error) of log L vs log t over t >= start_fraction * t[-1]."""
    loss = np.atleast_2d(loss)
    slopes, ses = np.full(loss.shape[0], np.nan), np.full(loss.shape[0], np.nan)
    win = t >= start_fraction * t[-1]
    for k, L in enumerate(loss):
        ok = win & (L > FLOOR) & (t > 0)
        slopes[k], ses[k] = _ols(np.log(t[ok]), np.log(L[ok]))
    return slopes, ses


def shifted_power_law(t: np.ndarray, loss: np.ndarray, start_fraction: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """Per-trial exponent p (and its standard error) of L = C (t + t0)^-p fitted over the late window.

    The plain log-log slope of C (t + t0)^-p is -p t/(t + t0): biased towards 0 unless t >> t0, and t0 (the
    time Phases 1-2 take) is not small at the horizons we can afford.  Fitting the offset removes that bias.
    """
    from scipy.optimize import curve_fit

    loss = np.atleast_2d(loss)
    ps, ses = np.full(loss.shape[0], np.nan), np.full(loss.shape[0], np.nan)
    win = t >= start_fraction * t[-1]
    for k, L in enumerate(loss):
        ok = win & (L > FLOOR) & (t > 0)
        if ok.sum() < 5:
            continue
        x, y = t[ok], np.log(L[ok])
        slope, _ = _ols(np.log(x), y)

        def model(x, logc, p, t0):
            return logc - p * np.log(x + t0)

        try:
            popt, pcov = curve_fit(model, x, y, p0=(y[-1] - slope * np.log(x[-1]), -slope, 0.0),
                                   bounds=([-np.inf, 0.0, -0.9 * x[0]], [np.inf, 20.0, 10 * x[-1]]), maxfev=20000)
        except (RuntimeError, ValueError):
            continue
        ps[k], ses[k] = -popt[1], float(np.sqrt(max(pcov[1, 1], 0.0)))
    return ps, ses


def linear_rate(t: np.ndarray, loss: np.ndarray, hi: float = 1e-4, lo: float = FLOOR * 1e4) -> np.ndarray:
    """Per-trial slope of log L vs t while lo < L < hi (before the float floor); nan if < 3 points."""
    loss = np.atleast_2d(loss)
    out = np.full(loss.shape[0], np.nan)
    for k, L in enumerate(loss):
        ok = (L < hi) & (L > lo)
        out[k] = _ols(t[ok], np.log(L[ok]))[0]
    return out


def phases(t: np.ndarray, theta: np.ndarray, loss: np.ndarray, linear: np.ndarray,
           theta_end: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """(T1, T2) per trial, nan where the phase is not reached (T2 never exists for n = 1)."""
    T = theta.shape[0]
    T1, T2 = np.full(T, np.nan), np.full(T, np.nan)
    for k in range(T):
        aligned = np.nonzero(theta[k].max(-1) <= theta_end)[0]
        if aligned.size == 0:
            continue
        i1 = aligned[0]
        T1[k] = t[i1]
        angular = loss[k] - linear[k]
        later = np.nonzero((np.arange(t.size) >= i1) & (angular >= linear[k]) & (loss[k] > FLOOR))[0]
        if later.size:
            T2[k] = t[later[0]]
    return T1, T2


def median_ci(values: np.ndarray, level: float = 0.95, boot: int = 2000, seed: int = 0) -> tuple[float, float, float]:
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
