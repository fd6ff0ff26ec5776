"""Run-by-run check of the exact-flow quadrant table (paper 000, Fig. 2(a) with the flow of eq. (7)).

Two things decide a flow run's outcome at the last pruning level, and each is computed here without the
event-driven integrator of :mod:`sim.lrr.flow`:

* the **noise term below the kink**, C2^- = (1/n) sum_{x_j < 0} x_j y, of the one input j the last mask
  keeps.  With w_j running up into 0 from below and a > 0 (IMP's unbalanced rewound start), the flow
  crosses w_j = 0 iff a C2^- > 0 points onward (Filippov's rule; :func:`sim.lrr.flow.origin_exit`), and then
  learns; with C2^- < 0 it is held at w_j = 0 and fails;
* **small-step gradient descent** (:class:`sim.lrr.trainers.GD` with a step ``lr`` over the same time, t_end /
  lr steps per level; weight rewinding at step round(t_rewind / lr)) on the same trials, data and masks
  schedule: a second trainer.

``compare_cell`` regenerates a saved cell's trials from its stored seed and returns, per method and trial,
the flow's outcome, GD's outcome and C2^-; ``python -m sim.lrr.flow_check RESULTS`` does it for every cell of
an ``lrr-fig2a-flow`` results folder, prints the agreement and saves ``flow_vs_gd.json`` there.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from sim.lrr.cycles import run_cycles
from sim.lrr.diagrams import NeuronCell, cell_cycles, cell_from_record, cell_problem
from sim.lrr.neuron import sample
from sim.core.sweep import load_results
from sim.lrr.trainers import GD


def noise_term_below(X: np.ndarray, y: np.ndarray, j: int) -> float:
    """C2^- of input j: (1/n) sum over the samples with x_j < 0 of x_j y (their labels are pure noise)."""
    xj = X[:, j]
    return float(np.sum(np.where(xj < 0, xj * y, 0.0)) / X.shape[0])


def last_kept_noise_terms(X: np.ndarray, y: np.ndarray, last_masks: np.ndarray) -> np.ndarray:
    """C2^- per trial of the one input the last mask keeps (NaN where it keeps more or fewer than one).

    X (T, n, d), y (T, n), last_masks (T, d) 0/1."""
    out = np.full(X.shape[0], np.nan)
    for k in range(X.shape[0]):
        kept = np.flatnonzero(last_masks[k])
        if kept.size == 1:
            out[k] = noise_term_below(X[k], y[k], int(kept[0]))
    return out


def gd_counterpart(cell: NeuronCell, lr: float) -> tuple[GD, int]:
    """The GD trainer and weight-rewinding step that follow a flow cell's time axis with step ``lr``."""
    t_end = float(cell.trainer.t_end)
    return GD(lr=lr, steps=max(1, int(round(t_end / lr)))), int(round(cell.rewind_step / lr))


def compare_cell(cell: NeuronCell, arrays: dict[str, np.ndarray], lr: float = 0.05) -> dict:
    """Flow outcome (saved), GD outcome (recomputed) and C2^- per method and trial of one saved flow cell."""
    batch = sample(cell_problem(cell), int(arrays["seed"]))
    if not np.array_equal(batch.theta0[:, 0].numpy(), arrays["a0"]):
        raise ValueError(f"cell {cell.key}: regenerated a(0) differs from the saved one (different sampler?)")
    gd, rewind = gd_counterpart(cell, lr)
    cfg = cell_cycles(cell, rewind_step=rewind)
    t0 = time.perf_counter()
    recs = run_cycles(batch, gd, cfg)
    X, y = batch.X.numpy(), batch.y.numpy()
    out = {"cell": cell.key, "quadrant": cell.quadrant, "lr": lr, "gd_steps_per_level": gd.steps,
           "gd_seconds": round(time.perf_counter() - t0, 2), "methods": {}}
    for m in cell.methods:
        flow_ok = arrays[f"{m}/success"].astype(bool)
        gd_ok = recs[m].success.astype(bool)
        c2 = last_kept_noise_terms(X, y, arrays[f"{m}/masks"][:, -1])
        one_input_1 = arrays[f"{m}/masks"][:, -1, 0].astype(bool) & (arrays[f"{m}/masks"][:, -1].sum(axis=1) == 1)
        out["methods"][m] = {
            "flow_success": flow_ok.tolist(), "gd_success": gd_ok.tolist(), "c2_below": np.round(c2, 8).tolist(),
            "agree": int((flow_ok == gd_ok).sum()), "trials": int(flow_ok.size),
            "gd_a_sign_changed": int((np.sign(recs[m].theta_end[:, -1, 0]) != np.sign(arrays["a0"])).sum()),
            # among runs whose last mask keeps input 1 alone: does success coincide with C2^- > 0?
            "input1_runs": int(one_input_1.sum()),
            "input1_success_iff_c2_positive": int((flow_ok[one_input_1] == (c2[one_input_1] > 0)).sum()),
        }
    return out


def compare_results(results: Path, lr: float = 0.05, progress: bool = True) -> dict:
    """:func:`compare_cell` for every finished cell of a flow results folder; saved as flow_vs_gd.json."""
    manifest, cells = load_results(results)
    if manifest["params"].get("t_end") is None:
        raise ValueError(f"{results} is not a gradient-flow results folder (no t_end in its parameters)")
    rows = []
    for record, arr in cells:
        rows.append(compare_cell(cell_from_record(record), arr, lr))
        if progress:
            r = rows[-1]
            print(f"{r['cell']}: " + ", ".join(f"{m} {v['agree']}/{v['trials']}" for m, v in r["methods"].items())
                  + f" ({r['gd_seconds']} s)", file=sys.stderr)
    report = {"results": str(results), "diagram": manifest["diagram"], "scale": manifest.get("scale"),
              "gd_lr": lr, "cells": rows}
    (Path(results) / "flow_vs_gd.json").write_text(json.dumps(report, indent=1))
    return report


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m sim.lrr.flow_check", description=__doc__.split("\n\n")[0])
    p.add_argument("results", type=Path, help="an lrr-fig2a-flow results folder")
    p.add_argument("--lr", type=float, default=0.05, help="GD step; steps per level = t_end / lr (default 0.05)")
    args = p.parse_args(argv)
    if not (args.results / "manifest.json").is_file():
        print(f"error: {args.results} is not a results folder (no manifest.json)", file=sys.stderr)
        return 2
    if not (np.isfinite(args.lr) and args.lr > 0):
        print(f"error: --lr must be > 0 (got {args.lr})", file=sys.stderr)
        return 2
    rep = compare_results(args.results, args.lr)
    print(f"{'cell':10s} {'method':13s} {'flow':>6s} {'GD':>6s} {'agree':>7s} {'1-input runs':>13s} {'success==C2->0':>15s}")
    for r in rep["cells"]:
        for m, v in r["methods"].items():
            print(f"{r['cell']:10s} {m:13s} {sum(v['flow_success']):6d} {sum(v['gd_success']):6d} "
                  f"{v['agree']:4d}/{v['trials']:<3d} {v['input1_runs']:13d} {v['input1_success_iff_c2_positive']:15d}")
    print(f"saved {args.results / 'flow_vs_gd.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
