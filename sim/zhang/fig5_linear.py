"""Fig. 5 of Zhang et al. (paper 001) without AGD: the linearized least-squares prediction of the error of
the empirical-risk minimizer from noisy data.

Near W* the minimizer of the risk (2) with labels y = g(x; W*) + xi satisfies
W_hat - W* ~ (J^T J)^(-1) J^T xi, J = the Jacobian of g(x_n; W) = (1/K) sum_j relu(w_j^T x_{n, Omega_j}) with
respect to the masked weights at W*: J_n = (1/K) [1{w*_j^T x_{n, Omega_j} > 0} x_{n, Omega_j}]_j (exact to
first order in xi because relu'' = 0 away from the kinks).  Computed with numpy least squares from the draws
``sim.zhang.diagrams.run_fig5`` makes (same SparseProblem and seed), independent of ``sim.zhang.agd`` and of the
risk/gradient code.  Used by ``tests/crosscheck/test_xc_zhang_fig5.py``;

    python -m sim.zhang.fig5_linear --out results/zhang-tinit-fig5-xc

compares it with ``run_fig5`` on the ``zhang-fig5`` quick cells (cell seeds as ``sim.core.sweep``) and writes
``linearized_vs_agd.json``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from sim.zhang.sparse_teacher import SparseProblem, free_index, make_instance


def linearized_errors(cell, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Per run (draw g, level p -> run g P + p, as run_fig5): the predicted ||W_hat - W*||_F / ||W*||_F and
    the run's noise level sigma/E_y.  ``cell``: a :class:`sim.zhang.diagrams.Fig5Cell`."""
    levels = np.asarray(cell.noise_levels, float)
    inst = make_instance(SparseProblem(K=cell.K, d=cell.d, r=cell.r, N=cell.N, noise=1.0, trials=cell.trials,
                                       runs_per_draw=len(levels)), seed)
    X = inst.X.cpu().numpy()
    idx = free_index(inst.M).cpu().numpy()
    Ws = inst.W_star.cpu().numpy()
    xi_unit = (inst.y - inst.y_clean).cpu().numpy()  # sigma = E_y; run_fig5 scales it by the level
    K, P = cell.K, len(levels)
    pred = np.empty(inst.B)
    for b in range(inst.B):
        x = X[b // P]
        Xg = x[:, idx[b]]  # (N, K, r)
        act = np.einsum("nkr,kr->nk", Xg, np.take_along_axis(Ws[b], idx[b], 1)) > 0
        J = (Xg * act[..., None]).reshape(x.shape[0], -1) / K
        delta = np.linalg.lstsq(J, levels[b % P] * xi_unit[b], rcond=None)[0]
        pred[b] = np.linalg.norm(delta) / np.linalg.norm(Ws[b])
    return pred, np.tile(levels, cell.trials)


def _rows(cell, agd: dict, seed: int) -> list[dict]:
    """One row per noise level: AGD's errors (``agd``: the cell's arrays) against the prediction."""
    pred, lev = linearized_errors(cell, seed)
    rows = []
    for L in cell.noise_levels:
        m = np.isclose(lev, L)
        gap = np.abs(agd["rel_err"][m] - pred[m]) / pred[m]
        rows.append({"r": cell.r, "noise": L, "trials": int(m.sum()),
                     "agd_err_over_noise": float(np.median(agd["rel_err"][m]) / L),
                     "pred_err_over_noise": float(np.median(pred[m]) / L),
                     "median_gap": float(np.median(gap)), "max_gap": float(gap.max()),
                     "agd_hit_cap": int((agd["iters"][m] >= cell.max_iter).sum())})
    return rows


def compare(scale: str = "quick", seed: int = 0) -> list[dict]:
    """run_fig5 (AGD) and the prediction on the zhang-fig5 cells of ``scale``, per r and noise level."""
    from sim.core.registry import get
    from sim.core.sweep import cell_seed
    from sim.zhang.diagrams import run_fig5

    dg = get("zhang-fig5")
    rows = []
    for cell in dg.cells(dg.scales[scale]):
        s = cell_seed(seed, cell.key)
        rows += _rows(cell, run_fig5(cell, s, "cpu"), s)
    return rows


def compare_saved(folder: Path) -> list[dict]:
    """The prediction against the AGD runs already saved in a zhang-fig5 results folder (any scale): the same
    draws (each cell's seed is in its file), without running AGD again."""
    from sim.core.config import from_dict
    from sim.core.sweep import load_results
    from sim.zhang.diagrams import Fig5Cell

    manifest, cells = load_results(folder)
    if manifest["diagram"] != "zhang-fig5":
        raise ValueError(f"{folder} holds {manifest['diagram']!r}, not zhang-fig5")
    from sim.core.sweep import cell_seed

    rows = []
    for record, arrays in cells:
        cell = from_dict(Fig5Cell, {k: v for k, v in record.items() if k != "key"})
        rows += _rows(cell, arrays, cell_seed(manifest["seed"], record["key"]))
    return rows


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m sim.zhang.fig5_linear", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--scale", default="quick", choices=["quick", "paper"])
    p.add_argument("--results", type=Path, default=None,
                   help="a saved zhang-fig5 results folder: predict its runs instead of running AGD again")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=Path("results/zhang-tinit-fig5-xc"))
    a = p.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    t0 = time.perf_counter()
    rows = compare_saved(a.results) if a.results else compare(a.scale, a.seed)
    a.out.mkdir(parents=True, exist_ok=True)
    (a.out / "linearized_vs_agd.json").write_text(json.dumps(
        {"diagram": "zhang-fig5", "scale": a.scale, "seed": a.seed, "results": str(a.results or ""), "rows": rows,
         "wall_s": time.perf_counter() - t0}, indent=2))
    for r in rows:
        print(r)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
