"""Registered experiments of paper 002 (Xu & Du 2023): over-parameterization slows gradient descent.

Each cell trains ``trials`` independent small random initializations of n students (batched) by GD on
the exact population loss (or on N samples, or by scipy gradient flow), records the trajectory
(:mod:`sim.xudu.overparam`) and fits per trial (:mod:`sim.xudu.rates`): the last-decade log-log slope, the
offset-corrected exponent of L = C (T + T0)^-p, the linear rate (n = 1), the phase times T1, T2, and
Z(T) T at the end (our separation potential; ~constant when Z ~ 1/T).

Two estimates of the late exponent are saved side by side (cells/*.npz and summary.csv):

* ``exponent`` [``exp_ci_low``, ``exp_ci_high``]: the offset fit L = C (T + T0)^p over the last decade
  (:func:`sim.xudu.rates.shifted_power_law`), median over seeds with a 95 % bootstrap-over-seeds interval.  The
  interval is **conditional on the model**: it is the seed-to-seed spread of the fitted p assuming the
  shifted power law is exact on the window, and it can be [-3.0000, -3.0000] while the loss itself still
  decays more slowly than T^-3 at the horizon.
* ``p_loc_end`` [``p_loc_ci_low``, ``p_loc_ci_high``]: the **model-free** local exponent
  d log L / d log T at the end of the run, from the last two records of the loss trace
  (:func:`sim.xudu.rates.late_local_exponent`), median over seeds with the same bootstrap-over-seeds interval.
  No law is assumed; it is the logarithmic slope *at T_end*, so for a power law with an offset or
  corrections it lies between the finite-T value and the asymptote (biased towards 0 by ~ p T0/T).
  ``p_loc_decade_before`` is the same one decade earlier (the drift still present at the horizon), and
  ``p_grad_end`` is the same quantity without any differencing of the trace: from the gradient at the
  final weights, -t ||grad L||^2 / L for the flow (exact identity dL/dt = -||grad L||^2) and, for GD, the
  exact one-step value (T + 1/2) log(L(T + 1)/L(T)) (population loss only; empty for the finite-sample
  cells, whose GD follows the empirical loss).  For the flow at long horizons (t >~ 1e6) this gradient form
  is fragile: any integrator error off the slow manifold (in the fast linear mode, Hessian ~ n/2) adds
  ~ t n ||e||^2/(4 L) to it, so single seeds can read -4 to -20 at t = 1e7 while the trace reads -3.000;
  quote the trace value and use ``p_grad_end`` as a check where the two agree.  The per-record curve is
  saved as ``t_loc``, ``p_loc``.

Every number the figures print is computed here and saved in ``fits.json`` (:func:`fit_overparam`): the two
exponents unrounded with their intervals, where each median loss curve reaches the float64 floor or else its
last-decade slope, and per trial where Z(T) T levels off.  Each scale is a frozen dataclass whose defaults are
the quick scale (the paper scale changes some of them); each cell is an :class:`OverparamCell`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
import torch

from sim.core.config import param
from sim.core.intervals import median_ci
from sim.core.registry import Diagram, Finished, Rows, register
from sim.xudu.overparam import (GD, OverparamProblem, hessian_at_teacher, initial_students, linear_rate_of_gd, run_flow,
                                run_gd, sample_data, teacher)
from sim.xudu.rates import (FLOOR, flat_from, gradient_local_exponent, late_local_exponent, linear_rate,
                            local_exponent, median_loss_end, phases, power_law_exponent, rise_until,
                            shifted_power_law, step_local_exponent)

COLUMNS = ("n", "d", "init_scale", "samples", "trainer", "trials", "slope", "exponent", "exp_ci_low", "exp_ci_high",
           "predicted_exponent", "p_loc_end", "p_loc_ci_low", "p_loc_ci_high", "p_loc_decade_before",
           "p_grad_end", "linear_rate", "predicted_linear_rate", "final_loss", "T1", "T2", "ZT_end", "dead")


LEGEND = {
    "n": "student neurons (n = 1: exact parameterization)", "d": "input dimension",
    "init_scale": "initialization scale s: w_i(0) ~ N(0, s^2 I/d)",
    "samples": "training samples N ('population': the exact population loss)",
    "trainer": "gd (steps) or flow (scipy LSODA, time)", "trials": "seeds",
    "slope": "plain log-log slope of L over the last decade (biased towards 0 by the phase offset T0)",
    "exponent": "p of L = C (T + T0)^p over the last decade, median over seeds: THE number compared with the "
                "paper's T^-3 (it removes the offset bias of 'slope'); conditional on that law",
    "exp_ci_low": "95 % bootstrap over seeds of 'exponent', lower end (given the shifted power law)",
    "exp_ci_high": "95 % bootstrap over seeds of 'exponent', upper end",
    "predicted_exponent": "the paper's rate for n >= 2 (-3)",
    "p_loc_end": "model-free local exponent d log L / d log T at the end (no law fitted; the slope at that horizon)",
    "p_loc_ci_low": "95 % bootstrap over seeds of p_loc_end, lower end",
    "p_loc_ci_high": "95 % bootstrap over seeds of p_loc_end, upper end",
    "p_loc_decade_before": "p_loc one decade earlier: how much it still moves",
    "p_grad_end": "p_loc from the final weights (one more GD step, or -t ||grad||^2 / L for the flow)",
    "linear_rate": "n = 1: slope of log L per step (or unit time)",
    "predicted_linear_rate": "n = 1: 2 log(1 - lr/2) for GD (Hessian I/2), -1 for the flow",
    "final_loss": "loss at the end", "T1": "end of phase 1 (max angle <= 0.1)",
    "T2": "start of the slow phase (angular part of L >= linear part)", "ZT_end": "separation potential Z times T at the end",
    "dead": "students with w_i = 0 at the end",
}


@dataclass(frozen=True)
class OverparamCell:
    """One grid cell: ``trials`` independent initializations of n students in dimension d (scale
    ``init_scale``), trained by GD (step ``lr``, ``steps`` steps; on N = ``samples`` inputs, or on the
    population loss when None) or by the gradient flow up to time ``t_end``.  Its ``key`` names its file and
    seeds its random stream."""

    n: int
    d: int
    init_scale: float
    trials: int
    trainer: str = "gd"
    lr: float | None = None
    steps: int | None = None
    t_end: float | None = None
    samples: int | None = None

    def __post_init__(self):
        if self.trainer == "gd":
            if self.lr is None or self.steps is None or self.t_end is not None:
                raise ValueError(f"a GD cell needs lr and steps and no t_end (got lr={self.lr!r}, "
                                 f"steps={self.steps!r}, t_end={self.t_end!r})")
        elif self.trainer == "flow":
            if self.t_end is None or self.lr is not None or self.steps is not None or self.samples is not None:
                raise ValueError(f"a flow cell needs t_end and no lr, steps or samples (got t_end={self.t_end!r}, "
                                 f"lr={self.lr!r}, steps={self.steps!r}, samples={self.samples!r})")
        else:
            raise ValueError(f"trainer must be 'gd' or 'flow' (got {self.trainer!r})")

    @property
    def key(self) -> str:
        return (f"n{self.n}_d{self.d}_s{self.init_scale:g}" + (f"_N{self.samples}" if self.samples else "")
                + ("_flow" if self.trainer == "flow" else ""))

    @property
    def horizon(self) -> int | float:
        """GD steps or flow time at the end of the run."""
        return self.steps if self.trainer == "gd" else self.t_end


def _problem(cell: OverparamCell) -> OverparamProblem:
    """The cell's problem: with its seed it fixes the students' start and the data (``sample_data``)."""
    return OverparamProblem(n=cell.n, d=cell.d, trials=cell.trials, init_scale=cell.init_scale, samples=cell.samples)


def run_overparam_cell(cell: OverparamCell, seed: int, device: str) -> dict[str, np.ndarray]:
    problem = _problem(cell)
    W0 = initial_students(problem, seed, device)
    v = teacher(problem, device)
    if cell.trainer == "flow":
        traj = run_flow(W0, v, t_end=cell.t_end)
    else:
        data = sample_data(problem, seed, device) if problem.samples else None
        traj = run_gd(W0, v, GD(lr=cell.lr, steps=cell.steps), data=data)
    out = traj.arrays()
    out["slope"], out["slope_se"] = power_law_exponent(traj.t, traj.loss)
    out["exponent"], out["exponent_se"] = shifted_power_law(traj.t, traj.loss)
    out["linear_rate"] = linear_rate(traj.t, traj.loss)
    out["T1"], out["T2"] = phases(traj.t, traj.theta, traj.loss, traj.linear)
    out["ZT_end"] = traj.Z[:, -1] * traj.t[-1]
    out["t_loc"], out["p_loc"] = local_exponent(traj.t, traj.loss)
    out["p_loc_end"], out["p_loc_before"] = late_local_exponent(traj.t, traj.loss)
    out["p_grad_end"] = end_gradient_exponent(cell, traj.W_final, v, traj.t[-1])
    out["seed"] = np.array(seed)
    return out


def end_gradient_exponent(cell: OverparamCell, W_final: np.ndarray, v: torch.Tensor, t_end: float) -> np.ndarray:
    """Model-free local exponent at the end of the run from the final weights alone (no trace, no fit):
    gradient flow: -t ||grad L||^2 / L; population GD: (T + 1/2) log(L(T + 1)/L(T)) with one more step
    of the cell's lr.  nan for the finite-sample cells (their GD descends the empirical loss)."""
    from theory.xudu.overparam_neuron import Geometry

    W = torch.as_tensor(W_final, dtype=torch.float64, device=v.device)
    geo = Geometry(W, v)
    loss, grad = geo.loss(), geo.grad()
    if cell.trainer == "flow":
        gsq = (grad ** 2).sum((-1, -2))
        return gradient_local_exponent(t_end, loss.cpu().numpy(), gsq.cpu().numpy())
    if cell.samples:
        return np.full(W.shape[0], np.nan)
    nxt = Geometry(W - cell.lr * grad, v).loss()
    return step_local_exponent(t_end, loss.cpu().numpy(), nxt.cpu().numpy())


def predicted_linear_rate(cell: OverparamCell, seed: int | None = None) -> float:
    """n = 1: log-loss slope per GD step 2 log(1 - lr lam_min) with lam_min the smallest eigenvalue of the
    Hessian at w = v: 1/2 for the population loss (so 2 log(1 - lr/2)), and for N samples that of the
    empirical Hessian of the cell's own data (regenerated from ``seed``; median over the trials); -1 per
    unit time for the population flow."""
    if cell.n != 1:
        return float("nan")
    if cell.trainer == "flow":
        return -1.0
    if not cell.samples:
        return float(linear_rate_of_gd(cell.lr, 0.5))
    if seed is None:
        raise ValueError("the finite-sample prediction needs the cell's seed (its data)")
    problem = _problem(cell)
    X, _ = sample_data(problem, seed)  # the cell's own data, as run_overparam_cell drew it
    lam = torch.linalg.eigvalsh(hessian_at_teacher(X, teacher(problem)))[:, 0].numpy()
    return float(np.median(linear_rate_of_gd(cell.lr, lam)))


def summarize_overparam(finished: Finished) -> Rows:
    rows = []
    for cell, arr in finished:
        e, lo, hi = median_ci(arr["exponent"])
        ploc = _model_free(arr)
        rows.append({
            "cell": cell.key, "n": cell.n, "d": cell.d, "init_scale": cell.init_scale,
            "samples": cell.samples or "population", "trainer": cell.trainer,
            "lr": "" if cell.lr is None else cell.lr, "horizon": cell.horizon, "trials": cell.trials,
            "slope": round(median_ci(arr["slope"])[0], 4), "exponent": round(e, 4), "exp_ci_low": round(lo, 4),
            "exp_ci_high": round(hi, 4), "predicted_exponent": -3 if cell.n >= 2 else "",
            **ploc,
            "linear_rate": float(f"{np.nanmedian(arr['linear_rate']):.6g}") if np.isfinite(arr["linear_rate"]).any() else "",
            "predicted_linear_rate": (float(f"{predicted_linear_rate(cell, int(arr['seed'])):.6g}")
                                      if cell.n == 1 else ""),
            "final_loss": float(f"{np.median(arr['loss'][:, -1]):.3g}"),
            "final_empirical": float(f"{np.median(arr['empirical'][:, -1]):.3g}") if "empirical" in arr else "",
            "T1": float(np.nanmedian(arr["T1"])) if np.isfinite(arr["T1"]).any() else "",
            "T2": float(np.nanmedian(arr["T2"])) if np.isfinite(arr["T2"]).any() else "",
            "ZT_end": round(float(np.median(arr["ZT_end"])), 3), "dead": int(arr["dead"].sum()),
        })
    return rows


def _model_free(arr: dict) -> dict:
    """The model-free columns (see the module docstring); empty for cells saved before they existed."""
    def fmt(x):
        return round(float(x), 4) if np.isfinite(x) else ""

    if "p_loc_end" not in arr:
        return {k: "" for k in ("p_loc_end", "p_loc_ci_low", "p_loc_ci_high", "p_loc_decade_before", "p_grad_end")}
    m, lo, hi = median_ci(arr["p_loc_end"])
    before = arr["p_loc_before"]
    grad = arr["p_grad_end"]
    return {"p_loc_end": fmt(m), "p_loc_ci_low": fmt(lo), "p_loc_ci_high": fmt(hi),
            "p_loc_decade_before": fmt(np.nanmedian(before)) if np.isfinite(before).any() else "",
            "p_grad_end": fmt(np.nanmedian(grad)) if np.isfinite(grad).any() else ""}


def _finite(x) -> float | None:
    """A JSON number, or None where there is none (no fit, never reached)."""
    x = float(x)
    return x if np.isfinite(x) else None


def _interval(values: np.ndarray) -> dict:
    m, lo, hi = median_ci(values)
    return {"median": _finite(m), "ci_low": _finite(lo), "ci_high": _finite(hi)}


def fit_overparam(finished: Finished, rows: Rows) -> dict[str, dict]:
    """``fits.json``: per cell (by key), the numbers the figures show, unrounded: the offset-fit exponent and
    the model-free end exponent, each as the median over seeds with its 95 % bootstrap interval; for the
    median loss curve, where it reaches the float64 floor or else its last-decade log-log slope; per trial,
    where Z(T) T levels off and how many decades it rose before.  With them the floors below which a loss
    (``loss_floor``) or the residual ||v|| - H (``residual_floor``, linear in the weights) is round-off."""
    cells = {}
    for cell, arr in finished:
        t = arr["t"]
        floor_at, slope = median_loss_end(t, np.median(arr["loss"], axis=0))
        flat = [flat_from(t, Z * t) for Z in arr["Z"]]
        out = {"exponent": _interval(arr["exponent"])}
        if "p_loc_end" in arr:
            out["p_loc_end"] = _interval(arr["p_loc_end"])
        out |= {"median_loss_floor_at": _finite(floor_at), "median_loss_last_decade_slope": _finite(slope),
                "ZT_flat_from": [_finite(f) for f in flat],
                "ZT_rise_decades": [_finite(rise_until(t, Z * t, f)) if np.isfinite(f) else None
                                    for Z, f in zip(arr["Z"], flat)]}
        cells[cell.key] = out
    return {"fits.json": {"loss_floor": FLOOR, "residual_floor": float(np.sqrt(FLOOR)), "cells": cells}}


# ---- the grid of each diagram -----------------------------------------------------------------------------

def _gd(n, d, init_scale, trials, lr, steps, samples=None) -> OverparamCell:
    return OverparamCell(n=n, d=d, init_scale=init_scale, trials=trials, lr=lr, steps=steps, samples=samples)


def _flow(n, d, init_scale, trials, t_end) -> OverparamCell:
    return OverparamCell(n=n, d=d, init_scale=init_scale, trials=trials, trainer="flow", t_end=t_end)


@dataclass(frozen=True)
class RatesScale:
    """xudu-rates: GD on the population loss for each n (defaults: the quick scale)."""

    ns: tuple[int, ...] = param((1, 2, 3, 5, 10), "numbers of student neurons n (one cell each)")
    d: int = param(10, "input dimension d")
    init_scale: float = param(1e-2, "initialization scale s: w_i(0) ~ N(0, s^2 I/d)")
    lr: float = param(0.1, "GD step size")
    steps: int = param(20000, "GD steps")
    trials: int = param(8, "independent initializations (seeds) per cell")

    def cells(self) -> list[OverparamCell]:
        return [_gd(n, self.d, self.init_scale, self.trials, self.lr, self.steps) for n in self.ns]


@dataclass(frozen=True)
class InitGridScale:
    """xudu-exponent-n-init: GD over n x initialization scale (defaults: the quick scale)."""

    axis: Literal["init_scales"] = param("init_scales", "the grid's second axis (fixed for this diagram)")
    ns: tuple[int, ...] = param((2, 3, 5), "numbers of student neurons n (the grid's rows)")
    init_scales: tuple[float, ...] = param((1e-3, 1e-2, 1e-1), "initialization scales s (the grid's columns)")
    d: int = param(10, "input dimension d")
    lr: float = param(0.1, "GD step size")
    steps: int = param(10000, "GD steps")
    trials: int = param(6, "independent initializations (seeds) per cell")

    def cells(self) -> list[OverparamCell]:
        return [_gd(n, self.d, s, self.trials, self.lr, self.steps) for n in self.ns for s in self.init_scales]


@dataclass(frozen=True)
class DimGridScale:
    """xudu-exponent-n-d: GD over n x input dimension d (defaults: the quick scale)."""

    axis: Literal["ds"] = param("ds", "the grid's second axis (fixed for this diagram)")
    ns: tuple[int, ...] = param((2, 3, 5), "numbers of student neurons n (the grid's rows)")
    ds: tuple[int, ...] = param((2, 5, 20), "input dimensions d (the grid's columns)")
    init_scale: float = param(1e-2, "initialization scale s: w_i(0) ~ N(0, s^2 I/d)")
    lr: float = param(0.1, "GD step size")
    steps: int = param(10000, "GD steps")
    trials: int = param(6, "independent initializations (seeds) per cell")

    def cells(self) -> list[OverparamCell]:
        return [_gd(n, d, self.init_scale, self.trials, self.lr, self.steps) for n in self.ns for d in self.ds]


@dataclass(frozen=True)
class SampleScale:
    """xudu-finite-sample: GD on the empirical loss of N samples, over n x N (defaults: the quick scale)."""

    ns: tuple[int, ...] = param((1, 3), "numbers of student neurons n (the grid's rows)")
    samples: tuple[int, ...] = param((100, 1000, 10000), "training set sizes N (the grid's columns)")
    d: int = param(5, "input dimension d")
    init_scale: float = param(1e-2, "initialization scale s: w_i(0) ~ N(0, s^2 I/d)")
    lr: float = param(0.1, "GD step size")
    steps: int = param(8000, "GD steps")
    trials: int = param(4, "independent initializations (seeds) per cell")

    def cells(self) -> list[OverparamCell]:
        return [_gd(n, self.d, self.init_scale, self.trials, self.lr, self.steps, samples=N)
                for n in self.ns for N in self.samples]


@dataclass(frozen=True)
class FlowScale:
    """xudu-flow: the gradient flow on the population loss for each n (defaults: the quick scale)."""

    ns: tuple[int, ...] = param((1, 2, 3), "numbers of student neurons n (one cell each)")
    d: int = param(5, "input dimension d")
    init_scale: float = param(1e-2, "initialization scale s: w_i(0) ~ N(0, s^2 I/d)")
    t_end: float = param(1e4, "flow time at the end")
    trials: int = param(3, "independent initializations (seeds) per cell")

    def cells(self) -> list[OverparamCell]:
        return [_flow(n, self.d, self.init_scale, self.trials, self.t_end) for n in self.ns]


@dataclass(frozen=True)
class LongHorizonScale:
    """xudu-long-horizon: GD and the flow from the same students (same key stem and seed per n), to a long
    horizon (defaults: the quick scale)."""

    ns: tuple[int, ...] = param((2, 3, 10), "numbers of student neurons n (one GD and one flow cell each)")
    d: int = param(10, "input dimension d")
    init_scale: float = param(1e-2, "initialization scale s: w_i(0) ~ N(0, s^2 I/d)")
    lr: float = param(0.1, "GD step size")
    steps: int = param(20000, "GD steps")
    gd_trials: int = param(2, "independent initializations (seeds) per GD cell")
    t_end: float = param(1e5, "flow time at the end")
    flow_trials: int = param(4, "independent initializations (seeds) per flow cell")

    def cells(self) -> list[OverparamCell]:
        return ([_gd(n, self.d, self.init_scale, self.gd_trials, self.lr, self.steps) for n in self.ns]
                + [_flow(n, self.d, self.init_scale, self.flow_trials, self.t_end) for n in self.ns])


PAPER = "002 (Xu & Du 2023) Theorems 1-2"


def _register(name: str, title: str, paper: str, quick, paper_scale, figure: str) -> Diagram:
    return register(Diagram(name=name, title=title, paper=paper, scales={"quick": quick, "paper": paper_scale},
                            cells=type(quick).cells, run_cell=run_overparam_cell, summarize=summarize_overparam,
                            fit=fit_overparam, figure=figure, columns=COLUMNS, legend=LEGEND))


_register("xudu-rates", "Loss against GD steps for n = 1 (linear) and n >= 2 students (T^-3), with the phases",
          PAPER + "; abstract (exp(-Omega(T)) for n = 1)",
          RatesScale(), replace(RatesScale(), ns=(1, 2, 3, 5, 10, 20, 50), lr=0.05, steps=1_000_000, trials=16),
          figure="xudu-rates")

_register("xudu-exponent-n-init", "Fitted late-phase exponent of L(T) over n x initialization scale", PAPER,
          InitGridScale(), replace(InitGridScale(), ns=(2, 3, 5, 10, 20), init_scales=(1e-4, 1e-3, 1e-2, 1e-1, 1.0),
                                   lr=0.05, steps=200_000, trials=16),
          figure="xudu-grid")

_register("xudu-exponent-n-d", "Fitted late-phase exponent of L(T) over n x input dimension d", PAPER,
          DimGridScale(), replace(DimGridScale(), ns=(2, 3, 5, 10, 20), ds=(2, 5, 10, 50, 100), lr=0.05,
                                  steps=200_000, trials=16),
          figure="xudu-grid")

_register("xudu-finite-sample", "Empirical GD on N samples: where the population picture (T^-3 / linear) holds",
          PAPER + " (population loss); finite-sample variant is ours",
          SampleScale(), replace(SampleScale(), ns=(1, 2, 5), samples=(100, 300, 1000, 3000, 10000, 30000), d=10,
                                 lr=0.05, steps=100_000, trials=8),
          figure="xudu-samples")

_register("xudu-flow", "Gradient flow (scipy LSODA): the Omega(T^-3) lower-bound setting, n = 1 linear",
          "002 Theorem 2 (gradient flow lower bound)",
          FlowScale(), replace(FlowScale(), ns=(1, 2, 3, 5, 10), d=10, t_end=1e6, trials=10),
          figure="xudu-rates")

_register("xudu-long-horizon",
          "Offset fit and model-free local exponent at long horizons: GD and the gradient flow, n in {2, 3, 10}",
          PAPER + "; Theorem 2 (flow)",
          LongHorizonScale(), replace(LongHorizonScale(), steps=300_000, t_end=1e7),
          figure="xudu-rates")
