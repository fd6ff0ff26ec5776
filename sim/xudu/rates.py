"""Convergence rates and phases read off recorded trajectories (:class:`sim.xudu.overparam.Trajectory`).

* :func:`power_law_exponent`: slope of log L against log T over the late window (the last decade of the
  run by default), per trial, by least squares with its standard error.  The paper's n >= 2 rate is
  L ~ T^-3, i.e. a slope of -3.
* :func:`linear_rate`: slope of log L against T (per step / per unit time) over the window where the loss
  lies between ``hi`` and a floor above float64 round-off; the paper's n = 1 rate is linear, and the
  theory here (``theory.xudu.claims`` xudu.n1.linear) predicts 2 log(1 - lr/2) per GD step locally.
* :func:`phases`: the three phases.  T1 = first record with max_i theta_i <= ``theta_end`` (Phase 1:
  the students align while small); T2 = first record after T1 where the angular part of the loss is at
  least the linear part ||sum w - v||^2/4 (Phase 2 drives the residual ||v|| - H to 0 exponentially; Phase 3
  is the slow angular convergence).  These operational thresholds are ours; the paper's phases are
  defined by its proof constants.
* :func:`sim.core.intervals.median_ci`: median over trials with a percentile-bootstrap 95% interval (fixed seed).

Model-free exponents (no fitted law; next to the fits above, which they do not change):

* :func:`local_exponent`: p_loc(T) = d log L / d log T from the recorded loss trace by finite differences
  between consecutive records (at their geometric midpoints), per trial.  For L = C (T + T0)^p it is
  p T/(T + T0) -> p; for a sum of power laws it tends to the slowest exponent; for exp(-a T) it is -a T,
  i.e. it diverges: a linear rate shows up as an exponent that keeps growing, a power law as a plateau.
* :func:`gradient_local_exponent`: the same quantity with no differencing at all, from the gradient at one
  time: along gradient flow dL/dt = -||grad L||^2, so p_loc(t) = -t ||grad L||^2 / L exactly.  For GD
  with step lr, T steps are the time t = lr T and the identity holds to first order in lr.
* :func:`step_local_exponent`: for GD, the exact discrete version from one more step:
  p_loc(T + 1/2) = (T + 1/2) log(L(T + 1)/L(T)).
* :func:`late_local_exponent`: per trial, p_loc at the end of the run (the last pair of records) and
  one decade earlier, so that the drift still left at the horizon is reported with the value.

Where a curve levels off or ends (the numbers the figures mark): :func:`flat_from` (where Z(T) T becomes
flat) with :func:`rise_until` (how many decades it rose before), and :func:`median_loss_end` (where a loss
curve reaches the float64 floor, or else its last-decade slope).

What the intervals mean.  :func:`shifted_power_law` + :func:`sim.core.intervals.median_ci` give the median over seeds of
the fitted p with a bootstrap-over-seeds interval: it measures the spread between seeds *given* that
L = C (T + T0)^p holds over the window; it says nothing about whether that law (with a single offset)
is right, and it is narrow (e.g. [-3.0000, -3.0000]) whenever the seeds agree.  The model-free p_loc at
the horizon, with the same bootstrap over seeds, assumes no law: it is the measured logarithmic slope at
T_end (for a power law with corrections it sits between the finite-T value and the asymptote), so it is
an interval for d log L/d log T *at that T*, not for the T -> infinity exponent; the drift from T_end/10
to T_end says how far it still moves per decade.  Agreement of the two at a long horizon is the evidence
that the asymptotic exponent is the fitted one.
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

    ``t`` must be a non-empty, finite, strictly increasing 1-D array and ``loss`` (trials, len(t)) or
    (len(t),); otherwise a ValueError names the problem.  A trial gets NaN (no fit) when its loss is not
    finite inside the window (a diverged run), when it does not decay over the window (no power-law decay
    to fit), or when fewer than 5 records lie above the float64 floor.
    """
    from scipy.optimize import curve_fit

    t = np.asarray(t, dtype=float)
    if t.ndim != 1 or t.size == 0:
        raise ValueError(f"t must be a non-empty 1-D array of times (got shape {t.shape})")
    if not np.all(np.isfinite(t)) or np.any(np.diff(t) <= 0):
        raise ValueError("t must be finite and strictly increasing")
    loss = np.atleast_2d(np.asarray(loss, dtype=float))
    if loss.ndim != 2 or loss.shape[1] != t.size:
        raise ValueError(f"loss must have shape (trials, {t.size}) to match t (got {loss.shape})")
    if not 0 <= start_fraction < 1:
        raise ValueError(f"start_fraction must be in [0, 1) (got {start_fraction!r})")
    ps, ses = np.full(loss.shape[0], np.nan), np.full(loss.shape[0], np.nan)
    win = t >= start_fraction * t[-1]
    for k, L in enumerate(loss):
        if not np.all(np.isfinite(L[win])):
            continue  # a diverged run: no exponent, rather than a fit on what is left
        ok = win & (L > FLOOR) & (t > 0)
        if ok.sum() < 5 or not L[ok][-1] < L[ok][0]:
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


# ---- model-free local exponents ---------------------------------------------------------------------------

def local_exponent(t: np.ndarray, loss: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(t_mid, p_loc): the local log-log slope d log L / d log t between consecutive records, per trial.

    t (records,), loss (trials, records) or (records,).  Returns t_mid = sqrt(t_k t_{k+1}) (records - 1,)
    and p_loc (trials, records - 1) = (log L_{k+1} - log L_k)/(log t_{k+1} - log t_k); nan where either
    loss is at or below the float64 floor ``FLOOR`` or t <= 0.  No model is fitted: on log-spaced records
    the centred difference is second-order accurate in the log-spacing.
    """
    t = np.asarray(t, dtype=float)
    loss = np.atleast_2d(np.asarray(loss, dtype=float))
    if loss.shape[-1] != t.size:
        raise ValueError(f"loss has {loss.shape[-1]} records, t has {t.size}")
    ok_t = (t[:-1] > 0) & (t[1:] > t[:-1])
    with np.errstate(divide="ignore", invalid="ignore"):
        lt = np.log(np.where(t > 0, t, np.nan))
        lL = np.log(np.where(loss > FLOOR, loss, np.nan))
        p = (lL[:, 1:] - lL[:, :-1]) / (lt[1:] - lt[:-1])
        t_mid = np.sqrt(np.where(ok_t, t[:-1] * t[1:], np.nan))
    p[:, ~ok_t] = np.nan
    return t_mid, p


def gradient_local_exponent(t, loss, grad_sq, lr: float = 1.0) -> np.ndarray:
    """p_loc = -(lr t) ||grad L||^2 / L: exact for gradient flow (lr = 1, t = time), since dL/dt = -||grad||^2;
    for GD after t steps of size lr it holds to first order in lr (use :func:`step_local_exponent` for the
    exact discrete value).  Broadcasts over trials; nan where L <= FLOOR.  Needs the point to be on the
    trajectory to high accuracy: an error e in a stiff direction (curvature h) adds ~ t h^2 |e|^2/L, which
    the factor t amplifies at long horizons (numerical ODE solutions late in a slow phase)."""
    t, loss, grad_sq = (np.asarray(a, dtype=float) for a in (t, loss, grad_sq))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(loss > FLOOR, -lr * t * grad_sq / loss, np.nan)


def step_local_exponent(t, loss_t, loss_next) -> np.ndarray:
    """GD: p_loc at T + 1/2 from L(T) and L(T + 1) (one more step): (T + 1/2) log(L(T + 1)/L(T)).
    Model-free and exact up to the O(1/T^2) of a centred difference; nan below the float floor."""
    t, a, b = (np.asarray(x, dtype=float) for x in (t, loss_t, loss_next))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where((a > FLOOR) & (b > FLOOR), (t + 0.5) * np.log(b / a), np.nan)


def late_local_exponent(t: np.ndarray, loss: np.ndarray, decades_back: float = 1.0,
                        span: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Per trial: (p_end, p_before) = the local exponent at the last usable record interval(s) and at
    ``decades_back`` decades earlier (nearest record midpoint).  ``span`` > 1 averages the local slope over
    the last ``span`` intervals (= the chord slope over them), for traces with integrator noise.  The drift
    p_end - p_before is the change per ``decades_back`` decades still present at the horizon: near 0 for a
    converged power law, ~ -log(10) a T for exp(-a T)."""
    t = np.asarray(t, dtype=float)
    loss = np.atleast_2d(np.asarray(loss, dtype=float))
    p_end, p_before = np.full(loss.shape[0], np.nan), np.full(loss.shape[0], np.nan)
    for k, L in enumerate(loss):
        ok = np.nonzero((t > 0) & (L > FLOOR))[0]
        if ok.size < span + 1:
            continue
        i1, i0 = ok[-1], ok[-1 - span]
        p_end[k] = (np.log(L[i1]) - np.log(L[i0])) / (np.log(t[i1]) - np.log(t[i0]))
        t_end = np.sqrt(t[i0] * t[i1])
        tm, pl = local_exponent(t, L)
        good = np.isfinite(pl[0]) & np.isfinite(tm)
        if good.any():
            target = t_end / 10 ** decades_back
            j = np.nonzero(good)[0][np.argmin(np.abs(np.log(tm[good]) - np.log(target)))]
            if abs(np.log10(tm[j]) - np.log10(target)) < 0.25:
                p_before[k] = pl[0, j]
    return p_end, p_before



# ---- where a curve levels off or ends --------------------------------------------------------------------

def flat_from(t: np.ndarray, y: np.ndarray, tol: float = 0.1) -> float:
    """First t after which y(t) > 0 stays within a factor 10**tol of its last value on log axes (nan if never
    within the last half decade): where a curve such as Z(T) T levels off."""
    t, y = np.asarray(t, dtype=float), np.asarray(y, dtype=float)
    ok = (t > 0) & (y > 0) & np.isfinite(y)
    t, y = t[ok], y[ok]
    if t.size < 3:
        return float("nan")
    off = np.abs(np.log10(y / y[-1])) > tol
    if not off.any():
        return float(t[0])
    i = int(np.nonzero(off)[0][-1]) + 1
    return float(t[i]) if np.log10(t[-1] / t[i]) >= 0.5 else float("nan")  # flat for at least half a decade


def rise_until(t: np.ndarray, y: np.ndarray, t_flat: float) -> float:
    """Decades that y > 0 rises from its smallest value (t > 0) to its largest value up to ``t_flat`` (values
    y <= 0, e.g. Z = 0 while the students are not yet apart, are left out; nan if none is left)."""
    t, y = np.asarray(t, dtype=float), np.asarray(y, dtype=float)
    ok = (t > 0) & (y > 0) & np.isfinite(y)
    early = ok & (t <= t_flat)
    if not early.any():
        return float("nan")
    return float(np.log10(y[early].max() / y[ok].min()))


def median_loss_end(t: np.ndarray, L: np.ndarray, decades: float = 1.0) -> tuple[float, float]:
    """How a (median) loss curve ends: (T at which it first reaches the float64 floor ``FLOOR``, nan if it
    never does; else nan and its log-log slope over the last ``decades`` of T: near 0 levelled off, -3 the
    paper's rate; nan with fewer than 3 records there)."""
    t, L = np.asarray(t, dtype=float), np.asarray(L, dtype=float)
    ok = t > 0
    t, L = t[ok], L[ok]
    low = L <= FLOOR
    if low.any():
        return float(t[int(np.argmax(low))]), float("nan")
    win = t >= t[-1] / 10 ** decades
    if win.sum() < 3:
        return float("nan"), float("nan")
    return float("nan"), float(np.polyfit(np.log(t[win]), np.log(L[win]), 1)[0])
