"""Lemma 1 of Zhang et al. (paper 001) measured against N: how far the tensor initialization W(0)
(:mod:`sim.zhang.tensor_init`, after Zhong et al. 2017) lies from W*, which moment limits it, and whether AGD
(Algorithm 1, :mod:`sim.zhang.agd`) started there succeeds more or less often than from a random start at the
same distance.

Per draw (teacher, supports, N samples) a cell measures

* ``init_err``: ||W(0) - W*||_F / ||W*||_F at the best relabelling of the neurons (the brief's measure);
  ``init_dist``: the distance to the nearest global minimizer (relabelling only among neurons with the
  same support, i.e. the best relabelling for a dense network, the labelled error otherwise);
* ``subspace_error``: the largest distance of a true direction (in z, the whitened x~) from span(P2's top K);
* ``pop_err``: the same decomposition on the exact population moments (``population_init``): the N -> oo
  limit, ~1e-12 when the decomposition is right; it is not where ``null_deficit`` > 0 (overlapping
  supports only: x~ misses directions of two neurons that E[y x] cannot tell apart, so the moments the
  method uses do not determine W*);
* ``err_exact_p2`` / ``err_exact_p2p4``: the same draw with P2 (resp. P2 and P4) replaced by their exact
  values and the rest estimated: which moment needs the samples;
* AGD on the first ``n_agd`` samples of the same draw (the local landscape does not need Lemma 1's N) from
  W(0) and from a random point at relative distance ``init_dist`` from W* (``init_at_distance``, same
  draw, one product per draw for both runs); success: error < 1e-4 up to relabelling; also the share that
  reached 1e-2 and the runs that hit the iteration cap (dense networks converge slowly, Fig. 2's row).

``fit`` (the diagram's fit step) gives ``fits.json``: per configuration the log-log slopes of the median
``init_err``, ``subspace_error`` and ``err_exact_p2p4`` against N, the smallest N whose median ``init_err``
is below 0.5 and the smallest N at which AGD from W(0) succeeds in at least half of the draws (null where
none in the grid).

Single cells beyond a scale's grid (large N, one configuration; the cell seed as ``sim.core.sweep`` derives it
from the key), appended to ``cells.json`` in ``--out``:

    python -m sim.zhang.tinit --support dense --K 3 --d 20 --r 20 --Ns 1000000 3000000 --trials 4 \
        --out results/zhang-tinit-large
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from sim.core.config import param
from sim.core.intervals import median_ci, wilson
from sim.zhang.agd import AGD, run_agd
from sim.zhang.fits import SUCCESS, line_fit, saved_rows
from sim.zhang.sparse_teacher import (Instance, SparseProblem, free_index, init_at_distance, make_instance,
                                      relative_error, relative_error_perm)
from sim.zhang.tensor_init import (EmpiricalMoments, PopulationMoments, Support, decompose, geometry,
                                   population_init, supports_of, tensor_init)


class _Hybrid:
    """Moments taken from ``pop`` for the names in ``exact``, from ``emp`` otherwise."""

    def __init__(self, emp, pop, exact: set[str]):
        self.emp, self.pop, self.exact = emp, pop, exact

    def __getattr__(self, name):
        return getattr(self.pop if name in self.exact else self.emp, name)


def init_with_exact(inst: Instance, seed: int, exact: set[str]) -> torch.Tensor:
    """tensor_init on the data of ``inst`` with the moments in ``exact`` ({'p2', 'p4', 'm1', 'm1_full'})
    replaced by their population values (same seed: same alpha and Jennrich slices)."""
    X = inst.X_per_run()
    gen = torch.Generator(device=X.device.type)
    gen.manual_seed(int(seed))
    idx = free_index(inst.M)
    geom = geometry(idx, X.shape[-1], X.dtype)
    mom = _Hybrid(EmpiricalMoments(X, inst.y, geom), PopulationMoments(inst.W_star.gather(2, idx), geom), exact)
    W_local, _ = decompose(mom, geom, gen)
    return torch.zeros_like(inst.W_star).scatter_(2, idx, W_local)


def distance_to_minimizers(W: torch.Tensor, inst: Instance) -> np.ndarray:
    """Relative distance to the nearest global minimizer: W* relabelled among neurons with identical
    supports (all of them for a dense network), W* itself otherwise."""
    same = bool((inst.M == inst.M[:, :1]).all())
    return relative_error_perm(W, inst.W_star) if same else relative_error(W, inst.W_star).cpu().numpy()


def head(inst: Instance, n: int, P: int) -> Instance:
    """The first n samples of each draw, each draw shared by P runs (B = trials P)."""
    rep = (lambda v: v.repeat_interleave(P, 0)) if P > 1 else (lambda v: v)
    return replace(inst, X=inst.X[:, :n], y=rep(inst.y[:, :n]), y_clean=rep(inst.y_clean[:, :n]),
                   W_teacher=rep(inst.W_teacher), M_teacher=rep(inst.M_teacher), M=rep(inst.M),
                   W_star=rep(inst.W_star), sigma=rep(inst.sigma))


@dataclass(frozen=True)
class TinitScale:
    """zhang-tinit-n: per network and N, the tensor initialization's error, its population limit, the
    exact-moment ablations, and AGD from W(0) against AGD from a random start at the same distance."""

    eta: float = param(0.5, "AGD step size eta")
    beta: float = param(0.2, "AGD momentum beta")
    tol: float = param(1e-8, "AGD stops when the relative change of W falls below tol")
    agd_precision: str = param(AGD.precision, "AGD arithmetic: 'mixed' (float32 steps, float64 once the relative change is below 1e-4) or 'float64'")
    agd_layout: str = param(AGD.layout, "AGD products: 'auto' (gathered supports when r/d < 0.4), 'dense' or 'gathered'")

    configs: tuple[Support, ...] = param((Support(K=3, d=20, r=20, layout="random"),
                                          Support(K=3, d=30, r=10, layout="disjoint"),
                                          Support(K=3, d=20, r=10, layout="random")), "networks of the grid")
    Ns: tuple[int, ...] = param((10_000, 100_000), "samples N for the moments")
    trials: int = param(3, "independent draws per cell")
    n_agd: int = param(1000, "AGD runs on the first n_agd samples of each draw")
    max_iter: int = param(1500, "AGD iteration cap")

    def __post_init__(self):
        object.__setattr__(self, "configs", supports_of(self.configs))


SCALES = {"quick": TinitScale(),
          "paper": TinitScale(configs=tuple(Support(K=K, d=d, r=r, layout=lay) for K in (3, 4, 5)
                                            for lay, d, r in (("random", 20, 20), ("disjoint", 50, 10),
                                                              ("random", 20, 10))),
                              Ns=(1000, 10_000, 100_000, 300_000), trials=6, n_agd=2000, max_iter=3000)}
COLUMNS = ("support", "K", "d", "r", "N", "init_err", "ci_low", "ci_high", "subspace_error", "err_exact_p2",
           "err_exact_p2p4", "pop_err_max", "agd_success_tensor", "agd_success_random", "agd_below_1e-2_tensor",
           "agd_below_1e-2_random")


def support_name(c: Support) -> str:
    """dense (r = d), overlap (random supports) or disjoint."""
    return "dense" if c.r == c.d else ("overlap" if c.layout == "random" else "disjoint")


@dataclass(frozen=True)
class TinitCell:
    support: str  # dense, overlap or disjoint (support_name)
    layout: str
    K: int
    d: int
    r: int
    N: int
    trials: int
    eta: float
    beta: float
    max_iter: int
    tol: float
    n_agd: int
    agd_precision: str = AGD.precision
    agd_layout: str = AGD.layout

    @property
    def key(self) -> str:
        return f"{self.support}_K{self.K}_d{self.d}_r{self.r}_N{self.N}"


def cells(p: TinitScale) -> list[TinitCell]:
    return [TinitCell(support=support_name(c), layout=c.layout, K=c.K, d=c.d, r=c.r, N=N, trials=p.trials, eta=p.eta,
                      beta=p.beta, max_iter=p.max_iter, tol=p.tol, n_agd=p.n_agd, agd_precision=p.agd_precision,
                      agd_layout=p.agd_layout) for c in p.configs for N in p.Ns]


def run_cell(cell: TinitCell, seed: int, device: str) -> dict[str, np.ndarray]:
    T = cell.trials
    inst = make_instance(SparseProblem(K=cell.K, d=cell.d, r=cell.r, N=cell.N, trials=T, layout=cell.layout),
                         seed, device)
    W0, info = tensor_init(inst, seed + 1)
    Wp, _ = population_init(inst, seed + 1)
    W2 = init_with_exact(inst, seed + 1, {"p2"})
    W24 = init_with_exact(inst, seed + 1, {"p2", "p4"})
    dist = distance_to_minimizers(W0, inst)
    # AGD from W(0) (run 2g) and from a random start at the same distance (run 2g + 1), same data
    agd_inst = head(inst, min(cell.n_agd, cell.N), 2)
    start = torch.stack([W0, torch.zeros_like(W0)], 1).flatten(0, 1)
    lam = torch.as_tensor(np.repeat(np.where(np.isfinite(dist), dist, 1.0), 2), dtype=W0.dtype, device=W0.device)
    rand = init_at_distance(agd_inst.W_star, agd_inst.M, lam, seed + 2)
    start[1::2] = rand[1::2]
    res = run_agd(agd_inst, start, AGD(eta=cell.eta, beta=cell.beta, max_iter=cell.max_iter, tol=cell.tol,
                                               precision=cell.agd_precision, layout=cell.agd_layout))
    final = relative_error_perm(res.W, agd_inst.W_star)
    return {"init_err": relative_error_perm(W0, inst.W_star), "init_dist": dist,
            "subspace_error": info["subspace_error"], "null_dim": info["null_dim"],
            "null_deficit": info["null_deficit"],
            "pop_err": relative_error_perm(Wp, inst.W_star), "err_exact_p2": relative_error_perm(W2, inst.W_star),
            "err_exact_p2p4": relative_error_perm(W24, inst.W_star),
            "agd_err_tensor": final[0::2], "agd_err_random": final[1::2],
            "agd_iters_tensor": res.iters[0::2], "agd_iters_random": res.iters[1::2]}


def _g(x: float) -> float:
    return float(f"{x:.4g}")


def summarize(finished):
    rows = []
    for cell, arr in finished:
        e, lo, hi = median_ci(arr["init_err"])
        n = len(arr["init_err"])
        row = {"cell": cell.key, "support": cell.support, "K": cell.K, "d": cell.d, "r": cell.r,
               "N": cell.N, "trials": n, "init_err": _g(e), "ci_low": _g(lo), "ci_high": _g(hi),
               "init_dist": _g(np.median(arr["init_dist"])),
               "subspace_error": _g(np.median(arr["subspace_error"])),
               "err_exact_p2": _g(np.median(arr["err_exact_p2"])),
               "err_exact_p2p4": _g(np.median(arr["err_exact_p2p4"])),
               "pop_err_max": float(f"{np.max(arr['pop_err']):.2e}"), "n_agd": min(cell.n_agd, cell.N)}
        for name in ("tensor", "random"):
            k = int((arr[f"agd_err_{name}"] < SUCCESS).sum())
            lo_w, hi_w = wilson(np.array([k]), np.array([n]))
            row[f"agd_success_{name}"] = round(k / n, 3)
            row[f"agd_{name}_ci"] = f"[{lo_w[0]:.2f}, {hi_w[0]:.2f}]"
            # the dense runs often stop at the iteration cap still converging: also count "reached 1e-2"
            row[f"agd_below_1e-2_{name}"] = round(float((arr[f"agd_err_{name}"] < 1e-2).mean()), 3)
            row[f"agd_hit_cap_{name}"] = int((arr[f"agd_iters_{name}"] >= cell.max_iter).sum())
        rows.append(row)
    return rows


def _first(Ns, ok):
    hit = [int(n) for n, o in zip(Ns, ok) if o]
    return hit[0] if hit else None


def fit(finished, rows) -> dict:
    """fits.json from the summary rows (per configuration: the medians against N, log-log slopes of the
    median init_err, subspace_error and err_exact_p2p4 against N, the first N with median init_err < 0.5,
    the first N with AGD success from W(0) >= 1/2)."""
    rows = saved_rows(rows)
    fits = {}
    for key in sorted({(r["support"], int(r["K"]), int(r["d"]), int(r["r"])) for r in rows}):
        sub = sorted([r for r in rows if (r["support"], int(r["K"]), int(r["d"]), int(r["r"])) == key],
                     key=lambda r: int(r["N"]))
        N = np.array([int(r["N"]) for r in sub], float)
        f = lambda k: np.array([float(r[k]) for r in sub])  # noqa: E731
        e = f("init_err")
        fits["{} K={} d={} r={}".format(*key)] = {
            "N": N.astype(int).tolist(), "init_err": e.tolist(), "subspace_error": f("subspace_error").tolist(),
            "err_exact_p2": f("err_exact_p2").tolist(), "err_exact_p2p4": f("err_exact_p2p4").tolist(),
            "pop_err_max": float(f("pop_err_max").max()),
            "agd_success_tensor": f("agd_success_tensor").tolist(),
            "agd_success_random": f("agd_success_random").tolist(),
            "agd_below_1e-2_tensor": f("agd_below_1e-2_tensor").tolist(),
            "agd_below_1e-2_random": f("agd_below_1e-2_random").tolist(),
            "loglog_slope_init_err": line_fit(np.log10(N), np.log10(e)),
            "loglog_slope_subspace_error": line_fit(np.log10(N), np.log10(f("subspace_error"))),
            "loglog_slope_err_exact_p2p4": line_fit(np.log10(N), np.log10(f("err_exact_p2p4"))),
            "first_N_init_err_below_0.5": _first(N, e < 0.5),
            "first_N_agd_from_W0_at_least_half": _first(N, f("agd_success_tensor") >= 0.5)}
    return {"fits.json": fits}


def main(argv=None) -> int:
    import argparse
    import resource
    import time

    from sim.core.sweep import cell_record, cell_seed

    p = argparse.ArgumentParser(prog="python -m sim.zhang.tinit", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--support", choices=["dense", "disjoint", "overlap"], required=True)
    p.add_argument("--K", type=int, required=True)
    p.add_argument("--d", type=int, required=True)
    p.add_argument("--r", type=int, required=True)
    p.add_argument("--Ns", type=int, nargs="+", required=True)
    p.add_argument("--trials", type=int, default=4)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=Path("results/zhang-tinit-large"))
    a = p.parse_args(argv)
    torch.set_num_threads(1)
    layout = "disjoint" if a.support == "disjoint" else "random"
    if (a.support == "dense") != (a.r == a.d):
        p.error("dense means r = d")
    a.out.mkdir(parents=True, exist_ok=True)
    path = a.out / "cells.json"
    out = json.loads(path.read_text()) if path.is_file() else {}
    for N in a.Ns:
        paper = SCALES["paper"]
        cell = TinitCell(support=a.support, layout=layout, K=a.K, d=a.d, r=a.r, N=N, trials=a.trials, eta=paper.eta,
                         beta=paper.beta, max_iter=paper.max_iter, tol=paper.tol, n_agd=paper.n_agd)
        t = time.perf_counter()
        arr = run_cell(cell, cell_seed(a.seed, cell.key), "cpu")
        row = {k: np.asarray(v).tolist() for k, v in arr.items()}
        row.update(cell=cell_record(cell), seed=a.seed, wall_s=time.perf_counter() - t,
                   maxrss_GB=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6,
                   summary=summarize([(cell, arr)])[0])
        out[cell.key] = row
        path.write_text(json.dumps(out, indent=1))
        print(json.dumps(row["summary"]), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
