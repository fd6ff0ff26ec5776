"""Throughput of the batched AGD engine (:mod:`sim.zhang.agd`, :mod:`sim.zhang.agd_layout`) at paper-sized cells of the
sparse teacher-student model (Zhang et al., paper 001, Sec. 5): ``python -m sim.bench --suite sparse``.

For every cell: the engine's time per run-step (the product layout it chooses, float32 phase of the default
mixed precision, and its float64 phase), its rate on the *necessary* flops

    necessary flops per run-step = 4 N K r   (forward X_Omega w and gradient X_Omega^T (res * relu'),
                                              2 N K r multiply-adds; sim.zhang.agd_layout.necessary_flops)

the ceiling: the same count over the time of the bare products the engine performs at the same shapes
(``sim.zhang.agd_layout.bare_products``), and the engine's fraction of it; the speed-up over the engine before the
layouts (``layout="dense"``, ``precision="float64"``) and over the per-trial numpy oracle
(:mod:`sim.zhang.sparse_reference`, a few steps of one run); and memory: the size of the inputs in the chosen
layout, and on CPU the growth of the process's peak RSS (``resource.getrusage`` maxrss) while the cell runs
(0 when an earlier cell already set a higher peak), on CUDA ``torch.cuda.max_memory_allocated``.
Time per step is the median of the step durations inside one run (stopping rule off, timed by the engine's
per-step callback), so set-up and load spikes are not counted; the bare products and the oracle: best of a few
repetitions.  The header gives the machine's square-GEMM rate in float64 and float32 and the 1-minute load average.
"""

from __future__ import annotations

import os
import resource
import time

import numpy as np
import torch

from sim.zhang.agd import AGD, resolve_layout, run_agd
from sim.zhang.agd_layout import bare_products, necessary_flops, prepare_inputs, to_local
from sim.zhang.sparse_reference import agd_one
from sim.zhang.sparse_teacher import SparseProblem, free_index, init_at_distance, make_instance

# (K, d, N, r, runs per draw): Fig. 2's shape (10 initial distances per draw), Fig. 4's (one run per draw),
# Fig. 5's (4 noise levels per draw)
CELLS = ((5, 500, 3000, 25, 10), (5, 500, 3000, 50, 10), (5, 500, 3000, 100, 10), (5, 500, 3000, 300, 10),
         (5, 100, 1000, 50, 1), (10, 300, 1000, 40, 4))
FORMULA = "necessary flops per run-step = 4 N K r (forward X_Omega w + gradient X_Omega^T (res*relu'))"


def _sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def _timed(fn, device: str, reps: int = 1) -> float:
    fn()
    _sync(device)
    best = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        _sync(device)
        best = min(best, time.perf_counter() - t0)
    return best


def gemm_rate(dtype, device: str, n: int = 1000, reps: int = 3) -> float:
    """GFLOP/s of an n x n x n matmul (best of reps)."""
    a = torch.randn(n, n, dtype=dtype, device=device)
    return 2 * n ** 3 / _timed(lambda: a @ a, device, reps) / 1e9


def _step_time(inst, W0, agd_kw: dict, steps: int, device: str, warm: int = 3) -> float:
    """Seconds per step of the whole batch: the median of ``steps`` step durations inside one run (stopping rule
    off), timed by the engine's per-step callback after ``warm`` steps, so that set-up, finalization and load
    spikes are not counted."""
    stamps = []

    def tick(t):
        _sync(device)
        stamps.append(time.perf_counter())

    run_agd(inst, W0, AGD(max_iter=warm + steps + 1, tol=0.0, **agd_kw), progress=tick)
    return float(np.median(np.diff(stamps[warm:])))


def _peak_mb(device: str) -> float:
    if device == "cuda":
        return torch.cuda.max_memory_allocated() / 2 ** 20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def bench_cell(K: int, d: int, N: int, r: int, P: int, draws: int, steps: int, device: str, reps: int = 1,
               ref_steps: int = 5) -> dict:
    inst = make_instance(SparseProblem(K=K, d=d, r=r, N=N, trials=draws, runs_per_draw=P), 0, device)
    lam = torch.full((inst.B,), 0.5, dtype=torch.float64, device=device)
    W0 = init_at_distance(inst.W_star, inst.M, lam, 1)
    B = inst.B
    layout, idx = resolve_layout(inst, AGD())
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    peak0 = _peak_mb(device)
    t_mixed = _step_time(inst, W0, {}, steps, device)  # float32 phase (the switch is not reached)
    peak = _peak_mb(device) - (0 if device == "cuda" else peak0)
    t_f64 = _step_time(inst, W0, {"precision": "float64"}, steps, device)
    t_old = _step_time(inst, W0, {"precision": "float64", "layout": "dense"}, steps, device)
    # the bare products of one step at the engine's shapes (float32 phase)
    idx_run = None if idx is None else idx.repeat_interleave(P, 0)
    Xp = prepare_inputs(layout, inst.X, idx, torch.float32)
    Wl = to_local(layout, W0, idx_run).to(torch.float32)
    n_bare = max(steps // 2, 3)
    t_bare = _timed(lambda: [bare_products(layout, Wl, Xp) for _ in range(n_bare)], device, max(reps, 3)) / n_bare
    # per-trial numpy oracle: ref_steps steps of one run
    fi = free_index(inst.M[:1]).cpu().numpy()[0]
    om = [fi[j] for j in range(K)]
    Xc, yc, Wc = inst.X[0].cpu().numpy(), inst.y[0].cpu().numpy(), W0[0].cpu().numpy()
    t_ref = _timed(lambda: agd_one([Wc[j][om[j]] for j in range(K)], om, Xc, yc, 0.5, 0.2, ref_steps, 0.0),
                   "cpu", reps) / ref_steps
    flops = necessary_flops(N, K, r)
    per_run = t_mixed / B
    performed = 4 * N * K * (d if layout == "dense" else r) * B  # flops the bare products perform per step
    return {"K": K, "d": d, "N": N, "r": r, "runs_per_draw": P, "runs": B, "device": device, "layout": layout,
            "us_per_run_step": round(per_run * 1e6, 2),
            "engine_GFLOPs": round(flops / per_run / 1e9, 2),
            "ceiling_GFLOPs": round(flops * B / t_bare / 1e9, 2),
            "fraction_of_ceiling": round(t_bare / t_mixed, 3),
            "bare_products_performed_GFLOPs": round(performed / t_bare / 1e9, 2),
            "float64_phase_us_per_run_step": round(t_f64 / B * 1e6, 2),
            "old_engine_us_per_run_step": round(t_old / B * 1e6, 2),
            "speedup_vs_old": round(t_old / t_mixed, 2), "speedup_float64_phase_vs_old": round(t_old / t_f64, 2),
            "reference_us_per_run_step": round(t_ref * 1e6, 1), "speedup_vs_reference": round(t_ref / per_run, 1),
            "inputs_MB": round(Xp.numel() * Xp.element_size() / 2 ** 20, 1),
            "peak_growth_MB" if device != "cuda" else "peak_MB": round(peak, 1)}


def header(device: str, quick: bool) -> dict:
    n = 4096 if device == "cuda" else (600 if quick else 1500)
    return {"gemm_float64_GFLOPs": round(gemm_rate(torch.float64, device, n), 1),
            "gemm_float32_GFLOPs": round(gemm_rate(torch.float32, device, n), 1),
            "gemm_n": n, "load_average_1min": round(os.getloadavg()[0], 2), "torch_threads": torch.get_num_threads(),
            "device": device, "flops_formula": FORMULA,
            "memory": "CPU: growth of peak RSS (getrusage maxrss) during the cell's mixed run; CUDA: max_memory_allocated"}


def bench(device: str = "cpu", quick: bool = False, cells=CELLS, draws: int | None = None,
          steps: int | None = None) -> dict:
    """The header and one row per cell."""
    steps = steps or (20 if quick else 60)
    draws = draws or (2 if quick else 4)
    head = header(device, quick)
    rows = []
    for K, d, N, r, P in cells:
        g = draws if P > 1 else draws * 4  # one run per draw: more draws, to batch a comparable number of runs
        rows.append(bench_cell(K, d, N, r, P, g, steps, device, reps=2 if quick else 3, ref_steps=2 if quick else 5))
    return {"header": head, "rows": rows}


def print_table(out: dict) -> None:
    h = out["header"]
    print(f"# sparse AGD engine, device {h['device']}, {h['torch_threads']} torch threads, 1-min load average "
          f"{h['load_average_1min']}; square GEMM (n={h['gemm_n']}): float64 {h['gemm_float64_GFLOPs']} GFLOP/s, "
          f"float32 {h['gemm_float32_GFLOPs']} GFLOP/s")
    print(f"# {h['flops_formula']}; engine = default (mixed precision, auto layout), float32 phase; "
          f"old = layout dense, float64; memory: {h['memory']}")
    cols = ("K", "d", "N", "r", "runs_per_draw", "runs", "layout", "us_per_run_step", "engine_GFLOPs",
            "ceiling_GFLOPs", "fraction_of_ceiling", "float64_phase_us_per_run_step", "old_engine_us_per_run_step",
            "speedup_vs_old", "speedup_float64_phase_vs_old", "reference_us_per_run_step", "speedup_vs_reference",
            "inputs_MB")
    short = ("K", "d", "N", "r", "P", "runs", "layout", "us/rstep", "GF/s", "ceilGF/s", "frac", "f64us", "oldus",
             "x_old", "x_old64", "refus", "x_ref", "inMB", "peakMB")
    print(" ".join(f"{c:>8s}" for c in short))
    for r in out["rows"]:
        mem = r.get("peak_growth_MB", r.get("peak_MB"))
        print(" ".join(f"{str(r[c]):>8s}" for c in cols) + f" {str(mem):>8s}")
