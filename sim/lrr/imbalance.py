"""The imbalance delta = a^2 - ||w||^2 under full-batch gradient descent (paper 000, Lemma 2.2).

Under the gradient flow of eq. (7) delta is conserved: with m = (1/n) sum_i r_i 1[z_i > 0] x_i (masked,
r_i = a relu(z_i) - y_i, z_i = w^T x_i) the gradient is g_a = w . m, g_w = a m, so a g_a = w . g_w and
d delta / dt = -2 (a g_a - w . g_w) = 0.  Balance (delta = 0) is what makes a unable to change sign
(Lemma 2.2): at a = 0 it forces w = 0, a stationary point.

A GD step theta <- theta - eta g changes delta by exactly

    delta_{k+1} - delta_k = -2 eta (a g_a - w . g_w) + eta^2 (g_a^2 - ||g_w||^2) = eta^2 (g_a^2 - ||g_w||^2)

(the first-order term vanishes identically, not only to first order), and
g_a^2 - ||g_w||^2 = (w . m)^2 - a^2 ||m||^2 = ||m||^2 (||w||^2 cos^2(w, m) - a^2) <= -||m||^2 delta.  So
whenever delta >= 0 (in particular at a balanced start) a GD step can only lower it: GD drifts to
||w|| > |a|, and once delta < 0, a can pass through 0 with w != 0 (||w||^2 = -delta there).  Summed over
a trajectory, the drift is eta times the integral of (g_a^2 - ||g_w||^2) dt (t = eta k): O(eta) for a fixed
training time eta * steps, i.e. an eta^2-per-step discretization effect that vanishes with the flow.

This module runs the same GD as :func:`sim.lrr.trainers.train` (same arithmetic, iterate for iterate) while
recording, per run, the imbalance bookkeeping, and the pruning cycles of :mod:`sim.lrr.cycles` on top of it,
and how a run's sign change of a is predicted from the balanced reference.  All functions are pure (no files,
no global state); the experiment built on them is :mod:`sim.lrr.sign_changes`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from sim.lrr.cycles import CycleConfig, CycleRecord, cycle_record, level_rows, prune_levels
from sim.lrr.neuron import NeuronBatch, full_mask, grad_only, loss_only
from sim.lrr.prune import level_counts
from sim.lrr.trainers import GD


def imbalance(theta: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """delta = a^2 - ||w * mask||^2 per run; theta (T, d + 1)."""
    w = theta[:, 1:] if mask is None else theta[:, 1:] * mask[:, 1:]
    return theta[:, 0] ** 2 - (w * w).sum(dim=1)


def step_increment(grad: torch.Tensor, lr: float) -> torch.Tensor:
    """eta^2 (g_a^2 - ||g_w||^2): the exact change of delta in one GD step with gradient ``grad``."""
    return lr * lr * (grad[:, 0] ** 2 - (grad[:, 1:] ** 2).sum(dim=1))


def flow_defect(theta: torch.Tensor, grad: torch.Tensor) -> torch.Tensor:
    """a g_a - w . g_w, zero in exact arithmetic for the gradient of the neuron (the flow's conservation)."""
    return theta[:, 0] * grad[:, 0] - (theta[:, 1:] * grad[:, 1:]).sum(dim=1)


@dataclass
class TrackedGD:
    """Per run (numpy, T leading) over one GD training of ``steps`` steps."""

    theta: torch.Tensor  # (T, d + 1) final parameters (identical to sim.lrr.trainers.train(GD, ...))
    sign_changes_a: np.ndarray  # (T,) int
    sign_changes_w1: np.ndarray  # (T,) int
    delta_start: np.ndarray  # (T,)
    delta_end: np.ndarray  # (T,)
    drift: np.ndarray  # (T,) GD: drift0 + sum over steps of eta^2 (g_a^2 - ||g_w||^2); reference: predicted E
    delta_min: np.ndarray  # (T,) minimum of delta over the iterates 0..steps
    identity_residual: np.ndarray  # (T,) max_k |delta_{k+1} - delta_k - eta^2 (g_a^2 - |g_w|^2)| / scale_k
    defect: np.ndarray  # (T,) max_k |a g_a - w . g_w| / (|a| |g_a| + |w| |g_w|) (relative, round-off)
    delta_at_flip: np.ndarray  # (T,) delta at the iterate before the first sign change of a (nan: none)
    drift_at_flip: np.ndarray  # (T,) drift accumulated up to that iterate (nan: none)
    step_at_flip: np.ndarray  # (T,) index k of that iterate (-1: none)
    jump_flips: np.ndarray  # (T,) sign changes of a from an iterate with delta >= 0 (a step over |a| >= ||w||)
    min_abs_a: np.ndarray  # (T,)
    margin_min: np.ndarray  # (T,) reference only: min_k a_k^2 + E_k, the predicted minimum of GD's a^2
    drift_t: torch.Tensor | None = None  # drift as a tensor (carried to the next level)


def gd_tracked(tr: GD, theta0: torch.Tensor, X: torch.Tensor, y: torch.Tensor, mask: torch.Tensor,
               conserve: bool = False, drift0: torch.Tensor | None = None) -> TrackedGD:
    """Full-batch GD exactly as sim.lrr.trainers._train_gd (theta0 * mask, then theta <- theta - lr grad), recording
    the imbalance bookkeeping of every step.  Runs may share data sets as in sim.lrr.neuron.batched_xw.

    ``conserve=True`` runs the *balanced reference* instead: after every GD step, a is put back on the flow's
    conservation law, a <- sign(a) sqrt(||w||^2 + delta_s) with delta_s the imbalance of the start, so it keeps
    the flow's invariant (a never changes sign) while w moves by GD.  Along this path, ``drift`` integrates the
    extra imbalance E that plain GD would carry, by the exact per-step law with GD's a^2 = a_ref^2 + E:
    E <- E + eta^2 (g_a^2 - ||m||^2 (a_ref^2 + E)), m = g_w / a_ref, starting from ``drift0`` (E carried
    over from earlier levels).  ``margin_min`` = min_k (a_ref,k^2 + E_k), the predicted minimum of GD's a^2:
    negative means GD's a would reach 0 on this path (a predicted sign change).  ``identity_residual`` and
    ``jump_flips`` are GD-only quantities (0 for the reference)."""
    theta = theta0 * mask
    T, P1 = theta.shape
    lr = tr.lr
    dt = theta.dtype
    # columns: (+1, -1, ..., -1) gives a^2 - ||w||^2 from squares, (1, ..., 1) the squared norm
    W = torch.ones(P1, 2, dtype=dt, device=theta.device)
    W[1:, 0] = -1.0
    sgn = W[:, 0]
    zeros = torch.zeros(T, dtype=torch.long, device=theta.device)
    flips_a, flips_w, jump_flips = zeros.clone(), zeros.clone(), zeros.clone()
    sqW = (theta * theta) @ W
    delta, norm2 = sqW[:, 0], sqW[:, 1]
    delta0 = delta.clone()
    delta_min = delta.clone()
    drift = torch.zeros_like(delta) if drift0 is None else drift0.clone().to(delta)
    margin_min = theta[:, 0] ** 2 + drift
    resid = torch.zeros_like(delta)
    defect = torch.zeros_like(delta)
    nan = torch.full_like(delta, float("nan"))
    delta_at_flip, drift_at_flip = nan.clone(), nan.clone()
    step_at_flip = torch.full((T,), -1, dtype=torch.long, device=theta.device)
    min_abs_a = theta[:, 0].abs().clone()
    eps = torch.finfo(dt).eps
    lr2 = lr * lr
    for k in range(tr.steps):
        g = grad_only(theta, X, y, mask)
        new = theta - lr * g
        ggW = (g * g) @ W
        tg = theta * g
        defect = torch.maximum(defect, (tg @ sgn).abs() / tg.abs().sum(dim=1).clamp_min(1e-300))
        if conserve:
            a2_ref = (new[:, 1:] ** 2).sum(dim=1) + delta0
            new[:, 0] = torch.sign(theta[:, 0]) * a2_ref.clamp_min(0).sqrt()
            a2 = theta[:, 0] ** 2
            ga2, gw2 = 0.5 * (ggW[:, 1] + ggW[:, 0]), 0.5 * (ggW[:, 1] - ggW[:, 0])
            m2 = torch.where(a2 > 0, gw2 / a2.clamp_min(1e-300), torch.zeros_like(a2))  # ||m||^2 = ||g_w||^2 / a^2
            inc = lr2 * (ga2 - m2 * (a2 + drift))
        else:
            inc = lr2 * ggW[:, 0]
        nsqW = (new * new) @ W
        new_delta = nsqW[:, 0]
        if not conserve:
            # round-off scale of the compared quantities: a^2 + ||w||^2 before and after, and the increment
            scale = eps * (norm2 + nsqW[:, 1] + lr2 * ggW[:, 1])
            resid = torch.maximum(resid, ((new_delta - delta) - inc).abs() / scale.clamp_min(1e-300))
        fa = (theta[:, 0] * new[:, 0]) < 0
        if bool(fa.any()):
            first = fa & (step_at_flip < 0)
            delta_at_flip = torch.where(first, delta, delta_at_flip)
            drift_at_flip = torch.where(first, drift, drift_at_flip)
            step_at_flip = torch.where(first, torch.full_like(step_at_flip, k), step_at_flip)
            jump_flips += (fa & (delta >= 0)).long()
            flips_a += fa.long()
        flips_w += ((theta[:, 1] * new[:, 1]) < 0).long()
        drift = drift + inc
        theta, delta, norm2 = new, new_delta, nsqW[:, 1]
        delta_min = torch.minimum(delta_min, delta)
        min_abs_a = torch.minimum(min_abs_a, theta[:, 0].abs())
        if conserve:
            margin_min = torch.minimum(margin_min, theta[:, 0] ** 2 + drift)

    def np_(t):
        return t.detach().cpu().numpy()

    return TrackedGD(theta=theta, sign_changes_a=np_(flips_a), sign_changes_w1=np_(flips_w),
                     delta_start=np_(delta0), delta_end=np_(delta), drift=np_(drift), delta_min=np_(delta_min),
                     identity_residual=np_(resid), defect=np_(defect), delta_at_flip=np_(delta_at_flip),
                     drift_at_flip=np_(drift_at_flip), step_at_flip=np_(step_at_flip),
                     jump_flips=np_(jump_flips), min_abs_a=np_(min_abs_a), margin_min=np_(margin_min),
                     drift_t=drift)


TRACKED_FIELDS = ("delta_start", "delta_end", "drift", "delta_min", "identity_residual", "defect", "delta_at_flip",
                  "drift_at_flip", "step_at_flip", "jump_flips", "min_abs_a", "margin_min")


def run_cycles_tracked(batch: NeuronBatch, tr: GD, cfg: CycleConfig,
                       reference: bool = False) -> dict[str, tuple[CycleRecord, dict]]:
    """:func:`sim.lrr.cycles.run_cycles` with a GD trainer that records the imbalance bookkeeping: the same
    levels (:func:`sim.lrr.cycles.prune_levels`) and records (:func:`sim.lrr.cycles.cycle_record`), trained by
    :func:`gd_tracked`.  Returns per method its CycleRecord (iterate for iterate the same numbers as
    run_cycles; a test checks it) and a dict of (T, L + 1) arrays of the TrackedGD fields per level.
    ``drift`` is accumulated over the method's history: carried from level to level where the method continues
    (LRR; WR from its rewinding point) and restarted at 0 where it rewinds to theta(0) (IMP, IMP-balanced).

    ``reference=True`` runs the balanced reference of :func:`gd_tracked` (``conserve=True``) through the same
    cycles instead; the GD drift along it is carried from level to level where the method continues from
    its trained values (LRR) or from the WR rewinding point, and restarts at 0 where it rewinds to theta(0)."""
    T, d = batch.trials, batch.d
    X, y, theta0 = batch.X, batch.y, batch.theta0
    level_counts(d, cfg.sparsity, cfg.levels, cfg.final_keep)  # a bad schedule fails before any training
    mask0 = full_mask(T, d, device=theta0.device)
    if cfg.rewind_step > tr.steps:
        raise ValueError("rewind_step must not exceed the GD steps of a level")
    # the rewinding point of WR: theta after rewind_step steps (sim.lrr.trainers' snapshot); GD is deterministic,
    # so the prefix run is the same iterate sequence as the first rewind_step steps of the dense run
    if cfg.rewind_step > 0:
        pre = gd_tracked(GD(lr=tr.lr, steps=cfg.rewind_step), theta0, X, y, mask0, conserve=reference)
        snap, snap_drift = pre.theta, pre.drift_t
    else:
        snap, snap_drift = theta0 * mask0, torch.zeros(T, dtype=theta0.dtype, device=theta0.device)
    dense = gd_tracked(tr, theta0, X, y, mask0, conserve=reference)
    P = len(cfg.methods)
    zero = torch.zeros(T, dtype=theta0.dtype, device=theta0.device)

    def train_level(start, y_runs, mask, previous):
        drift = (dense.drift_t.repeat_interleave(P, dim=0) if previous is None else previous.drift_t)
        drift0 = torch.stack([drift[p::P] if m == "lrr" else snap_drift if m == "wr" else zero
                              for p, m in enumerate(cfg.methods)], dim=1).reshape(T * P)
        return gd_tracked(tr, start, X, y_runs, mask, conserve=reference, drift0=drift0)

    levels = prune_levels(batch, cfg, dense.theta, snap, train_level)
    out_records = {}
    for p, method in enumerate(cfg.methods):
        masks_t = [mask0] + [m[p::P] for m, _, _ in levels]
        thetas_t = [dense.theta] + [r.theta[p::P] for _, _, r in levels]
        loss = np.stack([loss_only(th, X, y, mk).cpu().numpy() for th, mk in zip(thetas_t, masks_t)], axis=1)
        steps = np.full((T, len(levels) + 1), tr.steps, dtype=np.int64)
        rec = cycle_record(p, P, theta0, mask0, dense, levels, loss=loss, steps=steps)
        tracked = {f: level_rows(getattr(dense, f), [getattr(r, f) for _, _, r in levels], p, P)
                   for f in TRACKED_FIELDS}
        out_records[method] = (rec, tracked)
    return out_records


KNIFE_EDGE = 1e-12
"""A run whose balanced reference comes within a^2 < KNIFE_EDGE of a = 0 (the saddle at the origin) while the
predicted imbalance there is no more negative than -KNIFE_EDGE is *knife-edge*: its outcome is decided by an
imbalance at round-off level (the saddle of lrr.thm21.saddle), not by the GD drift, and is not predicted."""


def flip_prediction(margin_min: np.ndarray, ref_min_abs_a: np.ndarray,
                    knife: float = KNIFE_EDGE) -> tuple[np.ndarray, np.ndarray]:
    """Per run (arrays (T, levels)): (predicted sign change of a, knife-edge).  Predicted: the reference's
    predicted GD a^2 = a_ref^2 + E goes below -knife at some level.  Knife-edge: not predicted, but the
    reference comes within a^2 < knife of a = 0 (the saddle decides on a round-off-size imbalance)."""
    pred = (np.asarray(margin_min) < -knife).any(axis=1)
    edge = ~pred & (np.asarray(ref_min_abs_a) ** 2 < knife).any(axis=1)
    return pred, edge


def phi_coefficient(pred: np.ndarray, obs: np.ndarray) -> float:
    """Pearson correlation of two 0/1 vectors (nan where either is constant)."""
    p, o = np.asarray(pred, float), np.asarray(obs, float)
    if p.std() == 0 or o.std() == 0:
        return float("nan")
    return float(np.corrcoef(p, o)[0, 1])


def auc(score: np.ndarray, positive: np.ndarray) -> float:
    """Probability that a positive run scores above a negative one (ties count 1/2): the Mann-Whitney AUC,
    threshold-free (nan without both classes)."""
    score, positive = np.asarray(score, float), np.asarray(positive, bool)
    pos, neg = score[positive], score[~positive]
    if pos.size == 0 or neg.size == 0:
        return float("nan")
    diff = pos[:, None] - neg[None, :]
    return float(((diff > 0).sum() + 0.5 * (diff == 0).sum()) / diff.size)


def dense_drift_prediction_error(arr: dict, method: str) -> np.ndarray:
    """Per run without a sign change in the dense level: |E_ref - delta_GD| / |delta_GD| at its end, i.e. how
    well the drift integrated along the balanced reference predicts GD's actual imbalance."""
    ok = arr[f"{method}/flips_a"][:, 0] == 0
    d_gd, e_ref = arr[f"{method}/delta_end"][ok, 0], arr[f"{method}/ref_drift"][ok, 0]
    return np.abs(e_ref - d_gd) / np.maximum(np.abs(d_gd), 1e-300)
