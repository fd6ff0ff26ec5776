"""Per-trial reference for :mod:`sim.xudu.overparam`: plain numpy gradient descent, one trial at a time, built
on the independent kernel functions of :mod:`theory.core.gaussian` (arccos angles, summed kernels), not on the
batched torch code.  Tests compare the batched engine against it; ``python -m sim.bench`` times both."""

from __future__ import annotations

import numpy as np

from theory.core.gaussian import arccos_kernel, arccos_kernel_grad_w


def loss_one(W: np.ndarray, v: np.ndarray) -> float:
    n = W.shape[0]
    total = sum(arccos_kernel(W[i], W[j]) for i in range(n) for j in range(n))
    return 0.5 * float(total - 2 * sum(arccos_kernel(w, v) for w in W) + arccos_kernel(v, v))


def grad_one(W: np.ndarray, v: np.ndarray) -> np.ndarray:
    out = np.zeros_like(W)
    for i, w in enumerate(W):
        if not np.any(w):
            continue  # relu'(0) = 0: a dead student gets no gradient
        out[i] = w / 2 + sum(arccos_kernel_grad_w(W[j], w) for j in range(W.shape[0]) if j != i and np.any(W[j]))
        out[i] -= arccos_kernel_grad_w(v, w)
    return out


def gd_one(W0: np.ndarray, v: np.ndarray, lr: float, steps: int, record_loss: bool = True
           ) -> tuple[np.ndarray, np.ndarray]:
    """GD on one trial; returns the final students and the loss after every step (steps + 1 values; empty
    when ``record_loss`` is False, as in the benchmark, which times the steps alone)."""
    W = W0.copy()
    losses = [loss_one(W, v)] if record_loss else []
    for _ in range(steps):
        W = W - lr * grad_one(W, v)
        if record_loss:
            losses.append(loss_one(W, v))
    return W, np.array(losses)
