"""Symbolic matrix algebra for statements that must hold for *every* input dimension d.

sympy's ``MatrixSymbol`` with a symbolic dimension lets us derive gradients (``expr.diff(w)``) without
fixing d.  What sympy does not know on its own are three facts we use:

* a symmetric matrix equals its transpose (the active-set selector ``D``, the moment matrix ``C1``);
* the selector is idempotent, ``D D = D`` (its diagonal holds 0s and 1s);
* a 1x1 product equals its transpose (``w^T c = c^T w``).

:func:`normalize` applies them until nothing changes, so that two expressions that are equal by these
facts reduce to the same canonical form (and a true identity reduces to zero).
"""

from __future__ import annotations

import sympy as sp
from sympy.matrices.expressions import MatAdd, MatMul, MatrixExpr


def _collapse_idempotent(expr, idempotents):
    def collapse(m):
        coeff, mats = m.as_coeff_matrices()
        out = []
        for mat in mats:
            if out and mat == out[-1] and mat in idempotents:
                continue
            out.append(mat)
        return MatMul(coeff, *out).doit()

    return expr.replace(lambda m: isinstance(m, MatMul), collapse)


def _canonical_scalar_terms(expr):
    """Replace each 1x1 term by the smaller (in sympy's sort order) of itself and its transpose."""
    terms = expr.args if isinstance(expr, MatAdd) else (expr,)
    out = []
    for term in terms:
        if isinstance(term, MatrixExpr) and term.shape == (1, 1):
            flipped = sp.expand(term.T.doit())
            term = min(term, flipped, key=sp.default_sort_key)
        out.append(term)
    return MatAdd(*out).doit() if len(out) > 1 else out[0]


def normalize(expr, symmetric=(), idempotent=(), max_rounds: int = 10):
    """Canonical form of a matrix expression under symmetry, idempotency and 1x1 transposition."""
    symmetric = tuple(symmetric) + tuple(idempotent)
    for _ in range(max_rounds):
        before = expr
        expr = sp.expand(expr)
        for s in symmetric:
            expr = expr.subs(s.T, s)
        expr = _collapse_idempotent(expr, set(idempotent))
        expr = sp.expand(expr)
        if isinstance(expr, MatrixExpr) and expr.shape == (1, 1):
            expr = _canonical_scalar_terms(expr)
        if expr == before:
            break
    return expr


def is_zero(expr) -> bool:
    """True when a (normalized) scalar or matrix expression is identically zero."""
    if isinstance(expr, MatrixExpr):
        return bool(expr.is_ZeroMatrix) or expr == sp.ZeroMatrix(*expr.shape)
    return sp.simplify(expr) == 0


def identical(lhs, rhs, symmetric=(), idempotent=()) -> bool:
    """True when ``lhs - rhs`` normalizes to zero."""
    return is_zero(normalize(lhs - rhs, symmetric=symmetric, idempotent=idempotent))
