import numpy as np
import pytest
import sympy as sp
from hypothesis import given, strategies as st

from theory.lrr import balancedness, gradient_flow as gf
from theory.lrr.matrix_algebra import identical, normalize, is_zero
from theory.lrr.numeric_checks import integrate_theta


def test_eq3_and_eq7_match_their_derivations():
    assert gf.eq3_matches_derivation() == (True, True)
    assert gf.eq7_matches_derivation() == (True, True)


def test_eq7_check_rejects_a_wrong_sign():
    s = gf.general_d_symbols()
    w_dot, _ = gf.derived_flow_general_d(s)
    wrong = -s.a ** 2 * s.C1 * s.w - s.a * s.C2
    assert not identical(w_dot, wrong, idempotent=[s.D])


def test_symbolic_balancedness():
    assert balancedness.d1_conserved()
    assert balancedness.general_d_conserved()
    assert balancedness.k_neuron_conserved()


def test_balance_proof_fails_for_a_non_homogeneous_model():
    """Negative control: with f = a relu(w^T x) + a (an extra term in a) the identity breaks."""
    d, n = sp.symbols("d n", integer=True, positive=True)
    a = sp.Symbol("a", real=True)
    w, X = sp.MatrixSymbol("w", d, 1), sp.MatrixSymbol("X", n, d)
    D, y, one = sp.MatrixSymbol("D", n, n), sp.MatrixSymbol("y", n, 1), sp.MatrixSymbol("one", n, 1)
    r = a * D * X * w + a * one - y
    loss = (r.T * r) / (2 * n)
    rate = 2 * a * (-loss.diff(a)) - 2 * w.T * (-loss.diff(w))
    assert not is_zero(normalize(rate, idempotent=[D]))


def test_numeric_rhs_is_minus_the_gradient_of_the_loss():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 4))
    y = np.maximum(X[:, 0], 0) + 0.1 * rng.normal(size=30)
    a, w = 0.8, rng.normal(size=4)
    a_dot, w_dot = gf.flow_rhs(a, w, X, y)
    h = 1e-6
    ga = (gf.loss(a + h, w, X, y) - gf.loss(a - h, w, X, y)) / (2 * h)
    gw = np.array([(gf.loss(a, w + h * e, X, y) - gf.loss(a, w - h * e, X, y)) / (2 * h) for e in np.eye(4)])
    assert a_dot == pytest.approx(-ga, rel=1e-6)
    assert np.allclose(w_dot, -gw, rtol=1e-6, atol=1e-9)


@given(seed=st.integers(0, 10_000), d=st.integers(1, 5), sign_a=st.sampled_from([-1.0, 1.0]))
def test_balance_and_sign_of_a_conserved_along_scipy_flows(seed, d, sign_a):
    rng = np.random.default_rng(seed)
    X = rng.normal(scale=1 / np.sqrt(d), size=(40, d))
    y = np.maximum(X[:, 0], 0) + 0.1 * rng.normal(size=40)
    w0 = rng.normal(size=d)
    a0 = sign_a * np.linalg.norm(w0)
    sol = integrate_theta(np.concatenate([[a0], w0]), X, y, 2.0, rtol=1e-9, atol=1e-11)
    a_t, w_t = sol.y[0], sol.y[1:]
    drift = np.abs(a_t ** 2 - np.sum(w_t ** 2, axis=0)) / (a0 ** 2 + w0 @ w0)
    assert drift.max() < 1e-7
    assert np.all(np.sign(a_t) == sign_a)
