"""Gradient flow of the single hidden neuron f(x) = a relu(w^T x) (paper 000, eqs. 1-3 and 7).

On the active set I = {i : w^T x_i > 0} the network is linear in w, so with the data matrix X (n x d),
the 0/1 diagonal selector D of the active samples (D = D^T = D^2) and the targets y,

    L = 1/(2n) || a D X w - y ||^2   (plus a constant from the inactive samples),

and the flow is ``w' = -dL/dw``, ``a' = -dL/da``.  The derivations below let sympy differentiate this
loss for a *symbolic* dimension d and compare with the printed eq. (7); eq. (3) is the d = 1 case,
derived separately from the per-sample sum.

:func:`active_constants` and :func:`flow_rhs` are the numeric form of the same right-hand side, used by
the scipy integrations here and by ``sim/`` as its reference.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import sympy as sp

from theory.lrr.matrix_algebra import identical

# ----------------------------------------------------------------------------------------------
# Symbolic: general d (eq. 7)


@dataclass(frozen=True)
class GeneralDSymbols:
    d: sp.Symbol
    n: sp.Symbol
    a: sp.Symbol
    w: sp.MatrixSymbol
    X: sp.MatrixSymbol
    D: sp.MatrixSymbol
    y: sp.MatrixSymbol

    @property
    def C1(self):
        """(1/n) sum_{i in I} x_i x_i^T  =  X^T D X / n."""
        return self.X.T * self.D * self.X / self.n

    @property
    def C2(self):
        """(1/n) sum_{i in I} y_i x_i  =  X^T D y / n."""
        return self.X.T * self.D * self.y / self.n


def general_d_symbols() -> GeneralDSymbols:
    d, n = sp.symbols("d n", integer=True, positive=True)
    return GeneralDSymbols(d=d, n=n, a=sp.Symbol("a", real=True), w=sp.MatrixSymbol("w", d, 1),
                           X=sp.MatrixSymbol("X", n, d), D=sp.MatrixSymbol("D", n, n),
                           y=sp.MatrixSymbol("y", n, 1))


def derived_flow_general_d(s: GeneralDSymbols):
    """(w', a') = (-dL/dw, -dL/da) for L = 1/(2n)||a D X w - y||^2, differentiated by sympy."""
    r = s.a * s.D * s.X * s.w - s.y
    loss = (r.T * r) / (2 * s.n)
    return -loss.diff(s.w), -loss.diff(s.a)


def printed_flow_eq7(s: GeneralDSymbols):
    """Eq. (7) as printed: w' = -a^2 C1 w + a C2,  a' = -a w^T C1 w + C2^T w."""
    C1, C2 = s.C1, s.C2
    return -s.a ** 2 * C1 * s.w + s.a * C2, -s.a * s.w.T * C1 * s.w + C2.T * s.w


def eq7_matches_derivation() -> tuple[bool, bool]:
    s = general_d_symbols()
    (w_dot, a_dot), (w_print, a_print) = derived_flow_general_d(s), printed_flow_eq7(s)
    return (identical(w_dot, w_print, idempotent=[s.D]), identical(a_dot, a_print, idempotent=[s.D]))


# ----------------------------------------------------------------------------------------------
# Symbolic: d = 1 (eqs. 2-3), from the per-sample sum


def derived_flow_d1():
    """Differentiate L = 1/(2n) sum_i (a s_i w x_i - y_i)^2 with s_i = 1(w x_i > 0) in {0, 1}.

    Returns (a', w', printed a', printed w', symbols) with C1 = (1/n) sum s_i x_i^2 and
    C2 = (1/n) sum s_i x_i y_i, the printed forms of eq. (3).
    """
    n = sp.Symbol("n", integer=True, positive=True)
    i = sp.Idx("i", (1, n))
    x, y, s_ = sp.IndexedBase("x"), sp.IndexedBase("y"), sp.IndexedBase("s")
    a, w = sp.symbols("a w", real=True)
    loss = sp.Sum((a * s_[i] * w * x[i] - y[i]) ** 2, (i, 1, n)) / (2 * n)
    idem = {s_[i] ** 2: s_[i]}

    def reduce(expr):
        return sp.expand(sp.expand(expr).replace(lambda e: isinstance(e, sp.Sum),
                                                 lambda e: sp.Sum(sp.expand(e.function).subs(idem), *e.limits)))

    a_dot = reduce(-sp.diff(loss, a).doit())
    w_dot = reduce(-sp.diff(loss, w).doit())
    C1 = sp.Sum(s_[i] * x[i] ** 2, (i, 1, n)) / n
    C2 = sp.Sum(s_[i] * x[i] * y[i], (i, 1, n)) / n
    a_print = -a * w ** 2 * C1 + w * C2
    w_print = -w * a ** 2 * C1 + a * C2
    return a_dot, w_dot, reduce(a_print), reduce(w_print)


def _sums_equal(u, v) -> bool:
    return sp.simplify(sp.expand(u - v)) == 0


def eq3_matches_derivation() -> tuple[bool, bool]:
    a_dot, w_dot, a_print, w_print = derived_flow_d1()
    return _sums_equal(a_dot, a_print), _sums_equal(w_dot, w_print)


def reduced_d1_equation():
    """Substituting a = sign(a0)|w| into w' = -w a^2 C1 + a C2 (while w keeps its sign).

    Returns (lhs, rhs) with lhs the substituted right-hand side and rhs = -C1 w^3 + C2~ w,
    C2~ = C2 sign(a0) sign(w0), for each sign combination (sa, sw) in {+1, -1}^2.
    """
    C1, C2 = sp.symbols("C1 C2", real=True)
    out = []
    for sa in (1, -1):
        for sw in (1, -1):
            w = sw * sp.Symbol("p", positive=True)  # w keeps the sign sw of w0 until it would cross 0
            a = sa * sp.Abs(w)
            lhs = -w * a ** 2 * C1 + a * C2
            rhs = -C1 * w ** 3 + (C2 * sa * sw) * w
            out.append(((sa, sw), sp.simplify(lhs - rhs) == 0))
    return out


# ----------------------------------------------------------------------------------------------
# Numeric: the same right-hand side, for scipy and for sim/'s reference implementation


def constants_on(active: np.ndarray, X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """C1 = (1/n) sum_{i in I} x_i x_i^T and C2 = (1/n) sum_{i in I} y_i x_i for a given active set I."""
    Xa = X[active]
    n = X.shape[0]
    return Xa.T @ Xa / n, Xa.T @ y[active] / n


def active_constants(w: np.ndarray, X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`constants_on` the current active set I = {i : w^T x_i > 0}."""
    return constants_on((X @ w) > 0, X, y)


def rhs_from_constants(a: float, w: np.ndarray, C1: np.ndarray, C2: np.ndarray) -> tuple[float, np.ndarray]:
    """Eq. (7) for fixed constants: (a', w') = (-a w^T C1 w + C2^T w,  -a^2 C1 w + a C2)."""
    C1w = C1 @ w
    return float(-a * w @ C1w + C2 @ w), -a * a * C1w + a * C2


def flow_rhs(a: float, w: np.ndarray, X: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """Eq. (7): (a', w') = (-a w^T C1 w + C2^T w,  -a^2 C1 w + a C2) on the current active set."""
    return rhs_from_constants(a, w, *active_constants(w, X, y))


def flow_rhs_packed(_t: float, theta: np.ndarray, X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """:func:`flow_rhs` on the packed state theta = (a, w_1, ..., w_d), the form scipy integrates."""
    a_dot, w_dot = flow_rhs(theta[0], theta[1:], X, y)
    return np.concatenate([[a_dot], w_dot])


def loss(a: float, w: np.ndarray, X: np.ndarray, y: np.ndarray) -> float:
    """Eq. (1): L = 1/(2n) sum_i (a relu(w^T x_i) - y_i)^2."""
    r = a * np.maximum(X @ w, 0.0) - y
    return float(r @ r / (2 * X.shape[0]))
