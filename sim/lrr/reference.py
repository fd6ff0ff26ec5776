"""Per-trial reference implementation of the single-neuron simulator: the oracle for the batched engine.

Plain and obviously correct, one trial at a time: numpy for the loss, its gradient, gradient descent and
magnitude pruning; ``torch.optim.LBFGS`` itself (autograd gradients) for L-BFGS; the event-driven flow of
:mod:`sim.lrr.flow` for gradient flow.  :func:`run_cycles_one` runs the IMP / WR / LRR / IMP-balanced loop of
:mod:`sim.lrr.cycles` for one trial.  Tests compare the batched engine against these; ``python -m sim.bench``
times both on the same work.
"""

from __future__ import annotations

import numpy as np
import torch

from sim.lrr.neuron import population_relative_error
from sim.lrr.outcome import success
from sim.lrr.prune import level_counts
from sim.lrr.trainers import GD, LBFGS, Flow, Trainer


def loss_grad(theta: np.ndarray, X: np.ndarray, y: np.ndarray, mask: np.ndarray) -> tuple[float, np.ndarray]:
    """Loss (1) and its gradient for one trial: theta, mask (d + 1,), X (n, d), y (n,)."""
    a, w = theta[0], theta[1:] * mask[1:]
    z = X @ w
    h = np.maximum(z, 0.0)
    r = a * h - y
    g_a = np.mean(r * h)
    g_w = a * (X.T @ (r * (z > 0))) / len(y)
    return float(0.5 * np.mean(r * r)), np.concatenate([[g_a], g_w]) * mask


def train_gd(tr: GD, theta: np.ndarray, X, y, mask, snapshot_at=None):
    theta = theta * mask
    flips = np.zeros(2, dtype=int)
    snapshot = theta.copy() if snapshot_at == 0 else None
    for k in range(tr.steps):
        new = theta - tr.lr * loss_grad(theta, X, y, mask)[1]
        flips += (theta[:2] * new[:2] < 0)
        theta = new
        if snapshot_at is not None and k + 1 == snapshot_at:
            snapshot = theta.copy()
    return theta, flips, snapshot if snapshot is not None else theta.copy()


def train_lbfgs(tr: LBFGS, theta: np.ndarray, X, y, mask, snapshot_at=None):
    """torch.optim.LBFGS, ``tr.epochs`` step() calls, on one trial (float64, autograd)."""
    if tr.line_search != "none":
        raise ValueError("the torch.optim.LBFGS reference has no Armijo line search; use line_search='none'")
    Xt, yt, mt = (torch.as_tensor(v, dtype=torch.float64) for v in (X, y, mask))
    p = torch.tensor(theta * mask, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([p], lr=tr.lr, max_iter=tr.max_iter, history_size=tr.history,
                            tolerance_grad=tr.tolerance_grad, tolerance_change=tr.tolerance_change)
    flips = np.zeros(2, dtype=int)
    iterates = []

    def closure():
        opt.zero_grad()
        q = p * mt
        r = q[0] * torch.relu(Xt @ q[1:]) - yt
        loss = 0.5 * (r * r).mean()
        loss.backward()
        iterates.append(p.detach().numpy().copy())
        return loss

    prev = p.detach().numpy().copy()
    for _ in range(tr.epochs):
        opt.step(closure)
        now = p.detach().numpy().copy()
        if np.array_equal(now, prev) and opt.state[p].get("n_iter", 0) > 0:
            # a call that changed nothing: converged (small gradient) or stuck (no descent direction)
            break
        prev = now
    # sign changes and the snapshot, from the distinct iterates the closure saw
    seen = iterates + [p.detach().numpy().copy()]
    distinct = [v for i, v in enumerate(seen) if i == 0 or not np.array_equal(v, seen[i - 1])]
    for u, v in zip(distinct, distinct[1:]):
        flips += (u[:2] * v[:2] < 0)
    snapshot = None
    if snapshot_at is not None:
        snapshot = distinct[min(snapshot_at, len(distinct) - 1)]
    return p.detach().numpy().copy(), flips, snapshot


def train_one(tr: Trainer, theta, X, y, mask, snapshot_at=None):
    if isinstance(tr, GD):
        return train_gd(tr, theta, X, y, mask, snapshot_at)
    if isinstance(tr, LBFGS):
        return train_lbfgs(tr, theta, X, y, mask, snapshot_at)
    if isinstance(tr, Flow):
        from sim.lrr.flow import integrate_flow
        res = integrate_flow(theta * mask, X, y, mask, tr, snapshot_at)
        return res.theta, np.array([res.flips_a, res.flips_w1]), res.snapshot
    raise TypeError(f"not a trainer: {tr!r}")


def magnitude_prune(theta: np.ndarray, mask: np.ndarray, keep: int) -> np.ndarray:
    score = np.where(mask[1:] > 0, np.abs(theta[1:]), -1.0)
    order = np.argsort(-score, kind="stable")[:keep]
    new = np.zeros_like(mask)
    new[0] = 1.0
    new[1 + order] = 1.0
    return new


def run_cycles_one(theta0: np.ndarray, X: np.ndarray, y: np.ndarray, trainer: Trainer, levels: int,
                   sparsity: float, rewind_step: int, methods, final_keep: int | None = None
                   ) -> dict[str, dict[str, np.ndarray]]:
    """The loop of :func:`sim.lrr.cycles.run_cycles` for one trial, written out plainly."""
    d = X.shape[1]
    mask0 = np.ones(d + 1)
    dense, fl0, rewind_point = train_one(trainer, theta0, X, y, mask0, snapshot_at=rewind_step)
    out = {}
    for method in methods:
        masks, ends, flips = [mask0], [dense], [fl0]
        for keep in level_counts(d, sparsity, levels, final_keep):
            mask = magnitude_prune(ends[-1], masks[-1], keep)
            if method == "lrr":
                start = ends[-1] * mask
            elif method == "imp":
                start = theta0 * mask
            elif method == "wr":
                start = rewind_point * mask
            else:  # imp-balanced
                start = theta0 * mask
                start[0] = (-1.0 if theta0[0] < 0 else 1.0) * np.linalg.norm(start[1:])
            theta, fl, _ = train_one(trainer, start, X, y, mask)
            masks.append(mask)
            ends.append(theta)
            flips.append(fl)
        ends_a, masks_a = np.array(ends), np.array(masks)
        out[method] = {
            "theta_end": ends_a, "masks": masks_a[:, 1:],
            "rel_error": population_relative_error(ends_a, masks_a),
            "flips_a": np.array(flips)[:, 0], "flips_w1": np.array(flips)[:, 1],
            "success": bool(success(ends_a[-1:], masks_a[-1:, 1:])[0]),
        }
    return out
