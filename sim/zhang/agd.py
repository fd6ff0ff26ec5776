"""Accelerated gradient descent (Algorithm 1 of Zhang et al., paper 001), batched over trials.

    W(t+1) = W(t) - eta grad f_D(W(t)) + beta (W(t) - W(t-1)),      beta = 0: gradient descent.

Two variants:

* the paper's experiments (Sec. 5): the whole training set at every step, stop a trial when
  ||W(t+1) - W(t)||_F / ||W(t)||_F < tol (1e-8) or after ``max_iter`` (10,000) iterations;
* the algorithm as stated (``subsets=T``): the data split into T disjoint subsets D_1..D_T, one step on each,
  W(T) returned (T = log(1/eps) in the paper).

All runs advance together (one batched matmul per step; runs that share a draw of the data,
``SparseProblem.runs_per_draw``, share one product).  A run that meets the stopping rule is written out and
frozen; a draw whose runs have all stopped is dropped from the working set, so that the remaining runs (those
that fail and run to ``max_iter``) do not pay for the finished ones.  A trial whose
weights become non-finite is stopped and flagged ``diverged``.  W(-1) = W(0) (no momentum on the first step).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from sim.zhang.sparse_teacher import Instance, relative_error, risk, risk_grad


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
    B, G = inst.B, inst.draws
    P = B // G  # runs per draw: they share X and advance in one matmul
    dtype = inst.X.dtype
    dev = inst.X.device
    Mf = inst.M.to(dtype)
    W_out = (W0 * Mf).clone()
    iters = np.full(B, agd.max_iter)
    stopped = np.zeros(B, bool)
    diverged = np.zeros(B, bool)
    rec_t = np.arange(0, agd.max_iter + 1, agd.record_every) if agd.record_every else np.zeros(0, int)
    hist = np.full((B, len(rec_t)), np.nan)
    rec_pos = {int(t): i for i, t in enumerate(rec_t)}

    run_ids = torch.arange(B, device=dev)  # the runs in the working set (whole draws, in order)
    X, y, M, Ws = inst.X, inst.y, Mf, inst.W_star
    W = W_out.clone()
    W_prev = W.clone()
    done = torch.zeros(B, dtype=torch.bool, device=dev)  # per run of the working set: stopped, frozen at 0
    if 0 in rec_pos:
        hist[:, 0] = relative_error(W, Ws).cpu().numpy()
    for t in range(1, agd.max_iter + 1):
        _, g = risk_grad(W, M, X, y)
        W_new = W - agd.eta * g + agd.beta * (W - W_prev)
        change = (W_new - W).flatten(1).norm(dim=1) / W.flatten(1).norm(dim=1).clamp_min(1e-300)
        W_prev, W = W, W_new
        bad = ~torch.isfinite(W).flatten(1).all(1)
        stop = ((change < agd.tol) | bad) & ~done
        if t in rec_pos:
            err = relative_error(W, Ws)
            live = ~done
            hist[run_ids[live].cpu().numpy(), rec_pos[t]] = err[live].cpu().numpy()
        if bool(stop.any()):
            rows = run_ids[stop]
            W_out[rows] = W[stop]
            r_np = rows.cpu().numpy()
            iters[r_np] = t
            stopped[r_np] = ~bad[stop].cpu().numpy()
            diverged[r_np] = bad[stop].cpu().numpy()
            done = done | stop
            # a stopped run waits for the rest of its draw at W = 0, where the gradient is 0 (relu'(0) = 0):
            # it stays there and cannot carry a non-finite value into the shared products
            W = torch.where(stop[:, None, None], torch.zeros_like(W), W)
            W_prev = torch.where(stop[:, None, None], torch.zeros_like(W_prev), W_prev)
            keep_draw = ~done.view(-1, P).all(1)
            if not bool(keep_draw.any()):
                break
            if not bool(keep_draw.all()):
                # compact whole draws: a copy of the remaining data costs about one step, and happens at
                # most once per finished draw
                keep = keep_draw.repeat_interleave(P)
                X = X[keep_draw]
                run_ids, y, M, Ws, W, W_prev, done = (v[keep] for v in (run_ids, y, M, Ws, W, W_prev, done))
        if progress is not None:
            progress(t)
    live = ~done
    if bool(live.any()):
        W_out[run_ids[live]] = W[live]
    if hist.size:  # hold each run at its final error after it stopped
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
