"""Numeric cross-checks of the closed forms and theorems against independent computations.

* :func:`closed_form_vs_scipy`: the numpy evaluators against scipy's DOP853 integration of the ODE;
* :func:`closed_form_vs_mpmath`: the same evaluators against 60-digit mpmath evaluation of the *derived*
  solution (u = w^-2 form) on extreme inputs, where an ODE solver cannot go;
* :func:`theorem21_vs_flow`: Theorem 2.1's limit and the closed form against scipy integration of the
  d = 1 flow of (a, w) with the active set recomputed at every evaluation;
* :func:`balancedness_along_flow`: a^2 - ||w||^2 along scipy solutions of eq. (7) in d = 1..6.

Every check draws its inputs from a seeded generator, so a run is reproducible.
"""

from __future__ import annotations

import mpmath
import numpy as np
from scipy.integrate import solve_ivp

from theory.lrr.closed_forms import balanced_d1_solution, w_closed_form
from theory.lrr.gradient_flow import flow_rhs_packed
from theory.lrr.single_neuron_limits import D1Data, d1_limit


def scipy_reduced_solution(t_end: float, w0: float, C1: float, C2t: float) -> float:
    sol = solve_ivp(lambda _t, w: -C1 * w ** 3 + C2t * w, (0.0, t_end), [w0], method="DOP853",
                    rtol=1e-13, atol=1e-30)
    return float(sol.y[0, -1])


def closed_form_vs_scipy(runs: int = 60, seed: int = 0) -> tuple[float, int]:
    rng = np.random.default_rng(seed)
    worst = 0.0
    for _ in range(runs):
        t = rng.uniform(0.0, 10.0)
        w0 = rng.choice([-1, 1]) * rng.uniform(0.05, 3.0)
        C1 = rng.uniform(0.01, 10.0)
        C2t = rng.uniform(-5.0, 5.0) if rng.random() > 0.1 else 0.0
        if abs(C2t) * t > 5:  # keep the solver's relative accuracy meaningful
            t = 5 / abs(C2t)
        ref = scipy_reduced_solution(t, w0, C1, C2t)
        got = float(w_closed_form(t, w0, C1, C2t))
        worst = max(worst, abs(got - ref) / abs(ref))
    return worst, runs


def mpmath_derived(t: float, w0: float, C1: float, C2t: float, dps: int = 60) -> mpmath.mpf:
    """w(t) from u = C1/C2~ + (w0^-2 - C1/C2~) e^{-2 C2~ t} (u = 1/w0^2 + 2 C1 t when C2~ = 0)."""
    with mpmath.workdps(dps):
        t, w0, C1, C2t = (mpmath.mpf(v) for v in (t, w0, C1, C2t))
        if C2t == 0:
            u = 1 / w0 ** 2 + 2 * C1 * t
        else:
            u = C1 / C2t + (1 / w0 ** 2 - C1 / C2t) * mpmath.exp(-2 * C2t * t)
        return mpmath.sign(w0) / mpmath.sqrt(u)


def closed_form_vs_mpmath(runs: int = 300, seed: int = 1) -> tuple[float, int, bool]:
    rng = np.random.default_rng(seed)
    worst, all_finite = 0.0, True
    for k in range(runs):
        t = 0.0 if k % 50 == 0 else 10 ** rng.uniform(-3, 6)
        C1 = 10 ** rng.uniform(-8, 3)
        C2t = 0.0 if k % 25 == 1 else rng.choice([-1, 1]) * 10 ** rng.uniform(-8, 3)
        w0 = rng.choice([-1, 1]) * 10 ** rng.uniform(-4, 2)
        got = float(w_closed_form(t, w0, C1, C2t))
        all_finite &= bool(np.isfinite(got))
        ref = mpmath_derived(t, w0, C1, C2t)
        if abs(ref) < mpmath.mpf("1e-300"):
            err = 0.0 if abs(got) < 1e-290 else np.inf
        else:
            err = float(abs((got - ref) / ref))
        worst = max(worst, err)
    return worst, runs, all_finite


def integrate_theta(theta0: np.ndarray, X: np.ndarray, y: np.ndarray, t_end: float, rtol=1e-11, atol=1e-300):
    """scipy solution of eq. (7) with the active set recomputed at every evaluation (switches included).

    The absolute tolerance is ~0 on purpose: with atol = 1e-13 the solver lets a state that decays to the
    origin (e.g. a(0) < 0 < w(0)) step *through* it once |theta| < atol and come out in the other sign
    quadrant, a discretization artifact that the exact flow cannot show (Lemma 2.2).  Pass a finite atol
    where the state stays away from 0 and the active set switches often: near a switching surface a
    relative-only tolerance makes the steps very small.
    """
    return solve_ivp(flow_rhs_packed, (0.0, t_end), theta0, args=(X, y), method="DOP853", rtol=rtol, atol=atol)


def theorem21_vs_flow(runs: int = 16, seed: int = 2, n: int = 400, t_end: float = 20.0) -> tuple[float, int, int]:
    """Theorem 2.1 / closed form vs scipy.  t_end = 20 keeps the (-,+) runs, which ride the stable
    manifold of a saddle (see :func:`saddle_exit`), within the horizon where rounding has not grown."""
    rng = np.random.default_rng(seed)
    worst, agree = 0.0, 0
    for k in range(runs):
        x = rng.normal(size=n)
        y = np.maximum(x, 0.0) + 0.1 * rng.normal(size=n)
        sa, sw = [(1, 1), (1, -1), (-1, 1), (-1, -1)][k % 4]
        mag = rng.uniform(0.1, 1.0)
        a0, w0 = sa * mag, sw * mag
        sol = integrate_theta(np.array([a0, w0]), x[:, None], y, t_end)
        a_T, w_T = sol.y[0, -1], sol.y[1, -1]
        data = D1Data.from_samples(x, y)
        side = data.pos if w0 > 0 else data.neg
        a_cf, w_cf = balanced_d1_solution(t_end, a0, w0, side.C1, side.C2)
        scale = max(abs(float(w_cf)), 1e-300)
        worst = max(worst, abs(a_T - float(a_cf)) / scale, abs(w_T - float(w_cf)) / scale)
        lim = d1_limit(a0, w0, data)
        reached = bool(a_T > 0.5 and w_T > 0.5)
        agree += lim.success == reached
    return worst, agree, runs


def saddle_exit(delta: float, seed: int = 4, n: int = 400, t_end: float = 80.0) -> tuple[float, float]:
    """Start in quadrant (a0 < 0 < w0) with a0^2 = w0^2 - delta: (a, w) at t_end.

    Near 0 the d = 1 flow is a' ~ C2 w, w' ~ C2 a: a saddle whose stable manifold is the balanced line
    a = -w.  a^2 - w^2 = -delta is conserved, so for delta > 0 |w| >= sqrt(delta) stays away from 0,
    a crosses 0 and the flow ends in the success quadrant; for delta < 0 a stays negative and it fails.
    """
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    y = np.maximum(x, 0.0) + 0.1 * rng.normal(size=n)
    w0 = 0.5
    a0 = -np.sqrt(w0 ** 2 - delta)
    sol = integrate_theta(np.array([a0, w0]), x[:, None], y, t_end)
    return float(sol.y[0, -1]), float(sol.y[1, -1])


def balancedness_along_flow(runs: int = 12, seed: int = 3, n: int = 60, t_end: float = 5.0) -> float:
    rng = np.random.default_rng(seed)
    worst = 0.0
    for k in range(runs):
        d = 1 + k % 6
        X = rng.normal(scale=1 / np.sqrt(d), size=(n, d))
        y = np.maximum(X[:, 0], 0.0) + 0.1 * rng.normal(size=n)
        w0 = rng.normal(size=d)
        a0 = rng.choice([-1, 1]) * np.linalg.norm(w0)
        sol = integrate_theta(np.concatenate([[a0], w0]), X, y, t_end, rtol=1e-10, atol=1e-12)
        a_t, w_t = sol.y[0], sol.y[1:]
        drift = np.max(np.abs(a_t ** 2 - np.sum(w_t ** 2, axis=0))) / (a0 ** 2 + w0 @ w0)
        worst = max(worst, float(drift))
    return worst
