"""Per-trial numpy reference for the sparse teacher-student model and AGD (the oracle the batched engine
:mod:`sim.zhang.agd` / :mod:`sim.zhang.sparse_teacher` is tested against).

It works in the paper's own coordinates (eq. 2): neuron j has a weight vector w_j in R^r and reads
x_{Omega_j}; loops over neurons and steps in plain numpy.  Nothing is shared with the batched code except
the problem definition.
"""

from __future__ import annotations

import numpy as np


def risk_grad_one(W: list[np.ndarray], omegas: list[np.ndarray], X: np.ndarray, y: np.ndarray
                  ) -> tuple[float, list[np.ndarray]]:
    """f(W) = (1/2N) sum_n ((1/K) sum_j relu(w_j . x_{n,Omega_j}) - y_n)^2 and its gradient per neuron."""
    K, N = len(W), X.shape[0]
    pre = [X[:, om] @ w for w, om in zip(W, omegas)]
    g = sum(np.maximum(p, 0) for p in pre) / K
    res = g - y
    grads = [(X[:, om] * (res * (p > 0))[:, None]).sum(0) / (N * K) for p, om in zip(pre, omegas)]
    return float(0.5 * np.mean(res ** 2)), grads


def agd_one(W0: list[np.ndarray], omegas: list[np.ndarray], X: np.ndarray, y: np.ndarray, eta: float, beta: float,
            max_iter: int, tol: float, on_step=None) -> tuple[list[np.ndarray], int, bool]:
    """Sec. 5's variant of Algorithm 1: whole data each step; stop when ||W(t+1) - W(t)|| / ||W(t)|| < tol.
    A step whose weights are not finite ends the run there (returned with stopped = False: diverged).
    ``on_step(t, W)``, if given, sees the weights after each step t (to record an error along the way)."""
    W = [w.copy() for w in W0]
    W_prev = [w.copy() for w in W0]
    for t in range(1, max_iter + 1):
        _, g = risk_grad_one(W, omegas, X, y)
        W_new = [w - eta * gj + beta * (w - wp) for w, gj, wp in zip(W, g, W_prev)]
        change = np.sqrt(sum(((a - b) ** 2).sum() for a, b in zip(W_new, W)))
        norm = np.sqrt(sum((w ** 2).sum() for w in W))
        W_prev, W = W, W_new
        if on_step is not None:
            on_step(t, W)
        if not all(np.isfinite(w).all() for w in W):
            return W, t, False
        if change / max(norm, 1e-300) < tol:
            return W, t, True
    return W, max_iter, False
