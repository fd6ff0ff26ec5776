"""Registered experiments of paper 001 (Zhang et al., "Why Lottery Ticket Wins?"), Sec. 5 and Theorem 1.

Each cell draws ``trials`` independent teachers, supports, data and initializations (:mod:`sim.zhang.sparse_teacher`)
and runs batched AGD (:mod:`sim.zhang.agd`).  Where a figure's grid axis does not change the data, the cell runs
that axis on the same draws (common random numbers; the trials of one grid point stay independent):
Fig. 2: all initial distances of one r share each draw (``runs_per_draw``: one matmul per draw for all of
them); Fig. 3: AGD and GD from the same starts; Fig. 5: all noise levels of one r share each draw, teacher,
inputs and noise vector, the noise scaled per level.  Settings the paper does not print are marked "ours" in
the parameters' help or in paper_repro.md: the r grids, the initial distances, the noise levels, the
initialization of Figs. 3-5 (relative distance ``lam`` from W*, as Sec. 5's first modification), and the IMP
details of Fig. 6 (:mod:`sim.zhang.pruning`).

Every scale is a frozen dataclass (:mod:`sim.core.config`: its fields are the command-line options), every
cell a frozen dataclass whose ``key`` seeds its random stream.  Fits across cells (radius against sqrt(r), N*
against r, rate against sqrt(r), error against sqrt(r), the outcome classes of the Fig. 2 runs) are each
diagram's fit step (:mod:`sim.zhang.fits`), saved as ``fits.json``; the figures (``figures.catalog``) only
draw the saved numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import torch

from sim.core.config import param
from sim.core.intervals import median_ci, wilson
from sim.core.registry import Diagram, register
from sim.zhang import fits
from sim.zhang.agd import AGD, run_agd
from sim.zhang.fits import convergence_rate
from sim.zhang.pruning import iterative_magnitude_pruning, magnitude_oneshot, support_recall
from sim.zhang.sparse_teacher import (SparseProblem, forward, held_out_data, hessian, init_at_distance, make_instance,
                                      relative_error, relative_error_perm)
from sim.zhang import nstar
from sim.zhang import tinit as zhang_tinit
from sim.zhang.tensor_init import Support, supports_of, tensor_init

SUCCESS = fits.SUCCESS  # Sec. 5.1: ||W - W*|| / ||W*|| < 1e-4


# ------------------------------------------------------------------------------------------- scales
@dataclass(frozen=True)
class AgdScale:
    """The AGD settings every Sec. 5 experiment shares (Algorithm 1 with heavy-ball momentum)."""

    eta: float = param(0.5, "AGD step size eta")
    beta: float = param(0.2, "AGD momentum beta (0: plain gradient descent)")
    tol: float = param(1e-8, "AGD stops when the relative change of W falls below tol")
    agd_precision: str = param(AGD.precision, "AGD arithmetic: 'mixed' (float32 steps, float64 once the relative change is "
                                        "below 1e-4: the same verdicts and iteration counts as float64 on the quick "
                                        "scales) or 'float64'")
    agd_layout: str = param(AGD.layout, "AGD products: 'auto' (gathered supports when r/d < 0.4), 'dense' or 'gathered'")


@dataclass(frozen=True)
class Fig2Scale(AgdScale):
    """Fig. 2: success rate over r x relative initial distance lam (the radius of the convex region)."""

    K: int = param(3, "neurons K")
    d: int = param(60, "input dimension d")
    N: int = param(600, "training samples N")
    rs: tuple[int, ...] = param((5, 10, 20, 40, 60), "inputs per neuron r (the grid's columns; ours)")
    lams: tuple[float, ...] = param((1.0, 2.0, 4.0, 8.0, 16.0, 32.0),
                                    "relative initial distances ||W(0) - W*|| / ||W*|| (the grid's rows; ours)")
    trials: int = param(8, "independent draws (teacher, supports, data, W(0)) per r")
    max_iter: int = param(3000, "AGD iteration cap")
    init: str = param("sphere", "W(0) on the sphere of radius lam ||W*|| around W* ('sphere') or in the ball ('ball')")


@dataclass(frozen=True)
class Fig2CapScale(AgdScale):
    """Fig. 2's cells re-run under several iteration caps, each failure classified."""

    K: int = param(3, "neurons K")
    d: int = param(60, "input dimension d")
    N: int = param(600, "training samples N")
    rs: tuple[int, ...] = param((40, 60), "inputs per neuron r")
    lams: tuple[float, ...] = param((1.0, 2.0, 4.0, 8.0, 16.0, 32.0), "relative initial distances lam")
    trials: int = param(8, "independent draws per r")
    caps: tuple[int, ...] = param((3000, 30_000), "AGD iteration caps, each run on the same starts")
    init: str = param("sphere", "W(0) on the sphere ('sphere') or in the ball ('ball') of radius lam ||W*||")


@dataclass(frozen=True)
class Fig3Scale(AgdScale):
    """Fig. 3: relative error against iterations and convergence rate against sqrt(r), AGD and GD."""

    K: int = param(3, "neurons K")
    d: int = param(60, "input dimension d")
    N: int = param(900, "training samples N")
    rs: tuple[int, ...] = param((5, 10, 20, 40, 60), "inputs per neuron r")
    lam: float = param(0.5, "relative initial distance ||W(0) - W*|| / ||W*|| (ours)")
    trials: int = param(6, "independent draws per r")
    max_iter: int = param(3000, "AGD iteration cap")
    record_every: int = param(10, "record the relative error every this many steps")


@dataclass(frozen=True)
class Fig4Scale(AgdScale):
    """Fig. 4: success rate over N x r (the phase transition of eq. 8)."""

    K: int = param(3, "neurons K")
    d: int = param(40, "input dimension d")
    rs: tuple[int, ...] = param((5, 10, 20, 40), "inputs per neuron r")
    Ns: tuple[int, ...] = param((30, 60, 120, 240, 480), "training samples N")
    lam: float = param(0.5, "relative initial distance of W(0) from W* (ours)")
    trials: int = param(10, "independent draws per (r, N)")
    max_iter: int = param(3000, "AGD iteration cap")


@dataclass(frozen=True)
class Fig5Scale(AgdScale):
    """Fig. 5: relative error from noisy labels against sqrt(r), per noise level (eq. 9)."""

    K: int = param(5, "neurons K")
    d: int = param(100, "input dimension d")
    N: int = param(500, "training samples N")
    rs: tuple[int, ...] = param((5, 10, 20, 40), "inputs per neuron r")
    noise_levels: tuple[float, ...] = param((0.01, 0.05, 0.1), "label noise sigma / E_y (ours)")
    lam: float = param(0.5, "relative initial distance of W(0) from W* (ours)")
    trials: int = param(6, "independent draws per r (shared by the noise levels)")
    max_iter: int = param(3000, "AGD iteration cap")


@dataclass(frozen=True)
class Fig6Scale(AgdScale):
    """Fig. 6: IMP on synthetic data, test error against the remaining weights, per N."""

    K: int = param(5, "neurons K")
    d: int = param(30, "input dimension d (the dense student has r = d)")
    r_star: int = param(6, "inputs per teacher neuron r*")
    noise: float = param(1e-3, "label noise sigma / E_y")
    Ns: tuple[int, ...] = param((50, 200, 1000), "training samples N")
    rounds: int = param(10, "IMP pruning rounds")
    prune_frac: float = param(0.2, "fraction of the remaining weights pruned per round")
    init_std: float = param(0.1, "standard deviation of the entries of W_init (ours)")
    n_test: int = param(2000, "fresh samples for the test error")
    trials: int = param(4, "independent draws per N")
    max_iter: int = param(1500, "AGD iteration cap per IMP round")


@dataclass(frozen=True)
class HessianScale:
    """Theorem 1: extreme Hessian eigenvalues of the empirical risk at and near W*."""

    K: int = param(4, "neurons K")
    d: int = param(80, "input dimension d")
    rs: tuple[int, ...] = param((5, 10, 20), "inputs per neuron r")
    Ns: tuple[int, ...] = param((200, 800, 3200), "training samples N")
    layouts: tuple[str, ...] = param(("random", "disjoint"), "supports: random (overlapping) or disjoint")
    lam: float = param(0.05, "relative distance of the second point from W*")
    trials: int = param(8, "independent draws per cell")


@dataclass(frozen=True)
class TensorInitScale(AgdScale):
    """Lemma 1: relative error of the tensor initialization W(0) against N, and AGD from it."""

    configs: tuple[Support, ...] = param((Support(K=2, d=6, r=6, layout="random"),
                                          Support(K=2, d=12, r=6, layout="disjoint")), "networks of the grid")
    Ns: tuple[int, ...] = param((3000, 20000, 100000), "samples N for the moments")
    trials: int = param(6, "independent draws per cell")
    max_iter: int = param(1000, "AGD iteration cap")

    def __post_init__(self):
        object.__setattr__(self, "configs", supports_of(self.configs))


# ------------------------------------------------------------------------------------------- cells
def _engine(p: AgdScale) -> dict:
    """How the scale's AGD runs are computed (arithmetic and product layout; not the algorithm)."""
    return {"agd_precision": p.agd_precision, "agd_layout": p.agd_layout}


@dataclass(frozen=True)
class AgdCell:
    """What every AGD cell of Sec. 5 holds: the network (K neurons, d inputs, N samples), the AGD settings
    (eta, beta, tol), its independent trials, and (keyword-only, last) the arithmetic its runs use."""

    K: int
    d: int
    N: int
    eta: float
    beta: float
    tol: float
    trials: int
    agd_precision: str = field(default=AGD.precision, kw_only=True)
    agd_layout: str = field(default=AGD.layout, kw_only=True)


@dataclass(frozen=True)
class Fig2Cell(AgdCell):
    r: int
    max_iter: int
    lams: tuple[float, ...]
    init: str

    @property
    def key(self) -> str:
        return f"r{self.r}"


@dataclass(frozen=True)
class Fig2CapCell(AgdCell):
    r: int
    lams: tuple[float, ...]
    init: str
    caps: tuple[int, ...]

    @property
    def key(self) -> str:
        return f"r{self.r}"


@dataclass(frozen=True)
class Fig3Cell(AgdCell):
    r: int
    max_iter: int
    lam: float
    record_every: int

    @property
    def key(self) -> str:
        return f"r{self.r}"


@dataclass(frozen=True)
class Fig4Cell(AgdCell):
    r: int
    max_iter: int
    lam: float

    @property
    def key(self) -> str:
        return f"r{self.r}_N{self.N}"


@dataclass(frozen=True)
class Fig5Cell(AgdCell):
    r: int
    max_iter: int
    lam: float
    noise_levels: tuple[float, ...]

    @property
    def key(self) -> str:
        return f"r{self.r}"


@dataclass(frozen=True)
class Fig6Cell(AgdCell):
    r_star: int
    noise: float
    max_iter: int
    rounds: int
    prune_frac: float
    init_std: float
    n_test: int

    @property
    def key(self) -> str:
        return f"N{self.N}"


@dataclass(frozen=True)
class HessianCell:
    K: int
    d: int
    r: int
    N: int
    layout: str
    lam: float
    trials: int

    @property
    def key(self) -> str:
        return f"{self.layout}_r{self.r}_N{self.N}"


@dataclass(frozen=True)
class TensorInitCell(AgdCell):
    r: int
    layout: str
    max_iter: int

    @property
    def key(self) -> str:
        return f"{self.layout}_K{self.K}_d{self.d}_r{self.r}_N{self.N}"


def fig2_cells(p: Fig2Scale) -> list[Fig2Cell]:
    return [Fig2Cell(K=p.K, d=p.d, eta=p.eta, beta=p.beta, max_iter=p.max_iter, tol=p.tol, N=p.N, r=r, lams=p.lams,
                     trials=p.trials, init=p.init, **_engine(p)) for r in p.rs]


def fig2_cap_cells(p: Fig2CapScale) -> list[Fig2CapCell]:
    return [Fig2CapCell(K=p.K, d=p.d, eta=p.eta, beta=p.beta, tol=p.tol, N=p.N, r=r, lams=p.lams, trials=p.trials,
                        init=p.init, caps=p.caps, **_engine(p)) for r in p.rs]


def fig3_cells(p: Fig3Scale) -> list[Fig3Cell]:
    return [Fig3Cell(K=p.K, d=p.d, eta=p.eta, beta=p.beta, max_iter=p.max_iter, tol=p.tol, N=p.N, r=r, lam=p.lam,
                     trials=p.trials, record_every=p.record_every, **_engine(p)) for r in p.rs]


def fig4_cells(p: Fig4Scale) -> list[Fig4Cell]:
    return [Fig4Cell(K=p.K, d=p.d, eta=p.eta, beta=p.beta, max_iter=p.max_iter, tol=p.tol, N=N, r=r, lam=p.lam,
                     trials=p.trials, **_engine(p)) for r in p.rs for N in p.Ns]


def fig5_cells(p: Fig5Scale) -> list[Fig5Cell]:
    return [Fig5Cell(K=p.K, d=p.d, eta=p.eta, beta=p.beta, max_iter=p.max_iter, tol=p.tol, N=p.N, r=r, lam=p.lam,
                     trials=p.trials, noise_levels=p.noise_levels, **_engine(p)) for r in p.rs]


def fig6_cells(p: Fig6Scale) -> list[Fig6Cell]:
    return [Fig6Cell(N=N, K=p.K, d=p.d, r_star=p.r_star, noise=p.noise, eta=p.eta, beta=p.beta, max_iter=p.max_iter,
                     tol=p.tol, rounds=p.rounds, prune_frac=p.prune_frac, init_std=p.init_std, n_test=p.n_test,
                     trials=p.trials, **_engine(p)) for N in p.Ns]


def hessian_cells(p: HessianScale) -> list[HessianCell]:
    """Disjoint supports only where they fit (K r <= d)."""
    return [HessianCell(K=p.K, d=p.d, r=r, N=N, layout=lay, lam=p.lam, trials=p.trials)
            for lay in p.layouts for r in p.rs for N in p.Ns if lay == "random" or p.K * r <= p.d]


def tensor_init_cells(p: TensorInitScale) -> list[TensorInitCell]:
    return [TensorInitCell(K=c.K, d=c.d, r=c.r, layout=c.layout, N=N, trials=p.trials, eta=p.eta, beta=p.beta,
                           max_iter=p.max_iter, tol=p.tol, **_engine(p)) for c in p.configs for N in p.Ns]


def _agd(cell, beta: float | None = None, record_every: int = 0, max_iter: int | None = None) -> AGD:
    return AGD(eta=cell.eta, beta=cell.beta if beta is None else beta,
               max_iter=cell.max_iter if max_iter is None else max_iter, tol=cell.tol, record_every=record_every,
               precision=cell.agd_precision, layout=cell.agd_layout)


def _problem(cell, trials: int, noise: float = 0.0, runs_per_draw: int = 1, layout: str = "random") -> SparseProblem:
    return SparseProblem(K=cell.K, d=cell.d, r=cell.r, N=cell.N, noise=noise, trials=trials, layout=layout,
                         runs_per_draw=runs_per_draw)


# ------------------------------------------------------------------------------------------- Fig. 2
def fig2_starts(cell, seed: int, device: str):
    """The draws and starts of a zhang-fig2 cell: ``cell.trials`` draws, each shared by the distances of
    ``cell.lams`` (run g P + p: draw g at distance p), W(0) at that distance from W* (``cell.init``)."""
    lams = np.asarray(cell.lams, float)
    inst = make_instance(_problem(cell, cell.trials, runs_per_draw=len(lams)), seed, device)
    lam_row = torch.as_tensor(np.tile(lams, cell.trials), dtype=inst.X.dtype, device=inst.X.device)
    return inst, init_at_distance(inst.W_star, inst.M, lam_row, seed + 1, where=cell.init)


def run_fig2(cell: Fig2Cell, seed: int, device: str) -> dict[str, np.ndarray]:
    """Every distance of ``cell.lams`` from each draw (run g P + p: draw g, distance p).  ``err_at_90pct``: the
    error at 90 % of the cap (held after a stop), so that a run cut off by the cap can be told still converging
    from stalled (:func:`sim.zhang.fits.classify_fig2_runs`)."""
    inst, W0 = fig2_starts(cell, seed, device)
    res = run_agd(inst, W0, _agd(cell, record_every=max(cell.max_iter // 10, 1)))
    return {"lam": np.tile(np.asarray(cell.lams, float), cell.trials), "rel_err": res.rel_err, "iters": res.iters, "stopped": res.stopped,
            "diverged": res.diverged, "success": res.rel_err < SUCCESS, "err_at_90pct": res.history[:, -2]}


def _rate_row(n_ok: int, n: int) -> dict:
    lo, hi = wilson(np.array([n_ok]), np.array([n]))
    return {"successes": int(n_ok), "trials": int(n), "success_rate": round(n_ok / n, 4),
            "ci_low": round(float(lo[0]), 4), "ci_high": round(float(hi[0]), 4)}


def summarize_fig2(finished):
    rows = []
    for cell, arr in finished:
        for lam in cell.lams:
            m = np.isclose(arr["lam"], lam)
            rows.append({"cell": cell.key, "K": cell.K, "d": cell.d, "N": cell.N, "r": cell.r,
                         "lam": lam, **_rate_row(int(arr["success"][m].sum()), int(m.sum())),
                         "median_iters": int(np.median(arr["iters"][m])),
                         "hit_max_iter": int((arr["iters"][m] >= cell.max_iter).sum()),
                         "median_rel_err": float(f"{np.median(arr['rel_err'][m]):.3g}")})
    return rows


# ------------------------------------------------------------------------------------------- Fig. 3
def run_fig3(cell: Fig3Cell, seed: int, device: str) -> dict[str, np.ndarray]:
    """AGD (momentum ``cell.beta``) and GD (beta = 0) from the same starts on the same draws."""
    inst = make_instance(_problem(cell, cell.trials), seed, device)
    W0 = init_at_distance(inst.W_star, inst.M, cell.lam, seed + 1, where="sphere")
    out = {}
    for name, beta in (("agd", cell.beta), ("gd", 0.0)):
        res = run_agd(inst, W0, _agd(cell, beta=beta, record_every=cell.record_every))
        out[f"{name}_history"] = res.history
        out[f"{name}_rate"] = convergence_rate(res.history_t, res.history)
        out[f"{name}_iters"] = res.iters
        out[f"{name}_rel_err"] = res.rel_err
        out["t"] = res.history_t
    return out


def summarize_fig3(finished):
    rows = []
    for cell, arr in finished:
        for name, beta in (("agd", cell.beta), ("gd", 0.0)):
            nu, lo, hi = median_ci(arr[f"{name}_rate"])
            rows.append({"cell": cell.key, "K": cell.K, "d": cell.d, "N": cell.N, "r": cell.r,
                         "method": name.upper(), "beta": beta, "eta": cell.eta, "trials": cell.trials,
                         "rate": round(nu, 6), "rate_ci_low": round(lo, 6), "rate_ci_high": round(hi, 6),
                         "median_iters": int(np.median(arr[f"{name}_iters"])),
                         "success_rate": round(float((arr[f"{name}_rel_err"] < SUCCESS).mean()), 3)})
    return rows


# ------------------------------------------------------------------------------------------- Fig. 4
def fig4_starts(cell, seed: int, device: str):
    """The draws and starts of a zhang-fig4 cell: ``cell.trials`` draws, one run each, W(0) on the sphere of
    relative radius ``cell.lam`` around W*."""
    inst = make_instance(_problem(cell, cell.trials), seed, device)
    return inst, init_at_distance(inst.W_star, inst.M, cell.lam, seed + 1, where="sphere")


def run_fig4(cell: Fig4Cell, seed: int, device: str) -> dict[str, np.ndarray]:
    inst, W0 = fig4_starts(cell, seed, device)
    res = run_agd(inst, W0, _agd(cell))
    return {"rel_err": res.rel_err, "iters": res.iters, "success": res.rel_err < SUCCESS}


def summarize_fig4(finished):
    return [{"cell": cell.key, "K": cell.K, "d": cell.d, "r": cell.r, "N": cell.N,
             "params": cell.K * cell.r, **_rate_row(int(arr["success"].sum()), len(arr["success"])),
             "median_rel_err": float(f"{np.median(arr['rel_err']):.3g}")} for cell, arr in finished]


# ------------------------------------------------------------------------------------------- Fig. 5
def noisy_levels(inst, levels: torch.Tensor):
    """The instance with run b's label noise scaled to ``levels[b]`` (drawn at sigma = E_y: noise = 1)."""
    return replace(inst, y=inst.y_clean + levels[:, None] * (inst.y - inst.y_clean), sigma=inst.sigma * levels)


def run_fig5(cell: Fig5Cell, seed: int, device: str) -> dict[str, np.ndarray]:
    """Every noise level of ``cell.noise_levels`` on each draw (run g P + p: draw g with its teacher, inputs
    and noise vector, level p)."""
    levels = np.asarray(cell.noise_levels, float)
    T = cell.trials
    inst = make_instance(_problem(cell, T, noise=1.0, runs_per_draw=len(levels)), seed, device)
    level = torch.as_tensor(np.tile(levels, T), dtype=inst.X.dtype, device=inst.X.device)
    inst = noisy_levels(inst, level)
    W0 = init_at_distance(inst.W_star, inst.M, cell.lam, seed + 1, where="sphere")
    res = run_agd(inst, W0, _agd(cell))
    return {"noise": np.tile(levels, T), "rel_err": res.rel_err, "iters": res.iters}


def summarize_fig5(finished):
    rows = []
    for cell, arr in finished:
        for lev in cell.noise_levels:
            m = np.isclose(arr["noise"], lev)
            e, lo, hi = median_ci(arr["rel_err"][m])
            rows.append({"cell": cell.key, "K": cell.K, "d": cell.d, "N": cell.N, "r": cell.r,
                         "noise": lev, "trials": int(m.sum()), "rel_err": float(f"{e:.4g}"),
                         "ci_low": float(f"{lo:.4g}"), "ci_high": float(f"{hi:.4g}"),
                         "rel_err_over_noise": float(f"{e / lev:.4g}")})
    return rows


# ------------------------------------------------------------------------------------------- Fig. 6 (IMP)
def run_fig6(cell: Fig6Cell, seed: int, device: str) -> dict[str, np.ndarray]:
    """IMP on the dense student (r = d, :func:`sim.zhang.pruning.iterative_magnitude_pruning`): train by AGD
    from a random W_init, prune ``prune_frac`` of the remaining weights by |W| (all K d weights ranked
    together), rewind the survivors to W_init, retrain.  Per round: test error on fresh data over E[y^2],
    remaining fraction, support recall, error up to relabelling; and Sec. 4.1's one-shot pruning of the
    trained dense network (:func:`sim.zhang.pruning.magnitude_oneshot`)."""
    p = SparseProblem(K=cell.K, d=cell.d, r=cell.d, N=cell.N, r_star=cell.r_star, noise=cell.noise,
                      trials=cell.trials)
    inst = make_instance(p, seed, device)
    Xt, yt = held_out_data(inst, cell.n_test, seed + 7)
    gen = torch.Generator(device=device)
    gen.manual_seed(seed + 3)
    W_init = torch.randn(inst.W_star.shape, generator=gen, dtype=inst.X.dtype, device=device) * cell.init_std
    rounds = iterative_magnitude_pruning(inst, W_init, _agd(cell), cell.rounds, cell.prune_frac)
    test_err, remaining, recall, rel_err = [], [], [], []
    for rnd in rounds:
        g = forward(rnd.result.W, Xt)
        test_err.append(((g - yt).pow(2).mean(-1) / yt.pow(2).mean(-1)).cpu().numpy())
        remaining.append(rnd.mask.flatten(1).float().mean(1).cpu().numpy())
        recall.append(support_recall(rnd.mask, inst.M_teacher))
        rel_err.append(relative_error_perm(rnd.result.W, inst.W_teacher))
    oneshot, separated = magnitude_oneshot(rounds[0].result.W, inst.M_teacher)
    return {"test_err": np.stack(test_err, 1), "remaining": np.stack(remaining, 1),
            "support_recall": np.stack(recall, 1), "rel_err": np.stack(rel_err, 1),
            "oneshot_recall": oneshot, "separated": separated}


def summarize_fig6(finished):
    rows = []
    for cell, arr in finished:
        for k in range(arr["test_err"].shape[1]):
            te = arr["test_err"][:, k]
            rows.append({"cell": cell.key, "N": cell.N, "round": k,
                         "remaining_pct": round(100 * float(np.median(arr["remaining"][:, k])), 2),
                         "test_err_median": float(f"{np.median(te):.4g}"),
                         "test_err_q25": float(f"{np.quantile(te, 0.25):.4g}"),
                         "test_err_q75": float(f"{np.quantile(te, 0.75):.4g}"),
                         "support_recall": round(float(np.mean(arr["support_recall"][:, k])), 4),
                         "oneshot_recall": round(float(np.mean(arr["oneshot_recall"])), 4),
                         "separated": int(arr["separated"].sum()), "trials": len(te)})
    return rows


# ------------------------------------------------------------------------------------------- Theorem 1
def run_hessian(cell: HessianCell, seed: int, device: str) -> dict[str, np.ndarray]:
    inst = make_instance(_problem(cell, cell.trials, layout=cell.layout), seed, device)
    out = {}
    for name, lam in (("at", 0.0), ("near", cell.lam)):
        W = inst.W_star if lam == 0 else init_at_distance(inst.W_star, inst.M, lam, seed + 1)
        ev = torch.linalg.eigvalsh(hessian(W, inst.M, inst.X)).cpu().numpy()
        out[f"{name}_min"], out[f"{name}_max"] = ev[:, 0], ev[:, -1]
    return out


def summarize_hessian(finished):
    from theory.zhang.relu_moments import lambda_min_scaled

    rows = []
    for cell, arr in finished:
        K = cell.K
        for name in ("at", "near"):
            lo_m, lo_l, lo_h = median_ci(arr[f"{name}_min"] * K ** 2)
            hi_m = float(np.median(arr[f"{name}_max"] * K))
            rows.append({"cell": cell.key, "K": K, "d": cell.d, "r": cell.r, "N": cell.N,
                         "layout": cell.layout, "point": "W*" if name == "at" else f"lam={cell.lam}",
                         "sqrt_Kr_over_N": round(float(np.sqrt(K * cell.r / cell.N)), 4),
                         "K2_lambda_min": round(lo_m, 5), "ci_low": round(lo_l, 5), "ci_high": round(lo_h, 5),
                         "K_lambda_max": round(hi_m, 5),
                         "population_K2_lambda_min_disjoint": round(lambda_min_scaled(), 5),
                         "trials": cell.trials})
    return rows


# ------------------------------------------------------------------------------------------- Lemma 1
def run_tensor_init(cell: TensorInitCell, seed: int, device: str) -> dict[str, np.ndarray]:
    inst = make_instance(_problem(cell, cell.trials, layout=cell.layout), seed, device)
    W0, info = tensor_init(inst, seed + 1)
    res = run_agd(inst, W0, _agd(cell))
    return {"init_err": relative_error_perm(W0, inst.W_star),
            "init_err_labelled": relative_error(W0, inst.W_star).cpu().numpy(),
            "subspace_error": info["subspace_error"], "final_err": relative_error_perm(res.W, inst.W_star)}


def summarize_tensor_init(finished):
    rows = []
    for cell, arr in finished:
        e, lo, hi = median_ci(arr["init_err"])
        rows.append({"cell": cell.key, "K": cell.K, "d": cell.d, "r": cell.r, "layout": cell.layout,
                     "N": cell.N, "trials": cell.trials, "init_err": float(f"{e:.4g}"),
                     "ci_low": float(f"{lo:.4g}"), "ci_high": float(f"{hi:.4g}"),
                     "subspace_error": float(f"{np.median(arr['subspace_error']):.4g}"),
                     "agd_success_rate": round(float((arr["final_err"] < SUCCESS).mean()), 3)})
    return rows


# ------------------------------------------------------------------------------------------- Fig. 2: cap check
# The zhang-fig2 cells (same keys, hence same seeds; the same draws and starts only when trials and lams are
# those of the zhang-fig2 run, since both shape the random stream) re-run under several iteration caps,
# each failure (relative error >= 1e-4) classified: ran to the cap without the stopping rule firing, split into
# still converging (error at the cap at most 0.95 of its value at 90 % of the cap) and stalled; recovered up to a
# relabelling of the neurons (possible when the supports coincide, r = d); stopped away from W*; diverged.
FAILURE_KINDS = ("cap_converging", "cap_stalled", "permuted", "stopped_wrong", "diverged")


def run_fig2_cap(cell: Fig2CapCell, seed: int, device: str) -> dict[str, np.ndarray]:
    inst, W0 = fig2_starts(cell, seed, device)  # as run_fig2
    out = {"lam": np.tile(np.asarray(cell.lams, float), cell.trials)}
    Ey2 = inst.y.pow(2).mean(-1).cpu().numpy()
    for cap in cell.caps:
        res = run_agd(inst, W0, _agd(cell, max_iter=cap, record_every=cap // 10))
        pre = torch.einsum("gnd,gpkd->gpkn", inst.X, res.W.view(inst.draws, -1, *res.W.shape[1:]))
        active = (pre > 0).double().mean(-1).reshape(res.W.shape[0], -1).cpu().numpy()  # (B, K)
        perm = relative_error_perm(res.W, inst.W_star)
        ok = res.rel_err < SUCCESS
        hit = (res.iters >= cap) & ~res.stopped & ~res.diverged
        ratio = res.history[:, -1] / res.history[:, -2]  # error over the last tenth of the cap
        converging = hit & (ratio <= 0.95)
        kind = np.full(len(ok), "", dtype=object)
        kind[~ok & hit & converging] = "cap_converging"
        kind[~ok & hit & ~converging] = "cap_stalled"
        kind[~ok & (perm < SUCCESS)] = "permuted"
        kind[~ok & res.stopped & (perm >= SUCCESS)] = "stopped_wrong"
        kind[res.diverged] = "diverged"
        out.update({f"cap{cap}__{k}": v for k, v in {
            "rel_err": res.rel_err, "rel_err_perm": perm, "iters": res.iters, "stopped": res.stopped,
            "diverged": res.diverged, "success": ok, "train_risk_rel": res.train_risk / (0.5 * Ey2),
            "err_at_90pct": res.history[:, -2], "min_active": active.min(1),
            # at the rate of the last tenth, the further steps to reach the success threshold (inf if not falling)
            "projected_extra_iters": np.where(ratio < 1, np.log(np.minimum(SUCCESS / res.rel_err, 1))
                                              / np.log(np.minimum(ratio, 1 - 1e-15)) * (cap // 10), np.inf),
            "kind": np.array([FAILURE_KINDS.index(k) if k else -1 for k in kind])}.items()})
    return out


def summarize_fig2_cap(finished):
    rows = []
    for cell, arr in finished:
        base = min(cell.caps)
        for cap in cell.caps:
            a = {k.split("__", 1)[1]: v for k, v in arr.items() if k.startswith(f"cap{cap}__")}
            for lam in cell.lams:
                m = np.isclose(arr["lam"], lam)
                ok, it, kind = a["success"][m], a["iters"][m], a["kind"][m]
                ok0 = arr[f"cap{base}__success"][m]
                fails = ~ok
                rows.append({"cell": cell.key, "r": cell.r, "N": cell.N, "lam": lam, "max_iter": cap,
                             **_rate_row(int(ok.sum()), int(m.sum())),
                             **{f"fail_{k}": int((kind == i).sum()) for i, k in enumerate(FAILURE_KINDS)},
                             "rescued_from_base_cap": int((~ok0 & ok).sum()),
                             "lost_from_base_cap": int((ok0 & ~ok).sum()),
                             "median_iters": int(np.median(it)), "max_iters": int(it.max()),
                             **{f"fail_{name}": _over_failures(f, a[k][m], fails)
                                for name, f, k in (("median_rel_err", np.median, "rel_err"),
                                                   ("median_train_risk_rel", np.median, "train_risk_rel"),
                                                   ("min_active", np.min, "min_active"),
                                                   ("median_projected_extra_iters", np.median, "projected_extra_iters"))}})
    return rows


def _over_failures(f, values, fails) -> float:
    return float(f"{f(values[fails]):.3g}") if fails.any() else float("nan")


# ------------------------------------------------------------------------------------------- registry
P = "001 (Zhang et al.)"


def _scales(quick, **paper) -> dict:
    """The quick scale (the class defaults) and the paper scale (the paper's sizes)."""
    return {"quick": quick, "paper": replace(quick, **paper)}


LEGEND = {
    "K": "neurons", "d": "input dimension", "r": "inputs per student neuron", "N": "training samples",
    "layout": "supports: random (drawn per neuron, they overlap) or disjoint", "support": "dense, disjoint or overlap",
    "lam": "relative distance of W(0) from W*: ||W(0) - W*|| / ||W*||",
    "trials": "independent draws (teacher, supports, data)", "successes": "runs with relative error < 1e-4",
    "success_rate": "fraction of runs with relative error ||W - W*|| / ||W*|| < 1e-4",
    "ci_low": "95 % interval of the quantity to its left, lower end (Wilson for rates, bootstrap for medians)",
    "ci_high": "95 % interval of the quantity to its left, upper end",
    "median_iters": "median AGD iterations (the stopping rule or the cap)", "hit_max_iter": "runs that hit the cap",
    "max_iter": "iteration cap", "median_rel_err": "median final ||W - W*|| / ||W*||",
    "method": "agd (heavy-ball momentum beta) or gd (beta = 0)",
    "rate": "linear convergence rate nu per step (error ~ nu^t), median over runs",
    "rate_ci_low": "95 % interval of rate, lower end", "rate_ci_high": "95 % interval of rate, upper end",
    "noise": "label noise sigma / E_y", "rel_err": "median relative error from noisy labels",
    "rel_err_over_noise": "rel_err divided by the noise level (constant if proportional)",
    "round": "IMP round (0 = dense)", "remaining_pct": "percent of the weights left",
    "test_err_median": "median test error / E[y^2] on fresh data", "test_err_q25": "its lower quartile",
    "test_err_q75": "its upper quartile", "support_recall": "fraction of the teacher's weights the mask keeps",
    "oneshot_recall": "Sec. 4.1: recall of one-shot pruning of the trained dense network to r*/d",
    "separated": "runs in which every teacher weight is larger than every other weight (Sec. 4.1)",
    "point": "where the Hessian is taken: at W* or at distance lam", "sqrt_Kr_over_N": "sqrt(K r / N)",
    "K2_lambda_min": "K^2 x smallest Hessian eigenvalue (population: 1/2 - 1/(2 pi) = 0.3408, disjoint)",
    "K_lambda_max": "K x largest Hessian eigenvalue",
    "init_err": "median W(0) error at the best relabelling of the neurons",
    "subspace_error": "error of the recovered span of the weights", "err_exact_p2": "init_err with P2 exact",
    "err_exact_p2p4": "init_err with P2 and P4 exact (only the first moments from samples)",
    "pop_err_max": "largest error on exact population moments (0: the decomposition is exact)",
    "agd_success_tensor": "AGD success from W(0)", "agd_success_random": "AGD success from a random start at the "
    "same distance", "agd_below_1e-2_tensor": "AGD from W(0) reaching 1e-2", "agd_below_1e-2_random": "the same "
    "from a random start", "agd_success_rate": "AGD success from W(0)",
    "budget": "AGD step size, momentum and cap", "N_star": "N where success crosses 1/2 (logistic in log N)",
    "N_star_over_Kr": "N* / (K r): samples per unknown weight", "N_star_crossing": "N* by the isotonic (bisection) "
    "crossing", "grid_N_star": "N* read off the doubling grid (linear in N)", "failures": "failed runs at the "
    "evaluated N", "fail_cap_hit": "failures that hit the cap", "fail_stopped_wrong": "failures stopped away from W*",
    "fail_cap_converging": "failures still converging at the cap", "fail_cap_stalled": "failures stalled at the cap",
    "fail_permuted": "recovered W* up to a relabelling", "fail_diverged": "diverged runs",
    "fail_median_rel_err": "median error of the failures", "fail_median_train_risk_rel": "their training risk / "
    "(E[y^2]/2)", "rescued_from_base_cap": "failures at the smallest cap that succeed at this cap",
}

register(Diagram(
    legend=LEGEND,
    name="zhang-fig2", title="Success rate of AGD over r x relative initial distance: the radius of the convex region",
    paper=P + " Fig. 2, Theorem 1",
    scales=_scales(Fig2Scale(), K=5, d=500, N=3000, rs=(10, 25, 50, 75, 100, 150, 200, 300, 400, 500),
                   lams=(0.5, 1.0, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0, 16.0, 24.0), trials=100, max_iter=10_000),
    cells=fig2_cells, run_cell=run_fig2, summarize=summarize_fig2, fit=fits.fit_fig2, figure="zhang-fig2",
    columns=("r", "lam", "success_rate", "ci_low", "ci_high", "median_iters", "hit_max_iter", "median_rel_err")))

register(Diagram(
    legend=LEGEND,
    name="zhang-fig3", title="Relative error against iterations and convergence rate against sqrt(r), AGD vs GD",
    paper=P + " Fig. 3, Theorem 2",
    scales=_scales(Fig3Scale(), K=5, d=300, N=3000, rs=(10, 20, 50, 100, 150, 200, 250, 300), trials=20,
                   max_iter=10_000),
    cells=fig3_cells, run_cell=run_fig3, summarize=summarize_fig3, fit=fits.fit_fig3, figure="zhang-fig3",
    columns=("r", "method", "rate", "rate_ci_low", "rate_ci_high", "median_iters", "success_rate")))

register(Diagram(
    legend=LEGEND,
    name="zhang-fig4", title="Phase transition of AGD recovery over samples N x r",
    paper=P + " Fig. 4, eq. (8)",
    scales=_scales(Fig4Scale(), K=5, d=100, rs=(10, 20, 30, 40, 50, 60, 70, 80, 90, 100),
                   Ns=(50, 100, 200, 300, 400, 600, 800, 1000, 1500, 2000, 3000), trials=100, max_iter=10_000),
    cells=fig4_cells, run_cell=run_fig4, summarize=summarize_fig4, fit=nstar.fit_grid, figure="zhang-fig4",
    columns=("r", "N", "success_rate", "ci_low", "ci_high", "median_rel_err")))

register(Diagram(
    legend=LEGEND,
    name="zhang-fig5", title="Relative error of AGD from noisy data against sqrt(r) at several noise levels",
    paper=P + " Fig. 5, eq. (9)",
    scales=_scales(Fig5Scale(), K=10, d=300, N=1000, rs=(5, 10, 20, 30, 40, 50, 60),
                   noise_levels=(0.01, 0.05, 0.1, 0.2), trials=50, max_iter=10_000),
    cells=fig5_cells, run_cell=run_fig5, summarize=summarize_fig5, fit=fits.fit_fig5, figure="zhang-fig5",
    columns=("r", "noise", "rel_err", "ci_low", "ci_high", "rel_err_over_noise")))

register(Diagram(
    legend=LEGEND,
    name="zhang-fig6", title="IMP on synthetic data: test error against remaining parameters for several N",
    paper=P + " Fig. 6, Sec. 4.1 and 5.2",
    scales=_scales(Fig6Scale(), d=100, r_star=20, Ns=(100, 500, 1000, 5000, 10000), rounds=12, n_test=10000,
                   trials=20, max_iter=10_000),
    cells=fig6_cells, run_cell=run_fig6, summarize=summarize_fig6, fit=fits.fit_fig6, figure="zhang-fig6",
    columns=("N", "round", "remaining_pct", "test_err_median", "test_err_q25", "test_err_q75", "support_recall",
             "oneshot_recall", "separated")))

register(Diagram(
    legend=LEGEND,
    name="zhang-hessian", title="Smallest and largest Hessian eigenvalues of the empirical risk at and near W*",
    paper=P + " Theorem 1, eq. (7)",
    scales=_scales(HessianScale(), K=5, d=500, rs=(10, 25, 50, 100, 200), Ns=(1000, 3000, 10000, 30000),
                   trials=20),
    cells=hessian_cells, run_cell=run_hessian, summarize=summarize_hessian, fit=fits.fit_hessian,
    figure="zhang-hessian",
    columns=("layout", "r", "N", "point", "sqrt_Kr_over_N", "K2_lambda_min", "ci_low", "ci_high", "K_lambda_max")))

register(Diagram(
    legend=LEGEND,
    name="zhang-tensor-init", title="Tensor initialization: relative error of W(0) against N, and AGD from it",
    paper=P + " Lemma 1, Sec. 4 (after Zhong et al. 2017)",
    scales=_scales(TensorInitScale(),
                   configs=(Support(K=3, d=10, r=10, layout="random"), Support(K=5, d=20, r=20, layout="random"),
                            Support(K=3, d=30, r=10, layout="disjoint"), Support(K=5, d=100, r=20, layout="random")),
                   Ns=(10000, 100000, 1000000, 3000000), trials=10, max_iter=10_000),
    cells=tensor_init_cells, run_cell=run_tensor_init, summarize=summarize_tensor_init, fit=fits.fit_tensor_init,
    figure="zhang-tensor-init",
    columns=("layout", "K", "d", "r", "N", "init_err", "ci_low", "ci_high", "subspace_error", "agd_success_rate")))


# ------------------------------------------------------------------------------------------- Fig. 4: N* refined
# N* located by bisection in log N on shared draws, with a logistic in log N and bootstrap intervals, for
# several AGD budgets on the same draws (sim/zhang/nstar.py); fits across r in nstar_fits.json.

register(Diagram(
    legend=LEGEND,
    name="zhang-fig4-nstar", title="N* (success crosses 1/2) by bisection in log N on shared draws, per AGD budget",
    paper=P + " Fig. 4, eq. (8)", scales=nstar.SCALES,
    cells=nstar.cells, run_cell=nstar.run_nstar_cell, summarize=nstar.summarize_nstar, fit=nstar.fit,
    figure="zhang-fig4-nstar",
    columns=("r", "budget", "N_star", "ci_low", "ci_high", "N_star_over_Kr", "N_star_crossing", "grid_N_star",
             "failures", "fail_cap_hit", "fail_stopped_wrong")))

register(Diagram(
    legend=LEGEND,
    name="zhang-fig2-cap", title="Fig. 2 failures under a larger iteration cap: still converging, stalled, or stopped",
    paper=P + " Fig. 2 (cross-check of the quick-scale verdict)",
    scales=_scales(Fig2CapScale(), K=5, d=500, N=3000, rs=(300, 400, 500), lams=(1.0, 4.0, 16.0), trials=100,
                   caps=(10_000, 100_000)),
    cells=fig2_cap_cells, run_cell=run_fig2_cap, summarize=summarize_fig2_cap,
    columns=("r", "lam", "max_iter", "successes", "trials", *(f"fail_{k}" for k in FAILURE_KINDS),
             "rescued_from_base_cap", "fail_median_rel_err", "fail_median_train_risk_rel")))

# ------------------------------------------------------------------------------------------- Lemma 1 against N

register(Diagram(
    legend=LEGEND,
    name="zhang-tinit-n", title="Tensor initialization against N: W(0) error, its population limit, and AGD from it",
    paper=P + " Lemma 1, Sec. 4 (after Zhong et al. 2017)", scales=zhang_tinit.SCALES,
    cells=zhang_tinit.cells, run_cell=zhang_tinit.run_cell, summarize=zhang_tinit.summarize, fit=zhang_tinit.fit,
    figure="zhang-tinit-n", columns=zhang_tinit.COLUMNS))
