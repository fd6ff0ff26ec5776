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
recording, per run, the imbalance bookkeeping, and the pruning cycles of :mod:`sim.lrr.cycles` on top of it.
All functions are pure (no files, no global state); :mod:`sim.lrr.diagrams` registers the experiment.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from sim.lrr.cycles import CycleConfig, CycleRecord, rewind_start
from sim.lrr.neuron import NeuronBatch, full_mask, grad_only, loss_only, population_relative_error
from sim.lrr.outcome import success
from sim.lrr.prune import level_counts, magnitude_prune
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
    """sim.lrr.cycles.run_cycles with a GD trainer, on the same batching (dense level shared, then run t P + p is
    method p on trial t), returning per method its CycleRecord (iterate for iterate the same numbers as
    run_cycles; a test checks it) and a dict of (T, L + 1) arrays of the TrackedGD fields per level.
    ``drift`` is accumulated over the method's history: carried from level to level where the method continues
    (LRR; WR from its rewinding point) and restarted at 0 where it rewinds to theta(0) (IMP, IMP-balanced).

    ``reference=True`` runs the balanced reference of :func:`gd_tracked` (``conserve=True``) through the same
    cycles instead; the GD drift along it is carried from level to level where the method continues from
    its trained values (LRR) or from the WR rewinding point, and restarts at 0 where it rewinds to theta(0)."""
    T, d = batch.trials, batch.d
    X, y, theta0 = batch.X, batch.y, batch.theta0
    counts = level_counts(d, cfg.sparsity, cfg.levels, cfg.final_keep)
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
    y_runs = y.repeat_interleave(P, dim=0)
    trained, mask = dense.theta.repeat_interleave(P, dim=0), mask0.repeat_interleave(P, dim=0)
    drift = dense.drift_t.repeat_interleave(P, dim=0)
    zero = torch.zeros(T, dtype=theta0.dtype, device=theta0.device)
    levels = []
    for keep in counts:
        mask = magnitude_prune(trained, mask, keep)
        start = torch.stack([rewind_start(m, trained[p::P], theta0, snap, mask[p::P])
                             for p, m in enumerate(cfg.methods)], dim=1).reshape(T * P, d + 1)
        drift0 = torch.stack([drift[p::P] if m == "lrr" else snap_drift if m == "wr" else zero
                              for p, m in enumerate(cfg.methods)], dim=1).reshape(T * P)
        out = gd_tracked(tr, start, X, y_runs, mask, conserve=reference, drift0=drift0)
        levels.append((mask, start, out))
        trained, drift = out.theta, out.drift_t
    out_records = {}
    for p, method in enumerate(cfg.methods):
        def rows(dense_value, per_level):
            def n(v):
                return v.detach().cpu().numpy() if isinstance(v, torch.Tensor) else np.asarray(v)
            return np.stack([n(dense_value)] + [n(v)[p::P] for v in per_level], axis=1)

        res = [o for _, _, o in levels]
        theta_end = rows(dense.theta, [r.theta for r in res])
        mask_arr = rows(mask0, [m for m, _, _ in levels])
        masks_t = [mask0] + [m[p::P] for m, _, _ in levels]
        thetas_t = [dense.theta] + [r.theta[p::P] for r in res]
        loss = np.stack([loss_only(th, X, y, mk).cpu().numpy() for th, mk in zip(thetas_t, masks_t)], axis=1)
        rec = CycleRecord(
            masks=mask_arr[:, :, 1:].astype(np.int8), theta_start=rows(theta0, [s for _, s, _ in levels]),
            theta_end=theta_end, loss=loss, rel_error=population_relative_error(theta_end, mask_arr),
            flips_a=rows(dense.sign_changes_a, [r.sign_changes_a for r in res]),
            flips_w1=rows(dense.sign_changes_w1, [r.sign_changes_w1 for r in res]),
            steps=np.full((T, len(res) + 1), tr.steps, dtype=np.int64))
        rec.success = success(rec.theta_end[:, -1], rec.masks[:, -1])
        tracked = {f: rows(getattr(dense, f), [getattr(r, f) for r in res]) for f in TRACKED_FIELDS}
        out_records[method] = (rec, tracked)
    return out_records


# ----------------------------------------------------------------------------------------------------------
# The registered experiment (sim.lrr.diagrams: ``lrr-gd-sign-changes``): one cell = one sign quadrant x
# step size x steps per level; GD cycles and their balanced reference on the same trials.

KNIFE_EDGE = 1e-12
"""A run whose balanced reference comes within a^2 < KNIFE_EDGE of a = 0 (the saddle at the origin) while the
predicted imbalance there is no more negative than -KNIFE_EDGE is *knife-edge*: its outcome is decided by an
imbalance at round-off level (the saddle of lrr.thm21.saddle), not by the GD drift, and is not predicted."""


def gd_sign_cell(cell: dict, seed: int, device: str) -> dict[str, np.ndarray]:
    """Run one cell: sample the quadrant's trials, run GD cycles with the imbalance bookkeeping and the
    balanced reference through the same cycles; per method and trial, the arrays the summary needs."""
    from sim.lrr.neuron import NeuronProblem, sample

    problem = NeuronProblem(d=cell["d"], n=cell["n"], sigma=cell["sigma"], trials=cell["trials"],
                            quadrant=cell["quadrant"])
    tr = GD(lr=cell["lr"], steps=cell["steps"])
    cfg = CycleConfig(levels=cell.get("levels", 3), sparsity=cell.get("sparsity", 0.9),
                      rewind_step=cell.get("rewind_step", 10), methods=tuple(cell["methods"]))
    batch = sample(problem, seed, device)
    gd = run_cycles_tracked(batch, tr, cfg)
    ref = run_cycles_tracked(batch, tr, cfg, reference=True)
    theta0 = batch.theta0.cpu().numpy()
    out = {"a0": theta0[:, 0], "w10": theta0[:, 1], "seed": np.array(seed)}
    for method in cfg.methods:
        rec, tk = gd[method]
        rrec, rtk = ref[method]
        out |= {f"{method}/success": rec.success, f"{method}/flips_a": rec.flips_a, f"{method}/flips_w1": rec.flips_w1,
                f"{method}/theta_end": rec.theta_end, f"{method}/mask_last": rec.masks[:, -1],
                f"{method}/rel_error": rec.rel_error[:, -1]}
        out |= {f"{method}/{k}": v for k, v in tk.items()}
        out |= {f"{method}/ref_margin_min": rtk["margin_min"], f"{method}/ref_min_abs_a": rtk["min_abs_a"],
                f"{method}/ref_drift": rtk["drift"], f"{method}/ref_success": rrec.success,
                f"{method}/ref_flips_a": rrec.flips_a}
    return out


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


def summarize_gd_sign(finished: list[tuple[dict, dict]]) -> list[dict]:
    """One row per cell and method: runs with a sign change of a and successes (95 % Wilson), how the sign
    changes happened, the drift, the identity check, and predicted against observed sign changes."""
    from sim.core.intervals import wilson

    rows = []
    for cell, arr in finished:
        for method in cell["methods"]:
            flips = arr[f"{method}/flips_a"].sum(axis=1) > 0
            succ = arr[f"{method}/success"].astype(bool)
            n = flips.size
            fl_lo, fl_hi = wilson(int(flips.sum()), n)
            s_lo, s_hi = wilson(int(succ.sum()), n)
            pred, edge = flip_prediction(arr[f"{method}/ref_margin_min"], arr[f"{method}/ref_min_abs_a"])
            decided = ~edge
            drift = arr[f"{method}/drift"]
            rows.append({
                "cell": cell["key"], "quadrant": cell["quadrant"], "lr": cell["lr"], "steps": cell["steps"],
                "time": cell["lr"] * cell["steps"], "method": method, "trials": n,
                "a_flipped": int(flips.sum()), "flip_ci_low": round(float(fl_lo), 4),
                "flip_ci_high": round(float(fl_hi), 4),
                "successes": int(succ.sum()), "succ_ci_low": round(float(s_lo), 4),
                "succ_ci_high": round(float(s_hi), 4),
                "success_and_flipped": int((succ & flips).sum()),
                "jump_flips": int(arr[f"{method}/jump_flips"].sum()),
                "flip_delta_max": float(np.nanmax(arr[f"{method}/delta_at_flip"])) if flips.any() else float("nan"),
                "dense_drift_median": float(np.median(drift[:, 0])),
                "delta_min_median": float(np.median(arr[f"{method}/delta_min"].min(axis=1))),
                "identity_residual_max_eps": round(float(arr[f"{method}/identity_residual"].max()), 3),
                "flow_defect_max": float(arr[f"{method}/defect"].max()),
                "predicted": int(pred.sum()), "knife_edge": int(edge.sum()),
                "knife_edge_flipped": int((edge & flips).sum()),
                "agree": int((pred[decided] == flips[decided]).sum()), "decided": int(decided.sum()),
                "false_pos": int((pred & ~flips & decided).sum()), "false_neg": int((~pred & flips & decided).sum()),
                "phi": round(phi_coefficient(pred[decided], flips[decided]), 4) if decided.any() else float("nan"),
                "auc_margin": round(auc(-arr[f"{method}/ref_margin_min"].min(axis=1)[decided], flips[decided]), 4)
                if decided.any() else float("nan"),
                "drift_pred_relerr_median": float(np.median(dense_drift_prediction_error(arr, method)))
                if (arr[f"{method}/flips_a"][:, 0] == 0).any() else float("nan"),
                "dense_flipped": int((arr[f"{method}/flips_a"][:, 0] > 0).sum()),
                "ref_flipped": int((arr[f"{method}/ref_flips_a"].sum(axis=1) > 0).sum()),
                "ref_successes": int(arr[f"{method}/ref_success"].sum()),
            })
    return rows


def gd_sign_cells(p: dict) -> list[dict]:
    """Cells of the lrr-gd-sign-changes diagram: every quadrant x lrs x steps, plus the (quadrant, lr, steps)
    triples in ``extra``; ordered by steps (cheap cells first)."""
    triples = [(q, lr, s) for q in p["quadrants"] for s in p["steps"] for lr in p["lrs"]]
    triples += [(q, lr, s) for q, lr, s in p.get("extra", []) if (q, lr, s) not in triples]
    return [{"key": f"q{q.replace('+', 'p').replace('-', 'm')}_lr{lr:g}_steps{s}", "d": p["d"], "n": p["n"],
             "sigma": p["sigma"], "quadrant": q, "trials": p["trials"], "lr": lr, "steps": s,
             "methods": list(p["methods"]), "levels": 3, "sparsity": 0.9, "rewind_step": 10}
            for q, lr, s in sorted(triples, key=lambda t: (t[2], t[0] != "-+", t[1]))]


def pooled_report(finished: list[tuple[dict, dict]]) -> dict:
    """Pooled over a diagram's cells, per quadrant and method: runs, sign changes and successes (95 % Wilson),
    predicted vs observed sign changes over all decided runs (confusion, phi, AUC of the margin), and the step
    size law of the dense-level drift (slope of log |median drift| against log lr over cells of equal steps)."""
    from sim.core.intervals import wilson

    out = {"by_quadrant_method": [], "drift_vs_lr": []}
    keys = sorted({(c["quadrant"], m) for c, _ in finished for m in c["methods"]})
    for q, m in keys:
        flips, pred, edge, succ, margin = [], [], [], [], []
        for c, arr in finished:
            if c["quadrant"] != q or m not in c["methods"]:
                continue
            f = arr[f"{m}/flips_a"].sum(axis=1) > 0
            p, e = flip_prediction(arr[f"{m}/ref_margin_min"], arr[f"{m}/ref_min_abs_a"])
            flips.append(f), pred.append(p), edge.append(e), succ.append(arr[f"{m}/success"].astype(bool))
            margin.append(arr[f"{m}/ref_margin_min"].min(axis=1))
        f, p, e, s, mg = (np.concatenate(v) for v in (flips, pred, edge, succ, margin))
        dec = ~e
        lo, hi = wilson(int(f.sum()), f.size)
        out["by_quadrant_method"].append({
            "quadrant": q, "method": m, "runs": int(f.size), "a_flipped": int(f.sum()),
            "flip_ci": [round(float(lo), 4), round(float(hi), 4)], "successes": int(s.sum()),
            "success_and_flipped": int((s & f).sum()), "knife_edge": int(e.sum()),
            "knife_edge_flipped": int((e & f).sum()), "decided": int(dec.sum()),
            "true_pos": int((p & f & dec).sum()), "false_pos": int((p & ~f & dec).sum()),
            "false_neg": int((~p & f & dec).sum()), "true_neg": int((~p & ~f & dec).sum()),
            "phi": phi_coefficient(p[dec], f[dec]), "auc_margin": auc(-mg[dec], f[dec])})
    steps_set = sorted({c["steps"] for c, _ in finished})
    for q in sorted({c["quadrant"] for c, _ in finished}):
        for s_ in steps_set:
            cells = sorted([(c["lr"], float(np.median(arr[f"{c['methods'][0]}/drift"][:, 0])))
                            for c, arr in finished if c["quadrant"] == q and c["steps"] == s_], key=lambda t: t[0])
            if len(cells) >= 2 and all(dd < 0 for _, dd in cells):
                lr_, dd = np.array(cells).T
                slope = float(np.polyfit(np.log(lr_), np.log(-dd), 1)[0])
                out["drift_vs_lr"].append({"quadrant": q, "steps": s_, "lr": lr_.tolist(),
                                           "median_dense_drift": dd.tolist(), "loglog_slope": slope})
    return out


def write_pooled_report(results) -> list:
    """The ``plot`` hook of lrr-gd-sign-changes: writes pooled.json into the results folder."""
    import json
    from pathlib import Path

    from sim.core.sweep import load_results

    _, finished = load_results(Path(results))
    path = Path(results) / "pooled.json"
    path.write_text(json.dumps(pooled_report(finished), indent=2))
    return [path]
