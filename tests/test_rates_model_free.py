"""Model-free local exponents of :mod:`sim.xudu.rates` on laws whose local exponent is known in closed form.

p_loc(T) = d log L / d log T.  For L = C (T + T0)^p it is p T/(T + T0) (-> p); for a sum of power laws it
tends to the slowest (largest) exponent; for exp(-a T) it is -a T (diverges).  The gradient form
-t ||grad||^2/L is exact along gradient flow; the one-step form is exact for GD up to O(1/T^2).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sim.xudu.rates import (FLOOR, flat_from, gradient_local_exponent, late_local_exponent, local_exponent,
                            median_loss_end, power_law_exponent, rise_until, shifted_power_law, step_local_exponent)


def _log_times(t_end: float, records: int = 200, t_start: float = 1.0) -> np.ndarray:
    return np.logspace(np.log10(t_start), np.log10(t_end), records)


def _log_mean(a, b):
    """Logarithmic mean (b - a)/(log b - log a): the exact chord slope factor of a linear function in log t."""
    return (b - a) / (np.log(b) - np.log(a))


@given(p=st.floats(-5.0, -0.5), t0=st.floats(0.0, 2000.0), logc=st.floats(-5.0, 5.0))
def test_offset_power_law_local_exponent_is_p_t_over_t_plus_t0(p, t0, logc):
    t = _log_times(1e7)
    L = 1e-12 * np.exp(logc) * ((t + t0) / (t[-1] + t0)) ** p  # stays above the float floor
    tm, pl = local_exponent(t, L)
    exact = p * tm / (tm + t0)
    # the chord over one log-spaced interval is second-order accurate at the geometric midpoint
    assert np.allclose(pl[0], exact, rtol=0, atol=2e-4 * abs(p))
    # and it tends to p: at 1e7 the remaining bias is p t0/t <= 2e-4 |p|
    assert abs(pl[0, -1] - p) <= abs(p) * (t0 / tm[-1]) + 2e-4 * abs(p)


def test_offset_power_law_late_exponent_and_drift():
    t = _log_times(1e6, 150)
    p, t0 = -3.0, 700.0
    L = 2.0 * (t + t0) ** p
    p_end, p_before = late_local_exponent(t, L)
    t_end = np.sqrt(t[-2] * t[-1])
    assert p_end[0] == pytest.approx(p * t_end / (t_end + t0), abs=1e-4)
    assert p_before[0] == pytest.approx(p * (t_end / 10) / (t_end / 10 + t0), abs=0.02)  # nearest record
    assert p_before[0] > p_end[0] > p  # approaches -3 from above, monotonically
    # the last-decade plain slope is further from p than the local exponent at the end
    plain, _ = power_law_exponent(t, L)
    assert plain[0] > p_end[0]


def test_offset_fit_and_local_exponent_agree_only_asymptotically():
    """The offset fit recovers p exactly on its own model at any horizon; the model-free value gets there
    only as T0/T -> 0.  Both must be close to p at T = 1e7 with T0 = 100."""
    t = _log_times(1e7, 150)
    L = 0.3 * (t + 100.0) ** -3.0
    fit, _ = shifted_power_law(t, L)
    p_end, _ = late_local_exponent(t, L)
    assert fit[0] == pytest.approx(-3.0, abs=1e-3)
    assert p_end[0] == pytest.approx(-3.0, abs=1e-4 * 3 + 3e-5)


def test_sum_of_two_power_laws_tends_to_the_slowest_exponent():
    t = _log_times(1e8, 300)
    # (i) a faster correction: L = T^-3 + 50 T^-4 -> -3, with p_loc + 3 ~ -50/T
    L = t ** -3.0 + 50.0 * t ** -4.0
    tm, pl = local_exponent(t, L)
    exact = (-3 * tm ** -3.0 - 4 * 50 * tm ** -4.0) / (tm ** -3.0 + 50 * tm ** -4.0)
    assert np.allclose(pl[0], exact, atol=1e-3)
    assert pl[0, -1] == pytest.approx(-3.0, abs=1e-5)
    # (ii) a slower tail: L = T^-3 + 1e-3 T^-2 -> -2 late (the slower decay wins), -3 early
    L2 = t ** -3.0 + 1e-3 * t ** -2.0
    tm, pl2 = local_exponent(t, L2)
    assert pl2[0, 0] == pytest.approx(-3.0, abs=0.01)
    assert pl2[0, -1] == pytest.approx(-2.0, abs=1e-4)
    assert np.all(np.diff(pl2[0]) > 0)  # monotone crossover from -3 to -2


def test_noise_free_exponential_has_a_diverging_local_exponent():
    a = 0.1
    t = _log_times(500.0, 120)
    L = np.exp(-a * t)
    tm, pl = local_exponent(t, L)
    ok = np.isfinite(pl[0])
    assert ok.all()  # exp(-50) = 2e-22 is still above the float floor
    assert np.allclose(pl[0], -a * _log_mean(t[:-1], t[1:]), rtol=1e-9)
    assert np.all(np.diff(pl[0]) < 0)  # no plateau: it keeps growing in magnitude
    assert pl[0, -1] < -40
    p_end, p_before = late_local_exponent(t, L)
    assert p_end[0] - p_before[0] < -30  # a drift of ~ -a T (1 - 1/10) per decade: never settles


def test_below_the_float_floor_is_nan_and_the_end_is_the_last_usable_record():
    t = _log_times(1e3, 50)
    L = np.exp(-0.2 * t)  # reaches the floor (1e-26) at t ~ 300
    tm, pl = local_exponent(t, L)
    below = L <= FLOOR
    assert np.isnan(pl[0][below[1:] | below[:-1]]).all()
    p_end, _ = late_local_exponent(t, L)
    last = np.nonzero(~below)[0][-1]
    assert p_end[0] == pytest.approx(-0.2 * _log_mean(t[last - 1], t[last]), rel=1e-9)


def test_trials_are_independent_rows():
    t = _log_times(1e5, 100)
    L = np.stack([(t + 10.0) ** -3.0, (t + 10.0) ** -1.0, np.exp(-0.0005 * t)])
    tm, pl = local_exponent(t, L)
    assert pl.shape == (3, 99)
    assert pl[0, -1] == pytest.approx(-3.0, abs=1e-3)
    assert pl[1, -1] == pytest.approx(-1.0, abs=1e-3)
    assert pl[2, -1] < -40


def test_gradient_form_is_exact_along_the_cubic_flow():
    """L(x) = |x|^3/3, x' = -x^2: x(t) = x0/(1 + x0 t), L = C (t + 1/x0)^-3 exactly, so
    -t |L'(x)|^2 / L = -3 t/(t + 1/x0) at every t (no discretisation anywhere)."""
    from scipy.integrate import solve_ivp

    x0 = 0.02
    t = _log_times(1e6, 40)
    sol = solve_ivp(lambda _, x: -x ** 2, (0, t[-1]), [x0], t_eval=t, rtol=1e-12, atol=1e-20, method="LSODA")
    x = sol.y[0]
    p = gradient_local_exponent(t, x ** 3 / 3, (x ** 2) ** 2)
    assert np.allclose(p, -3 * t / (t + 1 / x0), atol=1e-6)
    assert p[-1] == pytest.approx(-3.0, abs=3 * (1 / x0) / t[-1] + 1e-6)


def test_gradient_form_on_a_linear_flow_diverges():
    """L = x^2/2, x' = -x: L = L0 e^{-2t} and -t x^2/(x^2/2) = -2 t: no plateau."""
    t = _log_times(20.0, 30)
    x = 0.7 * np.exp(-t)
    p = gradient_local_exponent(t, x ** 2 / 2, x ** 2)
    assert np.allclose(p, -2 * t, rtol=1e-12)


def test_gd_one_step_and_first_order_gradient_forms_on_the_cubic_loss():
    """GD x <- x - lr x^2 on L = x^3/3: 1/x_k = 1/x0 + lr k + lr log k + O(1), so
    p_loc = -3 + 3 (1/(lr x0) + log k)/k + ...: it approaches -3 from above; the exact one-step form and
    the first-order gradient form agree late (the curvature L'' = 2 x -> 0)."""
    lr, x, steps = 0.5, 0.05, 200_000
    for _ in range(steps):
        x = x - lr * x * x
    L, L1 = x ** 3 / 3, (x - lr * x * x) ** 3 / 3
    p_step = float(step_local_exponent(steps, L, L1))
    p_grad = float(gradient_local_exponent(steps, L, x ** 4, lr=lr))
    bias = 3 * (1 / (lr * 0.05) + np.log(steps)) / steps  # 7.8e-4
    assert -3.0 < p_step < -3.0 + 1.2 * bias
    assert p_step == pytest.approx(-3.0 + bias, abs=0.1 * bias)
    assert p_grad == pytest.approx(p_step, abs=1e-4)


def test_step_form_on_an_exponential_sequence():
    """GD on L = x^2/2 with lr: L_k = L0 (1 - lr)^{2k}; (k + 1/2) log(L_{k+1}/L_k) = 2 (k + 1/2) log(1 - lr)."""
    lr = 0.1
    k = np.array([10.0, 100.0, 150.0])
    L = 0.5 * (1 - lr) ** (2 * k)
    L1 = 0.5 * (1 - lr) ** (2 * (k + 1))
    assert np.allclose(step_local_exponent(k, L, L1), 2 * (k + 0.5) * np.log(1 - lr), rtol=1e-10)


def test_shape_mismatch_is_an_error():
    with pytest.raises(ValueError, match="records"):
        local_exponent(np.arange(1.0, 6.0), np.ones((2, 4)))


def test_shifted_power_law_rejects_malformed_times_and_leaves_undecidable_trials_unfitted():
    import pytest

    from sim.xudu.rates import shifted_power_law

    t = np.arange(1.0, 2001.0)
    good = 3.0 * (t + 20.0) ** -3.0
    for bad_t, word in [(np.array([]), "non-empty"), (t[::-1], "increasing"), (np.where(t == 5, np.nan, t), "finite")]:
        with pytest.raises(ValueError, match=word):
            shifted_power_law(bad_t, good[: bad_t.size] if bad_t.size else good[:0])
    with pytest.raises(ValueError, match="shape"):
        shifted_power_law(t, good[:-1])
    nan_run = good.copy()
    nan_run[-3] = np.nan
    rising = good[::-1].copy()
    p, _ = shifted_power_law(t, np.stack([good, nan_run, rising]))
    assert abs(p[0] + 3.0) < 1e-3 and np.isnan(p[1]) and np.isnan(p[2])


def test_flat_from_finds_where_a_curve_levels_off_and_rise_until_how_far_it_rose():
    t = np.logspace(0, 4, 41)
    y = np.minimum(t, 1e3)  # rises three decades, flat from 1e3
    t_flat = flat_from(t, y)
    assert np.isclose(t_flat, 1e3, rtol=0.3)
    assert rise_until(t, y, t_flat) == pytest.approx(np.log10(y[t <= t_flat].max() / y.min()))
    assert np.isnan(flat_from(t, t))  # still rising at the end
    z = np.where(t < 3, 0.0, y)  # zero before the students separate: left out, not an infinite rise
    assert rise_until(t, z, t_flat) == pytest.approx(np.log10(y[t <= t_flat].max() / t[t >= 3][0]))


def test_median_loss_end_floor_or_last_decade_slope():
    t = np.arange(0, 10001, dtype=float)
    floor_at, slope = median_loss_end(t, np.exp(-t))
    assert floor_at == np.ceil(-np.log(FLOOR)) and np.isnan(slope)  # first integer T with e^-T <= FLOOR
    win = t >= 1000.0
    L = (t + 1.0) ** -3.0
    floor_at, slope = median_loss_end(t, L)
    assert np.isnan(floor_at)
    assert slope == pytest.approx(np.polyfit(np.log(t[win]), np.log(L[win]), 1)[0], rel=1e-12)
    assert -3.0 < slope < -2.99  # the offset biases the plain slope towards 0
    assert median_loss_end(t, np.full_like(t, 1e-5))[1] == pytest.approx(0.0, abs=1e-12)
    assert all(np.isnan(median_loss_end(t[:3], L[:3])))  # too few records in the last decade
