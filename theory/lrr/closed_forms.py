"""Closed forms of the reduced d = 1 flow  w' = -C1 w^3 + C2~ w  (paper 000, App. A.1, eqs. 4-6).

With balanced initialization a = sign(a0)|w| and, while w keeps its sign, the d = 1 flow (eq. 3)
reduces to the Bernoulli equation above with C2~ = C2 sign(a0) sign(w0).  This module

* derives its solution: u = w^-2 turns it into the linear ODE u' = 2 C1 - 2 C2~ u, which sympy solves;
* states eqs. (4)-(6) exactly as printed, so that ``theory.lrr.claims`` can test each against the ODE and
  the initial condition, and the repairs that make the failing ones right;
* gives an overflow-free form of the same solution (no exp(2 C2~ t) for large t), checked equal to the
  derived one by sympy, and turns it into the numpy evaluators :func:`w_closed_form` and
  :func:`balanced_d1_solution` with ``lambdify``: the numeric code evaluates the very expression that
  sympy verified.

Conventions: w0 = p > 0 (the right-hand side is odd in w, so w0 < 0 follows by w -> -w, which
:func:`rhs_is_odd` checks); C2~ = c > 0, -c or 0; t >= 0.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import sympy as sp

from theory.core import validate

T = sp.Symbol("t", nonnegative=True)
C1 = sp.Symbol("C1", positive=True)
c = sp.Symbol("c", positive=True)  # |C2~|
p = sp.Symbol("p", positive=True)  # |w(0)|
delta = sp.Symbol("delta", positive=True)

CASES = {"pos": c, "neg": -c, "zero": sp.Integer(0)}  # C2~ in each case of the paper


def rhs(w, C2t):
    return -C1 * w ** 3 + C2t * w


def rhs_is_odd() -> bool:
    w, C2t = sp.symbols("w C2t", real=True)
    return sp.expand(rhs(-w, C2t) + rhs(w, C2t)) == 0


def residual(expr, C2t, speed=1):
    """expr' - speed * (-C1 expr^3 + C2~ expr), simplified; zero iff expr solves the (sped-up) ODE."""
    return sp.simplify(sp.diff(expr, T) - speed * rhs(expr, C2t))


def solves_ode(expr, C2t, speed=1) -> bool:
    return residual(expr, C2t, speed) == 0


def meets_initial_value(expr, w0=p) -> bool:
    return sp.simplify(expr.subs(T, 0) - w0) == 0


# ------------------------------------------------------------------------------------------------
# Derivation


def bernoulli_substitution_is_exact() -> bool:
    """If w solves w' = -C1 w^3 + C2~ w then u = w^-2 solves u' = 2 C1 - 2 C2~ u."""
    w = sp.Function("w")(T)
    C2t = sp.Symbol("C2t", real=True)
    u_dot = sp.diff(w ** -2, T).subs(sp.Derivative(w, T), rhs(w, C2t))
    return sp.simplify(u_dot - (2 * C1 - 2 * C2t * w ** -2)) == 0


@lru_cache(maxsize=None)
def derived_solution(case: str):
    """w(t) for w(0) = p > 0, from sympy's solution of the linear ODE for u = w^-2."""
    C2t = CASES[case]
    u = sp.Function("u")
    sol = sp.dsolve(sp.Eq(u(T).diff(T), 2 * C1 - 2 * C2t * u(T)), u(T), ics={u(0): p ** -2})
    return sp.simplify(1 / sp.sqrt(sol.rhs))


# ------------------------------------------------------------------------------------------------
# Eqs. (4)-(6) exactly as printed (w(0) -> p > 0)


def printed_eq4(C1_=C1):
    C2t = c
    A = C2t - C1_ * p ** 2
    return (sp.sqrt(C2t) * p * sp.exp(2 * C2t * T)
            / (sp.sqrt(A) * sp.sqrt(C1_ * p ** 2 * sp.exp(4 * C2t * T) / A + 1)))


def printed_eq5():
    C2t = -c
    return sp.sign(p) * sp.sqrt(-C2t) / (sp.exp(-2 * C2t * T) * (C1 - C2t / p ** 2) - C1)


def printed_eq6():
    return p / sp.sqrt(2 * C1 * p ** 2 * T + 1)


# The two regions of eq. (4): w(0)^2 below the fixed point C2~/C1 (C2~ - C1 w0^2 = delta > 0) and above
# it (C1 w0^2 - C2~ = delta > 0).  Written through C1 so that C1 > 0 and c > 0 hold automatically.
EQ4_REGION_SUBS = {"below": {c: C1 * p ** 2 + delta}, "above": {C1: (c + delta) / p ** 2}}


def in_region(expr, region: str):
    return expr.subs(EQ4_REGION_SUBS[region])


# Repairs: the smallest changes to the printed forms that make them right.


def repaired_eq4():
    """Eq. (4) with t -> t/2 and the two square roots merged into one."""
    return sp.sqrt(c) * p * sp.exp(c * T) / sp.sqrt(c - C1 * p ** 2 + C1 * p ** 2 * sp.exp(2 * c * T))


def repaired_eq5():
    """Eq. (5) with its denominator under a square root."""
    C2t = -c
    return sp.sign(p) * sp.sqrt(-C2t) / sp.sqrt(sp.exp(-2 * C2t * T) * (C1 - C2t / p ** 2) - C1)


# ------------------------------------------------------------------------------------------------
# Overflow-free form: w^2 in terms of Phi(s) = (1 - e^{-s}) / s, s = 2 |C2~| t >= 0


class Phi(sp.Function):
    """Phi(s) = (1 - exp(-s)) / s with Phi(0) = 1; bounded by 1 for s >= 0, so nothing overflows."""

    @classmethod
    def eval(cls, s):
        if s == 0:
            return sp.Integer(1)

    def _eval_rewrite_as_exp(self, s, **kwargs):
        return (1 - sp.exp(-s)) / s


S_SYM = 2 * c * T


def stable_abs_w(case: str):
    """|w(t)| without growing exponentials (the form the numeric evaluators use).

    Written for |w| rather than w^2 so that it underflows only where |w| itself is below ~1e-308.
    """
    s = S_SYM
    if case == "pos":
        return p / sp.sqrt(sp.exp(-s) + 2 * C1 * p ** 2 * T * Phi(s))
    if case == "neg":
        return p * sp.exp(-s / 2) / sp.sqrt(1 + 2 * C1 * p ** 2 * T * Phi(s))
    return p / sp.sqrt(1 + 2 * C1 * p ** 2 * T)


def stable_form_matches(case: str) -> bool:
    stable = stable_abs_w(case).rewrite(sp.exp)
    return sp.simplify(stable - derived_solution(case)) == 0


def limit_at_infinity(case: str):
    return sp.limit(derived_solution(case), T, sp.oo)


# ------------------------------------------------------------------------------------------------
# Numeric evaluators (lambdified from the stable form above)


def _phi_numpy(s):
    s = np.asarray(s, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = -np.expm1(-s) / s
    return np.where(s == 0, 1.0, out)


@lru_cache(maxsize=None)
def _abs_w_numpy(case: str):
    return sp.lambdify((T, C1, c, p), stable_abs_w(case), modules=[{"Phi": _phi_numpy}, "numpy"])


def w_closed_form(t, w0, C1_value, C2_tilde):
    """w(t) solving w' = -C1 w^3 + C2~ w, w(0) = w0 (vectorized over broadcastable arrays).

    Finite for every t >= 0 (no exp(2 C2~ t) is formed): for C2~ < 0 and large t the result underflows
    gracefully to 0, the nearest double to the true value.
    """
    t = validate.finite("t", t)
    if np.any(t < 0):
        raise ValueError(f"t must be >= 0 (got {t!r}); the closed forms run forward in time")
    w0 = validate.finite("w0", w0)
    C1_value = validate.nonnegative("C1", C1_value)
    C2_tilde = validate.finite("C2_tilde", C2_tilde)
    t, w0, C1_value, C2_tilde = np.broadcast_arrays(t, w0, C1_value, C2_tilde)
    w_abs = np.empty(t.shape)
    with np.errstate(over="ignore", under="ignore"):
        for case, sel in (("pos", C2_tilde > 0), ("neg", C2_tilde < 0), ("zero", C2_tilde == 0)):
            if np.any(sel):
                w_abs[sel] = _abs_w_numpy(case)(t[sel], C1_value[sel], np.abs(C2_tilde[sel]),
                                                   np.abs(w0[sel]))
    return np.sign(w0) * w_abs


def balanced_d1_solution(t, a0, w0, C1_value, C2_value):
    """(a(t), w(t)) of eq. (3) from a balanced start a0^2 = w0^2, while w keeps its sign.

    C1, C2 are the constants of the active set of w0's side (I = {x > 0} for w0 > 0, {x < 0} for
    w0 < 0); C2~ = sign(a0) sign(w0) C2 and a(t) = sign(a0) |w(t)|.
    """
    validate.balanced(a0, w0)
    a0 = np.asarray(a0, dtype=float)
    C2_tilde = np.sign(a0) * np.sign(w0) * validate.finite("C2", C2_value)
    w = w_closed_form(t, w0, C1_value, C2_tilde)
    return np.sign(a0) * np.abs(w), w
