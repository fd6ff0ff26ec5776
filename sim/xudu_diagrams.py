"""Registered experiments of paper 002 (Xu & Du 2023): over-parameterization slows gradient descent.

Each cell trains ``trials`` independent small random initializations of n students (batched) by GD on
the exact population loss (or on N samples, or by scipy gradient flow), records the trajectory
(:mod:`sim.overparam`) and fits per trial (:mod:`sim.rates`): the last-decade log-log slope, the
offset-corrected exponent of L = C (T + T0)^-p, the linear rate (n = 1), the phase times T1, T2, and
Z(T) T at the end (our separation potential; ~constant when Z ~ 1/T).
"""

from __future__ import annotations

import numpy as np
import torch

from sim.overparam import (GD, OverparamProblem, hessian_at_teacher, initial_students, linear_rate_of_gd, run_flow,
                           run_gd, sample_data, teacher)
from sim.rates import linear_rate, median_ci, phases, power_law_exponent, shifted_power_law
from sim.registry import Diagram, register

COLUMNS = ("n", "d", "init_scale", "samples", "trainer", "trials", "slope", "exponent", "exp_ci_low", "exp_ci_high",
           "predicted_exponent", "linear_rate", "predicted_linear_rate", "final_loss", "T1", "T2", "ZT_end", "dead")


def _problem(cell: dict) -> OverparamProblem:
    """The cell's problem: with its seed it fixes the students' start and the data (``sample_data``)."""
    return OverparamProblem(n=cell["n"], d=cell["d"], trials=cell["trials"], init_scale=cell["init_scale"],
                            samples=cell.get("samples"))


def run_overparam_cell(cell: dict, seed: int, device: str) -> dict[str, np.ndarray]:
    problem = _problem(cell)
    W0 = initial_students(problem, seed, device)
    v = teacher(problem, device)
    if cell["trainer"] == "flow":
        traj = run_flow(W0, v, t_end=cell["t_end"])
    else:
        data = sample_data(problem, seed, device) if problem.samples else None
        traj = run_gd(W0, v, GD(lr=cell["lr"], steps=cell["steps"]), data=data)
    out = traj.arrays()
    out["slope"], out["slope_se"] = power_law_exponent(traj.t, traj.loss)
    out["exponent"], out["exponent_se"] = shifted_power_law(traj.t, traj.loss)
    out["linear_rate"] = linear_rate(traj.t, traj.loss)
    out["T1"], out["T2"] = phases(traj.t, traj.theta, traj.loss, traj.linear)
    out["ZT_end"] = traj.Z[:, -1] * traj.t[-1]
    out["seed"] = np.array(seed)
    return out


def predicted_linear_rate(cell: dict, seed: int | None = None) -> float:
    """n = 1: log-loss slope per GD step 2 log(1 - lr lam_min) with lam_min the smallest eigenvalue of the
    Hessian at w = v: 1/2 for the population loss (so 2 log(1 - lr/2)), and for N samples that of the
    empirical Hessian of the cell's own data (regenerated from ``seed``; median over the trials); -1 per
    unit time for the population flow."""
    if cell["n"] != 1:
        return float("nan")
    if cell["trainer"] == "flow":
        return -1.0
    if not cell.get("samples"):
        return float(linear_rate_of_gd(cell["lr"], 0.5))
    if seed is None:
        raise ValueError("the finite-sample prediction needs the cell's seed (its data)")
    problem = _problem(cell)
    X, _ = sample_data(problem, seed)  # the cell's own data, as run_overparam_cell drew it
    lam = torch.linalg.eigvalsh(hessian_at_teacher(X, teacher(problem)))[:, 0].numpy()
    return float(np.median(linear_rate_of_gd(cell["lr"], lam)))


def summarize_overparam(finished: list[tuple[dict, dict]]) -> list[dict]:
    rows = []
    for cell, arr in finished:
        e, lo, hi = median_ci(arr["exponent"])
        rows.append({
            "cell": cell["key"], "n": cell["n"], "d": cell["d"], "init_scale": cell["init_scale"],
            "samples": cell.get("samples") or "population", "trainer": cell["trainer"],
            "lr": cell.get("lr", ""), "horizon": cell.get("steps", cell.get("t_end")), "trials": cell["trials"],
            "slope": round(median_ci(arr["slope"])[0], 4), "exponent": round(e, 4), "exp_ci_low": round(lo, 4),
            "exp_ci_high": round(hi, 4), "predicted_exponent": -3 if cell["n"] >= 2 else "",
            "linear_rate": float(f"{np.nanmedian(arr['linear_rate']):.6g}") if np.isfinite(arr["linear_rate"]).any() else "",
            "predicted_linear_rate": (float(f"{predicted_linear_rate(cell, int(arr['seed'])):.6g}")
                                      if cell["n"] == 1 else ""),
            "final_loss": float(f"{np.median(arr['loss'][:, -1]):.3g}"),
            "final_empirical": float(f"{np.median(arr['empirical'][:, -1]):.3g}") if "empirical" in arr else "",
            "T1": float(np.nanmedian(arr["T1"])) if np.isfinite(arr["T1"]).any() else "",
            "T2": float(np.nanmedian(arr["T2"])) if np.isfinite(arr["T2"]).any() else "",
            "ZT_end": round(float(np.median(arr["ZT_end"])), 3), "dead": int(arr["dead"].sum()),
        })
    return rows


def _cell(n, d, init_scale, trials, trainer="gd", lr=None, steps=None, t_end=None, samples=None) -> dict:
    key = f"n{n}_d{d}_s{init_scale:g}" + (f"_N{samples}" if samples else "") + ("_flow" if trainer == "flow" else "")
    cell = {"key": key, "n": n, "d": d, "init_scale": init_scale, "trials": trials, "trainer": trainer}
    if trainer == "flow":
        cell["t_end"] = t_end
    else:
        cell |= {"lr": lr, "steps": steps}
    if samples:
        cell["samples"] = samples
    return cell


def _rates_cells(p):
    return [_cell(n, p["d"], p["init_scale"], p["trials"], lr=p["lr"], steps=p["steps"]) for n in p["ns"]]


def _grid_cells(p):
    axis = p["axis"]
    cells = []
    for n in p["ns"]:
        for val in p[axis]:
            d = val if axis == "ds" else p["d"]
            s = val if axis == "init_scales" else p["init_scale"]
            cells.append(_cell(n, d, s, p["trials"], lr=p["lr"], steps=p["steps"]))
    return cells


def _sample_cells(p):
    return [_cell(n, p["d"], p["init_scale"], p["trials"], lr=p["lr"], steps=p["steps"], samples=N)
            for n in p["ns"] for N in p["samples"]]


def _flow_cells(p):
    return [_cell(n, p["d"], p["init_scale"], p["trials"], trainer="flow", t_end=p["t_end"]) for n in p["ns"]]


def _plot(kind):
    def plot(out):
        from figures import xudu_slowdown
        return xudu_slowdown.plot(out, kind)
    return plot


PAPER = "002 (Xu & Du 2023) Theorems 1-2"

register(Diagram(
    name="xudu-rates", title="Loss against GD steps for n = 1 (linear) and n >= 2 students (T^-3), with the phases",
    paper=PAPER + "; abstract (exp(-Omega(T)) for n = 1)",
    scales={"quick": {"ns": [1, 2, 3, 5, 10], "d": 10, "init_scale": 1e-2, "lr": 0.1, "steps": 20000, "trials": 8},
            "paper": {"ns": [1, 2, 3, 5, 10, 20, 50], "d": 10, "init_scale": 1e-2, "lr": 0.05, "steps": 1_000_000,
                      "trials": 16}},
    cells=_rates_cells, run_cell=run_overparam_cell, summarize=summarize_overparam, plot=_plot("rates"),
    columns=COLUMNS))

register(Diagram(
    name="xudu-exponent-n-init", title="Fitted late-phase exponent of L(T) over n x initialization scale",
    paper=PAPER,
    scales={"quick": {"axis": "init_scales", "ns": [2, 3, 5], "init_scales": [1e-3, 1e-2, 1e-1], "d": 10, "lr": 0.1,
                      "steps": 10000, "trials": 6},
            "paper": {"axis": "init_scales", "ns": [2, 3, 5, 10, 20], "init_scales": [1e-4, 1e-3, 1e-2, 1e-1, 1.0],
                      "d": 10, "lr": 0.05, "steps": 200_000, "trials": 16}},
    cells=_grid_cells, run_cell=run_overparam_cell, summarize=summarize_overparam, plot=_plot("grid"),
    columns=COLUMNS))

register(Diagram(
    name="xudu-exponent-n-d", title="Fitted late-phase exponent of L(T) over n x input dimension d",
    paper=PAPER,
    scales={"quick": {"axis": "ds", "ns": [2, 3, 5], "ds": [2, 5, 20], "init_scale": 1e-2, "lr": 0.1,
                      "steps": 10000, "trials": 6},
            "paper": {"axis": "ds", "ns": [2, 3, 5, 10, 20], "ds": [2, 5, 10, 50, 100], "init_scale": 1e-2,
                      "lr": 0.05, "steps": 200_000, "trials": 16}},
    cells=_grid_cells, run_cell=run_overparam_cell, summarize=summarize_overparam, plot=_plot("grid"),
    columns=COLUMNS))

register(Diagram(
    name="xudu-finite-sample", title="Empirical GD on N samples: where the population picture (T^-3 / linear) holds",
    paper=PAPER + " (population loss); finite-sample variant is ours",
    scales={"quick": {"ns": [1, 3], "samples": [100, 1000, 10000], "d": 5, "init_scale": 1e-2, "lr": 0.1,
                      "steps": 8000, "trials": 4},
            "paper": {"ns": [1, 2, 5], "samples": [100, 300, 1000, 3000, 10000, 30000], "d": 10, "init_scale": 1e-2,
                      "lr": 0.05, "steps": 100_000, "trials": 8}},
    cells=_sample_cells, run_cell=run_overparam_cell, summarize=summarize_overparam, plot=_plot("samples"),
    columns=COLUMNS))

register(Diagram(
    name="xudu-flow", title="Gradient flow (scipy LSODA): the Omega(T^-3) lower-bound setting, n = 1 linear",
    paper="002 Theorem 2 (gradient flow lower bound)",
    scales={"quick": {"ns": [1, 2, 3], "d": 5, "init_scale": 1e-2, "t_end": 1e4, "trials": 3},
            "paper": {"ns": [1, 2, 3, 5, 10], "d": 10, "init_scale": 1e-2, "t_end": 1e6, "trials": 10}},
    cells=_flow_cells, run_cell=run_overparam_cell, summarize=summarize_overparam, plot=_plot("rates"),
    columns=COLUMNS))
