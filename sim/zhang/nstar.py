"""The sample complexity N* of paper 001 (Zhang et al., Fig. 4, eq. 8), located by refining N near the
phase transition instead of reading it off a doubling grid.

Fig. 4 shows the success rate of Algorithm 1 (AGD from W(0) near W*, success: ||W - W*||_F / ||W*||_F <
1e-4) over the number of samples N and the inputs per neuron r; eq. (8) says that the N needed for recovery,
N*, grows linearly in r.  Here N* is the N where the success probability p(N) crosses 1/2, and it is located
for one r with

* **bisection in log N on shared draws** (:func:`bisect_nstar`): T draws of teacher W*, supports and W(0)
  are fixed, and the training set at N is the first N samples of one long sequence per draw (nested data,
  :class:`NestedDraws`), so that p(N) is estimated at every N on the same T draws (common random numbers);
  each step runs the T draws at the geometric midpoint of the bracket (one batched AGD call) and keeps the
  half where the empirical rate crosses 1/2;
* two estimators on all the points the bisection evaluated (:func:`nstar_estimates`): the crossing of the
  monotone (isotonic) fit of the empirical rate, interpolated in log N (for a rate that rises along the
  path: the interpolation inside the final bracket), and a **logistic in log N**,
  p(N) = 1 / (1 + exp(-b (log N - log N*))), fitted by maximum likelihood, with a profile-likelihood
  interval (exact when the points are independent draws) and a bootstrap over draws (right for shared
  draws: the points of one draw are correlated, so the draws, not the points, are resampled);
* across r (:func:`nstar_line`): N* against r by weighted least squares with each N*'s uncertainty, and by
  refitting the line on every bootstrap replicate (the cells' replicates are independent), and
  N* / (K r), samples per unknown weight of the pruned network.

The module's first half is pure (numbers in, numbers out; tested on known success curves); the second
(:class:`NestedDraws`, :func:`agd_evaluator`) adapts the batched engine (:mod:`sim.zhang.sparse_teacher`,
:mod:`sim.zhang.agd`) without changing it.  The AGD budget (eta, beta, iteration cap) is an argument: with a
finite cap, a run that is still converging when the cap arrives counts as a failure, so N* depends on it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
from scipy.optimize import brentq
from scipy.stats import chi2

from sim.core.config import param
from sim.zhang.agd import AGD, run_agd
from sim.zhang.fits import crossing, grid_columns, nstar_grid_bootstrap, saved_rows, transition_fit

LEVEL = 0.95


# ------------------------------------------------------------------------------------------- checks
def _level(level) -> float:
    if not (isinstance(level, (int, float)) and 0 < level < 1):
        raise ValueError(f"level (confidence level) must be in (0, 1), got {level!r}")
    return float(level)


def _counts(N, successes, trials) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    N = np.asarray(N, float).reshape(-1)
    k = np.asarray(successes, float)
    n = np.broadcast_to(np.asarray(trials, float), k.shape[-1:]).copy() if np.ndim(trials) == 0 \
        else np.asarray(trials, float)
    if N.size == 0:
        raise ValueError("N (sample sizes) is empty: the locator needs at least one evaluated N")
    if not np.all(np.isfinite(N)) or np.any(N <= 0):
        raise ValueError(f"N (sample sizes) must be finite and > 0, got {N.tolist()}")
    if k.shape[-1] != N.size or n.shape[-1] != N.size:
        raise ValueError(f"successes {k.shape} and trials {n.shape} must have one entry per N ({N.size})")
    if np.any(n <= 0) or np.any(k < 0) or np.any(k > n):
        raise ValueError("need 0 <= successes <= trials and trials > 0 at every N")
    return N, k, n


# ------------------------------------------------------------------------------------------- estimators
def isotonic(y, w) -> np.ndarray:
    """Weighted least-squares non-decreasing fit of y (pool adjacent violators), weights w > 0."""
    y, w = np.asarray(y, float), np.asarray(w, float)
    vals, wts, size = [], [], []
    for yi, wi in zip(y, w):
        vals.append(yi), wts.append(wi), size.append(1)
        while len(vals) > 1 and vals[-2] > vals[-1]:
            v, ww, s = vals.pop(), wts.pop(), size.pop()
            vals[-1] = (vals[-1] * wts[-1] + v * ww) / (wts[-1] + ww)
            wts[-1] += ww
            size[-1] += s
    return np.repeat(vals, size)


def _crossing_signed(logN: np.ndarray, rate: np.ndarray, level: float) -> float:
    """log N where ``rate`` (sorted by logN, non-decreasing) first reaches ``level``, interpolated;
    -inf when it is reached at the smallest N, +inf when never."""
    above = np.nonzero(rate >= level)[0]
    if above.size == 0:
        return math.inf
    i = int(above[0])
    if i == 0:
        return -math.inf
    x0, x1, p0, p1 = logN[i - 1], logN[i], rate[i - 1], rate[i]
    return float(x0 + (level - p0) / (p1 - p0) * (x1 - x0))


def isotonic_crossing(N, successes, trials, level: float = 0.5) -> float:
    """N* from the points: the non-decreasing (isotonic) fit of the empirical success rate over N, and where
    it crosses ``level``, interpolated linearly in log N.  When the rate already rises along the points this
    is the interpolation inside the bracket a bisection ends with.  nan when the crossing is off the points
    (below the smallest or above the largest N)."""
    N, k, n = _counts(N, successes, trials)
    if k.ndim != 1:
        raise ValueError("isotonic_crossing takes one success count per N (1-D)")
    o = np.argsort(N)
    x = _crossing_signed(np.log(N[o]), isotonic(k[o] / n[o], n[o]), level)
    return float(np.exp(x)) if np.isfinite(x) else math.nan


def _nll(a, b, x, k, n, ridge):
    eta = a[..., None] + b[..., None] * x
    # -[k log s(eta) + (n-k) log(1 - s(eta))] = n log(1 + e^eta) - k eta
    return (n * np.logaddexp(0.0, eta) - k * eta).sum(-1) + 0.5 * ridge * b ** 2


def _logistic_newton(x, k, n, ridge, iters: int = 100) -> tuple[np.ndarray, np.ndarray]:
    """Maximum likelihood (a, b) of p = 1/(1 + exp(-(a + b x))) for every row of k (R, P), by damped Newton
    on the (convex) negative log-likelihood plus ridge/2 b^2 (keeps b finite when the points are separated:
    all failures below some N and all successes above)."""
    R = k.shape[0]
    p0 = np.clip((k.sum(-1) + 0.5) / (n.sum(-1) + 1.0), 1e-3, 1 - 1e-3)
    a, b = np.log(p0 / (1 - p0)), np.zeros(R)
    steps = 0.5 ** np.arange(12)
    f = _nll(a, b, x, k, n, ridge)
    for _ in range(iters):
        s = 1 / (1 + np.exp(-(a[:, None] + b[:, None] * x)))
        r = n * s - k
        h = n * s * (1 - s)
        ga, gb = r.sum(-1), (r * x).sum(-1) + ridge * b
        haa, hab, hbb = h.sum(-1) + 1e-12, (h * x).sum(-1), (h * x * x).sum(-1) + ridge
        det = haa * hbb - hab ** 2
        da, db = (hbb * ga - hab * gb) / det, (haa * gb - hab * ga) / det
        trial = _nll(a[:, None] - steps * da[:, None], b[:, None] - steps * db[:, None], x[None, None], k[:, None],
                     n[:, None] if n.ndim == 2 else n, ridge)  # (R, steps)
        best = trial.argmin(1)
        fb = trial[np.arange(R), best]
        better = fb < f
        t = np.where(better, steps[best], 0.0)
        a, b, f = a - t * da, b - t * db, np.where(better, fb, f)
        if np.all(np.abs(ga) + np.abs(gb) < 1e-10) or not better.any():
            break
    return a, b


def logistic_fit(N, successes, trials, level: float = LEVEL, ridge: float = 1e-6) -> dict:
    """Logistic in log N, p(N) = 1 / (1 + exp(-b (log N - log N*))), by maximum likelihood from binomial
    counts (``successes`` of ``trials`` at each ``N``).  Returns N_star (the midpoint), b (steepness per unit
    of log N), the profile-likelihood interval of N* at ``level`` (``profile_low``, ``profile_high``: the N*
    where twice the drop of the log-likelihood maximized over b reaches the chi^2_1 quantile; nan and
    ``profile_open`` when it is not reached within a factor e of the points' range, or the curve is flat),
    and the maximized log-likelihood.  The interval is exact (asymptotically) for independent draws at every
    N; for draws shared across N use :func:`nstar_estimates`' bootstrap.  ``ridge`` (times the total
    trials) keeps b finite on separated points."""
    level = _level(level)
    N, k, n = _counts(N, successes, trials)
    if k.ndim != 1:
        raise ValueError("logistic_fit takes one success count per N (1-D); use nstar_estimates for draws")
    if k.sum() == 0 or k.sum() == n.sum():
        raise ValueError("logistic_fit needs both successes and failures among the points (the rate never "
                         "crosses: widen the N range)")
    xc = float(np.log(N).mean())
    x = np.log(N) - xc
    rho = ridge * n.sum()
    a, b = _logistic_newton(x, k[None], n, rho)
    a, b = float(a[0]), float(b[0])
    out = {"N_star": math.nan, "b": b, "profile_low": math.nan, "profile_high": math.nan, "profile_open": True,
           "loglik": float(-_nll(np.array(a), np.array(b), x, k, n, rho)), "level": level, "points": int(N.size)}
    if not b > 0:
        return out  # flat or falling curve: no crossing
    m_hat = -a / b
    out["N_star"] = float(np.exp(xc + m_hat))
    f_hat = -out["loglik"]
    crit = float(chi2.ppf(level, 1))

    def prof(m):
        # min over b >= 0 of the nll with a = -b m (a 1-D convex problem), by Newton from b_hat
        bb = b
        for _ in range(100):
            eta = bb * (x - m)
            s = 1 / (1 + np.exp(-eta))
            g = ((n * s - k) * (x - m)).sum() + rho * bb
            h = (n * s * (1 - s) * (x - m) ** 2).sum() + rho
            nb = max(bb - g / h, 0.0)
            if abs(nb - bb) < 1e-12 * max(1.0, bb):
                bb = nb
                break
            bb = nb
        return 2 * (float(_nll(np.array(-bb * m), np.array(bb), x, k, n, rho)) - f_hat) - crit

    span = float(x.max() - x.min()) + 1.0
    ends = []
    for sign in (-1, 1):
        grid = m_hat + sign * np.linspace(0, span, 81)[1:]
        vals = np.array([prof(m) for m in grid])
        hit = np.nonzero(vals > 0)[0]
        if hit.size == 0:
            ends.append(math.nan)
            continue
        j = int(hit[0])
        lo_m = m_hat if j == 0 else grid[j - 1]
        ends.append(float(np.exp(xc + brentq(prof, min(lo_m, grid[j]), max(lo_m, grid[j]), xtol=1e-10))))
    out["profile_low"], out["profile_high"] = ends[0], ends[1]
    out["profile_open"] = bool(np.isnan(ends).any())
    return out


def nstar_estimates(N, S, n_boot: int = 1000, seed: int = 0, level: float = LEVEL) -> dict:
    """N* from the success matrix ``S`` (T draws x P points, bool) of draws shared across the ``N`` (P,):
    the isotonic crossing and the logistic midpoint (:func:`isotonic_crossing`, :func:`logistic_fit`), the
    profile-likelihood interval, and percentile intervals from ``n_boot`` bootstrap resamples of the draws
    (rows of S: the same resampling for every N, which keeps the draws' correlation across N).  Returns the
    bootstrap replicates too (``boot_logistic``, ``boot_crossing``; +-inf where a replicate's crossing is off
    the points, nan where its logistic is flat) so that fits across r can propagate them.  Same ``seed`` and
    T: same resampling (paired across AGD budgets run on the same draws)."""
    level = _level(level)
    S = np.asarray(S)
    if S.ndim != 2 or S.dtype != bool:
        raise ValueError(f"S must be a 2-D boolean array (draws x points), got {S.dtype} of shape {S.shape}")
    if isinstance(n_boot, bool) or not isinstance(n_boot, int) or n_boot < 1:
        raise ValueError(f"n_boot (bootstrap resamples) must be an integer >= 1, got {n_boot!r}")
    T, P = S.shape
    N, k, n = _counts(N, S.sum(0), np.full(P, T))
    fit = logistic_fit(N, k, n, level)
    cross = isotonic_crossing(N, k, n)
    rng = np.random.default_rng(seed)
    w = rng.multinomial(T, np.full(T, 1.0 / T), size=n_boot).astype(float)  # (n_boot, T) draw weights
    kb = w @ S.astype(float)  # (n_boot, P)
    o = np.argsort(N)
    logN = np.log(N[o])
    bc = np.array([_crossing_signed(logN, isotonic(kb[i, o] / T, n[o]), 0.5) for i in range(n_boot)])
    xc = float(logN.mean())
    a, b = _logistic_newton(logN - xc, kb[:, o], n[o], 1e-6 * n.sum())
    with np.errstate(divide="ignore", invalid="ignore"):
        bl = np.where(b > 0, xc - a / b, np.nan)
    q = [(1 - level) / 2, (1 + level) / 2]

    def pct(v):
        v = v[~np.isnan(v)]
        if v.size == 0:
            return [math.nan, math.nan]
        lo, hi = np.quantile(v, q, method="inverted_cdf")
        return [float(np.exp(lo)) if np.isfinite(lo) else math.nan, float(np.exp(hi)) if np.isfinite(hi) else math.nan]

    return {"N_star_logistic": fit["N_star"], "b": fit["b"], "profile_low": fit["profile_low"],
            "profile_high": fit["profile_high"], "boot_logistic_ci": pct(bl), "N_star_crossing": cross,
            "boot_crossing_ci": pct(bc), "boot_logistic": np.exp(bl), "boot_crossing": np.exp(bc),
            "boot_undefined": float(np.mean(~np.isfinite(bc) | np.isnan(bl))), "level": level, "draws": T}


# ------------------------------------------------------------------------------------------- bisection
def _success(res) -> tuple[np.ndarray, dict]:
    if isinstance(res, dict):
        if "success" not in res:
            raise ValueError("evaluate(N) must return a boolean array or a dict with a 'success' array")
        s = np.asarray(res["success"])
        extra = {k: np.asarray(v) for k, v in res.items() if k != "success"}
    else:
        s, extra = np.asarray(res), {}
    if s.ndim != 1 or s.dtype != bool:
        raise ValueError(f"evaluate(N) must give one boolean success per draw (1-D bool), got {s.dtype} {s.shape}")
    return s, extra


def bisect_nstar(evaluate: Callable[[int], object], N_lo: int, N_hi: int, steps: int, max_expand: int = 3
                 ) -> dict:
    """Bisection in log N for the N where the success rate of shared draws crosses 1/2.

    ``evaluate(N)`` runs the same T draws at N samples and returns their successes (bool (T,), or a dict
    with ``success`` and other per-draw arrays, which are kept).  The bracket [N_lo, N_hi] must have rate
    < 1/2 at N_lo and >= 1/2 at N_hi; otherwise it is widened by factors of 2 (at most ``max_expand`` times
    per side) and a ValueError names the rates if that does not help.  Each of ``steps`` steps evaluates the
    integer geometric midpoint and keeps the half that holds the crossing; it stops early when the bracket
    holds no integer.  Returns the evaluated N in evaluation order, the success matrix S (T x points), the
    other arrays stacked the same way, and the final bracket."""
    for name, v in (("N_lo", N_lo), ("N_hi", N_hi)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"{name} (samples) must be an integer >= 1, got {v!r}")
    if N_lo >= N_hi:
        raise ValueError(f"need N_lo < N_hi, got N_lo = {N_lo}, N_hi = {N_hi}")
    for name, v in (("steps", steps), ("max_expand", max_expand)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            raise ValueError(f"{name} must be an integer >= 0, got {v!r}")
    Ns, cols, extras = [], [], []
    rate = {}

    def run(N: int) -> float:
        s, extra = _success(evaluate(int(N)))
        if cols and s.shape != cols[0].shape:
            raise ValueError(f"evaluate({N}) gave {s.shape[0]} draws, earlier calls {cols[0].shape[0]}")
        Ns.append(int(N)), cols.append(s), extras.append(extra)
        rate[int(N)] = float(s.mean())
        return rate[int(N)]

    lo, hi = int(N_lo), int(N_hi)
    run(lo)
    for _ in range(max_expand):
        if rate[lo] < 0.5 or lo == 1:
            break
        lo = max(1, lo // 2)
        run(lo)
    if rate[lo] >= 0.5:
        raise ValueError(f"success rate {rate[lo]:.2f} >= 1/2 already at N = {lo}: the crossing is below the "
                         f"bracket; lower N_lo")
    run(hi)
    for _ in range(max_expand):
        if rate[hi] >= 0.5:
            break
        hi *= 2
        run(hi)
    if rate[hi] < 0.5:
        raise ValueError(f"success rate {rate[hi]:.2f} < 1/2 still at N = {hi}: the crossing is above the bracket "
                         f"(rates {dict(sorted(rate.items()))}); raise N_hi or the AGD budget")
    for _ in range(steps):
        if hi - lo <= 1:
            break
        mid = min(max(int(round(math.sqrt(lo * hi))), lo + 1), hi - 1)
        if run(mid) >= 0.5:
            hi = mid
        else:
            lo = mid
    S = np.stack(cols, 1)
    keys = set().union(*extras) if extras else set()
    stacked = {k: np.stack([e[k] for e in extras], 1) for k in keys if all(k in e for e in extras)}
    return {"N": np.array(Ns), "S": S, "arrays": stacked, "bracket": (lo, hi), "rate": rate}


def locate_nstar(evaluate: Callable[[int], object], N_lo: int, N_hi: int, steps: int = 6, n_boot: int = 1000,
                 seed: int = 0, level: float = LEVEL, max_expand: int = 3) -> dict:
    """:func:`bisect_nstar` then :func:`nstar_estimates` on every point it evaluated."""
    b = bisect_nstar(evaluate, N_lo, N_hi, steps, max_expand)
    return {**b, **nstar_estimates(b["N"], b["S"], n_boot, seed, level)}


# ------------------------------------------------------------------------------------------- across r
def weighted_line_fit(x, y, se) -> dict:
    """y = a + b x by weighted least squares, weights 1/se^2: a, b with standard errors from the propagated
    se (``*_se``), chi^2 per degree of freedom of the residuals, and the standard errors scaled by
    sqrt(chi^2/dof) when that exceeds 1 (``*_se_scaled``: the scatter is larger than the se explain)."""
    x, y, se = (np.asarray(v, float).reshape(-1) for v in (x, y, se))
    if not (x.size == y.size == se.size):
        raise ValueError(f"x, y and se need the same length, got {x.size}, {y.size}, {se.size}")
    if x.size < 2:
        raise ValueError(f"a line needs at least 2 points, got {x.size}")
    if not (np.all(np.isfinite(se)) and np.all(se > 0)):
        raise ValueError(f"se (standard errors) must be finite and > 0, got {se.tolist()}")
    w = 1 / se ** 2
    A = np.stack([np.ones_like(x), x], 1)
    cov = np.linalg.inv(A.T @ (A * w[:, None]))
    coef = cov @ (A.T @ (w * y))
    res = y - A @ coef
    dof = x.size - 2
    chi2_dof = float((w * res ** 2).sum() / dof) if dof > 0 else math.nan
    scale = math.sqrt(max(1.0, chi2_dof)) if dof > 0 else 1.0
    return {"intercept": float(coef[0]), "slope": float(coef[1]), "intercept_se": float(math.sqrt(cov[0, 0])),
            "slope_se": float(math.sqrt(cov[1, 1])), "chi2_per_dof": chi2_dof,
            "intercept_se_scaled": float(math.sqrt(cov[0, 0]) * scale),
            "slope_se_scaled": float(math.sqrt(cov[1, 1]) * scale), "points": int(x.size)}


def nstar_line(r, nstar, ci, boot, K: int, level: float = LEVEL) -> dict:
    """N* against r (eq. 8: linear in r) from the N* of several r, each with its interval ``ci`` (pairs)
    and its bootstrap replicates ``boot`` (one row per r, independent across r).  Returns the weighted
    line (se of each N* = interval width / (2 z)), the percentile interval of the slope and intercept over
    the bootstrap replicates (the line refitted, with the same weights, on replicate i of every r; replicates with a
    crossing off the points are left out), the slope per neuron (slope / K: samples per unknown weight at large r), and
    N* / (K r) per r with its interval."""
    level = _level(level)
    r = np.asarray(r, float)
    nstar = np.asarray(nstar, float)
    ci = np.asarray(ci, float).reshape(-1, 2)
    if not (r.size == nstar.size == ci.shape[0]):
        raise ValueError("r, nstar and ci need one entry per r")
    if isinstance(K, bool) or not isinstance(K, int) or K < 1:
        raise ValueError(f"K (neurons) must be an integer >= 1, got {K!r}")
    from scipy.stats import norm

    z = float(norm.ppf((1 + level) / 2))
    out = {"r": r.tolist(), "N_star": nstar.tolist(), "N_star_ci": ci.tolist(), "K": K,
           "N_star_over_Kr": (nstar / (K * r)).tolist(), "N_star_over_Kr_ci": (ci / (K * r[:, None])).tolist()}
    se = (ci[:, 1] - ci[:, 0]) / (2 * z)
    if r.size >= 2 and np.all(np.isfinite(se)) and np.all(se > 0):
        wf = weighted_line_fit(r, nstar, se)
        wf["slope_over_K"] = wf["slope"] / K
        wf["slope_over_K_se"] = wf["slope_se_scaled"] / K
        out["weighted_fit"] = wf
    else:
        out["weighted_fit"] = None  # an open or zero-width interval: no weights
    B = np.asarray(boot, float)
    if B.ndim == 2 and B.shape[0] == r.size and r.size >= 2:
        ok = np.all(np.isfinite(B), 0)
        # the same weights as the weighted fit (unweighted when the intervals give none)
        sw = 1 / se if out["weighted_fit"] is not None else np.ones_like(r)
        A = np.stack([np.ones_like(r), r], 1)
        coef = np.linalg.lstsq(A * sw[:, None], B[:, ok] * sw[:, None], rcond=None)[0]  # (2, replicates)
        q = [(1 - level) / 2, (1 + level) / 2]
        out["bootstrap_line"] = {"replicates": int(ok.sum()), "left_out": int((~ok).sum()),
                                 "intercept_ci": np.quantile(coef[0], q).tolist(),
                                 "slope_ci": np.quantile(coef[1], q).tolist(),
                                 "slope_over_K_ci": (np.quantile(coef[1], q) / K).tolist()}
    return out


def nstar_grid_logistic(finished, level: float = 0.95) -> dict:
    """A second estimator of Fig. 4's N*, on the same counts as :func:`transition_fit`: per r a logistic in log N
    fitted by maximum likelihood to the grid's success counts (:func:`logistic_fit`; every
    (r, N) cell has its own draws, so the counts are independent binomials), with its profile-likelihood
    interval, which, unlike the bootstrap over runs, widens with the spacing of the grid around the crossing;
    then the weighted line N* = a + b r through them (:func:`nstar_line`, weights from the
    intervals).  An r whose rate never crosses 1/2 on the grid, or whose interval is open, is listed and left
    out of the line."""
    per_r, used = {}, []
    for r, cols in grid_columns(finished).items():
        N = np.array([N for N, _ in cols])
        k, n = np.array([ok.sum() for _, ok in cols]), np.array([ok.size for _, ok in cols])
        try:
            fit = logistic_fit(N, k, n, level)
        except ValueError as exc:  # no crossing on the grid: all fail or all succeed
            per_r[f"r={r}"] = {"N_star": float("nan"), "note": str(exc)}
            continue
        per_r[f"r={r}"] = {"N_star": fit["N_star"], "ci": [fit["profile_low"], fit["profile_high"]],
                           "b": fit["b"], "open": fit["profile_open"]}
        if np.isfinite(fit["N_star"]) and not fit["profile_open"]:
            used.append((r, fit["N_star"], [fit["profile_low"], fit["profile_high"]]))
    line = None
    if len(used) >= 2:
        r_, ns, ci = zip(*used)
        line = nstar_line(list(r_), list(ns), list(ci), [], int(finished[0][0].K), level)
    return {"level": level, "interval": "profile likelihood (chi^2_1)", "per_r": per_r, "line": line}


def fit_grid(finished, rows) -> dict:
    """The fit step of ``zhang-fig4`` (the (r, N) grid): ``fits.json`` with :func:`sim.zhang.fits.transition_fit`
    (N* per r where success crosses 1/2, its line against r), its intervals
    (:func:`sim.zhang.fits.nstar_grid_bootstrap`), and the second estimator on the same counts
    (:func:`nstar_grid_logistic`)."""
    return {"fits.json": {**transition_fit(saved_rows(rows)), "nstar_bootstrap": nstar_grid_bootstrap(finished),
                          "nstar_logistic": nstar_grid_logistic(finished)}}


# ------------------------------------------------------------------------------------------- engine
class NestedDraws:
    """T draws of the Fig. 4 problem (teacher W*, teacher = student supports with r inputs per neuron,
    W(0) at relative distance ``lam`` from W* on the sphere) with **nested training sets**: the data of a
    draw is one sequence of samples x_1, x_2, ... (generated in chunks of ``chunk`` samples, each chunk from
    its own seed), and the training set at N is its first N samples, whatever the largest N asked for.
    Noiseless (Fig. 4): y = g(x; W*).

    ``evaluate(N, agd)`` runs AGD (:func:`sim.zhang.agd.run_agd`, batched over the T draws) on the first N samples
    and returns per draw: ``success`` (relative error < ``success_tol``, Sec. 5.1), ``rel_err``, ``iters``,
    ``stopped`` (the relative-change rule fired), ``cap_hit`` (ran to the iteration cap without it),
    ``diverged``."""

    def __init__(self, K: int, d: int, r: int, trials: int, lam: float, seed: int, device: str = "cpu",
                 dtype=torch.float64, chunk: int = 64, success_tol: float = 1e-4):
        from sim.zhang.sparse_teacher import SparseProblem, init_at_distance, make_instance

        if not (isinstance(lam, (int, float)) and math.isfinite(lam) and lam > 0):
            raise ValueError(f"lam (relative distance of W(0) from W*) must be finite and > 0, got {lam!r}")
        if isinstance(chunk, bool) or not isinstance(chunk, int) or chunk < 1:
            raise ValueError(f"chunk must be an integer >= 1, got {chunk!r}")
        # teacher and supports come first in make_instance's random stream, so they do not depend on N;
        # its one-sample data set is discarded
        base = make_instance(SparseProblem(K=K, d=d, r=r, N=1, trials=trials), seed, device, dtype)
        self.base, self.K, self.d, self.r, self.trials = base, K, d, r, trials
        self.W0 = init_at_distance(base.W_star, base.M, float(lam), seed + 1, where="sphere")
        self.seed, self.chunk, self.device, self.dtype = int(seed), chunk, device, dtype
        self.success_tol = success_tol
        self._X = torch.empty(trials, 0, d, device=device, dtype=dtype)

    def data(self, N: int) -> torch.Tensor:
        """The first N samples of every draw, (T, N, d)."""
        if isinstance(N, bool) or not isinstance(N, (int, np.integer)) or N < 1:
            raise ValueError(f"N (samples) must be an integer >= 1, got {N!r}")
        while self._X.shape[1] < N:
            c = self._X.shape[1] // self.chunk
            g = torch.Generator(device=self.device)
            g.manual_seed((self.seed * 1_000_003 + 7919 * (c + 1)) % (2 ** 62))
            new = torch.randn(self.trials, self.chunk, self.d, generator=g, device=self.device, dtype=self.dtype)
            self._X = torch.cat([self._X, new], 1)
        return self._X[:, :N].contiguous()

    def instance(self, N: int):
        from sim.zhang.sparse_teacher import Instance, forward

        X = self.data(N)
        y = forward(self.base.W_teacher, X)
        b = self.base
        return Instance(X=X, y=y, y_clean=y.clone(), W_teacher=b.W_teacher, M_teacher=b.M_teacher, M=b.M,
                        W_star=b.W_star, sigma=torch.zeros_like(b.sigma))

    def evaluate(self, N: int, agd) -> dict[str, np.ndarray]:

        res = run_agd(self.instance(N), self.W0, agd)
        return {"success": res.rel_err < self.success_tol, "rel_err": res.rel_err, "iters": res.iters,
                "stopped": res.stopped, "cap_hit": (res.iters >= agd.max_iter) & ~res.stopped & ~res.diverged,
                "diverged": res.diverged}


def agd_evaluator(draws: NestedDraws, agd) -> Callable[[int], dict]:
    """``evaluate(N)`` for :func:`bisect_nstar`: the draws under one AGD budget."""
    return lambda N: draws.evaluate(N, agd)


# ------------------------------------------------------------------------------------------- diagram cells
@dataclass(frozen=True)
class Budget:
    """An AGD budget: step size, momentum and iteration cap (a run still converging at the cap fails)."""

    eta: float
    beta: float
    max_iter: int


def budgets_of(values) -> tuple[Budget, ...]:
    """A tuple of :class:`Budget` from Budgets or their plain data (a saved manifest's dicts)."""
    return tuple(v if isinstance(v, Budget) else Budget(**v) for v in values)


def paired_budgets(cap: int) -> tuple[Budget, Budget]:
    """The project's budget (eta 0.5, beta 0.2, zhang-fig4's cap) and the review's (eta 2, beta 0.5, 6000)."""
    return Budget(eta=0.5, beta=0.2, max_iter=cap), Budget(eta=2.0, beta=0.5, max_iter=6000)


@dataclass(frozen=True)
class NstarScale:
    """zhang-fig4-nstar: N* per r by bisection in log N on shared draws, under each AGD budget."""

    K: int = param(3, "neurons K")
    d: int = param(40, "input dimension d")
    rs: tuple[int, ...] = param((5, 10, 20, 40), "inputs per neuron r (one cell each)")
    trials: int = param(20, "draws T shared by every N and budget of a cell")
    steps: int = param(5, "bisection steps in log N")
    budgets: tuple[Budget, ...] = param(paired_budgets(3000), "AGD budgets, each bisected on the same draws")
    lam: float = param(0.5, "relative distance of W(0) from W*")
    tol: float = param(1e-8, "AGD stops when the relative change of W falls below tol")
    agd_precision: str = param(AGD.precision, "AGD arithmetic: 'mixed' (float32 steps, float64 once the relative change is below 1e-4) or 'float64'")
    agd_layout: str = param(AGD.layout, "AGD products: 'auto' (gathered supports when r/d < 0.4), 'dense' or 'gathered'")
    lo_factor: float = param(1.0, "bracket's lower end, in units of K r")
    hi_factor: float = param(4.0, "bracket's upper end, in units of K r")
    n_boot: int = param(1000, "bootstrap resamples of the draws")

    def __post_init__(self):
        object.__setattr__(self, "budgets", budgets_of(self.budgets))


SCALES = {"quick": NstarScale(),
          "mid": NstarScale(K=5, d=100, rs=(10, 20, 40), trials=30, steps=4, budgets=paired_budgets(10_000)),
          "paper": NstarScale(K=5, d=100, rs=(10, 20, 30, 40, 50, 60, 70, 80, 90, 100), trials=100, steps=6,
                              budgets=paired_budgets(10_000))}


@dataclass(frozen=True)
class NstarCell:
    r: int
    K: int
    d: int
    lam: float
    trials: int
    tol: float
    budgets: tuple[Budget, ...]
    steps: int
    lo_factor: float
    hi_factor: float
    n_boot: int
    agd_precision: str = AGD.precision
    agd_layout: str = AGD.layout

    @property
    def key(self) -> str:
        return f"r{self.r}"


def cells(p: NstarScale) -> list[NstarCell]:
    return [NstarCell(r=r, K=p.K, d=p.d, lam=p.lam, trials=p.trials, tol=p.tol, budgets=p.budgets, steps=p.steps,
                      lo_factor=p.lo_factor, hi_factor=p.hi_factor, n_boot=p.n_boot, agd_precision=p.agd_precision,
                      agd_layout=p.agd_layout) for r in p.rs]


def budget_name(b: Budget) -> str:
    """A budget's label in cell arrays and tables: eta, beta and the iteration cap."""
    return f"eta{b.eta:g}_beta{b.beta:g}_cap{b.max_iter}"


def bracket(cell: NstarCell) -> tuple[int, int]:
    """The starting bracket [lo_factor K r, hi_factor K r] (rounded, at least 1)."""
    Kr = cell.K * cell.r
    return max(1, int(round(cell.lo_factor * Kr))), int(round(cell.hi_factor * Kr))


def run_nstar_cell(cell: NstarCell, seed: int, device: str) -> dict[str, np.ndarray]:
    """One r of the ``zhang-fig4-nstar`` diagram: T = ``trials`` nested draws (:class:`NestedDraws`), and for
    every AGD budget of ``cell.budgets`` a bisection (:func:`bisect_nstar`) from :func:`bracket` with ``steps``
    steps, **on the same draws** (paired across budgets).  Arrays ``<budget>__N`` (evaluated N, in order),
    ``__S`` (success, draws x points), ``__rel_err``, ``__iters``, ``__stopped``, ``__cap_hit``,
    ``__diverged``, ``__seconds``; ``boot_seed`` for the bootstrap of :func:`summarize_nstar` (one seed for all
    budgets: paired resampling)."""
    import time


    draws = NestedDraws(cell.K, cell.d, cell.r, cell.trials, cell.lam, seed, device)
    out = {"boot_seed": np.array(seed % (2 ** 31))}
    lo, hi = bracket(cell)
    for b in cell.budgets:
        agd = AGD(eta=b.eta, beta=b.beta, max_iter=b.max_iter, tol=cell.tol, precision=cell.agd_precision,
                  layout=cell.agd_layout)
        t0 = time.perf_counter()
        res = bisect_nstar(agd_evaluator(draws, agd), lo, hi, cell.steps)
        name = budget_name(b)
        out[f"{name}__N"] = res["N"]
        out[f"{name}__S"] = res["S"]
        for k in ("rel_err", "iters", "stopped", "cap_hit", "diverged"):
            out[f"{name}__{k}"] = res["arrays"][k]
        out[f"{name}__seconds"] = np.array(time.perf_counter() - t0)
    return out


def cell_estimates(cell: NstarCell, arr: dict, budget: Budget) -> dict:
    """:func:`nstar_estimates` of one budget of a finished cell, plus the grid locator of ``zhang-fig4`` (the
    success rate interpolated linearly in N between grid points, :func:`sim.zhang.fits.crossing`) on the
    points of the doubling grid lo_factor K r 2^j that the bisection evaluated, and the failures split into
    cap hits, stops away from W* and divergences."""

    name = budget_name(budget)
    N, S = arr[f"{name}__N"], arr[f"{name}__S"].astype(bool)
    est = nstar_estimates(N, S, cell.n_boot, int(arr["boot_seed"]), LEVEL)
    base = bracket(cell)[0]
    on_grid = np.array([n % base == 0 and (n // base) & (n // base - 1) == 0 for n in N.tolist()])
    gN = N[on_grid]
    o = np.argsort(gN)
    est["grid_N_star"] = crossing(gN[o], S[:, on_grid].mean(0)[o], decreasing=False) if on_grid.sum() >= 2 \
        else math.nan
    fail = ~S
    est["failures"] = int(fail.sum())
    est["fail_cap_hit"] = int((fail & arr[f"{name}__cap_hit"].astype(bool)).sum())
    est["fail_diverged"] = int((fail & arr[f"{name}__diverged"].astype(bool)).sum())
    est["fail_stopped_wrong"] = int((fail & arr[f"{name}__stopped"].astype(bool)).sum())
    est["seconds"] = float(arr[f"{name}__seconds"])
    return est


def summarize_nstar(finished) -> list[dict]:
    """One row per r and budget: N* (logistic midpoint) with its bootstrap interval over draws and its
    profile-likelihood interval, N* / (K r) with interval, the isotonic (bisection) crossing with its
    interval, the doubling-grid locator's N*, the final bracket, and the failures by kind."""
    rows = []
    for cell, arr in finished:
        K, r = cell.K, cell.r
        for b in cell.budgets:
            e = cell_estimates(cell, arr, b)
            name = budget_name(b)
            N = arr[f"{name}__N"]
            lo, hi = e["boot_logistic_ci"]
            clo, chi = e["boot_crossing_ci"]
            rows.append({"cell": cell.key, "K": K, "d": cell.d, "r": r, "Kr": K * r, "budget": name,
                         "eta": b.eta, "beta": b.beta, "max_iter": b.max_iter, "trials": cell.trials,
                         "points": int(len(N)), "N_star": round(e["N_star_logistic"], 2), "ci_low": round(lo, 2),
                         "ci_high": round(hi, 2), "N_star_over_Kr": round(e["N_star_logistic"] / (K * r), 4),
                         "ratio_ci_low": round(lo / (K * r), 4), "ratio_ci_high": round(hi / (K * r), 4),
                         "profile_low": round(e["profile_low"], 2), "profile_high": round(e["profile_high"], 2),
                         "N_star_crossing": round(e["N_star_crossing"], 2), "crossing_ci_low": round(clo, 2),
                         "crossing_ci_high": round(chi, 2), "grid_N_star": round(e["grid_N_star"], 2),
                         "N_evaluated": " ".join(str(int(n)) for n in sorted(N)),
                         "rates": " ".join(f"{x:.2f}" for x in arr[f"{name}__S"].mean(0)[np.argsort(N)]),
                         "failures": e["failures"], "fail_cap_hit": e["fail_cap_hit"],
                         "fail_stopped_wrong": e["fail_stopped_wrong"], "fail_diverged": e["fail_diverged"],
                         "seconds": round(e["seconds"], 1)})
    return rows


def nstar_fits(finished) -> dict:
    """Across r, per budget: :func:`nstar_line` for the logistic N* (primary) and for the isotonic crossing;
    per r, the ratio of N* between each budget and the first one with a paired-bootstrap interval (same
    draws, same resampling).  This is what ``nstar_fits.json`` holds."""
    if not finished:
        raise ValueError("no finished cells to fit")
    Ks = {c.K for c, _ in finished}
    if len(Ks) != 1:
        raise ValueError(f"cells with different K {sorted(Ks)} cannot share one N* line")
    K = Ks.pop()
    cells = sorted(finished, key=lambda ca: ca[0].r)
    budgets = cells[0][0].budgets
    level = LEVEL
    est = {budget_name(b): [cell_estimates(c, a, b) for c, a in cells] for b in budgets}
    rs = [c.r for c, _ in cells]
    q = [(1 - level) / 2, (1 + level) / 2]
    out = {"K": K, "d": cells[0][0].d, "trials": cells[0][0].trials, "level": level, "budgets": {}}
    first = budget_name(budgets[0])
    for b in budgets:
        name = budget_name(b)
        es = est[name]
        entry = {"eta": b.eta, "beta": b.beta, "max_iter": b.max_iter,
                 "logistic": nstar_line(rs, [e["N_star_logistic"] for e in es], [e["boot_logistic_ci"] for e in es],
                                        [e["boot_logistic"] for e in es], K, level),
                 "crossing": nstar_line(rs, [e["N_star_crossing"] for e in es], [e["boot_crossing_ci"] for e in es],
                                        [e["boot_crossing"] for e in es], K, level),
                 "profile_ci": [[e["profile_low"], e["profile_high"]] for e in es],
                 "grid_N_star": [e["grid_N_star"] for e in es],
                 "failures": {"total": [e["failures"] for e in es], "cap_hit": [e["fail_cap_hit"] for e in es],
                              "stopped_wrong": [e["fail_stopped_wrong"] for e in es],
                              "diverged": [e["fail_diverged"] for e in es]},
                 "seconds": [e["seconds"] for e in es]}
        if name != first:
            ratios, cis = [], []
            for e, e0 in zip(es, est[first]):
                ratios.append(e["N_star_logistic"] / e0["N_star_logistic"])
                rb = e["boot_logistic"] / e0["boot_logistic"]
                rb = rb[np.isfinite(rb)]
                cis.append(np.quantile(rb, q).tolist() if rb.size else [math.nan, math.nan])
            entry[f"N_star_ratio_to_{first}"] = {"ratio": ratios, "paired_bootstrap_ci": cis}
        out["budgets"][name] = entry
    return out


def fit(finished, rows) -> dict:
    """The fit step of ``zhang-fig4-nstar``: ``nstar_fits.json`` (:func:`nstar_fits`)."""
    return {"nstar_fits.json": nstar_fits(finished)}
