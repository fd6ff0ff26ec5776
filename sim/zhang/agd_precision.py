"""Evidence for the mixed-precision AGD engine (:class:`sim.zhang.agd.AGD` ``precision="mixed"``): the quick-scale cells
of the paper-001 diagrams zhang-fig2, zhang-fig3, zhang-fig4 and zhang-fig5 (Zhang et al., Sec. 5), run with the
float64 dense engine (the engine before the layouts and float32 steps: ``precision="float64"``,
``layout="dense"``) and with the default engine (mixed, automatic layout), on the same cell seeds as
``sim.core.sweep``; compares run by run the success verdict (||W - W*||_F / ||W*||_F < 1e-4, Sec. 5.1), the iteration
count, the stop and divergence flags and the final relative error.

    python -m sim.bench --suite sparse-precision
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np

from sim.core.registry import get
from sim.core.sweep import cell_seed
from sim.zhang.diagrams import SUCCESS

DIAGRAMS = ("zhang-fig2", "zhang-fig3", "zhang-fig4", "zhang-fig5")
REFERENCE = {"agd_precision": "float64", "agd_layout": "dense"}
ENGINE = {"agd_precision": "mixed", "agd_layout": "auto"}


def _runs(name: str, arr: dict) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """(final relative error, iterations) per AGD call of a cell's arrays."""
    if name == "zhang-fig3":
        return {m: (arr[f"{m}_rel_err"], arr[f"{m}_iters"]) for m in ("agd", "gd")}
    return {"agd": (arr["rel_err"], arr["iters"])}


def compare_cell(name: str, cell, seed: int, device: str = "cpu") -> list[dict]:
    """One cell both ways: one row per AGD call of the cell, with every run whose verdict or count differs."""
    dg = get(name)
    t0 = time.perf_counter()
    ref = dg.run_cell(dataclasses.replace(cell, **REFERENCE), seed, device)
    t_ref = time.perf_counter() - t0
    t0 = time.perf_counter()
    new = dg.run_cell(dataclasses.replace(cell, **ENGINE), seed, device)
    t_new = time.perf_counter() - t0
    rows = []
    for method, (e_ref, it_ref) in _runs(name, ref).items():
        e_new, it_new = _runs(name, new)[method]
        ok_ref, ok_new = e_ref < SUCCESS, e_new < SUCCESS
        diff = np.nonzero((ok_ref != ok_new) | (it_ref != it_new))[0]
        rel = np.abs(e_new - e_ref) / np.maximum(np.abs(e_ref), 1e-300)
        rows.append({"diagram": name, "cell": cell.key, "method": method, "runs": len(e_ref),
                     "successes_float64": int(ok_ref.sum()), "successes_mixed": int(ok_new.sum()),
                     "verdicts_differ": int((ok_ref != ok_new).sum()), "iters_differ": int((it_ref != it_new).sum()),
                     "max_rel_diff_rel_err": float(f"{np.nanmax(rel):.3g}"),
                     "differences": [{"run": int(i), "iters_float64": int(it_ref[i]), "iters_mixed": int(it_new[i]),
                                      "rel_err_float64": float(f"{e_ref[i]:.4g}"),
                                      "rel_err_mixed": float(f"{e_new[i]:.4g}")} for i in diff],
                     "float64_s": round(t_ref, 2), "mixed_s": round(t_new, 2)})
    return rows


def compare(diagrams=DIAGRAMS, scale: str = "quick", seed: int = 0, device: str = "cpu") -> list[dict]:
    rows = []
    for name in diagrams:
        dg = get(name)
        for cell in dg.cells(dg.scales[scale]):
            rows += compare_cell(name, cell, cell_seed(seed, cell.key), device)
    return rows


def print_rows(rows: list[dict]) -> None:
    print(f"{'diagram':11s} {'cell':22s} {'meth':4s} {'runs':>4s} {'ok64':>5s} {'okmix':>5s} {'verd':>4s} "
          f"{'iters':>5s} {'max_rel_diff_err':>16s} {'t64_s':>6s} {'tmix_s':>6s}")
    for r in rows:
        print(f"{r['diagram']:11s} {r['cell']:22s} {r['method']:4s} {r['runs']:4d} {r['successes_float64']:5d} "
              f"{r['successes_mixed']:5d} {r['verdicts_differ']:4d} {r['iters_differ']:5d} "
              f"{r['max_rel_diff_rel_err']:16.3g} {r['float64_s']:6.2f} {r['mixed_s']:6.2f}")
        for dd in r["differences"]:
            print(f"    run {dd['run']}: iters {dd['iters_float64']} (float64) vs {dd['iters_mixed']} (mixed), "
                  f"rel_err {dd['rel_err_float64']:.4g} vs {dd['rel_err_mixed']:.4g}")
    tot = {k: sum(r[k] for r in rows) for k in ("runs", "verdicts_differ", "iters_differ", "float64_s", "mixed_s")}
    print(f"# total: {tot['runs']} runs, {tot['verdicts_differ']} verdicts differ, {tot['iters_differ']} iteration "
          f"counts differ; time float64 {tot['float64_s']:.1f} s, mixed {tot['mixed_s']:.1f} s")
