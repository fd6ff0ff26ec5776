"""Registered experiments of paper 000 (single hidden neuron, Sec. 2.2-2.3, Fig. 2(a), Fig. 18).

Every cell runs the methods on the same data and initializations (a paired comparison) and stores, per
method and trial: success (sim.lrr.outcome), the population relative error, masks, parameters at the start
and end of every level, losses, sign changes of a and w_1 per level, and the theory's prediction
(sim.lrr.predictions).  n is not stated in the paper for Fig. 2(a)/18; we use n = 1000 at paper scale.
"""

from __future__ import annotations

import numpy as np

from sim.lrr.cycles import CycleConfig, run_cycles
from sim.lrr.imbalance import gd_sign_cell, gd_sign_cells, summarize_gd_sign, write_pooled_report
from sim.core.intervals import wilson
from sim.lrr.neuron import QUADRANT_NAMES, NeuronProblem, sample
from sim.lrr.predictions import predicted_success
from sim.core.registry import Diagram, register
from sim.lrr.trainers import trainer_from_dict


def _lbfgs(epochs: int) -> dict:
    return {"name": "lbfgs", "epochs": epochs}


def cell_problem(cell: dict) -> NeuronProblem:
    """The trials of a single-neuron cell (with the cell's seed, :func:`sim.lrr.neuron.sample` draws them)."""
    return NeuronProblem(d=cell["d"], n=cell["n"], sigma=cell["sigma"], trials=cell["trials"],
                         quadrant=cell.get("quadrant"), init_scale=cell.get("init_scale", 1.0))


def cell_cycles(cell: dict, **override) -> CycleConfig:
    """The pruning cycles of a single-neuron cell (``override``: e.g. another rewind_step for another trainer)."""
    return CycleConfig(**{"levels": cell.get("levels", 3), "sparsity": cell.get("sparsity", 0.9),
                          "rewind_step": cell.get("rewind_step", 10), "methods": tuple(cell["methods"]),
                          "final_keep": cell.get("final_keep")} | override)


def run_neuron_cell(cell: dict, seed: int, device: str) -> dict[str, np.ndarray]:
    problem = cell_problem(cell)
    trainer = trainer_from_dict(cell["trainer"])
    cfg = cell_cycles(cell)
    batch = sample(problem, seed, device)
    records = run_cycles(batch, trainer, cfg)
    theta0 = batch.theta0.cpu().numpy()
    out = {"a0": theta0[:, 0], "w10": theta0[:, 1], "seed": np.array(seed)}
    for method, rec in records.items():
        for k, v in rec.arrays().items():
            out[f"{method}/{k}"] = v
        if method == "wr":  # WR restarts from the rewinding point: its signs decide
            start = rec.theta_start[:, min(1, rec.theta_start.shape[1] - 1)]
            a_s, w_s = start[:, 0], start[:, 1]
        else:
            a_s, w_s = theta0[:, 0], theta0[:, 1]
        out[f"{method}/predicted"] = predicted_success(method, a_s, w_s, problem.d)
    return out


def summarize_neuron(finished: list[tuple[dict, dict]]) -> list[dict]:
    rows = []
    for cell, arr in finished:
        for method in cell["methods"]:
            s = arr[f"{method}/success"].astype(bool)
            k, n = int(s.sum()), s.size
            lo, hi = wilson(k, n)
            rel = arr[f"{method}/rel_error"][:, -1]
            # L-BFGS without a line search can step off to overflow on a ReLU kink (as torch.optim.LBFGS
            # can): such a run is a failure, counted here, and left out of the median error
            diverged = ~np.isfinite(arr[f"{method}/theta_end"][:, -1]).all(axis=1)
            rows.append({
                "cell": cell["key"], "d": cell["d"], "n": cell["n"], "sigma": cell["sigma"],
                "quadrant": cell.get("quadrant") or "any", "trainer": cell["trainer"]["name"], "method": method,
                "trials": n, "successes": k, "rate": round(k / n, 4), "ci_low": round(float(lo), 4),
                "ci_high": round(float(hi), 4),
                "predicted": round(float(arr[f"{method}/predicted"].mean()), 4),
                "mask_correct": round(float(arr[f"{method}/masks"][:, -1, 0].mean()), 4),
                "median_rel_error": float(np.median(rel[~diverged])) if (~diverged).any() else float("nan"),
                "diverged": int(diverged.sum()),
                "dense_w1_flips": round(float(arr[f"{method}/flips_w1"][:, 0].mean()), 3),
                "a_sign_changed": round(float((np.sign(arr[f"{method}/theta_end"][:, -1, 0]) != np.sign(arr["a0"])).mean()), 4),
            })
    return rows


def _quadrant_cells(ds, n, sigma, trials, trainer, methods, rewind_step=10, quadrants=tuple(QUADRANT_NAMES),
                    final_keep=None):
    cells = [{"key": f"d{d}_q{q.replace('+', 'p').replace('-', 'm')}", "d": d, "n": n, "sigma": sigma,
              "quadrant": q, "trials": trials, "trainer": trainer, "methods": list(methods),
              "levels": 3, "sparsity": 0.9, "rewind_step": rewind_step} for d in ds for q in quadrants]
    if final_keep is not None:
        for c in cells:
            c["final_keep"] = final_keep
    return cells


def _grid_cells(p: dict) -> list[dict]:
    cells = []
    for d in p["d"]:
        for other in p[p["axis"]]:
            sigma = other if p["axis"] == "sigma" else p["sigma"]
            n = other if p["axis"] == "n" else p["n"]
            cells.append({"key": f"d{d}_{p['axis']}{other:g}", "d": d, "n": n, "sigma": sigma, "quadrant": None,
                          "trials": p["trials"], "trainer": _lbfgs(p["epochs"]), "methods": ["lrr", "imp"],
                          "levels": 3, "sparsity": 0.9, "rewind_step": 10})
    return cells


def _plot_phase(out):
    from figures.lrr_phase_diagrams import plot
    return plot(out)


def _plot_quadrants(out):
    from figures.lrr_fig2a_sign_quadrants import plot
    return plot(out)


ALL = ("lrr", "imp", "wr", "imp-balanced")

LEGEND = {
    "d": "input dimension", "n": "training samples", "sigma": "label noise standard deviation",
    "quadrant": "signs of (a(0), w_1(0)) the runs were conditioned on ('any': fair independent signs)",
    "method": "lrr: keep trained weights; imp: rewind to theta(0); wr: rewind to the weights after rewind_step; "
              "imp-balanced: IMP with a rescaled to a^2 = ||w * mask||^2",
    "trials": "independent runs (data and initialization) in the cell",
    "rate": "fraction of runs that succeed (last mask keeps input 1 and population relative error < 0.1)",
    "ci_low": "95 % Wilson interval of rate, lower end", "ci_high": "95 % Wilson interval of rate, upper end",
    "predicted": "Theorems 2.1/2.3 applied to each run's own signs (at the rewinding point for WR), averaged",
    "mask_correct": "fraction of runs whose last mask keeps input 1",
    "dense_w1_flips": "mean number of sign changes of w_1 during dense training (level 0)",
}

register(Diagram(
    name="lrr-phase-d-sigma",
    title="LRR vs IMP success probability over input dimension d and noise sigma (sign-symmetric init)",
    paper="000 Sec. 2.2-2.3 (Theorem 2.3: IMP ~ 1/4, LRR ~ 1/2 for d >= 2)",
    scales={
        "quick": {"axis": "sigma", "d": [1, 2, 5, 10], "sigma": [0.0, 0.1, 0.3, 1.0], "n": 200, "trials": 32,
                  "epochs": 10},
        "paper": {"axis": "sigma", "d": [1, 2, 5, 10, 20, 50], "sigma": [0.0, 0.05, 0.1, 0.3, 0.6, 1.0],
                  "n": 1000, "trials": 100, "epochs": 100},
    },
    cells=_grid_cells, run_cell=run_neuron_cell, summarize=summarize_neuron, plot=_plot_phase, legend=LEGEND))

register(Diagram(
    name="lrr-phase-d-n",
    title="LRR vs IMP success probability over input dimension d and sample size n (sigma = 0.1)",
    paper="000 Sec. 2.2-2.3 / A.1 finite-sample remarks",
    scales={
        "quick": {"axis": "n", "d": [1, 2, 5, 10], "n": [20, 50, 200], "sigma": 0.1, "trials": 32, "epochs": 10},
        "paper": {"axis": "n", "d": [1, 2, 5, 10, 20, 50], "n": [20, 50, 100, 200, 1000, 5000], "sigma": 0.1,
                  "trials": 100, "epochs": 100},
    },
    cells=_grid_cells, run_cell=run_neuron_cell, summarize=summarize_neuron, plot=_plot_phase, legend=LEGEND))

def _register_quadrants(name: str, title: str, paper: str, scales: dict, trainer, rewind_step: int = 10) -> None:
    """A per-sign-quadrant experiment (Fig. 2(a) / Fig. 18 style); ``trainer`` maps scale params to a spec;
    a scale with ``final_keep`` prunes to exactly that many inputs instead of 90 %."""
    register(Diagram(
        name=name, title=title, paper=paper, scales=scales,
        cells=lambda p: _quadrant_cells(p["ds"], p["n"], p["sigma"], p["trials"], trainer(p), ALL, rewind_step,
                                        final_keep=p.get("final_keep")),
        run_cell=run_neuron_cell, summarize=summarize_neuron, plot=_plot_quadrants, legend=LEGEND))


_register_quadrants(
    "lrr-fig2a", "Fig. 2(a): success of LRR, IMP, WR and balance-restoring IMP per sign quadrant (d = 10, L-BFGS)",
    "000 Fig. 2(a)",
    {"quick": {"ds": [10], "n": 1000, "sigma": 0.1, "trials": 25, "epochs": 20},
     "paper": {"ds": [10], "n": 1000, "sigma": 0.1, "trials": 100, "epochs": 1000}},
    lambda p: _lbfgs(p["epochs"]))

_register_quadrants(
    "lrr-fig18", "Fig. 18: success per sign quadrant against input dimension d (L-BFGS)", "000 Fig. 18",
    {"quick": {"ds": [1, 2, 5, 10], "n": 500, "sigma": 0.1, "trials": 16, "epochs": 10},
     "paper": {"ds": [1, 2, 5, 10, 20, 50], "n": 1000, "sigma": 0.1, "trials": 100, "epochs": 1000}},
    lambda p: _lbfgs(p["epochs"]))

_register_quadrants(
    "lrr-fig18-one-input", "Fig. 18 pruned to one single input at every d (3 levels, same fraction each; L-BFGS)",
    "000 Fig. 18, Sec. 2.3 (\"so that only one single input remains\")",
    {"quick": {"ds": [1, 2, 5, 10, 20], "n": 500, "sigma": 0.1, "trials": 16, "epochs": 10, "final_keep": 1},
     "paper": {"ds": [1, 2, 5, 10, 20, 50], "n": 1000, "sigma": 0.1, "trials": 100, "epochs": 1000, "final_keep": 1}},
    lambda p: _lbfgs(p["epochs"]))

_register_quadrants(
    "lrr-fig2a-flow", "Fig. 2(a) with the exact gradient flow of eq. (7) instead of L-BFGS (rewinding point t = 1)",
    "000 Fig. 2(a), Theorems 2.1/2.3",
    {"quick": {"ds": [10], "n": 200, "sigma": 0.1, "trials": 6, "t_end": 60.0},
     "paper": {"ds": [10], "n": 1000, "sigma": 0.1, "trials": 100, "t_end": 200.0}},
    lambda p: {"name": "flow", "t_end": p["t_end"]}, rewind_step=1)

_register_quadrants(
    "lrr-fig2a-gd", "Fig. 2(a) with full-batch gradient descent (lr = 0.5) instead of L-BFGS", "000 Fig. 2(a)",
    {"quick": {"ds": [10], "n": 1000, "sigma": 0.1, "trials": 25, "steps": 400},
     "paper": {"ds": [10], "n": 1000, "sigma": 0.1, "trials": 100, "steps": 20000}},
    lambda p: {"name": "gd", "lr": 0.5, "steps": p["steps"]})

# When does GD change the sign of a (Lemma 2.2)?  Counts against step size x steps per level, with the
# imbalance bookkeeping and the per-run prediction of sim.lrr.imbalance.

register(Diagram(
    name="lrr-gd-sign-changes",
    title="Sign changes of a under GD (LRR, IMP, IMP-balanced) against step size and steps per level, with the "
          "imbalance drift a^2 - ||w||^2 and its per-run prediction",
    paper="000 Lemma 2.2, Fig. 2(a) with GD",
    scales={
        "quick": {"quadrants": ["-+", "--"], "d": 10, "n": 1000, "sigma": 0.1, "trials": 8, "lrs": [0.5, 2.0],
                  "steps": [400, 2000], "methods": ["lrr", "imp", "imp-balanced"]},
        "paper": {"quadrants": ["-+", "--"], "d": 10, "n": 1000, "sigma": 0.1, "trials": 12,
                  "lrs": [0.05, 0.1, 0.5, 2.0], "steps": [400, 2000],
                  "extra": [["-+", 0.1, 8000], ["-+", 0.5, 8000]], "methods": ["lrr", "imp", "imp-balanced"]},
    },
    cells=gd_sign_cells, run_cell=gd_sign_cell, summarize=summarize_gd_sign, plot=write_pooled_report,
    legend=LEGEND | {
        "lr": "GD step size", "steps": "GD steps per level", "time": "training time per level, lr x steps",
        "a_flipped": "runs in which a changed sign at some level",
        "flip_ci_low": "95 % Wilson interval of a_flipped / trials, lower end", "flip_ci_high": "upper end",
        "successes": "runs that succeed", "success_and_flipped": "successes in which a changed sign",
        "jump_flips": "sign changes by a step across a = 0 with a^2 - ||w||^2 >= 0 (none: every crossing went "
                      "through the drifted hyperbola)",
        "dense_drift_median": "median a^2 - ||w||^2 after dense GD (the flow keeps it at 0; O(lr) at equal time)",
        "predicted": "runs the balanced reference predicts to flip", "false_neg": "flips it missed",
        "knife_edge": "runs at the exactly balanced one-input saddle (round-off decides)"}))
