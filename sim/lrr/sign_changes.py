"""The experiment ``lrr-gd-sign-changes`` (paper 000, Lemma 2.2 under gradient descent): when does GD change
the sign of a?

One cell is one sign quadrant x step size x steps per level: the quadrant's trials run the GD pruning cycles
with the imbalance bookkeeping and, on the same trials, the balanced reference
(:func:`sim.lrr.imbalance.run_cycles_tracked`).  The summary counts sign changes of a and successes per
cell and method (95 % Wilson intervals) and compares the predicted with the observed sign changes; the fit
step pools them per quadrant and method (``pooled.json``) and lays out the curves the figure draws
(``flip_curves.json``).  :mod:`sim.lrr.diagrams` registers it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.core.config import param
from sim.core.intervals import wilson
from sim.core.registry import Finished, Rows
from sim.lrr.cycles import CycleConfig
from sim.lrr.imbalance import (auc, dense_drift_prediction_error, flip_prediction, phi_coefficient,
                               run_cycles_tracked)
from sim.lrr.neuron import NeuronProblem, sample
from sim.lrr.trainer_config import GD

_CYCLES = CycleConfig()  # the pruning schedule of every cell


@dataclass(frozen=True)
class GdSignCell:
    """One sign quadrant's ``trials`` trials, GD with step ``lr`` for ``steps`` steps per level, the pruning
    cycles of :mod:`sim.lrr.cycles` (methods, levels, sparsity, rewind_step)."""

    d: int
    n: int
    sigma: float
    quadrant: str
    trials: int
    lr: float
    steps: int
    methods: tuple[str, ...]
    levels: int = param(_CYCLES.levels, "pruning levels after the dense one")
    sparsity: float = param(_CYCLES.sparsity, "fraction of the inputs pruned after the last level")
    rewind_step: int = param(_CYCLES.rewind_step, "WR's rewinding point: GD steps of dense training")

    def __post_init__(self):  # a bad parameter is named when the cell is made
        self.problem()
        self.cycles()
        self.trainer()

    @property
    def key(self) -> str:
        return f"q{self.quadrant.replace('+', 'p').replace('-', 'm')}_lr{self.lr:g}_steps{self.steps}"

    def problem(self) -> NeuronProblem:
        return NeuronProblem(d=self.d, n=self.n, sigma=self.sigma, trials=self.trials, quadrant=self.quadrant)

    def cycles(self) -> CycleConfig:
        return CycleConfig(levels=self.levels, sparsity=self.sparsity, rewind_step=self.rewind_step,
                           methods=self.methods)

    def trainer(self) -> GD:
        return GD(lr=self.lr, steps=self.steps)


@dataclass(frozen=True)
class GdSignScale:
    """Sign quadrants x step sizes x steps per level, plus single (quadrant, lr, steps) cells."""

    quadrants: tuple[str, ...] = param(("-+", "--"), "sign quadrants of (a(0), w_1(0))")
    d: int = param(10, "input dimension")
    n: int = param(1000, "training samples")
    sigma: float = param(0.1, "label noise standard deviation")
    trials: int = param(8, "independent trials per cell")
    lrs: tuple[float, ...] = param((0.5, 2.0), "GD step sizes")
    steps: tuple[int, ...] = param((400, 2000), "GD steps per level")
    extra: tuple[tuple[str, float, int], ...] = param((), "further (quadrant, lr, steps) cells")
    methods: tuple[str, ...] = param(("lrr", "imp", "imp-balanced"), "pruning methods, run on the same trials")

    def cells(self) -> list[GdSignCell]:
        """Every quadrant x lrs x steps, plus the triples in ``extra``; ordered by steps (cheap cells first)."""
        triples = [(q, lr, s) for q in self.quadrants for s in self.steps for lr in self.lrs]
        triples += [(q, lr, s) for q, lr, s in self.extra if (q, lr, s) not in triples]
        return [GdSignCell(d=self.d, n=self.n, sigma=self.sigma, quadrant=q, trials=self.trials, lr=lr, steps=s,
                           methods=self.methods)
                for q, lr, s in sorted(triples, key=lambda t: (t[2], t[0] != "-+", t[1]))]


def gd_sign_cell(cell: GdSignCell, seed: int, device: str) -> dict[str, np.ndarray]:
    """Run one cell: sample the quadrant's trials, run GD cycles with the imbalance bookkeeping and the
    balanced reference through the same cycles; per method and trial, the arrays the summary needs."""
    tr, cfg = cell.trainer(), cell.cycles()
    batch = sample(cell.problem(), seed, device)
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


def summarize_gd_sign(finished: Finished) -> Rows:
    """One row per cell and method: runs with a sign change of a and successes (95 % Wilson), how the sign
    changes happened, the drift, the identity check, and predicted against observed sign changes."""
    rows = []
    for cell, arr in finished:
        for method in cell.methods:
            flips = arr[f"{method}/flips_a"].sum(axis=1) > 0
            succ = arr[f"{method}/success"].astype(bool)
            n = flips.size
            fl_lo, fl_hi = wilson(int(flips.sum()), n)
            s_lo, s_hi = wilson(int(succ.sum()), n)
            pred, edge = flip_prediction(arr[f"{method}/ref_margin_min"], arr[f"{method}/ref_min_abs_a"])
            decided = ~edge
            drift = arr[f"{method}/drift"]
            rows.append({
                "cell": cell.key, "quadrant": cell.quadrant, "lr": cell.lr, "steps": cell.steps,
                "time": cell.lr * cell.steps, "method": method, "trials": n,
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


def pooled_report(finished: Finished) -> dict:
    """Pooled over a diagram's cells, per quadrant and method: runs, sign changes and successes (95 % Wilson),
    predicted vs observed sign changes over all decided runs (confusion, phi, AUC of the margin), and the step
    size law of the dense-level drift (slope of log |median drift| against log lr over cells of equal steps)."""
    out = {"by_quadrant_method": [], "drift_vs_lr": []}
    keys = sorted({(c.quadrant, m) for c, _ in finished for m in c.methods})
    for q, m in keys:
        flips, pred, edge, succ, margin = [], [], [], [], []
        for c, arr in finished:
            if c.quadrant != q or m not in c.methods:
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
    steps_set = sorted({c.steps for c, _ in finished})
    for q in sorted({c.quadrant for c, _ in finished}):
        for s_ in steps_set:
            cells = sorted([(c.lr, float(np.median(arr[f"{c.methods[0]}/drift"][:, 0])))
                            for c, arr in finished if c.quadrant == q and c.steps == s_], key=lambda t: t[0])
            if len(cells) >= 2 and all(dd < 0 for _, dd in cells):
                lr_, dd = np.array(cells).T
                slope = float(np.polyfit(np.log(lr_), np.log(-dd), 1)[0])
                out["drift_vs_lr"].append({"quadrant": q, "steps": s_, "lr": lr_.tolist(),
                                           "median_dense_drift": dd.tolist(), "loglog_slope": slope})
    return out


def flip_curves(rows: Rows) -> dict:
    """What the figure draws, from the summary rows: per (method, quadrant, lr) the fraction of runs in which
    a changed sign with its 95 % Wilson interval against the training time per level t = lr x steps (sorted
    by t); per (method, quadrant, steps) the magnitude of the median imbalance after dense GD against lr
    (sorted by lr)."""
    flips: dict[tuple, list] = {}
    drift: dict[tuple, list] = {}
    for r in rows:
        flips.setdefault((r["method"], r["quadrant"], float(r["lr"])), []).append(
            [float(r["time"]), r["a_flipped"] / r["trials"], r["flip_ci_low"], r["flip_ci_high"]])
        drift.setdefault((r["method"], r["quadrant"], int(r["steps"])), []).append(
            [float(r["lr"]), abs(r["dense_drift_median"])])
    return {"flip_fraction": [{"method": m, "quadrant": q, "lr": lr, "points": sorted(v)}
                              for (m, q, lr), v in sorted(flips.items())],
            "dense_drift": [{"method": m, "quadrant": q, "steps": s, "points": sorted(v)}
                            for (m, q, s), v in sorted(drift.items())]}


def fit_gd_sign(finished: Finished, rows: Rows) -> dict[str, dict]:
    """``pooled.json`` (:func:`pooled_report`) and ``flip_curves.json`` (:func:`flip_curves`)."""
    return {"pooled.json": pooled_report(finished), "flip_curves.json": flip_curves(rows)}
