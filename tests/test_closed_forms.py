import mpmath
import numpy as np
import pytest
import sympy as sp
from hypothesis import given, strategies as st

from theory.lrr import closed_forms as cf
from theory.lrr.numeric_checks import mpmath_derived, scipy_reduced_solution

pos = st.floats(0.05, 5.0)
sign = st.sampled_from([-1.0, 1.0])


@given(t=st.floats(0.0, 6.0), w0=pos, s=sign, C1=st.floats(0.01, 5.0), C2t=st.floats(-3.0, 3.0))
def test_numeric_closed_form_satisfies_the_ode(t, w0, s, C1, C2t):
    """Central difference of the evaluator equals -C1 w^3 + C2~ w at random points and times."""
    h = 1e-5
    t = max(t, 2 * h)  # central differences only
    w = cf.w_closed_form(t + h, s * w0, C1, C2t)
    wm = cf.w_closed_form(t - h, s * w0, C1, C2t)
    w_t = cf.w_closed_form(t, s * w0, C1, C2t)
    deriv = (w - wm) / (2 * h)
    rhs = -C1 * w_t ** 3 + C2t * w_t
    assert deriv == pytest.approx(rhs, rel=1e-4, abs=1e-8 * (1 + abs(w_t)))
    assert cf.w_closed_form(0.0, s * w0, C1, C2t) == pytest.approx(s * w0, rel=1e-15)


@given(t=st.floats(0.01, 4.0), w0=pos, s=sign, C1=st.floats(0.05, 5.0), C2t=st.floats(-2.0, 2.0))
def test_evaluator_matches_scipy_to_1e8(t, w0, s, C1, C2t):
    ref = scipy_reduced_solution(t, s * w0, C1, C2t)
    assert float(cf.w_closed_form(t, s * w0, C1, C2t)) == pytest.approx(ref, rel=1e-8)


@given(lt=st.floats(-3, 6), lw=st.floats(-4, 2), s=sign, lc1=st.floats(-8, 3), lc2=st.floats(-8, 3), s2=sign)
def test_evaluator_finite_and_accurate_on_extremes(lt, lw, s, lc1, lc2, s2):
    t, w0, C1, C2t = 10 ** lt, s * 10 ** lw, 10 ** lc1, s2 * 10 ** lc2
    got = float(cf.w_closed_form(t, w0, C1, C2t))
    assert np.isfinite(got)
    ref = mpmath_derived(t, w0, C1, C2t)
    if abs(ref) > mpmath.mpf("1e-300"):
        assert abs((got - ref) / ref) < 1e-10
    else:
        assert abs(got) < 1e-290


def test_derived_solutions_solve_the_ode_and_printed_eq6_is_right():
    for case, C2t in cf.CASES.items():
        assert cf.solves_ode(cf.derived_solution(case), C2t)
        assert cf.meets_initial_value(cf.derived_solution(case))
    assert cf.solves_ode(cf.printed_eq6(), 0) and cf.meets_initial_value(cf.printed_eq6())


def test_checker_rejects_the_printed_eq5_and_a_perturbed_solution():
    """Negative controls: the residual test is not vacuous."""
    assert not cf.meets_initial_value(cf.printed_eq5())
    wrong = cf.derived_solution("pos").subs(cf.T, 1.01 * cf.T)
    assert not cf.solves_ode(wrong, cf.c)


def test_printed_eq4_is_the_solution_at_doubled_time_below_the_fixed_point():
    below = cf.in_region(cf.printed_eq4(), "below")
    true_2t = cf.in_region(cf.derived_solution("pos").subs(cf.T, 2 * cf.T), "below")
    assert sp.simplify(below - true_2t) == 0


def test_balanced_d1_solution_sets_a_from_w():
    a, w = cf.balanced_d1_solution(np.array([0.0, 1.0, 5.0]), -0.7, 0.7, 0.5, 0.5)
    assert np.all(a <= 0) and np.allclose(np.abs(a), np.abs(w))
    assert w[0] == pytest.approx(0.7)


@pytest.mark.parametrize("kwargs, name", [
    (dict(t=1.0, w0=0.5, C1_value=-1.0, C2_tilde=0.2), "C1"),
    (dict(t=1.0, w0=float("nan"), C1_value=1.0, C2_tilde=0.2), "w0"),
    (dict(t=-1.0, w0=0.5, C1_value=1.0, C2_tilde=0.2), "t"),
    (dict(t=1.0, w0=0.5, C1_value=1.0, C2_tilde=float("inf")), "C2_tilde"),
])
def test_bad_input_names_the_parameter(kwargs, name):
    with pytest.raises(ValueError, match=name):
        cf.w_closed_form(**kwargs)


def test_unbalanced_initialization_is_refused():
    with pytest.raises(ValueError, match="unbalanced"):
        cf.balanced_d1_solution(1.0, 0.5, 0.7, 0.5, 0.5)
