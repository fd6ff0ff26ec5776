"""Fits across the cells of the paper-001 diagrams (Zhang et al.): what Sec. 5 reads off its figures.

* ``line_fit``: ordinary least squares y = a + b x with standard errors;
* ``crossing``: where a success-rate curve crosses 1/2 (linear interpolation between grid points);
* ``convergence_rate``: the per-step contraction nu = exp(slope of log error) of a linearly converging run;
* ``radius_fit`` (Fig. 2): the radius of the convex region per r and its line against sqrt(r);
* ``transition_fit`` (Fig. 4): N* per r and its line against r.
"""

from __future__ import annotations

import numpy as np


def line_fit(x, y) -> dict:
    """y = a + b x by least squares; a, b with standard errors (nan when fewer than 3 finite points)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    out = {"points": int(len(x)), "intercept": np.nan, "slope": np.nan, "intercept_se": np.nan, "slope_se": np.nan,
           "r2": np.nan}
    if len(x) < 2:
        return out
    A = np.stack([np.ones_like(x), x], 1)
    coef, *_ = np.linalg.lstsq(A, y, rcond=None)
    out["intercept"], out["slope"] = float(coef[0]), float(coef[1])
    res = y - A @ coef
    if len(x) > 2:
        s2 = res @ res / (len(x) - 2)
        cov = s2 * np.linalg.inv(A.T @ A)
        out["intercept_se"], out["slope_se"] = float(np.sqrt(cov[0, 0])), float(np.sqrt(cov[1, 1]))
        tss = ((y - y.mean()) ** 2).sum()
        out["r2"] = float(1 - (res @ res) / tss) if tss > 0 else np.nan
    return out


def crossing(x, rate, level: float = 0.5, decreasing: bool = True) -> float:
    """First x where ``rate`` crosses ``level`` (interpolated); nan if it never does.  ``decreasing``: the
    rate falls with x (Fig. 2: success against initial distance); otherwise it rises (Fig. 4: against N).  Off the grid on either side: nan."""
    x, rate = np.asarray(x, float), np.asarray(rate, float)
    order = np.argsort(x)
    x, rate = x[order], rate[order]
    s = rate if decreasing else -rate
    lv = level if decreasing else -level
    if s[0] < lv:
        return np.nan  # already past the level at the first grid point: the crossing is off the grid
    for i in range(1, len(x)):
        if s[i] < lv:
            return float(x[i - 1] + (s[i - 1] - lv) / (s[i - 1] - s[i]) * (x[i] - x[i - 1]))
    return np.nan


def convergence_rate(t: np.ndarray, err: np.ndarray, hi_frac: float = 0.3, floor: float = 1e-12) -> np.ndarray:
    """Per trial (rows of ``err``): nu = exp(slope of log err against t) over the steps where the error is
    below hi_frac * err(0) (past the transient) and above max(floor, 10 x its final value)."""
    out = np.full(err.shape[0], np.nan)
    for b in range(err.shape[0]):
        e = err[b]
        ok = (e < hi_frac * e[0]) & (e > max(floor, 10 * e[-1])) & np.isfinite(e)
        if ok.sum() >= 3:
            out[b] = float(np.exp(np.polyfit(t[ok], np.log(e[ok]), 1)[0]))
    return out


def _crossings_per_r(rows: list[dict], axis: str, decreasing: bool) -> tuple[list[int], list[float]]:
    """Per r, where the success rate along ``axis`` crosses 1/2."""
    rs = sorted({int(r["r"]) for r in rows})
    out = []
    for r in rs:
        sub = sorted((float(x[axis]), float(x["success_rate"])) for x in rows if int(x["r"]) == r)
        out.append(crossing([s[0] for s in sub], [s[1] for s in sub], decreasing=decreasing))
    return rs, out


def radius_fit(rows: list[dict]) -> dict:
    """Fig. 2: per r, the initial distance where the success rate crosses 1/2; line of it against sqrt(r)."""
    rs, radius = _crossings_per_r(rows, "lam", decreasing=True)
    return {"r": rs, "radius": radius, "fit_vs_sqrt_r": line_fit(np.sqrt(rs), radius)}


def transition_fit(rows: list[dict]) -> dict:
    """Fig. 4: per r, the N where the success rate first rises through 1/2; line of N* against r."""
    rs, nstar = _crossings_per_r(rows, "N", decreasing=False)
    return {"r": rs, "N_star": nstar, "fit_vs_r": line_fit(rs, nstar)}
