"""Balancedness: a^2 - ||w||^2 is conserved by gradient flow (paper 000, Sec. 2 set-up, A.1, A.2).

Each proof differentiates the loss symbolically and shows d/dt (a^2 - ||w||^2) = 2 a a' - 2 w^T w' = 0:

* d = 1 with eq. (3);
* every d at once: w is a d x 1 ``MatrixSymbol`` with d symbolic, the flow is derived from the loss
  (not typed in), and the identity reduces to zero using only D = D^T = D^2 and 1x1 transposition;
* a two-layer network f(x) = sum_k a_k relu(w_k^T x) with any number K of hidden neurons, neuron by
  neuron: for neuron k the other K - 1 neurons enter only through their joint output R (an n x 1
  vector that does not depend on a_k or w_k), so one symbolic computation covers every K.

The reason behind all three is Euler's identity for the 1-homogeneous relu: w^T d/dw relu(w^T x) =
relu(w^T x).
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from theory.lrr.gradient_flow import derived_flow_general_d, general_d_symbols
from theory.lrr.matrix_algebra import normalize, is_zero


def d1_conserved() -> bool:
    a, w, C1, C2 = sp.symbols("a w C1 C2", real=True)
    a_dot = -a * w ** 2 * C1 + w * C2  # eq. (3)
    w_dot = -w * a ** 2 * C1 + a * C2
    return sp.expand(2 * a * a_dot - 2 * w * w_dot) == 0


def general_d_conserved() -> bool:
    s = general_d_symbols()
    w_dot, a_dot = derived_flow_general_d(s)
    rate = 2 * s.a * a_dot - 2 * s.w.T * w_dot
    return is_zero(normalize(rate, idempotent=[s.D]))


def k_neuron_conserved() -> bool:
    d, n = sp.symbols("d n", integer=True, positive=True)
    a = sp.Symbol("a_k", real=True)
    w = sp.MatrixSymbol("w_k", d, 1)
    X, D = sp.MatrixSymbol("X", n, d), sp.MatrixSymbol("D_k", n, n)
    R, y = sp.MatrixSymbol("R", n, 1), sp.MatrixSymbol("y", n, 1)  # R: output of the other neurons
    r = a * D * X * w + R - y
    loss = (r.T * r) / (2 * n)
    rate = 2 * a * (-loss.diff(a)) - 2 * w.T * (-loss.diff(w))
    return is_zero(normalize(rate, idempotent=[D]))


def imbalance(a, w) -> np.ndarray:
    """a^2 - ||w||^2 (w of shape (..., d), a of shape (...))."""
    a = np.asarray(a, dtype=float)
    w = np.asarray(w, dtype=float)
    return a * a - np.sum(w * w, axis=-1)
