"""Registered experiments of paper 000 (single hidden neuron, Sec. 2.2-2.3, Fig. 2(a), Fig. 18).

Every cell runs the methods on the same data and initializations (a paired comparison) and stores, per
method and trial: success (sim.lrr.outcome), the population relative error, masks, parameters at the start
and end of every level, losses, sign changes of a and w_1 per level, and the theory's prediction
(sim.lrr.predictions).  n is not stated in the paper for Fig. 2(a)/18; we use n = 1000 at paper scale.

Each diagram's scale is a frozen dataclass (its fields are the command-line options of
``python -m sim.phase_diagram``; the class defaults are the quick scale, the paper scale changes some of
them); a cell is a :class:`NeuronCell`.  The fit step saves ``deviations.json``: the cells whose measured
rate lies above the theory's prediction and the successes pooled per quadrant and method, which the
figures quote.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np

from sim.core.config import param
from sim.core.intervals import wilson
from sim.core.registry import Diagram, Finished, Rows, register
from sim.lrr.cycles import METHODS, CycleConfig, run_cycles
from sim.lrr.neuron import QUADRANT_NAMES, NeuronProblem, sample
from sim.lrr.predictions import predicted_success
from sim.lrr.prune import level_counts
from sim.lrr.sign_changes import GdSignScale, fit_gd_sign, gd_sign_cell, summarize_gd_sign
from sim.lrr.trainer_config import GD, LBFGS, Flow, Trainer, trainer_from_dict

_CYCLES = CycleConfig()  # the pruning schedule every lrr-* cell uses unless it says otherwise


@dataclass(frozen=True)
class NeuronCell:
    """One cell of single-neuron trials: the problem (d, n, sigma, quadrant, trials), the trainer and the
    pruning cycles (methods, levels, sparsity, rewind_step, final_keep) of :mod:`sim.lrr.cycles`."""

    key: str  # the cell's name (its file name; with the master seed it seeds the cell)
    d: int
    n: int
    sigma: float
    quadrant: str | None  # signs of (a(0), w_1(0)) the trials are conditioned on (None: fair signs)
    trials: int
    trainer: Trainer  # the trainer of every level (sim.lrr.trainer_config)
    methods: tuple[str, ...]
    levels: int = param(_CYCLES.levels, "pruning levels after the dense one")
    sparsity: float = param(_CYCLES.sparsity, "fraction of the inputs pruned after the last level")
    rewind_step: int = param(_CYCLES.rewind_step, "WR's rewinding point: steps (the flow: time) of dense training")
    final_keep: int | None = param(_CYCLES.final_keep, "end with exactly this many inputs (overrides sparsity)")

    def __post_init__(self):  # a bad parameter is named when the cell is made
        cell_problem(self)
        cell_cycles(self)
        level_counts(self.d, self.sparsity, self.levels, self.final_keep)


def cell_from_record(record: dict) -> NeuronCell:
    """The :class:`NeuronCell` a cell file's record (:func:`sim.core.sweep.cell_record`) describes."""
    fields = {f.name for f in dataclasses.fields(NeuronCell)}
    kw = {k: v for k, v in record.items() if k in fields}
    kw["trainer"] = trainer_from_dict(record["trainer"])
    kw["methods"] = tuple(record["methods"])
    return NeuronCell(**kw)


def cell_problem(cell: NeuronCell) -> NeuronProblem:
    """The trials of a single-neuron cell (with the cell's seed, :func:`sim.lrr.neuron.sample` draws them)."""
    return NeuronProblem(d=cell.d, n=cell.n, sigma=cell.sigma, trials=cell.trials, quadrant=cell.quadrant)


def cell_cycles(cell: NeuronCell, **override) -> CycleConfig:
    """The pruning cycles of a single-neuron cell (``override``: e.g. another rewind_step for another trainer)."""
    return CycleConfig(**{"levels": cell.levels, "sparsity": cell.sparsity, "rewind_step": cell.rewind_step,
                          "methods": cell.methods, "final_keep": cell.final_keep} | override)


def run_neuron_cell(cell: NeuronCell, seed: int, device: str) -> dict[str, np.ndarray]:
    problem = cell_problem(cell)
    cfg = cell_cycles(cell)
    batch = sample(problem, seed, device)
    records = run_cycles(batch, cell.trainer, cfg)
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


def summarize_neuron(finished: Finished) -> Rows:
    rows = []
    for cell, arr in finished:
        for method in cell.methods:
            s = arr[f"{method}/success"].astype(bool)
            k, n = int(s.sum()), s.size
            lo, hi = wilson(k, n)
            rel = arr[f"{method}/rel_error"][:, -1]
            # L-BFGS without a line search can step off to overflow on a ReLU kink (as torch.optim.LBFGS
            # can): such a run is a failure, counted here, and left out of the median error
            diverged = ~np.isfinite(arr[f"{method}/theta_end"][:, -1]).all(axis=1)
            rows.append({
                "cell": cell.key, "d": cell.d, "n": cell.n, "sigma": cell.sigma,
                "quadrant": cell.quadrant or "any", "trainer": cell.trainer.name, "method": method,
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


def fit_deviations(finished: Finished, rows: Rows) -> dict[str, dict]:
    """``deviations.json``, the numbers the figures quote: the (cell, method) rows whose 95 % Wilson interval
    lies wholly above the theory's prediction (ci_low > predicted) and their number per method; the
    successes and trials pooled over d per quadrant and method; per cell, LRR's rate minus IMP's (measured
    and predicted)."""
    where = ("cell", "d", "n", "sigma", "quadrant")
    above = [{k: r[k] for k in where} | {"method": r["method"], "ci_low": r["ci_low"], "predicted": r["predicted"]}
             for r in rows if r["ci_low"] > r["predicted"]]
    count = {m: sum(e["method"] == m for e in above) for m in dict.fromkeys(r["method"] for r in rows)}
    pooled: dict[tuple[str, str], list[int]] = {}
    for r in rows:
        tot = pooled.setdefault((r["quadrant"], r["method"]), [0, 0])
        tot[0] += r["successes"]
        tot[1] += r["trials"]
    by_cell = {(r["cell"], r["method"]): r for r in rows}
    differences = [{k: r[k] for k in where} | {"rate": r["rate"] - by_cell[(r["cell"], "imp")]["rate"],
                                               "predicted": r["predicted"] - by_cell[(r["cell"], "imp")]["predicted"]}
                   for r in rows if r["method"] == "lrr" and (r["cell"], "imp") in by_cell]
    return {"deviations.json": {
        "above_prediction": above, "above_prediction_count": count,
        "pooled": [{"quadrant": q, "method": m, "successes": s, "trials": t} for (q, m), (s, t) in pooled.items()],
        "lrr_minus_imp": differences}}


# ---- scales and cells -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PhaseSigmaScale:
    """A (d x sigma) grid of LRR against IMP with fair signs, L-BFGS."""

    axis: Literal["sigma"] = param("sigma", "the grid's second axis (fixed for this diagram)")
    d: tuple[int, ...] = param((1, 2, 5, 10), "input dimensions (the grid's rows)")
    sigma: tuple[float, ...] = param((0.0, 0.1, 0.3, 1.0), "label noise standard deviations (the grid's columns)")
    n: int = param(200, "training samples")
    trials: int = param(32, "independent trials per cell")
    epochs: int = param(10, "L-BFGS epochs per level")


@dataclass(frozen=True)
class PhaseNScale:
    """A (d x n) grid of LRR against IMP with fair signs, L-BFGS."""

    axis: Literal["n"] = param("n", "the grid's second axis (fixed for this diagram)")
    d: tuple[int, ...] = param((1, 2, 5, 10), "input dimensions (the grid's rows)")
    n: tuple[int, ...] = param((20, 50, 200), "training sample sizes (the grid's columns)")
    sigma: float = param(0.1, "label noise standard deviation")
    trials: int = param(32, "independent trials per cell")
    epochs: int = param(10, "L-BFGS epochs per level")


def grid_cells(p: PhaseSigmaScale | PhaseNScale) -> list[NeuronCell]:
    """d x (sigma or n) cells of LRR and IMP with fair signs."""
    cells = []
    for d in p.d:
        for other in getattr(p, p.axis):
            sigma = other if p.axis == "sigma" else p.sigma
            n = other if p.axis == "n" else p.n
            cells.append(NeuronCell(key=f"d{d}_{p.axis}{other:g}", d=d, n=n, sigma=sigma, quadrant=None,
                                    trials=p.trials, trainer=LBFGS(epochs=p.epochs), methods=("lrr", "imp")))
    return cells


@dataclass(frozen=True)
class QuadrantScale:
    """Per-sign-quadrant cells (Fig. 2(a) / Fig. 18) of every method, L-BFGS."""

    ds: tuple[int, ...] = param((10,), "input dimensions (one panel each)")
    n: int = param(1000, "training samples")
    sigma: float = param(0.1, "label noise standard deviation")
    trials: int = param(25, "independent trials per sign quadrant")
    epochs: int = param(20, "L-BFGS epochs per level")

    def trainer(self) -> Trainer:
        return LBFGS(epochs=self.epochs)


@dataclass(frozen=True)
class OneInputScale(QuadrantScale):
    """Per-sign-quadrant cells pruned to exactly ``final_keep`` inputs at every d, L-BFGS."""

    final_keep: int = param(1, "inputs left after the last level (at every d)")


@dataclass(frozen=True)
class FlowQuadrantScale:
    """Per-sign-quadrant cells trained by the exact gradient flow of eq. (7)."""

    ds: tuple[int, ...] = param((10,), "input dimensions (one panel each)")
    n: int = param(200, "training samples")
    sigma: float = param(0.1, "label noise standard deviation")
    trials: int = param(6, "independent trials per sign quadrant")
    t_end: float = param(60.0, "flow time per level")

    def trainer(self) -> Trainer:
        return Flow(t_end=self.t_end)


FIG2A_GD_LR = 0.5
"""The step size of lrr-fig2a-gd (the GD counterpart of Fig. 2(a))."""


@dataclass(frozen=True)
class GdQuadrantScale:
    """Per-sign-quadrant cells trained by full-batch GD with step FIG2A_GD_LR."""

    ds: tuple[int, ...] = param((10,), "input dimensions (one panel each)")
    n: int = param(1000, "training samples")
    sigma: float = param(0.1, "label noise standard deviation")
    trials: int = param(25, "independent trials per sign quadrant")
    steps: int = param(400, "GD steps per level")

    def trainer(self) -> Trainer:
        return GD(lr=FIG2A_GD_LR, steps=self.steps)


FLOW_REWIND_TIME = 1
"""WR's rewinding point under the flow: theta(t = 1) (the flow's counterpart of rewind_step)."""


def quadrant_cells(p, rewind_step: int = _CYCLES.rewind_step) -> list[NeuronCell]:
    """One cell per d and sign quadrant of (a(0), w_1(0)), every method (sim.lrr.cycles.METHODS)."""
    return [NeuronCell(key=f"d{d}_q{q.replace('+', 'p').replace('-', 'm')}", d=d, n=p.n, sigma=p.sigma, quadrant=q,
                       trials=p.trials, trainer=p.trainer(), methods=METHODS, rewind_step=rewind_step,
                       final_keep=getattr(p, "final_keep", None))
            for d in p.ds for q in QUADRANT_NAMES]


def flow_quadrant_cells(p: FlowQuadrantScale) -> list[NeuronCell]:
    return quadrant_cells(p, rewind_step=FLOW_REWIND_TIME)


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

_PHASE_PAPER = dict(d=(1, 2, 5, 10, 20, 50), trials=100, epochs=100)

register(Diagram(
    name="lrr-phase-d-sigma",
    title="LRR vs IMP success probability over input dimension d and noise sigma (sign-symmetric init)",
    paper="000 Sec. 2.2-2.3 (Theorem 2.3: IMP ~ 1/4, LRR ~ 1/2 for d >= 2)",
    scales={"quick": PhaseSigmaScale(),
            "paper": PhaseSigmaScale(sigma=(0.0, 0.05, 0.1, 0.3, 0.6, 1.0), n=1000, **_PHASE_PAPER)},
    cells=grid_cells, run_cell=run_neuron_cell, summarize=summarize_neuron, fit=fit_deviations,
    figure="lrr-phase", legend=LEGEND))

register(Diagram(
    name="lrr-phase-d-n",
    title="LRR vs IMP success probability over input dimension d and sample size n (sigma = 0.1)",
    paper="000 Sec. 2.2-2.3 / A.1 finite-sample remarks",
    scales={"quick": PhaseNScale(), "paper": PhaseNScale(n=(20, 50, 100, 200, 1000, 5000), **_PHASE_PAPER)},
    cells=grid_cells, run_cell=run_neuron_cell, summarize=summarize_neuron, fit=fit_deviations,
    figure="lrr-phase", legend=LEGEND))


def _register_quadrants(name: str, title: str, paper: str, quick, paper_scale, cells=quadrant_cells) -> None:
    """A per-sign-quadrant experiment (Fig. 2(a) / Fig. 18 style)."""
    register(Diagram(name=name, title=title, paper=paper, scales={"quick": quick, "paper": paper_scale},
                     cells=cells, run_cell=run_neuron_cell, summarize=summarize_neuron, fit=fit_deviations,
                     figure="lrr-fig2a-quadrants", legend=LEGEND))


_register_quadrants(
    "lrr-fig2a", "Fig. 2(a): success of LRR, IMP, WR and balance-restoring IMP per sign quadrant (d = 10, L-BFGS)",
    "000 Fig. 2(a)", QuadrantScale(), QuadrantScale(trials=100, epochs=1000))

_QUICK18 = dict(n=500, trials=16, epochs=10)
_PAPER18 = dict(ds=(1, 2, 5, 10, 20, 50), n=1000, trials=100, epochs=1000)

_register_quadrants(
    "lrr-fig18", "Fig. 18: success per sign quadrant against input dimension d (L-BFGS)", "000 Fig. 18",
    QuadrantScale(ds=(1, 2, 5, 10), **_QUICK18), QuadrantScale(**_PAPER18))

_register_quadrants(
    "lrr-fig18-one-input", "Fig. 18 pruned to one single input at every d (3 levels, same fraction each; L-BFGS)",
    "000 Fig. 18, Sec. 2.3 (\"so that only one single input remains\")",
    OneInputScale(ds=(1, 2, 5, 10, 20), **_QUICK18), OneInputScale(**_PAPER18))

_register_quadrants(
    "lrr-fig2a-flow", "Fig. 2(a) with the exact gradient flow of eq. (7) instead of L-BFGS (rewinding point t = 1)",
    "000 Fig. 2(a), Theorems 2.1/2.3", FlowQuadrantScale(), FlowQuadrantScale(n=1000, trials=100, t_end=200.0),
    cells=flow_quadrant_cells)

_register_quadrants(
    "lrr-fig2a-gd", f"Fig. 2(a) with full-batch gradient descent (lr = {FIG2A_GD_LR}) instead of L-BFGS",
    "000 Fig. 2(a)", GdQuadrantScale(), GdQuadrantScale(trials=100, steps=20000))

# When does GD change the sign of a (Lemma 2.2)?  Counts against step size x steps per level, with the
# imbalance bookkeeping and the per-run prediction of sim.lrr.imbalance (experiment: sim.lrr.sign_changes).

register(Diagram(
    name="lrr-gd-sign-changes",
    title="Sign changes of a under GD (LRR, IMP, IMP-balanced) against step size and steps per level, with the "
          "imbalance drift a^2 - ||w||^2 and its per-run prediction",
    paper="000 Lemma 2.2, Fig. 2(a) with GD",
    scales={"quick": GdSignScale(),
            "paper": replace(GdSignScale(), trials=12, lrs=(0.05, 0.1, 0.5, 2.0),
                             extra=(("-+", 0.1, 8000), ("-+", 0.5, 8000)))},
    cells=GdSignScale.cells, run_cell=gd_sign_cell, summarize=summarize_gd_sign, fit=fit_gd_sign,
    figure="lrr-gd-sign-changes",
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
