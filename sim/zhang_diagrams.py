"""Registered experiments of paper 001 (Zhang et al., "Why Lottery Ticket Wins?"), Sec. 5 and Theorem 1.

Each cell draws ``trials`` independent teachers, supports, data and initializations (:mod:`sim.sparse_teacher`)
and runs batched AGD (:mod:`sim.agd`).  Where a figure's grid axis does not change the data, the cell runs
that axis on the same draws (common random numbers; the trials of one grid point stay independent):
Fig. 2: all initial distances of one r share each draw (``runs_per_draw``: one matmul per draw for all of
them); Fig. 3: AGD and GD from the same starts; Fig. 5: all noise levels of one r share each draw, teacher,
inputs and noise vector, the noise scaled per level.  Settings the paper does not print are marked "ours" in the parameters' names or
in paper_repro.md: the r grids, the initial distances, the noise levels, the initialization of Figs. 3-5
(relative distance ``lam`` from W*, as Sec. 5's first modification), and the IMP details of Fig. 6.

Cross-cell fits (radius against sqrt(r), N* against r, rate against sqrt(r), error against sqrt(r)) are made
by ``figures.zhang_recovery`` from the saved cells and written to ``fits.json`` next to the figure.
"""

from __future__ import annotations

import numpy as np
import torch

from sim.agd import AGD, run_agd
from sim.intervals import wilson
from sim.rates import median_ci
from sim.registry import Diagram, register
from sim.sparse_teacher import (SparseProblem, forward, held_out_data, hessian, init_at_distance, make_instance,
                                relative_error, relative_error_perm)
from sim.tensor_init import tensor_init
from sim.zhang_fits import convergence_rate

SUCCESS = 1e-4  # Sec. 5.1: ||W - W*|| / ||W*|| < 1e-4


def _agd(cell: dict, beta: float | None = None, record_every: int = 0) -> AGD:
    return AGD(eta=cell["eta"], beta=cell["beta"] if beta is None else beta, max_iter=cell["max_iter"],
               tol=cell["tol"], record_every=record_every, precision=cell.get("agd_precision", "mixed"),
               layout=cell.get("agd_layout", "auto"))


def _problem(cell: dict, trials: int, noise: float = 0.0, r_star=None, runs_per_draw: int = 1) -> SparseProblem:
    return SparseProblem(K=cell["K"], d=cell["d"], r=cell["r"], N=cell["N"], r_star=r_star, noise=noise,
                         trials=trials, layout=cell.get("layout", "random"), runs_per_draw=runs_per_draw)


# ------------------------------------------------------------------------------------------- Fig. 2
def run_fig2(cell: dict, seed: int, device: str) -> dict[str, np.ndarray]:
    lams = np.asarray(cell["lams"], float)
    T = cell["trials"]
    inst = make_instance(_problem(cell, T, runs_per_draw=len(lams)), seed, device)  # draw g: runs g P + p
    lam_row = torch.as_tensor(np.tile(lams, T), dtype=inst.X.dtype, device=inst.X.device)
    W0 = init_at_distance(inst.W_star, inst.M, lam_row, seed + 1, where=cell["init"])
    res = run_agd(inst, W0, _agd(cell, record_every=max(cell["max_iter"] // 10, 1)))
    # err_at_90pct: the error at 90 % of the cap (held after a stop), so that a run cut off by the cap can be told
    # still converging from stalled, as zhang-fig2-cap does (figures.zhang_recovery.classify_fig2_runs)
    return {"lam": np.tile(lams, T), "rel_err": res.rel_err, "iters": res.iters, "stopped": res.stopped,
            "diverged": res.diverged, "success": res.rel_err < SUCCESS, "err_at_90pct": res.history[:, -2]}


def _rate_row(n_ok: int, n: int) -> dict:
    lo, hi = wilson(np.array([n_ok]), np.array([n]))
    return {"successes": int(n_ok), "trials": int(n), "success_rate": round(n_ok / n, 4),
            "ci_low": round(float(lo[0]), 4), "ci_high": round(float(hi[0]), 4)}


def summarize_fig2(finished):
    rows = []
    for cell, arr in finished:
        for lam in cell["lams"]:
            m = np.isclose(arr["lam"], lam)
            rows.append({"cell": cell["key"], "K": cell["K"], "d": cell["d"], "N": cell["N"], "r": cell["r"],
                         "lam": lam, **_rate_row(int(arr["success"][m].sum()), int(m.sum())),
                         "median_iters": int(np.median(arr["iters"][m])),
                         "hit_max_iter": int((arr["iters"][m] >= cell["max_iter"]).sum()),
                         "median_rel_err": float(f"{np.median(arr['rel_err'][m]):.3g}")})
    return rows


# ------------------------------------------------------------------------------------------- Fig. 3
def run_fig3(cell: dict, seed: int, device: str) -> dict[str, np.ndarray]:
    inst = make_instance(_problem(cell, cell["trials"]), seed, device)
    W0 = init_at_distance(inst.W_star, inst.M, cell["lam"], seed + 1, where="sphere")
    out = {}
    for name, beta in (("agd", cell["beta"]), ("gd", 0.0)):
        res = run_agd(inst, W0, _agd(cell, beta=beta, record_every=cell["record_every"]))
        out[f"{name}_history"] = res.history
        out[f"{name}_rate"] = convergence_rate(res.history_t, res.history)
        out[f"{name}_iters"] = res.iters
        out[f"{name}_rel_err"] = res.rel_err
        out["t"] = res.history_t
    return out


def summarize_fig3(finished):
    rows = []
    for cell, arr in finished:
        for name, beta in (("agd", cell["beta"]), ("gd", 0.0)):
            nu, lo, hi = median_ci(arr[f"{name}_rate"])
            rows.append({"cell": cell["key"], "K": cell["K"], "d": cell["d"], "N": cell["N"], "r": cell["r"],
                         "method": name.upper(), "beta": beta, "eta": cell["eta"], "trials": cell["trials"],
                         "rate": round(nu, 6), "rate_ci_low": round(lo, 6), "rate_ci_high": round(hi, 6),
                         "median_iters": int(np.median(arr[f"{name}_iters"])),
                         "success_rate": round(float((arr[f"{name}_rel_err"] < SUCCESS).mean()), 3)})
    return rows


# ------------------------------------------------------------------------------------------- Fig. 4
def run_fig4(cell: dict, seed: int, device: str) -> dict[str, np.ndarray]:
    inst = make_instance(_problem(cell, cell["trials"]), seed, device)
    W0 = init_at_distance(inst.W_star, inst.M, cell["lam"], seed + 1, where="sphere")
    res = run_agd(inst, W0, _agd(cell))
    return {"rel_err": res.rel_err, "iters": res.iters, "success": res.rel_err < SUCCESS}


def summarize_fig4(finished):
    return [{"cell": cell["key"], "K": cell["K"], "d": cell["d"], "r": cell["r"], "N": cell["N"],
             "params": cell["K"] * cell["r"], **_rate_row(int(arr["success"].sum()), len(arr["success"])),
             "median_rel_err": float(f"{np.median(arr['rel_err']):.3g}")} for cell, arr in finished]


# ------------------------------------------------------------------------------------------- Fig. 5
def run_fig5(cell: dict, seed: int, device: str) -> dict[str, np.ndarray]:
    levels = np.asarray(cell["noise_levels"], float)
    T = cell["trials"]
    # sigma = E_y per row, then scaled to each level; draw g (teacher, data, noise vector) feeds runs g P + p
    inst = make_instance(_problem(cell, T, noise=1.0, runs_per_draw=len(levels)), seed, device)
    level = torch.as_tensor(np.tile(levels, T), dtype=inst.X.dtype, device=inst.X.device)
    inst.y = inst.y_clean + level[:, None] * (inst.y - inst.y_clean)
    inst.sigma = inst.sigma * level
    W0 = init_at_distance(inst.W_star, inst.M, cell["lam"], seed + 1, where="sphere")
    res = run_agd(inst, W0, _agd(cell))
    return {"noise": np.tile(levels, T), "rel_err": res.rel_err, "iters": res.iters}


def summarize_fig5(finished):
    rows = []
    for cell, arr in finished:
        for lev in cell["noise_levels"]:
            m = np.isclose(arr["noise"], lev)
            e, lo, hi = median_ci(arr["rel_err"][m])
            rows.append({"cell": cell["key"], "K": cell["K"], "d": cell["d"], "N": cell["N"], "r": cell["r"],
                         "noise": lev, "trials": int(m.sum()), "rel_err": float(f"{e:.4g}"),
                         "ci_low": float(f"{lo:.4g}"), "ci_high": float(f"{hi:.4g}"),
                         "rel_err_over_noise": float(f"{e / lev:.4g}")})
    return rows


# ------------------------------------------------------------------------------------------- Fig. 6 (IMP)
def run_fig6(cell: dict, seed: int, device: str) -> dict[str, np.ndarray]:
    """IMP on the dense student (r = d): train by AGD from a random W_init, prune ``prune_frac`` of the
    remaining weights by |W| (all K d weights ranked together), rewind the survivors to W_init, retrain."""
    p = SparseProblem(K=cell["K"], d=cell["d"], r=cell["d"], N=cell["N"], r_star=cell["r_star"], noise=cell["noise"],
                      trials=cell["trials"])
    inst = make_instance(p, seed, device)
    Xt, yt = held_out_data(inst, cell["n_test"], seed + 7)
    gen = torch.Generator(device=device)
    gen.manual_seed(seed + 3)
    W_init = torch.randn(inst.W_star.shape, generator=gen, dtype=inst.X.dtype, device=device) * cell["init_std"]
    B, K, d = inst.M.shape
    M = torch.ones(B, K, d, dtype=torch.bool, device=device)
    test_err, remaining, recall, rel_err = [], [], [], []
    for rnd in range(cell["rounds"] + 1):
        inst.M = M
        inst.W_star = inst.W_teacher * M
        res = run_agd(inst, W_init * M, _agd(cell))
        g = forward(res.W, Xt)
        test_err.append(((g - yt).pow(2).mean(-1) / yt.pow(2).mean(-1)).cpu().numpy())
        remaining.append(M.flatten(1).float().mean(1).cpu().numpy())
        recall.append(support_recall(M, inst.M_teacher))
        rel_err.append(relative_error_perm(res.W, inst.W_teacher))
        if rnd == 0:  # Sec. 4.1: one-shot magnitude pruning of the trained dense network to exactly r*/d
            oneshot, separated = magnitude_oneshot(res.W, inst.M_teacher)
        if rnd == cell["rounds"]:
            break
        n_keep = int(round(M[0].sum().item() * (1 - cell["prune_frac"])))
        score = torch.where(M, res.W.abs(), torch.full_like(res.W, -1.0)).flatten(1)
        keep = score.topk(n_keep, dim=1).indices
        M = torch.zeros(B, K * d, dtype=torch.bool, device=device).scatter_(1, keep, True).view(B, K, d)
    return {"test_err": np.stack(test_err, 1), "remaining": np.stack(remaining, 1),
            "support_recall": np.stack(recall, 1), "rel_err": np.stack(rel_err, 1),
            "oneshot_recall": oneshot, "separated": separated}


def magnitude_oneshot(W: torch.Tensor, M_teacher: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """Sec. 4.1 on a trained dense W (B, K, d): keep the r*/d fraction of largest |W| (all K d weights ranked
    together).  Returns the support recall of that mask (up to relabelling) and whether every teacher weight
    is larger in magnitude than every non-teacher weight (the separation Sec. 4.1 derives from (10)), with the
    student neurons matched to the teacher neurons that maximize the kept support."""
    B, K, d = W.shape
    n_keep = int(M_teacher[0].sum())
    keep = W.abs().flatten(1).topk(n_keep, dim=1).indices
    M = torch.zeros(B, K * d, dtype=torch.bool, device=W.device).scatter_(1, keep, True).view(B, K, d)
    assigned, recall = match_neurons(M, M_teacher)
    Wa = W.abs().cpu().numpy()
    Mt = M_teacher.cpu().numpy()
    sep = np.zeros(B, bool)
    for b in range(B):
        on = np.concatenate([Wa[b, j][Mt[b, l]] for j, l in enumerate(assigned[b])])
        off = np.concatenate([Wa[b, j][~Mt[b, l]] for j, l in enumerate(assigned[b])])
        sep[b] = on.min() > off.max()
    return recall, sep


def match_neurons(M: torch.Tensor, M_teacher: torch.Tensor) -> tuple[list[np.ndarray], np.ndarray]:
    """Per trial, the matching of student neurons to teacher neurons that maximizes the teacher weights the
    mask keeps (the dense student's neurons are exchangeable, so student j may learn teacher neuron pi(j)):
    the assigned teacher neuron of every student neuron, and the support recall under that matching."""
    from scipy.optimize import linear_sum_assignment

    overlap = torch.einsum("bjd,bld->bjl", M.double(), M_teacher.double()).cpu().numpy()
    total = M_teacher.flatten(1).sum(1).double().cpu().numpy()
    assigned, recall = [], np.empty(M.shape[0])
    for b in range(M.shape[0]):
        rows, cols = linear_sum_assignment(-overlap[b])
        assigned.append(cols[np.argsort(rows)])
        recall[b] = overlap[b][rows, cols].sum() / total[b]
    return assigned, recall


def support_recall(M: torch.Tensor, M_teacher: torch.Tensor) -> np.ndarray:
    """Fraction of the teacher's weights that the mask keeps, up to relabelling (:func:`match_neurons`)."""
    return match_neurons(M, M_teacher)[1]


def summarize_fig6(finished):
    rows = []
    for cell, arr in finished:
        for k in range(arr["test_err"].shape[1]):
            te = arr["test_err"][:, k]
            rows.append({"cell": cell["key"], "N": cell["N"], "round": k,
                         "remaining_pct": round(100 * float(np.median(arr["remaining"][:, k])), 2),
                         "test_err_median": float(f"{np.median(te):.4g}"),
                         "test_err_q25": float(f"{np.quantile(te, 0.25):.4g}"),
                         "test_err_q75": float(f"{np.quantile(te, 0.75):.4g}"),
                         "support_recall": round(float(np.mean(arr["support_recall"][:, k])), 4),
                         "oneshot_recall": round(float(np.mean(arr["oneshot_recall"])), 4),
                         "separated": int(arr["separated"].sum()), "trials": len(te)})
    return rows


# ------------------------------------------------------------------------------------------- Theorem 1
def run_hessian(cell: dict, seed: int, device: str) -> dict[str, np.ndarray]:
    inst = make_instance(_problem(cell, cell["trials"]), seed, device)
    out = {}
    for name, lam in (("at", 0.0), ("near", cell["lam"])):
        W = inst.W_star if lam == 0 else init_at_distance(inst.W_star, inst.M, lam, seed + 1)
        ev = torch.linalg.eigvalsh(hessian(W, inst.M, inst.X)).cpu().numpy()
        out[f"{name}_min"], out[f"{name}_max"] = ev[:, 0], ev[:, -1]
    return out


def summarize_hessian(finished):
    from theory.relu_moments import lambda_min_scaled

    rows = []
    for cell, arr in finished:
        K = cell["K"]
        for name in ("at", "near"):
            lo_m, lo_l, lo_h = median_ci(arr[f"{name}_min"] * K ** 2)
            hi_m = float(np.median(arr[f"{name}_max"] * K))
            rows.append({"cell": cell["key"], "K": K, "d": cell["d"], "r": cell["r"], "N": cell["N"],
                         "layout": cell["layout"], "point": "W*" if name == "at" else f"lam={cell['lam']}",
                         "sqrt_Kr_over_N": round(float(np.sqrt(K * cell["r"] / cell["N"])), 4),
                         "K2_lambda_min": round(lo_m, 5), "ci_low": round(lo_l, 5), "ci_high": round(lo_h, 5),
                         "K_lambda_max": round(hi_m, 5),
                         "population_K2_lambda_min_disjoint": round(lambda_min_scaled(), 5),
                         "trials": cell["trials"]})
    return rows


# ------------------------------------------------------------------------------------------- Lemma 1
def run_tensor_init(cell: dict, seed: int, device: str) -> dict[str, np.ndarray]:
    inst = make_instance(_problem(cell, cell["trials"]), seed, device)
    W0, info = tensor_init(inst, seed + 1)
    res = run_agd(inst, W0, _agd(cell))
    return {"init_err": relative_error_perm(W0, inst.W_star), "init_err_labelled": relative_error(W0, inst.W_star).cpu().numpy(),
            "subspace_error": info["subspace_error"], "final_err": relative_error_perm(res.W, inst.W_star)}


def summarize_tensor_init(finished):
    rows = []
    for cell, arr in finished:
        e, lo, hi = median_ci(arr["init_err"])
        rows.append({"cell": cell["key"], "K": cell["K"], "d": cell["d"], "r": cell["r"], "layout": cell["layout"],
                     "N": cell["N"], "trials": cell["trials"], "init_err": float(f"{e:.4g}"),
                     "ci_low": float(f"{lo:.4g}"), "ci_high": float(f"{hi:.4g}"),
                     "subspace_error": float(f"{np.median(arr['subspace_error']):.4g}"),
                     "agd_success_rate": round(float((arr["final_err"] < SUCCESS).mean()), 3)})
    return rows


# ------------------------------------------------------------------------------------------- cells
def _common(p: dict) -> dict:
    return {k: p[k] for k in ("K", "d", "eta", "beta", "max_iter", "tol") if k in p}


def _fig2_cells(p):
    return [{"key": f"r{r}", **_common(p), "N": p["N"], "r": r, "lams": p["lams"], "trials": p["trials"],
             "init": p["init"]} for r in p["rs"]]


def _fig3_cells(p):
    return [{"key": f"r{r}", **_common(p), "N": p["N"], "r": r, "lam": p["lam"], "trials": p["trials"],
             "record_every": p["record_every"]} for r in p["rs"]]


def _fig4_cells(p):
    return [{"key": f"r{r}_N{N}", **_common(p), "N": N, "r": r, "lam": p["lam"], "trials": p["trials"]}
            for r in p["rs"] for N in p["Ns"]]


def _fig5_cells(p):
    return [{"key": f"r{r}", **_common(p), "N": p["N"], "r": r, "lam": p["lam"], "trials": p["trials"],
             "noise_levels": p["noise_levels"]} for r in p["rs"]]


def _fig6_cells(p):
    keys = ("K", "d", "r_star", "noise", "eta", "beta", "max_iter", "tol", "rounds", "prune_frac", "init_std",
            "n_test", "trials")
    return [{"key": f"N{N}", "N": N, **{k: p[k] for k in keys}} for N in p["Ns"]]


def _hessian_cells(p):
    return [{"key": f"{lay}_r{r}_N{N}", "K": p["K"], "d": p["d"], "r": r, "N": N, "layout": lay, "lam": p["lam"],
             "trials": p["trials"]} for lay in p["layouts"] for r in p["rs"] for N in p["Ns"]
            if lay == "random" or p["K"] * r <= p["d"]]


def _tensor_cells(p):
    return [{"key": f"{c['layout']}_K{c['K']}_d{c['d']}_r{c['r']}_N{N}", **c, "N": N, "trials": p["trials"],
             "eta": p["eta"], "beta": p["beta"], "max_iter": p["max_iter"], "tol": p["tol"]}
            for c in p["configs"] for N in p["Ns"]]


def _plot(kind):
    def plot(out):
        from figures import zhang_recovery
        return zhang_recovery.plot(out, kind)
    return plot


P = "001 (Zhang et al.)"
_AGD_QUICK = {"eta": 0.5, "beta": 0.2, "tol": 1e-8}


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
    scales={"quick": {"K": 3, "d": 60, "N": 600, "rs": [5, 10, 20, 40, 60], "lams": [1.0, 2.0, 4.0, 8.0, 16.0, 32.0],
                      "trials": 8, "max_iter": 3000, "init": "sphere", **_AGD_QUICK},
            "paper": {"K": 5, "d": 500, "N": 3000, "rs": [10, 25, 50, 75, 100, 150, 200, 300, 400, 500],
                      "lams": [0.5, 1.0, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0, 16.0, 24.0], "trials": 100,
                      "max_iter": 10_000, "init": "sphere", **_AGD_QUICK}},
    cells=_fig2_cells, run_cell=run_fig2, summarize=summarize_fig2, plot=_plot("fig2"),
    columns=("r", "lam", "success_rate", "ci_low", "ci_high", "median_iters", "hit_max_iter", "median_rel_err")))

register(Diagram(
    legend=LEGEND,
    name="zhang-fig3", title="Relative error against iterations and convergence rate against sqrt(r), AGD vs GD",
    paper=P + " Fig. 3, Theorem 2",
    scales={"quick": {"K": 3, "d": 60, "N": 900, "rs": [5, 10, 20, 40, 60], "lam": 0.5, "trials": 6,
                      "max_iter": 3000, "record_every": 10, **_AGD_QUICK},
            "paper": {"K": 5, "d": 300, "N": 3000, "rs": [10, 20, 50, 100, 150, 200, 250, 300], "lam": 0.5,
                      "trials": 20, "max_iter": 10_000, "record_every": 10, **_AGD_QUICK}},
    cells=_fig3_cells, run_cell=run_fig3, summarize=summarize_fig3, plot=_plot("fig3"),
    columns=("r", "method", "rate", "rate_ci_low", "rate_ci_high", "median_iters", "success_rate")))

register(Diagram(
    legend=LEGEND,
    name="zhang-fig4", title="Phase transition of AGD recovery over samples N x r",
    paper=P + " Fig. 4, eq. (8)",
    scales={"quick": {"K": 3, "d": 40, "rs": [5, 10, 20, 40], "Ns": [30, 60, 120, 240, 480], "lam": 0.5,
                      "trials": 10, "max_iter": 3000, **_AGD_QUICK},
            "paper": {"K": 5, "d": 100, "rs": [10, 20, 30, 40, 50, 60, 70, 80, 90, 100],
                      "Ns": [50, 100, 200, 300, 400, 600, 800, 1000, 1500, 2000, 3000], "lam": 0.5, "trials": 100,
                      "max_iter": 10_000, **_AGD_QUICK}},
    cells=_fig4_cells, run_cell=run_fig4, summarize=summarize_fig4, plot=_plot("fig4"),
    columns=("r", "N", "success_rate", "ci_low", "ci_high", "median_rel_err")))

register(Diagram(
    legend=LEGEND,
    name="zhang-fig5", title="Relative error of AGD from noisy data against sqrt(r) at several noise levels",
    paper=P + " Fig. 5, eq. (9)",
    scales={"quick": {"K": 5, "d": 100, "N": 500, "rs": [5, 10, 20, 40], "noise_levels": [0.01, 0.05, 0.1],
                      "lam": 0.5, "trials": 6, "max_iter": 3000, **_AGD_QUICK},
            "paper": {"K": 10, "d": 300, "N": 1000, "rs": [5, 10, 20, 30, 40, 50, 60],
                      "noise_levels": [0.01, 0.05, 0.1, 0.2], "lam": 0.5, "trials": 50, "max_iter": 10_000,
                      **_AGD_QUICK}},
    cells=_fig5_cells, run_cell=run_fig5, summarize=summarize_fig5, plot=_plot("fig5"),
    columns=("r", "noise", "rel_err", "ci_low", "ci_high", "rel_err_over_noise")))

register(Diagram(
    legend=LEGEND,
    name="zhang-fig6", title="IMP on synthetic data: test error against remaining parameters for several N",
    paper=P + " Fig. 6, Sec. 4.1 and 5.2",
    scales={"quick": {"K": 5, "d": 30, "r_star": 6, "noise": 1e-3, "Ns": [50, 200, 1000], "rounds": 10,
                      "prune_frac": 0.2, "init_std": 0.1, "n_test": 2000, "trials": 4, "max_iter": 1500,
                      **_AGD_QUICK},
            "paper": {"K": 5, "d": 100, "r_star": 20, "noise": 1e-3, "Ns": [100, 500, 1000, 5000, 10000],
                      "rounds": 12, "prune_frac": 0.2, "init_std": 0.1, "n_test": 10000, "trials": 20,
                      "max_iter": 10_000, **_AGD_QUICK}},
    cells=_fig6_cells, run_cell=run_fig6, summarize=summarize_fig6, plot=_plot("fig6"),
    columns=("N", "round", "remaining_pct", "test_err_median", "test_err_q25", "test_err_q75", "support_recall",
             "oneshot_recall", "separated")))

register(Diagram(
    legend=LEGEND,
    name="zhang-hessian", title="Smallest and largest Hessian eigenvalues of the empirical risk at and near W*",
    paper=P + " Theorem 1, eq. (7)",
    scales={"quick": {"K": 4, "d": 80, "rs": [5, 10, 20], "Ns": [200, 800, 3200], "layouts": ["random", "disjoint"],
                      "lam": 0.05, "trials": 8},
            "paper": {"K": 5, "d": 500, "rs": [10, 25, 50, 100, 200], "Ns": [1000, 3000, 10000, 30000],
                      "layouts": ["random", "disjoint"], "lam": 0.05, "trials": 20}},
    cells=_hessian_cells, run_cell=run_hessian, summarize=summarize_hessian, plot=_plot("hessian"),
    columns=("layout", "r", "N", "point", "sqrt_Kr_over_N", "K2_lambda_min", "ci_low", "ci_high", "K_lambda_max")))

register(Diagram(
    legend=LEGEND,
    name="zhang-tensor-init", title="Tensor initialization: relative error of W(0) against N, and AGD from it",
    paper=P + " Lemma 1, Sec. 4 (after Zhong et al. 2017)",
    scales={"quick": {"configs": [{"K": 2, "d": 6, "r": 6, "layout": "random"},
                                  {"K": 2, "d": 12, "r": 6, "layout": "disjoint"}],
                      "Ns": [3000, 20000, 100000], "trials": 6, "max_iter": 1000, **_AGD_QUICK},
            "paper": {"configs": [{"K": 3, "d": 10, "r": 10, "layout": "random"},
                                  {"K": 5, "d": 20, "r": 20, "layout": "random"},
                                  {"K": 3, "d": 30, "r": 10, "layout": "disjoint"},
                                  {"K": 5, "d": 100, "r": 20, "layout": "random"}],
                      "Ns": [10000, 100000, 1000000, 3000000], "trials": 10, "max_iter": 10_000, **_AGD_QUICK}},
    cells=_tensor_cells, run_cell=run_tensor_init, summarize=summarize_tensor_init, plot=_plot("tensor"),
    columns=("layout", "K", "d", "r", "N", "init_err", "ci_low", "ci_high", "subspace_error", "agd_success_rate")))


# ------------------------------------------------------------------------------------------- Fig. 4: N* refined
# N* located by bisection in log N on shared draws, with a logistic in log N and bootstrap intervals, for
# several AGD budgets on the same draws (sim/zhang_nstar.py); fits across r in nstar_fits.json.
from sim.zhang_nstar import run_nstar_cell, summarize_nstar, write_nstar_fits  # noqa: E402
def _fig4_nstar_cells(p):
    keys = ("K", "d", "lam", "trials", "tol", "budgets", "steps", "lo_factor", "hi_factor", "n_boot")
    return [{"key": f"r{r}", "r": r, **{k: p[k] for k in keys}} for r in p["rs"]]


def _fig4_nstar_post(out):
    write_nstar_fits(out)
    return _plot("fig4-nstar")(out)


_NSTAR_COMMON = {"lam": 0.5, "tol": 1e-8, "lo_factor": 1.0, "hi_factor": 4.0, "n_boot": 1000}


def _nstar_budgets(cap: int) -> list[dict]:
    """The project's budget (eta 0.5, beta 0.2, zhang-fig4's cap) and the review's (eta 2, beta 0.5, 6000)."""
    return [{"eta": 0.5, "beta": 0.2, "max_iter": cap}, {"eta": 2.0, "beta": 0.5, "max_iter": 6000}]


register(Diagram(
    legend=LEGEND,
    name="zhang-fig4-nstar", title="N* (success crosses 1/2) by bisection in log N on shared draws, per AGD budget",
    paper=P + " Fig. 4, eq. (8)",
    scales={"quick": {"K": 3, "d": 40, "rs": [5, 10, 20, 40], "trials": 20, "steps": 5,
                      "budgets": _nstar_budgets(3000), **_NSTAR_COMMON},
            "mid": {"K": 5, "d": 100, "rs": [10, 20, 40], "trials": 30, "steps": 4,
                    "budgets": _nstar_budgets(10_000), **_NSTAR_COMMON},
            "paper": {"K": 5, "d": 100, "rs": [10, 20, 30, 40, 50, 60, 70, 80, 90, 100], "trials": 100, "steps": 6,
                      "budgets": _nstar_budgets(10_000), **_NSTAR_COMMON}},
    cells=_fig4_nstar_cells, run_cell=run_nstar_cell, summarize=summarize_nstar, plot=_fig4_nstar_post,
    columns=("r", "budget", "N_star", "ci_low", "ci_high", "N_star_over_Kr", "N_star_crossing", "grid_N_star",
             "failures", "fail_cap_hit", "fail_stopped_wrong")))


# ------------------------------------------------------------------------------------------- Fig. 2: cap check
# The zhang-fig2 cells (same keys, hence same seeds, draws and starts) re-run under several iteration caps,
# each failure (relative error >= 1e-4) classified: ran to the cap without the stopping rule firing, split into
# still converging (error at the cap at most 0.95 of its value at 90 % of the cap) and stalled; recovered up to a
# relabelling of the neurons (possible when the supports coincide, r = d); stopped away from W*; diverged.
FAILURE_KINDS = ("cap_converging", "cap_stalled", "permuted", "stopped_wrong", "diverged")


def run_fig2_cap(cell: dict, seed: int, device: str) -> dict[str, np.ndarray]:
    lams = np.asarray(cell["lams"], float)
    T = cell["trials"]
    inst = make_instance(_problem(cell, T, runs_per_draw=len(lams)), seed, device)  # as run_fig2
    lam_row = torch.as_tensor(np.tile(lams, T), dtype=inst.X.dtype, device=inst.X.device)
    W0 = init_at_distance(inst.W_star, inst.M, lam_row, seed + 1, where=cell["init"])
    out = {"lam": np.tile(lams, T)}
    Ey2 = inst.y.pow(2).mean(-1).cpu().numpy()
    for cap in cell["caps"]:
        res = run_agd(inst, W0, _agd({**cell, "max_iter": cap}, record_every=cap // 10))
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
        base = min(cell["caps"])
        for cap in cell["caps"]:
            a = {k.split("__", 1)[1]: v for k, v in arr.items() if k.startswith(f"cap{cap}__")}
            for lam in cell["lams"]:
                m = np.isclose(arr["lam"], lam)
                ok, it, kind = a["success"][m], a["iters"][m], a["kind"][m]
                ok0 = arr[f"cap{base}__success"][m]
                fails = ~ok
                rows.append({"cell": cell["key"], "r": cell["r"], "N": cell["N"], "lam": lam, "max_iter": cap,
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


def _fig2_cap_cells(p):
    return [{**c, "caps": p["caps"]} for c in _fig2_cells(p)]


register(Diagram(
    legend=LEGEND,
    name="zhang-fig2-cap", title="Fig. 2 failures under a larger iteration cap: still converging, stalled, or stopped",
    paper=P + " Fig. 2 (cross-check of the quick-scale verdict)",
    scales={"quick": {"K": 3, "d": 60, "N": 600, "rs": [40, 60], "lams": [1.0, 2.0, 4.0, 8.0, 16.0, 32.0],
                      "trials": 8, "caps": [3000, 30_000], "init": "sphere", **_AGD_QUICK},
            "paper": {"K": 5, "d": 500, "N": 3000, "rs": [300, 400, 500], "lams": [1.0, 4.0, 16.0], "trials": 100,
                      "caps": [10_000, 100_000], "init": "sphere", **_AGD_QUICK}},
    cells=_fig2_cap_cells, run_cell=run_fig2_cap, summarize=summarize_fig2_cap, plot=None,
    columns=("r", "lam", "max_iter", "successes", "trials", *(f"fail_{k}" for k in FAILURE_KINDS),
             "rescued_from_base_cap", "fail_median_rel_err", "fail_median_train_risk_rel")))

# ------------------------------------------------------------------------------------------- Lemma 1 against N
from sim import zhang_tinit  # noqa: E402

register(Diagram(
    legend=LEGEND,
    name="zhang-tinit-n", title="Tensor initialization against N: W(0) error, its population limit, and AGD from it",
    paper=P + " Lemma 1, Sec. 4 (after Zhong et al. 2017)", scales=zhang_tinit.SCALES,
    cells=zhang_tinit.cells, run_cell=zhang_tinit.run_cell, summarize=zhang_tinit.summarize, plot=zhang_tinit.plot,
    columns=zhang_tinit.COLUMNS))
