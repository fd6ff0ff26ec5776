"""Gaussian moments of a ReLU unit: what the tensor initialization (Zhong et al. 2017, used by Zhang et
al., paper 001, Sec. 4 and Lemma 1) and the local Hessian (Theorem 1) rest on.

* ``gamma(j)``: Zhong et al.'s gamma_j(sigma) = E[relu(sigma z) z^j], z ~ N(0, 1).
* ``hermite_coefficient(j)``: m_j(sigma) = E[relu(sigma z) He_j(z)] (probabilists' Hermite He_j); the
  j-th moment tensor M_j = E[y H_j(x)] of y = sum_i v_i relu(w_i^T x) is sum_i v_i m_j(||w_i||) wbar_i^(x)j.
* ``zhong_m(j)``: the same coefficients as Zhong et al. print them in gammas (m_1 = gamma_1,
  m_2 = gamma_2 - gamma_0, m_3 = gamma_3 - 3 gamma_1, m_4 = gamma_4 + 3 gamma_0 - 6 gamma_2).
* ``first_nonzero(j)``: the smallest j' >= j with m_j' != 0.  For ReLU every odd m_j with j >= 3 is 0
  (relu(z) = z/2 + |z|/2: the odd part is linear), so P_3 must use M_4 (Zhong et al.'s j_3 = 4).
* ``population_hessian_disjoint``: the Hessian of the population risk at W* when the K supports are
  disjoint (ours): (1/K^2) [I/2 + (uu^T - blockdiag(wbar_j wbar_j^T))/(2 pi)], eigenvalues
  (1/K^2) {1/2 - 1/(2 pi) (K - 1 times), 1/2, 1/2 + (K - 1)/(2 pi)}.

Numeric code imports the coefficients from here (``m_numeric``) so that a formula exists once.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import sympy as sp

z = sp.Symbol("z", real=True)
sigma = sp.Symbol("sigma", positive=True)
_density = sp.exp(-z ** 2 / 2) / sp.sqrt(2 * sp.pi)


def _relu_expectation(f: sp.Expr) -> sp.Expr:
    """E[relu(sigma z) f(z)] = integral_0^inf sigma z f(z) phi(z) dz (sigma > 0)."""
    return sp.simplify(sp.integrate(sigma * z * f * _density, (z, 0, sp.oo)))


@lru_cache(maxsize=None)
def gamma(j: int) -> sp.Expr:
    return _relu_expectation(z ** j)


@lru_cache(maxsize=None)
def hermite_coefficient(j: int) -> sp.Expr:
    if j < 0:
        raise ValueError(f"Hermite order j must be >= 0, got {j}")
    return _relu_expectation(sp.hermite_prob(j, z))


def zhong_m(j: int) -> sp.Expr:
    """Zhong et al. (2017), Definition 5.1, in their gammas (defined there for j = 1..4)."""
    forms = {1: gamma(1), 2: gamma(2) - gamma(0), 3: gamma(3) - 3 * gamma(1),
             4: gamma(4) + 3 * gamma(0) - 6 * gamma(2)}
    if j not in forms:
        raise ValueError(f"Zhong et al. define m_j for j = 1..4, got {j}")
    return sp.simplify(forms[j])


def first_nonzero(j: int, limit: int = 12) -> int:
    for k in range(j, limit + 1):
        if sp.simplify(hermite_coefficient(k)) != 0:
            return k
    raise ValueError(f"no non-zero ReLU Hermite coefficient of order {j}..{limit}")


def m_numeric(j: int, sig: float | np.ndarray = 1.0) -> float | np.ndarray:
    """m_j(sigma) as a float (m_j is linear in sigma for ReLU)."""
    return float(hermite_coefficient(j).subs(sigma, 1)) * np.asarray(sig, dtype=float)


# ---------------------------------------------------------------------------------------------- Hessian
@lru_cache(maxsize=None)
def gate_moments() -> dict[str, sp.Expr]:
    """For unit w and x ~ N(0, I): E[1{w.x > 0}] = 1/2, E[1{w.x > 0} x] = w/sqrt(2 pi),
    E[1{w.x > 0} x x^T] = I/2 (along w: E[z^2 1{z>0}] = 1/2; across: 1/2 * 1; mixed: 0)."""
    gate = lambda f: sp.simplify(sp.integrate(f * _density, (z, 0, sp.oo)))  # noqa: E731
    return {"p": gate(sp.Integer(1)), "mean_along": gate(z), "second_along": gate(z ** 2),
            "second_across": gate(sp.Integer(1))}


def population_hessian_disjoint(K: int, r: int, directions: np.ndarray | None = None) -> sp.Matrix:
    """Exact population Hessian of (2) at W* (noiseless, relu'' = 0 a.e.), disjoint supports, as a
    symbolic (K r) x (K r) matrix: blocks E[1{a_j>0} 1{a_l>0} x_j x_l^T]/K^2 with the gate moments.
    ``directions``: K unit vectors in R^r (default e_1 for every neuron)."""
    g = gate_moments()
    if directions is None:
        directions = np.zeros((K, r))
        directions[:, 0] = 1
    H = sp.zeros(K * r, K * r)
    for j in range(K):
        wj = sp.Matrix([sp.nsimplify(c) for c in directions[j]])
        for l in range(K):
            wl = sp.Matrix([sp.nsimplify(c) for c in directions[l]])
            if j == l:
                block = g["second_across"] * sp.eye(r) + (g["second_along"] - g["second_across"]) * wj * wj.T
            else:  # independent Gaussian blocks: E[1 x_j] E[1 x_l]^T
                block = g["mean_along"] ** 2 * wj * wl.T
            H[j * r:(j + 1) * r, l * r:(l + 1) * r] = block / K ** 2
    return H


def population_hessian_eigenvalues(K: int) -> dict[str, sp.Expr]:
    """(1/K^2) {1/2 - 1/(2 pi), 1/2, 1/2 + (K - 1)/(2 pi)}: smallest (K >= 2), bulk, largest."""
    Ks = sp.Integer(K)
    return {"min": (sp.Rational(1, 2) - 1 / (2 * sp.pi)) / Ks ** 2 if K >= 2 else sp.Rational(1, 2),
            "bulk": sp.Rational(1, 2) / Ks ** 2,
            "max": (sp.Rational(1, 2) + (Ks - 1) / (2 * sp.pi)) / Ks ** 2}


def lambda_min_scaled() -> float:
    """K^2 lambda_min of the population Hessian at W* (disjoint supports, K >= 2) = 1/2 - 1/(2 pi)."""
    return float(sp.Rational(1, 2) - 1 / (2 * sp.pi))
