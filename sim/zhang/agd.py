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

How the products are computed does not change the algorithm: ``AGD.layout`` picks the dense shared product or
the gathered support-only products (:mod:`sim.zhang.agd_layout`, chosen from the shapes by default and recorded in
``AGDResult.layout``), and ``AGD.precision`` = ``"mixed"`` (default) takes a run's steps in float32 until its
relative change falls below ``switch_tol`` (1e-4), then in float64 (the step where it switches recomputed in
float64, so that the stopping rule and divergence are decided in float64), ``"float64"`` all steps in float64.
The runs advance in two working sets, one per precision, each made of whole draws (a run's slot in the other
set is held at 0).  ``precision="float64", layout="dense"`` is the engine as it was before both options.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from sim.zhang.agd_layout import (check_layout, choose_layout, gather_index, gradient, prepare_inputs, to_full,
                            to_local)
from sim.core.draws import runs_per_draw
from sim.zhang.sparse_teacher import Instance, relative_error, risk, risk_grad


PRECISIONS = ("mixed", "float64")


@dataclass(frozen=True)
class AGD:
    """Settings of Algorithm 1 (Sec. 5's variant unless ``subsets``).

    precision: ``"float64"``: every step in float64.  ``"mixed"`` (default): a run takes its steps in float32
    while its relative change is >= ``switch_tol`` (float32 resolves a relative change of ~1e-7, far below
    1e-4), and from the first step t whose float32 change falls below ``switch_tol`` (or whose float32 iterate is
    not finite) on, in float64: step t itself is recomputed in float64 from W(t-1), W(t-2), so the stopping
    rule (tol = 1e-8, below float32 resolution) and the divergence check are always decided in float64.  The
    success criterion is computed in float64 from the final W.  Why 1e-4: the float32 rounding of W when a run
    switches (~1e-7 relative) moves the step where the relative change crosses tol when that crossing is a near
    tie (the float64 change one step before the stop within ~1e-3 of tol); on the quick-scale cells of
    zhang-fig2..fig5 (572 runs, ``python -m sim.bench --suite sparse-precision``) switch_tol = 1e-4 gives the
    float64 engine's verdicts and iteration counts for every run, 1e-5 moved 9 counts by one step and 1e-6 more
    (both directions), all on such ties; the verdicts were equal for every setting.
    layout: how the products are laid out (:mod:`sim.zhang.agd_layout`): ``"auto"`` (the shape rule there),
    ``"dense"`` or ``"gathered"`` (an error if the mask does not allow it).
    """

    eta: float = 0.5
    beta: float = 0.2
    max_iter: int = 10_000
    tol: float = 1e-8
    record_every: int = 0  # > 0: keep ||W(t) - W*||/||W*|| every this many steps (Fig. 3)
    subsets: int | None = None  # Algorithm 1 as stated: T disjoint subsets, one step each
    precision: str = "mixed"
    layout: str = "auto"
    switch_tol: float = 1e-4  # mixed: relative change below which a run continues in float64

    def __post_init__(self):
        if not (math.isfinite(self.eta) and self.eta > 0):
            raise ValueError(f"eta (step size) must be finite and > 0, got {self.eta!r}")
        if not (math.isfinite(self.beta) and 0 <= self.beta < 1):
            raise ValueError(f"beta (momentum) must be in [0, 1), got {self.beta!r}")
        if isinstance(self.max_iter, bool) or not isinstance(self.max_iter, int) or self.max_iter < 1:
            raise ValueError(f"max_iter must be an integer >= 1, got {self.max_iter!r}")
        if not (self.tol >= 0):
            raise ValueError(f"tol must be >= 0, got {self.tol!r}")
        if self.subsets is not None and (not isinstance(self.subsets, int) or self.subsets < 1):
            raise ValueError(f"subsets (T of Algorithm 1) must be None or an integer >= 1, got {self.subsets!r}")
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {self.precision!r}")
        check_layout(self.layout)
        if not (isinstance(self.switch_tol, (int, float)) and math.isfinite(self.switch_tol)
                and self.switch_tol > 0):
            raise ValueError(f"switch_tol (relative change where mixed precision turns to float64) must be finite "
                             f"and > 0, got {self.switch_tol!r}")


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
    layout: str = "dense"  # the product layout used (sim.zhang.agd_layout)
    precision: str = "float64"  # the precision scheme used
    switched_at: np.ndarray | None = None  # (B,) mixed: first float64 step of each run (-1: never switched)


@dataclass
class _Context:
    """What every working set of one call shares: the instance, the layout, supports and masks."""
    inst: Instance
    layout: str
    P: int
    idx_draw: torch.Tensor | None  # (G, K, r) gathered layout
    idx_run: torch.Tensor | None  # (B, K, r)
    M: torch.Tensor  # (B, K, d) bool
    Ws: torch.Tensor  # (B, K, d) or (B, K, r) float64, W* in the layout's coordinates


class _Set:
    """The runs that advance in one precision: whole draws (all P slots of each; a slot not active here is
    held at W = 0, where the gradient is 0, so it cannot disturb the shared products)."""

    def __init__(self, ctx: _Context, dtype, draws: torch.Tensor, W: torch.Tensor, W_prev: torch.Tensor,
                 active: torch.Tensor, Xp: torch.Tensor | None = None):
        P = ctx.P
        self.dtype, self.draws, self.active = dtype, draws, active
        self.runs = (draws[:, None] * P + torch.arange(P, device=draws.device)).reshape(-1)
        self.Xp = Xp if Xp is not None else prepare_inputs(
            ctx.layout, ctx.inst.X[draws], None if ctx.idx_draw is None else ctx.idx_draw[draws], dtype)
        self.y = ctx.inst.y[self.runs].to(dtype)
        self.M = ctx.M[self.runs].to(dtype) if ctx.layout == "dense" else None
        self.W, self.W_prev = W.to(dtype).clone(), W_prev.to(dtype).clone()  # owned: absorb writes in place
        self.tiny = 1e-300 if dtype == torch.float64 else torch.finfo(dtype).tiny
        self.dirty = True  # runs left since the last compaction

    def step(self, agd: AGD, layout: str) -> tuple[torch.Tensor, torch.Tensor]:
        """One AGD step of every run of the set; returns the relative change and the non-finite flag."""
        g = gradient(layout, self.W, self.Xp, self.y, self.M)
        W_new = self.W - agd.eta * g + agd.beta * (self.W - self.W_prev)
        change = (W_new - self.W).flatten(1).norm(dim=1) / self.W.flatten(1).norm(dim=1).clamp_min(self.tiny)
        self.W_prev, self.W = self.W, W_new
        bad = ~torch.isfinite(W_new).flatten(1).all(1)
        return change, bad

    def release(self, sel: torch.Tensor) -> None:
        """The runs ``sel`` leave the set: held at 0 from now on."""
        self.active = self.active & ~sel
        self.dirty = True
        self.W = torch.where(sel[:, None, None], torch.zeros_like(self.W), self.W)
        self.W_prev = torch.where(sel[:, None, None], torch.zeros_like(self.W_prev), self.W_prev)

    def _xp_draws(self, ctx: _Context, keep: torch.Tensor) -> torch.Tensor:
        if ctx.layout == "dense":
            return self.Xp[keep]
        K = ctx.idx_draw.shape[1]
        return self.Xp.view(-1, K, *self.Xp.shape[1:])[keep].flatten(0, 1)

    def compact(self, ctx: _Context) -> "_Set | None":
        """Drop the draws with no active run (a copy of the remaining data, at most once per finished draw)."""
        if not self.dirty:
            return self
        self.dirty = False
        keep_draw = self.active.view(-1, ctx.P).any(1)
        if not bool(keep_draw.any()):
            return None
        if bool(keep_draw.all()):
            return self
        keep = keep_draw.repeat_interleave(ctx.P)
        self.Xp = self._xp_draws(ctx, keep_draw)
        self.draws, self.runs = self.draws[keep_draw], self.runs[keep]
        self.y, self.W, self.W_prev, self.active = (v[keep] for v in (self.y, self.W, self.W_prev, self.active))
        if self.M is not None:
            self.M = self.M[keep]
        return self

    def absorb(self, ctx: _Context, other: "_Set") -> None:
        """Take over the active runs of ``other`` (same precision): into the slots of draws already here,
        the other draws appended (a draw of ``other`` with no active run is dropped by the next compaction)."""
        self.dirty = True
        pos = {int(g): i for i, g in enumerate(self.draws.tolist())}
        P = ctx.P
        new_draw = torch.tensor([int(g) not in pos for g in other.draws.tolist()], device=other.draws.device)
        for i, g in enumerate(other.draws.tolist()):
            if int(g) in pos:
                a, b = slice(pos[g] * P, pos[g] * P + P), slice(i * P, i * P + P)
                sel = other.active[b]
                self.W[a][sel] = other.W[b][sel]
                self.W_prev[a][sel] = other.W_prev[b][sel]
                self.active[a] = self.active[a] | sel
        if bool(new_draw.any()):
            rows = new_draw.repeat_interleave(P)
            self.Xp = torch.cat([self.Xp, other._xp_draws(ctx, new_draw)])
            self.draws = torch.cat([self.draws, other.draws[new_draw]])
            self.runs = torch.cat([self.runs, other.runs[rows]])
            self.y, self.W, self.W_prev, self.active = (torch.cat([u, v[rows]]) for u, v in (
                (self.y, other.y), (self.W, other.W), (self.W_prev, other.W_prev), (self.active, other.active)))
            if self.M is not None:
                self.M = torch.cat([self.M, other.M[rows]])


def resolve_layout(inst: Instance, agd: AGD) -> tuple[str, torch.Tensor | None]:
    """The layout a call uses (``agd.layout``, or the shape rule of :mod:`sim.zhang.agd_layout` for ``auto``) and,
    for the gathered layout, the supports (G, K, r)."""
    P = runs_per_draw(inst.B, inst.X)
    idx = gather_index(inst.M, P)
    if agd.layout == "gathered" and idx is None:
        raise ValueError("layout 'gathered' needs every neuron to have the same number r of inputs and the runs "
                         "of a draw to share the mask; use layout 'dense' or 'auto'")
    layout = agd.layout if agd.layout != "auto" else choose_layout(inst.X.shape[-1],
                                                                    None if idx is None else idx.shape[-1])
    return layout, (idx if layout == "gathered" else None)


def run_agd(inst: Instance, W0: torch.Tensor, agd: AGD, progress=None) -> AGDResult:
    """Run AGD from W0 (B, K, d) on ``inst`` (its mask is applied to W0)."""
    if W0.shape != inst.M.shape:
        raise ValueError(f"W0 has shape {tuple(W0.shape)}, expected {tuple(inst.M.shape)} (B, K, d)")
    if inst.X.dtype not in (torch.float32, torch.float64):
        raise ValueError(f"inst.X dtype must be torch.float32 or torch.float64, got {inst.X.dtype}")
    if agd.subsets is not None:
        return _run_stated(inst, W0, agd)
    B, G = inst.B, inst.draws
    P = runs_per_draw(B, inst.X)
    d = inst.X.shape[-1]
    f64 = torch.float64
    dev = inst.X.device
    layout, idx_draw = resolve_layout(inst, agd)
    idx_run = None if idx_draw is None else idx_draw.repeat_interleave(P, 0)
    W_full0 = (W0.to(f64) * inst.M.to(f64))
    W_out = W_full0.clone()
    ctx = _Context(inst=inst, layout=layout, P=P, idx_draw=idx_draw, idx_run=idx_run, M=inst.M,
                   Ws=to_local(layout, inst.W_star.to(f64), idx_run))
    iters = np.full(B, agd.max_iter)
    stopped = np.zeros(B, bool)
    diverged = np.zeros(B, bool)
    switched = np.full(B, -1)
    rec_t = np.arange(0, agd.max_iter + 1, agd.record_every) if agd.record_every else np.zeros(0, int)
    hist = np.full((B, len(rec_t)), np.nan)
    rec_pos = {int(t): i for i, t in enumerate(rec_t)}
    if 0 in rec_pos:
        hist[:, 0] = relative_error(W_full0, inst.W_star.to(f64)).cpu().numpy()

    W_loc = to_local(layout, W_full0, idx_run)
    all_draws = torch.arange(G, device=dev)
    on = torch.ones(B, dtype=torch.bool, device=dev)
    mixed = agd.precision == "mixed"
    if mixed:  # float32 steps; a start that float32 cannot hold (non-finite, out of range) starts in float64
        wide = ~torch.isfinite(W_loc.to(torch.float32)).flatten(1).all(1)
        lo = _Set(ctx, torch.float32, all_draws, W_loc, W_loc, ~wide)
        lo.release(wide)
        hi = _Set(ctx, f64, all_draws, W_loc, W_loc, wide)
        hi.release(~wide)
        switched[wide.cpu().numpy()] = 0
        lo, hi = lo.compact(ctx), hi.compact(ctx)
    else:  # float64 steps
        lo, hi = None, _Set(ctx, f64, all_draws, W_loc, W_loc, on)

    def finish(s: _Set, sel: torch.Tensor, bad: torch.Tensor, t: int) -> None:
        rows = s.runs[sel]
        if t in rec_pos:  # a run that stops at a recorded step is recorded there (its final W)
            hist[rows.cpu().numpy(), rec_pos[t]] = relative_error(s.W[sel].to(f64), ctx.Ws[rows]).cpu().numpy()
        W_out[rows] = to_full(layout, s.W[sel], None if idx_run is None else idx_run[rows], d).to(f64)
        r_np = rows.cpu().numpy()
        iters[r_np] = t
        stopped[r_np] = ~bad[sel].cpu().numpy()
        diverged[r_np] = bad[sel].cpu().numpy()
        s.release(sel)

    for t in range(1, agd.max_iter + 1):
        if hi is not None:
            change, bad = hi.step(agd, layout)
            stop = ((change < agd.tol) | bad) & hi.active
            if bool(stop.any()):
                finish(hi, stop, bad, t)
        if lo is not None:
            W_before, W_prev_before = lo.W, lo.W_prev
            change, bad = lo.step(agd, layout)
            leave = ((change < agd.switch_tol) | bad) & lo.active
            if bool(leave.any()):
                # step t again in float64 from W(t-1), W(t-2) for the runs that leave, then decide in float64
                act = leave.view(-1, P)
                keep_draw = act.any(1)
                rows = keep_draw.repeat_interleave(P)
                moved = _Set(ctx, f64, lo.draws[keep_draw], W_before[rows], W_prev_before[rows], leave[rows])
                moved.release(~moved.active)
                lo.release(leave)
                switched[moved.runs[moved.active].cpu().numpy()] = t
                change, bad = moved.step(agd, layout)
                stop = ((change < agd.tol) | bad) & moved.active
                if bool(stop.any()):
                    finish(moved, stop, bad, t)
                if bool(moved.active.any()):
                    if hi is None:
                        hi = moved
                    else:
                        hi.absorb(ctx, moved)
        if t in rec_pos:
            for s in (hi, lo):
                if s is not None and bool(s.active.any()):
                    err = relative_error(s.W[s.active].to(f64), ctx.Ws[s.runs[s.active]])
                    hist[s.runs[s.active].cpu().numpy(), rec_pos[t]] = err.cpu().numpy()
        hi = hi.compact(ctx) if hi is not None else None
        lo = lo.compact(ctx) if lo is not None else None
        if hi is None and lo is None:
            break
        if progress is not None:
            progress(t)
    for s in (hi, lo):  # runs cut off by max_iter
        if s is not None and bool(s.active.any()):
            rows = s.runs[s.active]
            W_out[rows] = to_full(layout, s.W[s.active], None if idx_run is None else idx_run[rows], d).to(f64)
    if hist.size:  # hold each run at its final error after it stopped
        for i in range(1, hist.shape[1]):
            m = np.isnan(hist[:, i])
            hist[m, i] = hist[m, i - 1]
    W_out = W_out.to(inst.X.dtype)
    err = relative_error(W_out, inst.W_star).cpu().numpy()
    tr = risk(W_out, inst.X, inst.y).cpu().numpy()
    return AGDResult(W=W_out, iters=iters, stopped=stopped, diverged=diverged, rel_err=err, train_risk=tr,
                     history_t=rec_t, history=hist, layout=layout, precision=agd.precision,
                     switched_at=switched if mixed else None)


def _run_stated(inst: Instance, W0: torch.Tensor, agd: AGD) -> AGDResult:
    """Algorithm 1 as printed: T = ``agd.subsets`` disjoint subsets, one AGD step on each, return W(T)
    (T steps, no stopping rule: always float64 in the dense layout, whatever ``agd.precision`` and ``layout``)."""
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
