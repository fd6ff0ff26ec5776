"""Runs of a saved zhang-fig2 or zhang-fig4 folder re-run one by one with the per-trial numpy oracle: the second
computation behind the paper-size Fig. 2 and Fig. 4 rows (does a run end as the engine said?).

The runs are rebuilt from the cell's seed by the figure's own builder (:func:`sim.zhang.diagrams.fig2_starts`,
:func:`sim.zhang.diagrams.fig4_starts`: the same draws and starts as the engine's run), then run by
:func:`sim.zhang.sparse_reference.agd_one` -- float64, the paper's coordinates (one r-vector per neuron), its
own loop, stopping rule and divergence test -- to the same cap.  Only the draw of data and starts is shared
with the engine.  Each run's outcome is classified as the engine's saved run is, and both are written side by side.

    python -m sim.zhang.oracle_rerun --results figures/data/sim/zhang-fig2-paper-seed0-0914e25a --rs 300,500 --runs 2
    python -m sim.zhang.oracle_rerun --results figures/data/sim/zhang-fig4-paper-seed0 --rs 10,40 --runs 100

Which runs: Fig. 2 has one cell per r; Fig. 4 has one per (r, N), and per r the cells at the crossing are taken
(success strictly between 0 and 1, or else the two neighbouring N the rate crosses 1/2 between).  In each cell
the engine's failures come first (one of each outcome class in turn), then its successes from the most
iterations down (the runs closest to the cap); ``--runs`` at least the cell's runs takes all of them.
Writes ``oracle_vs_engine.json`` (per run both outcomes, iterations, errors, seconds) to --out, never
overwriting.  At K = 5, d = 500, N = 3000 the oracle takes 25-40 ms per step on one core (minutes per run); at
Fig. 4's d = 100 about a second or a few per run.
"""

from __future__ import annotations

import argparse
import itertools
import json
import time
from pathlib import Path
from typing import Callable, NamedTuple

import numpy as np

from sim.zhang.fits import FIG2_KINDS, SUCCESS, classify_fig2_runs
from sim.zhang.sparse_reference import agd_one

FIG4_KINDS = ("success", "cap", "stopped_away", "diverged")
DIAGRAMS = ("zhang-fig2", "zhang-fig4")


class Figure(NamedTuple):
    """What the re-run needs of one figure: its cell type, the builder of a cell's draws and starts, its outcome
    classes (in the order runs are picked) and how many runs share a draw."""

    cell_type: type
    starts: Callable
    kinds: tuple[str, ...]
    classify: Callable[[dict, int], np.ndarray]  # (a cell's arrays, its cap) -> outcome per run, one of kinds
    runs_per_draw: Callable[[object], int]


def figure(diagram: str) -> Figure:
    """The :class:`Figure` of ``diagram`` (one of DIAGRAMS)."""
    from sim.zhang.diagrams import Fig2Cell, Fig4Cell, fig2_starts, fig4_starts

    if diagram == "zhang-fig2":
        return Figure(Fig2Cell, fig2_starts, FIG2_KINDS, lambda arr, cap: classify_fig2_runs(arr),
                      lambda cell: len(cell.lams))
    if diagram == "zhang-fig4":
        return Figure(Fig4Cell, fig4_starts, FIG4_KINDS,
                      lambda arr, cap: classify_fig4_runs({**arr, "max_iter": cap}), lambda cell: 1)
    raise ValueError(f"{diagram!r} is not one of {', '.join(DIAGRAMS)}")


def classify_fig4_runs(arr) -> np.ndarray:
    """Outcome of each run of a zhang-fig4 cell (arrays ``rel_err``, ``iters``, ``success``; the cap
    ``max_iter``), one of FIG4_KINDS: success (error < 1e-4), ``cap`` (a failure that ran to the cap),
    ``stopped_away`` (the stopping rule fired away from W*), ``diverged`` (not finite)."""
    err, iters, cap = np.asarray(arr["rel_err"], float), np.asarray(arr["iters"]), int(arr["max_iter"])
    kind = np.where(iters >= cap, "cap", "stopped_away").astype(object)
    kind[~np.isfinite(err)] = "diverged"
    kind[np.asarray(arr["success"], bool)] = "success"
    return kind.astype(str)


def pick_runs(kind: np.ndarray, iters: np.ndarray, n: int, kinds: tuple[str, ...]) -> list[int]:
    """``n`` runs of a cell by their outcome ``kind`` (one of ``kinds``): its failures, taking one of each outcome
    class in turn (in the order of ``kinds``; run order within a class), then its successes from the most
    iterations down (the runs closest to the cap)."""
    by_kind = [[int(i) for i in np.flatnonzero(kind == k)] for k in kinds if k != "success"]
    fails = [i for turn in itertools.zip_longest(*by_kind) for i in turn if i is not None]
    ok = [int(i) for i in np.flatnonzero(kind == "success")]
    ok.sort(key=lambda i: (-int(iters[i]), i))
    return (fails + ok)[:n]


def oracle_run(fig: Figure, cell, starts, run: int) -> dict:
    """Run ``run`` of ``cell`` by the numpy oracle, to the cell's cap; ``starts``: the cell's draws and starts
    (``fig.starts``, seeded as the sweep seeds the cell)."""
    from sim.zhang.sparse_teacher import free_index

    inst, W0 = starts
    per_draw = fig.runs_per_draw(cell)
    idx = free_index(inst.M[run:run + 1])[0].numpy()
    omegas = [idx[j] for j in range(cell.K)]
    X, y = inst.X[run // per_draw].numpy(), inst.y[run].numpy()
    W_star = inst.W_star[run].numpy()
    W_start = [W0[run, j].numpy()[om] for j, om in enumerate(omegas)]
    at90 = int(0.9 * cell.max_iter)
    seen = {}

    def err(W) -> float:
        full = np.zeros((cell.K, cell.d))
        for j, om in enumerate(omegas):
            full[j, om] = W[j]
        return float(np.linalg.norm(full - W_star) / np.linalg.norm(W_star))

    def on_step(t, W):
        if t == at90:
            seen["err_at_90pct"] = err(W)

    t0 = time.perf_counter()
    W, t, stopped = agd_one(W_start, omegas, X, y, cell.eta, cell.beta, cell.max_iter, cell.tol, on_step=on_step)
    finite = all(np.isfinite(w).all() for w in W)
    e = err(W) if finite else float("nan")
    rec = {"rel_err": e, "iters": int(t), "stopped": bool(stopped), "diverged": not finite,
           "err_at_90pct": seen.get("err_at_90pct", e)}  # a run that stopped earlier holds its final error
    rec["success"] = bool(finite and e < SUCCESS)
    rec["kind"] = str(fig.classify({k: np.array([v]) for k, v in rec.items()}, cell.max_iter)[0])
    rec["seconds"] = round(time.perf_counter() - t0, 2)
    return rec


def crossing_cells(cells: list[tuple[dict, dict]]) -> list[tuple[dict, dict]]:
    """Of one r's Fig. 4 cells, the ones at the crossing: success strictly between 0 and 1, or, if none, the two
    neighbouring N (ascending) between which the rate crosses 1/2 (none if it never does)."""
    cells = sorted(cells, key=lambda c: int(c[0]["N"]))
    rate = [float(np.mean(arr["success"])) for _, arr in cells]
    inside = [c for c, p in zip(cells, rate) if 0 < p < 1]
    if inside:
        return inside
    return next(([a, b] for a, b, p, q in zip(cells, cells[1:], rate, rate[1:]) if (p < 0.5) != (q < 0.5)), [])


def _selected(diagram: str, cells: list[tuple[dict, dict]], rs: list[int]) -> list[tuple[dict, dict]]:
    by_r: dict[int, list] = {}
    for rec, arr in cells:
        by_r.setdefault(int(rec["r"]), []).append((rec, arr))
    missing = [r for r in rs if r not in by_r]
    if missing:
        raise ValueError(f"no finished cell for r = {missing} (finished: {sorted(by_r)})")
    if diagram == "zhang-fig2":
        return [by_r[r][0] for r in rs]
    out = []
    for r in rs:
        picked = crossing_cells(by_r[r])
        if not picked:
            raise ValueError(f"r = {r}: the finished cells' success rate never crosses 1/2 "
                             f"(N = {sorted(int(c['N']) for c, _ in by_r[r])})")
        out += picked
    return out


def compare_saved(folder: Path, rs: list[int], runs: int, say=print) -> list[dict]:
    from sim.core.config import from_dict
    from sim.core.sweep import cell_seed, load_results

    manifest, cells = load_results(folder)
    diagram = manifest["diagram"]
    if diagram not in DIAGRAMS:
        raise ValueError(f"{folder} holds {diagram!r}, not one of {', '.join(DIAGRAMS)}")
    fig = figure(diagram)
    rows = []
    for rec, arr in _selected(diagram, cells, rs):
        cell = from_dict(fig.cell_type, {k: v for k, v in rec.items() if k != "key"})
        kind = fig.classify(arr, cell.max_iter)
        # once per cell, on the CPU: every picked run reads its own slice
        starts = fig.starts(cell, cell_seed(manifest["seed"], rec["key"]), "cpu")
        for i in pick_runs(kind, arr["iters"], runs, fig.kinds):
            engine = {"rel_err": float(arr["rel_err"][i]), "iters": int(arr["iters"][i]),
                      "success": bool(arr["success"][i]), "kind": str(kind[i])}
            oracle = oracle_run(fig, cell, starts, i)
            row = {"cell": rec["key"], "r": cell.r, "N": cell.N, "run": i, "engine": engine, "oracle": oracle,
                   "same_kind": engine["kind"] == oracle["kind"], "same_success": engine["success"] == oracle["success"]}
            if "lam" in arr:  # Fig. 2: the draw and the distance of the run
                row.update(draw=i // fig.runs_per_draw(cell), lam=float(arr["lam"][i]))
            say(json.dumps(row))
            rows.append(row)
    return rows


def per_cell(rows: list[dict]) -> dict[str, dict]:
    """Per cell: runs re-run, successes by the engine and by the oracle among them, runs that agree."""
    out: dict[str, dict] = {}
    for row in rows:
        c = out.setdefault(row["cell"], {"r": row["r"], "N": row["N"], "runs": 0, "engine_successes": 0,
                                         "oracle_successes": 0, "same_success": 0, "same_kind": 0,
                                         "same_iters": 0})
        c["runs"] += 1
        c["engine_successes"] += row["engine"]["success"]
        c["oracle_successes"] += row["oracle"]["success"]
        c["same_success"] += row["same_success"]
        c["same_kind"] += row["same_kind"]
        c["same_iters"] += row["engine"]["iters"] == row["oracle"]["iters"]
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m sim.zhang.oracle_rerun", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--results", type=Path, required=True, help="a saved zhang-fig2 or zhang-fig4 folder (any scale)")
    p.add_argument("--rs", required=True, help="comma-separated r whose runs to re-run, e.g. 300,500")
    p.add_argument("--runs", type=int, default=2, help="runs per cell (failures first, then successes)")
    p.add_argument("--out", type=Path, default=Path("results/zhang-oracle-rerun"))
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

    cells = per_cell(rows)
    diagram = json.loads((a.results / "manifest.json").read_text())["diagram"]  # the cells were read once, above
    target.write_text(json.dumps({"diagram": diagram, "results": str(a.results),
                                  "rs": rs, "runs": a.runs, "per_cell": cells, "rows": rows,
                                  "wall_s": round(time.perf_counter() - t0, 1),
                                  "git_commit": provenance.git_commit(), "versions": provenance.versions(),
                                  "machine": provenance.machine("cpu"), "finished": provenance.now()}, indent=2))
    for key, c in cells.items():
        print(f"{key}: {c['runs']} runs, successes engine {c['engine_successes']} / oracle {c['oracle_successes']}, "
              f"same verdict {c['same_success']}, same outcome class {c['same_kind']}, same iterations {c['same_iters']}")
    n = len(rows)
    print(f"{sum(r['same_kind'] for r in rows)}/{n} runs end the same way (outcome class), "
          f"{sum(r['same_success'] for r in rows)}/{n} the same success verdict -> {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
