"""Accelerated gradient descent (Algorithm 1 of Zhang et al., paper 001), batched over trials.

    W(t+1) = W(t) - eta grad f_D(W(t)) + beta (W(t) - W(t-1)),      beta = 0: gradient descent.

Two variants:

* the paper's experiments (Sec. 5): the whole training set at every step, stop a trial when
  ||W(t+1) - W(t)||_F / ||W(t)||_F < tol (1e-8) or after ``max_iter`` (10,000) iterations;
* the algorithm as stated (``subsets=T``): the data split into T disjoint subsets D_1..D_T, one step on each,
  W(T) returned (T = log(1/eps) in the paper).

All trials advance together (one batched matmul per step).  A trial that meets the stopping rule is written out
and dropped from the working set, so that the remaining trials (those that fail and run to ``max_iter``)
do not pay for the finished ones.  A trial whose
weights become non-finite is stopped and flagged ``diverged``.  W(-1) = W(0) (no momentum on the first step).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from sim.sparse_teacher import Instance, relative_error, risk, risk_grad


@dataclass(frozen=True)
class AGD:
    eta: float = 0.5
    beta: float = 0.2
    max_iter: int = 10_000
    tol: float = 1e-8
    record_every: int = 0  # > 0: keep ||W(t) - W*||/||W*|| every this many steps (Fig. 3)
    subsets: int | None = None  # Algorithm 1 as stated: T disjoint subsets, one step each

    def __post_init__(self):
        if not (math.isfinite(self.eta) and self.eta > 0):
            raise ValueError(f"eta (step size) must be finite and > 0, got {self.eta!r}")
        if not (math.isfinite(self.beta) and 0 <= self.beta < 1):
            raise ValueError(f"beta (momentum) must be in [0, 1), got {self.beta!r}")
        if not isinstance(self.max_iter, int) or self.max_iter < 1:
            raise ValueError(f"max_iter must be an integer >= 1, got {self.max_iter!r}")
        if not (self.tol >= 0):
            raise ValueError(f"tol must be >= 0, got {self.tol!r}")
        if self.subsets is not None and (not isinstance(self.subsets, int) or self.subsets < 1):
            raise ValueError(f"subsets (T of Algorithm 1) must be None or an integer >= 1, got {self.subsets!r}")


@dataclass
class AGDResult:
    W: torch.Tensor  # (B, K, d) final weights
    iters: np.ndarray  # (B,) steps taken
    stopped: np.ndarray  # (B,) bool: the relative-change rule fired before max_iter
    diverged: np.ndarray  # (B,) bool
    rel_err: np.ndarray  # (B,) ||W - W*||_F / ||W*||_F
    train_risk: np.ndarray  # (B,)
    history_t: np.ndarray  # (R,) recorded steps
    history: np.ndarray  # (B, R) relative error at those steps (held at the final value after a stop)


def run_agd(inst: Instance, W0: torch.Tensor, agd: AGD, progress=None) -> AGDResult:
    """Run AGD from W0 (B, K, d) on ``inst`` (its mask is applied to W0)."""
    if W0.shape != inst.M.shape:
        raise ValueError(f"W0 has shape {tuple(W0.shape)}, expected {tuple(inst.M.shape)} (B, K, d)")
    if agd.subsets is not None:
        return _run_stated(inst, W0, agd)
    B = inst.B
    dtype = inst.X.dtype
    Mf = inst.M.to(dtype)
    W_out = (W0 * Mf).clone()
    iters = np.full(B, agd.max_iter)
    stopped = np.zeros(B, bool)
    diverged = np.zeros(B, bool)
    rec_t = np.arange(0, agd.max_iter + 1, agd.record_every) if agd.record_every else np.zeros(0, int)
    hist = np.full((B, len(rec_t)), np.nan)
    rec_pos = {int(t): i for i, t in enumerate(rec_t)}

    alive = torch.arange(B, device=inst.X.device)
    X, y, M, Ws = inst.X, inst.y, Mf, inst.W_star
    W = W_out.clone()
    W_prev = W.clone()
    done = torch.zeros(B, dtype=torch.bool, device=W.device)
    if 0 in rec_pos:
        hist[:, 0] = relative_error(W, Ws).cpu().numpy()
    for t in range(1, agd.max_iter + 1):
        _, g = risk_grad(W, M, X, y)
        W_new = W - agd.eta * g + agd.beta * (W - W_prev)
        change = (W_new - W).flatten(1).norm(dim=1) / W.flatten(1).norm(dim=1).clamp_min(1e-300)
        W_prev, W = W, W_new
        bad = ~torch.isfinite(W).flatten(1).all(1)
        stop = (change < agd.tol) | bad
        if t in rec_pos:
            err = relative_error(W, Ws)
            hist[alive.cpu().numpy(), rec_pos[t]] = err.cpu().numpy()
        if bool(stop.any()):
            rows = alive[stop]
            W_out[rows] = W[stop]
            r_np = rows.cpu().numpy()
            iters[r_np] = t
            stopped[r_np] = ~bad[stop].cpu().numpy()
            diverged[r_np] = bad[stop].cpu().numpy()
            done[rows] = True
            keep = ~stop
            if not bool(keep.any()):
                break
            # compact: a copy of the remaining trials' data costs about one step, and happens at most
            # once per stopping trial
            alive, X, y, M, Ws, W, W_prev = (v[keep] for v in (alive, X, y, M, Ws, W, W_prev))
        if progress is not None:
            progress(t)
    live = ~done[alive]
    if bool(live.any()):
        W_out[alive[live]] = W[live]
    if hist.size:  # hold each trial at its final error after it stopped
        for i in range(1, hist.shape[1]):
            m = np.isnan(hist[:, i])
            hist[m, i] = hist[m, i - 1]
    err = relative_error(W_out, inst.W_star).cpu().numpy()
    tr = risk(W_out, inst.X, inst.y).cpu().numpy()
    return AGDResult(W=W_out, iters=iters, stopped=stopped, diverged=diverged, rel_err=err, train_risk=tr,
                     history_t=rec_t, history=hist)


def _run_stated(inst: Instance, W0: torch.Tensor, agd: AGD) -> AGDResult:
    """Algorithm 1 as printed: T = ``agd.subsets`` disjoint subsets, one AGD step on each, return W(T)."""
    T = agd.subsets
    N = inst.X.shape[1]
    if N < T:
        raise ValueError(f"N = {N} samples cannot be split into T = {T} non-empty disjoint subsets")
    bounds = np.linspace(0, N, T + 1).astype(int)
    Mf = inst.M.to(inst.X.dtype)
    W = W0 * Mf
    W_prev = W.clone()
    hist = [relative_error(W, inst.W_star).cpu().numpy()]
    for t in range(T):
        sl = slice(bounds[t], bounds[t + 1])
        _, g = risk_grad(W, Mf, inst.X[:, sl], inst.y[:, sl])
        W, W_prev = W - agd.eta * g + agd.beta * (W - W_prev), W
        hist.append(relative_error(W, inst.W_star).cpu().numpy())
    B = inst.B
    bad = ~torch.isfinite(W).flatten(1).all(1).cpu().numpy()
    return AGDResult(W=W, iters=np.full(B, T), stopped=np.zeros(B, bool), diverged=bad,
                     rel_err=relative_error(W, inst.W_star).cpu().numpy(),
                     train_risk=risk(W, inst.X, inst.y).cpu().numpy(), history_t=np.arange(T + 1),
                     history=np.stack(hist, 1))
