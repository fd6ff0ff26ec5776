"""One prepared check for a CUDA machine (a few minutes, < 8 min on one GPU): everything whose speed on a GPU
the project needs to know, in one JSON and one log in a fresh folder.

    python -m sim.gpu_check [--out results/gpu_check/NAME] [--dry-run]
    make gpu-check

Sections (library calls, no subprocesses):

``sparse_engine``
    the AGD engine of paper 001 (Zhang et al.) at the paper-sized cells of ``sim.bench --suite sparse``
    (:mod:`sim.zhang.bench_sparse`): time per run-step, rate on the necessary 4 N K r flops, the ceiling of its bare
    products, speed-up over the float64 dense engine.
``zhang_fig4_sample``
    a few cells of the registered ``zhang-fig4`` paper scale (100 trials, up to 10,000 AGD steps) run on the
    device with the diagram's own cell runner and the sweep's cell seeds; seconds per cell and the time of the
    whole paper-scale diagram extrapolated (mean seconds per sampled cell x number of cells).
``overparam_gd``
    population GD of the over-parameterized students of Xu & Du (:func:`sim.xudu.overparam.run_gd`): steps/s and
    trial-steps/s.
``deep_bench``
    ``python -m deep.bench`` (run as its own program; ``sim`` does not import ``deep``): ResNet-18 training step, dense and masked images/s, masking overhead, MFU against
    the measured bf16 matmul peak.

``--dry-run`` runs every section at tiny sizes on the CPU (under a minute) to check the script itself.
Without it, CUDA must be present (else a one-line error).  The folder must not exist (never overwritten).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch

from theory.core.cli import Parser, fail


def _sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def sparse_engine(device: str, dry: bool) -> dict:
    from sim.zhang import bench_sparse as bs

    if dry:
        out = bs.bench(device, quick=True, cells=((3, 60, 300, 6, 3), (3, 40, 200, 30, 1)), draws=1, steps=2)
    else:
        out = bs.bench(device, quick=False, draws=20)  # 200 runs per Fig. 2-shaped cell: a GPU-sized batch
    return out


def zhang_fig4_sample(device: str, dry: bool, n_cells: int = 3) -> dict:
    """Cells spread over the grid (first, middle, last: the smallest and the largest N), timed one by one."""
    import dataclasses

    from sim.core.registry import get
    from sim.core.sweep import cell_seed

    dg = get("zhang-fig4")
    scale = dg.scales["quick" if dry else "paper"]
    if dry:
        scale = dataclasses.replace(scale, trials=2, max_iter=50)
    cells = dg.cells(scale)
    pick = sorted({0, len(cells) // 2, len(cells) - 1})[:n_cells]
    rows = []
    for i in pick:
        cell = cells[i]
        _sync(device)
        t0 = time.perf_counter()
        arr = dg.run_cell(cell, cell_seed(0, cell.key), device)
        _sync(device)
        rows.append({"cell": cell.key, "r": cell.r, "N": cell.N, "trials": cell.trials,
                     "seconds": round(time.perf_counter() - t0, 2), "success_rate": float(np.mean(arr["success"])),
                     "median_iters": float(np.median(arr["iters"]))})
    mean = float(np.mean([r["seconds"] for r in rows]))
    return {"scale": "quick (dry run)" if dry else "paper", "cells_total": len(cells), "sampled": rows,
            "mean_s_per_cell": round(mean, 2), "diagram_s_extrapolated": round(mean * len(cells), 1)}


def overparam_gd(device: str, dry: bool) -> dict:
    from sim.xudu import overparam as op

    trials, steps = (8, 40) if dry else (2000, 5000)
    pr = op.OverparamProblem(n=5, d=10, trials=trials)
    W0, v = op.initial_students(pr, 0, device), op.teacher(pr, device)
    op.run_gd(W0, v, op.GD(lr=0.1, steps=10, records=2))  # warm-up
    _sync(device)
    t0 = time.perf_counter()
    op.run_gd(W0, v, op.GD(lr=0.1, steps=steps, records=2))
    _sync(device)
    t = time.perf_counter() - t0
    return {"work": f"population GD n=5 d=10, {trials} trials", "trials": trials, "steps": steps,
            "seconds": round(t, 3), "steps_per_s": round(steps / t, 1), "trial_steps_per_s": round(steps * trials / t)}


def deep_bench(device: str, dry: bool, log, folder: Path) -> dict:
    """``python -m deep.bench`` as its own program (``sim`` does not import ``deep``); its JSON is read back."""
    args = ["--device", device, "--out", str(folder / "deep_bench.json")]
    if dry:
        args += ["--shape", "3,16,16", "--batch", "4", "--steps", "1", "--warmup", "1", "--repeats", "1",
                 "--variants", "fp32"]
    else:
        args += ["--batch", "256", "--steps", "20", "--warmup", "5", "--repeats", "3", "--variants", "fp32,bf16,bf16+cl"]
    done = subprocess.run([sys.executable, "-m", "deep.bench", *args], capture_output=True, text=True)
    for line in (done.stdout + done.stderr).splitlines():
        log(line)
    if done.returncode != 0:
        raise RuntimeError(f"deep.bench failed (exit {done.returncode}): {(done.stderr or done.stdout).strip()[-300:]}")
    return json.loads((folder / "deep_bench.json").read_text())


def main(argv=None) -> int:
    p = Parser(prog="python -m sim.gpu_check", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default=None, help="results folder (default results/gpu_check/<UTC time>; must not exist)")
    p.add_argument("--dry-run", action="store_true", help="every section at tiny sizes on the CPU (< 1 min)")
    a = p.parse_args(argv)
    device = "cpu" if a.dry_run else "cuda"
    if device == "cuda" and not torch.cuda.is_available():
        return fail(p.prog, "CUDA asked for (no --dry-run), but torch sees no CUDA device on this machine")
    out = Path(a.out) if a.out else Path("results/gpu_check") / datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    if out.exists():
        return fail(p.prog, f"--out {out}: exists already; give a new folder (results are never overwritten)")
    try:
        out.mkdir(parents=True)
    except OSError as exc:
        return fail(p.prog, f"--out {out}: cannot create it ({exc.strerror or exc})")
    logf = open(out / "log.txt", "w")

    def log(msg: str) -> None:
        print(msg, flush=True)
        logf.write(msg + "\n")
        logf.flush()

    from sim.core.provenance import git_commit, machine, versions
    result = {"device": device, "dry_run": a.dry_run, "machine": machine(device), "versions": versions(),
              "git_commit": git_commit(), "started": datetime.now(timezone.utc).isoformat(),
              "device_name": torch.cuda.get_device_name() if device == "cuda" else "CPU"}
    log(f"# sim.gpu_check on {result['device_name']} ({'dry run' if a.dry_run else 'full'}) -> {out}")
    t_all = time.perf_counter()
    for name, fn in (("sparse_engine", lambda: sparse_engine(device, a.dry_run)),
                     ("zhang_fig4_sample", lambda: zhang_fig4_sample(device, a.dry_run)),
                     ("overparam_gd", lambda: overparam_gd(device, a.dry_run)),
                     ("deep_bench", lambda: deep_bench(device, a.dry_run, log, out))):
        t0 = time.perf_counter()
        log(f"## {name}")
        sec = fn()
        sec["section_s"] = round(time.perf_counter() - t0, 2)
        result[name] = sec
        if name == "sparse_engine":
            from sim.zhang.bench_sparse import print_table
            import contextlib
            import io
            buf = io.StringIO()
            with contextlib.redirect_stdout(buf):
                print_table(sec)
            log(buf.getvalue().rstrip())
        elif name != "deep_bench":
            log(json.dumps(sec))
        log(f"   ({sec['section_s']} s)")
        (out / "gpu_check.json").write_text(json.dumps(result, indent=2))  # partial results survive a cut-off
    result["total_s"] = round(time.perf_counter() - t_all, 1)
    (out / "gpu_check.json").write_text(json.dumps(result, indent=2))
    log(f"# done in {result['total_s']} s: {out / 'gpu_check.json'}")
    logf.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
