import numpy as np
import pytest
from hypothesis import given, strategies as st

from theory.lrr import single_neuron_limits as snl
from theory.lrr.numeric_checks import integrate_theta


def test_only_the_positive_quadrant_can_succeed():
    assert snl.quadrant_case_analysis() == {(1, 1): True, (1, -1): False, (-1, 1): False, (-1, -1): False}
    assert snl.failure_probability_lower_bound() == pytest.approx(0.75)


@given(seed=st.integers(0, 10_000), quadrant=st.sampled_from(snl.QUADRANTS), mag=st.floats(0.1, 1.0))
def test_d1_limit_agrees_with_the_integrated_flow(seed, quadrant, mag):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=300)
    y = np.maximum(x, 0) + 0.1 * rng.normal(size=300)
    a0, w0 = quadrant[0] * mag, quadrant[1] * mag
    lim = snl.d1_limit(a0, w0, snl.D1Data.from_samples(x, y))
    sol = integrate_theta(np.array([a0, w0]), x[:, None], y, 25.0)
    a_T, w_T = sol.y[:, -1]
    assert lim.success == bool(a_T > 0.5 and w_T > 0.5)
    if lim.success:
        assert a_T == pytest.approx(lim.a_inf, rel=1e-4) and w_T == pytest.approx(lim.w_inf, rel=1e-4)


def test_monte_carlo_failure_rate_under_sign_symmetric_init():
    """Random balanced inits with fair independent signs: success rate is about 1/4, never above."""
    rng = np.random.default_rng(5)
    successes, runs = 0, 400
    for _ in range(runs):
        x = rng.normal(size=200)
        y = np.maximum(x, 0) + 0.1 * rng.normal(size=200)
        mag = abs(rng.normal())
        lim = snl.d1_limit(rng.choice([-1, 1]) * mag, rng.choice([-1, 1]) * mag, snl.D1Data.from_samples(x, y))
        successes += lim.success
    rate = successes / runs
    half_width = 1.96 * np.sqrt(0.25 * 0.75 / runs)
    assert abs(rate - 0.25) < 2 * half_width


def test_lemma22_steps_hold():
    assert all(snl.lemma22_steps().values())


@pytest.mark.parametrize("call, name", [
    (lambda: snl.SideConstants(-1.0, 0.1), "C1"),
    (lambda: snl.SideConstants(1.0, float("nan")), "C2"),
    (lambda: snl.D1Data.population(0), "d"),
    (lambda: snl.d1_limit(0.5, 0.6, snl.D1Data.population()), "unbalanced"),
])
def test_bad_input(call, name):
    with pytest.raises(ValueError, match=name):
        call()
