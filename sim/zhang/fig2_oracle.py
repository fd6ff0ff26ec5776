"""Runs of a saved zhang-fig2 folder re-run one by one with the per-trial numpy oracle: the second computation
behind the paper-size Fig. 2 row (is a failure a real stall, or the engine's?).

For each chosen r the runs are rebuilt by :func:`sim.zhang.diagrams.fig2_starts`, as ``run_fig2`` builds them
(the same draws and starts from the cell's seed), then run by
:func:`sim.zhang.sparse_reference.agd_one` -- float64, the paper's coordinates (one r-vector per neuron), its
own loop, stopping rule and divergence test -- to the same cap.  Its final error, its error at 90 % of the cap
and how it stopped are classified by :func:`sim.zhang.fits.classify_fig2_runs`, as the engine's runs are, and
compared with what the folder saved.  Only the draw of data and starts is shared with the engine.

    python -m sim.zhang.fig2_oracle --results figures/data/sim/zhang-fig2-paper-seed0-0914e25a --rs 300,500 --runs 2

picks per r the engine's failures first (one of each outcome class in turn), then its successes from the most iterations down, and
writes ``oracle_vs_engine.json`` (per run both outcomes, iterations, errors, seconds) to --out.  At K = 5,
d = 500, N = 3000 the oracle takes about 25-40 ms per step on one core: minutes per run.
"""

from __future__ import annotations

import argparse
import itertools
import json
import time
from pathlib import Path

import numpy as np

from sim.zhang.fits import FIG2_KINDS, SUCCESS, classify_fig2_runs
from sim.zhang.sparse_reference import agd_one


def pick_runs(arr: dict, n: int) -> list[int]:
    """``n`` runs of a saved zhang-fig2 cell: its failures, taking one of each outcome class in turn (in run order
    within a class), then its successes from the most iterations down (the runs closest to the cap)."""
    kind = classify_fig2_runs(arr)
    by_kind = [[int(i) for i in np.flatnonzero(kind == k)] for k in FIG2_KINDS if k != "success"]
    fails = [i for turn in itertools.zip_longest(*by_kind) for i in turn if i is not None]
    ok = [int(i) for i in np.flatnonzero(kind == "success")]
    ok.sort(key=lambda i: (-int(arr["iters"][i]), i))
    return (fails + ok)[:n]


def oracle_run(cell, seed: int, run: int) -> dict:
    """Run ``run`` of ``cell`` (seeded ``seed``, as the sweep seeds it) by the numpy oracle, to the cell's cap."""
    from sim.zhang.diagrams import fig2_starts
    from sim.zhang.sparse_teacher import free_index

    inst, W0 = fig2_starts(cell, seed, "cpu")
    g = run // len(cell.lams)
    idx = free_index(inst.M)[run].numpy()
    omegas = [idx[j] for j in range(cell.K)]
    X, y = inst.X[g].numpy(), inst.y[run].numpy()
    W_star = inst.W_star[run].numpy()
    del inst
    at90 = int(0.9 * cell.max_iter)
    seen = {}

    def full(W):
        out = np.zeros((cell.K, cell.d))
        for j, om in enumerate(omegas):
            out[j, om] = W[j]
        return out

    def err(W) -> float:
        return float(np.linalg.norm(full(W) - W_star) / np.linalg.norm(W_star))

    def on_step(t, W):
        if t == at90:
            seen["err_at_90pct"] = err(W)

    t0 = time.perf_counter()
    W, t, stopped = agd_one([W0[run, j].numpy()[om] for j, om in enumerate(omegas)], omegas, X, y, cell.eta,
                            cell.beta, cell.max_iter, cell.tol, on_step=on_step)
    finite = all(np.isfinite(w).all() for w in W)
    e = err(W) if finite else float("nan")
    rec = {"rel_err": e, "iters": int(t), "stopped": bool(stopped), "diverged": not finite,
           "err_at_90pct": seen.get("err_at_90pct", e)}  # a run that stopped earlier holds its final error
    rec["success"] = bool(finite and e < SUCCESS)
    rec["kind"] = str(classify_fig2_runs({k: np.array([v]) for k, v in rec.items()})[0])
    rec["seconds"] = round(time.perf_counter() - t0, 1)
    return rec


def compare_saved(folder: Path, rs: list[int], runs: int, say=print) -> list[dict]:
    from sim.core.config import from_dict
    from sim.core.sweep import cell_seed, load_results
    from sim.zhang.diagrams import Fig2Cell

    manifest, cells = load_results(folder)
    if manifest["diagram"] != "zhang-fig2":
        raise ValueError(f"{folder} holds {manifest['diagram']!r}, not zhang-fig2")
    have = {int(rec["r"]): (rec, arr) for rec, arr in cells}
    missing = [r for r in rs if r not in have]
    if missing:
        raise ValueError(f"{folder} has no finished cell for r = {missing} (finished: {sorted(have)})")
    rows = []
    for r in rs:
        rec, arr = have[r]
        cell = from_dict(Fig2Cell, {k: v for k, v in rec.items() if k != "key"})
        seed = cell_seed(manifest["seed"], rec["key"])
        kind = classify_fig2_runs(arr)
        for i in pick_runs(arr, runs):
            engine = {"rel_err": float(arr["rel_err"][i]), "iters": int(arr["iters"][i]),
                      "success": bool(arr["success"][i]), "kind": str(kind[i])}
            oracle = oracle_run(cell, seed, i)
            row = {"r": r, "run": i, "draw": i // len(cell.lams), "lam": float(arr["lam"][i]), "engine": engine,
                   "oracle": oracle, "same_kind": engine["kind"] == oracle["kind"],
                   "same_success": engine["success"] == oracle["success"]}
            say(json.dumps(row))
            rows.append(row)
    return rows


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m sim.zhang.fig2_oracle", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--results", type=Path, required=True, help="a saved zhang-fig2 results folder (any scale)")
    p.add_argument("--rs", required=True, help="comma-separated r whose runs to re-run, e.g. 300,500")
    p.add_argument("--runs", type=int, default=2, help="runs per r (failures first, then successes)")
    p.add_argument("--out", type=Path, default=Path("results/zhang-fig2-oracle"))
    a = p.parse_args(argv)
    try:
        rs = [int(x) for x in a.rs.split(",") if x.strip()]
    except ValueError:
        p.error(f"--rs: comma-separated integers expected, got {a.rs!r}")
    if a.runs < 1:
        p.error(f"--runs must be >= 1, got {a.runs}")
    import torch

    torch.set_num_threads(1)
    t0 = time.perf_counter()
    try:
        rows = compare_saved(a.results, rs, a.runs)
    except (ValueError, FileNotFoundError) as exc:
        p.exit(2, f"{p.prog}: error: {exc}\n")
    a.out.mkdir(parents=True, exist_ok=True)
    target = a.out / "oracle_vs_engine.json"
    if target.exists():
        target = a.out / f"oracle_vs_engine-{time.strftime('%Y%m%dT%H%M%S')}.json"  # never overwrite
    from sim.core import provenance

    target.write_text(json.dumps({"diagram": "zhang-fig2", "results": str(a.results), "rs": rs, "runs": a.runs,
                                  "rows": rows, "wall_s": round(time.perf_counter() - t0, 1),
                                  "git_commit": provenance.git_commit(), "versions": provenance.versions(),
                                  "machine": provenance.machine("cpu"), "finished": provenance.now()}, indent=2))
    n = len(rows)
    print(f"{sum(r['same_kind'] for r in rows)}/{n} runs end the same way (outcome class), "
          f"{sum(r['same_success'] for r in rows)}/{n} the same success verdict -> {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
