"""Theorem 2.1 and Lemma 2.2 of paper 000: where balanced gradient flow of a relu(w x) ends up.

Theorem 2.1 (d = 1).  Under balanced flow w cannot cross 0 in finite time (w = 0 is an equilibrium of
w' = -C1 w^3 + C2~ w, whose right-hand side is locally Lipschitz), so the active set stays the side of
w0, the constants stay those of that side, and the closed forms give the limit:
w(oo) = sign(w0) sqrt(C2~/C1) if C2~ > 0, else 0, with a(oo) = sign(a0) |w(oo)|.

:func:`d1_limit` is that statement as a function of (a0, w0) and the data constants on each side of
zero; learning succeeds when the limit function a relu(w x) has the target's form, a(oo) > 0 and
w(oo) > 0 (then a(oo) w(oo) = C2/C1, the least-squares slope on {x > 0}).

Lemma 2.2 (any d).  a cannot change sign: balancedness makes a = 0 force w = 0, where the right-hand
side of eq. (7) vanishes; and since that right-hand side has no constant term and is polynomial in
(a, w) for fixed data, ||F(theta)|| <= L ||theta|| near 0, so by Gronwall ||theta(t)|| >=
||theta(0)|| e^{-L t} > 0: the flow never reaches the origin, a^2 = ||w||^2 > 0 for all t, and a keeps
its sign by continuity.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import sympy as sp

from theory.core import validate


@dataclass(frozen=True)
class SideConstants:
    """C1 = (1/n) sum_{i in I} x_i^2 and C2 = (1/n) sum_{i in I} x_i y_i for one side I of zero."""

    C1: float
    C2: float

    def __post_init__(self):
        validate.nonnegative("C1", self.C1)
        validate.finite("C2", self.C2)


@dataclass(frozen=True)
class D1Data:
    """The data seen through the two possible active sets: I+ = {x > 0} (w > 0), I- = {x < 0} (w < 0)."""

    pos: SideConstants
    neg: SideConstants

    @classmethod
    def from_samples(cls, x: np.ndarray, y: np.ndarray) -> "D1Data":
        x = validate.finite("x", x)
        y = validate.finite("y", y)
        if x.shape != y.shape or x.ndim != 1:
            raise ValueError(f"x and y must be 1-D of equal length (got {x.shape} and {y.shape})")
        if x.size == 0:
            raise ValueError("x and y are empty: the constants C1, C2 need at least one sample")
        n = x.size
        sides = [x > 0, x < 0]
        p, m = (SideConstants(float(x[s] @ x[s] / n), float(x[s] @ y[s] / n)) for s in sides)
        return cls(pos=p, neg=m)

    @classmethod
    def population(cls, d: int = 1) -> "D1Data":
        """The n -> oo limit for x ~ N(0, 1/d) and independent zero-mean noise (see theory.core.gaussian)."""
        validate.dimension("d", d)
        return cls(pos=SideConstants(1 / (2 * d), 1 / (2 * d)), neg=SideConstants(1 / (2 * d), 0.0))


@dataclass(frozen=True)
class D1Limit:
    a_inf: float
    w_inf: float
    C2_tilde: float
    success: bool
    relative_error: float
    """Population relative squared error of a relu(w x) against relu(x) for symmetric x:
    (a w - 1)^2 if w > 0, (a w)^2 + 1 if w < 0, 1 if w = 0 (the two sides of relu are orthogonal)."""


def d1_limit(a0: float, w0: float, data: D1Data) -> D1Limit:
    """Theorem 2.1 as a function: the limit of balanced gradient flow from (a0, w0)."""
    validate.balanced(a0, w0)
    a0, w0 = float(a0), float(w0)
    if a0 == 0.0:
        return D1Limit(0.0, 0.0, 0.0, False, 1.0)  # the origin is a fixed point
    side = data.pos if w0 > 0 else data.neg
    C2t = float(np.sign(a0) * np.sign(w0) * side.C2)
    w_abs = float(np.sqrt(C2t / side.C1)) if (C2t > 0 and side.C1 > 0) else 0.0
    w_inf = float(np.sign(w0)) * w_abs + 0.0  # + 0.0 turns -0.0 into 0.0
    a_inf = float(np.sign(a0)) * w_abs + 0.0
    slope = a_inf * w_inf
    if w_inf > 0:
        err = (slope - 1.0) ** 2
    elif w_inf < 0:
        err = slope ** 2 + 1.0
    else:
        err = 1.0
    return D1Limit(a_inf, w_inf, C2t, bool(a_inf > 0 and w_inf > 0), float(err))


QUADRANTS = ((1, 1), (1, -1), (-1, 1), (-1, -1))  # (sign a0, sign w0)


def quadrant_case_analysis() -> dict[tuple[int, int], bool]:
    """For each sign quadrant: can *any* data make learning succeed?

    Whatever the data (C1 > 0, C2 of either sign on either side), C2~ falls in one of the cases
    > 0, < 0, = 0, whose derived limits of |w| are sqrt(C2~/C1) > 0 or 0.  Then w(oo) = sign(w0) |w(oo)|
    and a(oo) = sign(a0) |w(oo)|; sympy decides the signs from the symbols' assumptions.
    """
    from theory.lrr.closed_forms import CASES, limit_at_infinity

    limits = [limit_at_infinity(case) for case in CASES]
    return {(sa, sw): any(bool((sa * L).is_positive) and bool((sw * L).is_positive) for L in limits)
            for sa, sw in QUADRANTS}


def failure_probability_lower_bound() -> sp.Rational:
    """P(fail) >= P(quadrant != (+,+)) under independent, equally likely signs of a0 and w0."""
    possible = quadrant_case_analysis()
    p_quadrant = sp.Rational(1, 4)
    return sum((p_quadrant for q, ok in possible.items() if not ok), sp.Integer(0))


# ------------------------------------------------------------------------------------------------
# Lemma 2.2


def lemma22_steps() -> dict[str, bool]:
    """The symbolic steps of Lemma 2.2, for a symbolic dimension d (eq. (7) derived from the loss)."""
    from theory.lrr.gradient_flow import derived_flow_general_d, general_d_symbols

    s = general_d_symbols()
    w_dot, a_dot = derived_flow_general_d(s)
    origin = {s.a: 0, s.w: sp.ZeroMatrix(*s.w.shape)}
    steps = {}
    # (i) a = 0 and a^2 = ||w||^2 give ||w||^2 = 0, so w = 0 (w real)
    wsq = sp.Symbol("wsq", nonnegative=True)
    steps["a=0 & balanced => ||w||=0"] = sp.solve(sp.Eq(0 ** 2, wsq), wsq) == [0]
    # (ii) the origin is a fixed point of eq. (7)
    steps["origin is a fixed point"] = all(
        sp.expand(e.subs(origin).doit()) in (0, sp.ZeroMatrix(*e.shape)) for e in (w_dot, a_dot))
    # (iii) no constant term: every additive term has a factor a or w, so F(theta) = J(theta) theta with
    # J polynomial, ||F|| <= L ||theta|| on bounded sets, and Gronwall keeps theta(t) away from 0.
    def every_term_vanishes_at_origin(e):
        e = sp.expand(e)
        terms = e.args if isinstance(e, sp.MatAdd) else sp.Add.make_args(e)
        return all((s.a in t.free_symbols) or (s.w in t.free_symbols) for t in terms)

    steps["no constant term (||F|| <= L||theta||)"] = all(
        every_term_vanishes_at_origin(e) for e in (w_dot, a_dot))
    return steps
