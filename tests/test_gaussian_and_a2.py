import numpy as np
from hypothesis import given, strategies as st

from theory.lrr import appendix_a2 as a2
from theory.core import gaussian


@given(seed=st.integers(0, 10_000), d=st.integers(2, 6))
def test_arccos_kernel_and_gradient_match_monte_carlo(seed, d):
    rng = np.random.default_rng(seed)
    u, w = rng.normal(size=d), rng.normal(size=d)
    x = rng.normal(size=(200_000, d))
    fu, fw = np.maximum(x @ u, 0), np.maximum(x @ w, 0)
    samples = fu * fw
    mc, se = samples.mean(), samples.std() / np.sqrt(len(samples))
    assert abs(gaussian.arccos_kernel(u, w) - mc) < 5 * se
    g_samples = (fu * (x @ w > 0))[:, None] * x
    g_mc, g_se = g_samples.mean(0), g_samples.std(0) / np.sqrt(len(x))
    assert np.all(np.abs(gaussian.arccos_kernel_grad_w(u, w) - g_mc) < 5 * g_se + 1e-12)


def test_kernel_gradient_is_the_derivative_of_the_kernel():
    assert gaussian.kernel_gradient_matches() < 1e-7


def test_eq13_counterexample_is_real_in_finite_samples():
    """At theta = pi/2, ||w||^2 = 1/(2 pi), large n: a' <w, z - v> > 0 with the empirical constants."""
    rng = np.random.default_rng(0)
    n, d = 400_000, 2
    X = rng.normal(size=(n, d))
    v = np.array([1.0, 0.0])
    y = np.maximum(X @ v, 0)
    r = 1 / np.sqrt(2 * np.pi)
    w = r * np.array([0.0, 1.0])
    a = r
    act = X @ w > 0
    C1 = X[act].T @ X[act] / n
    C2 = X[act].T @ y[act] / n
    a_dot = -a * w @ C1 @ w + C2 @ w
    assert a_dot * (w @ (a * w - v)) > 0


def test_population_rate_of_eq15_is_negative_away_from_the_target():
    assert a2.population_z_rate(0.5, 2.0) < 0
    assert a2.population_z_rate(1.2, 0.3) < 0


def test_eq13_window_is_open_at_pi_contains_small_starts_with_w1_negative_and_scales_with_the_input_variance():
    import sympy as sp

    res = a2.eq13_check()
    assert res["window non-empty for theta in (0, pi)"] and res["window empty at theta = 0 and pi"]
    assert res["holds every small start with w_1 < 0"]
    d = sp.Symbol("d", positive=True, integer=True)
    assert sp.simplify(res["counterexample value, x ~ N(0, I/d)"] - 1 / (16 * sp.pi ** 3 * d)) == 0
    # numerically: a start with w_1 < 0 and a small norm has a positive product (eq. 13 violated)
    product, _ = a2.population_eq13_product()
    assert float(product.subs({a2.th: 2.5, a2.r: 0.05})) > 0


def test_eq15_rate_vanishes_like_the_squared_norm_near_zero_from_every_direction():
    rates = a2.eq15_rate_near_zero(radii=(1e-1, 1e-2))
    assert 1.5e-2 < rates[0] < 2.5e-2 and 1.5e-4 < rates[1] < 2.5e-4
