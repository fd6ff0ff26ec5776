"""Benchmark: batched engine vs the per-trial reference on the same work (prints figures and ratios).

    python -m sim.bench [--suite all|lrr|overparam|sparse|sparse-extrapolate|sparse-precision] [--trials 100]
                        [--device cpu|cuda] [--reference-trials 10] [--quick] [--threads T] [--json FILE]

Suite ``sparse``: the AGD engine of paper 001 at paper-sized cells (:mod:`sim.zhang.bench_sparse`: time per run-step,
rate on the necessary flops 4 N K r per run-step, the ceiling of its bare products, speed-up over the float64
dense engine and the numpy oracle, memory; GEMM rates and the load average in the header).  ``--quick``: the
same table in under a minute.

Suite ``sparse-precision``: the quick-scale cells of zhang-fig2..fig5 with the float64 dense engine and the
default mixed-precision engine, run by run (:mod:`sim.zhang.agd_precision`; a few minutes).

Suite ``overparam`` (Xu & Du 2023): population GD of n = 5 students in d = 10 for ``--trials`` seeds and
``--op-steps`` steps, batched (:func:`sim.xudu.overparam.run_gd`) vs the per-trial numpy oracle
(:mod:`sim.xudu.overparam_reference`, timed on a few trials and scaled); it prints steps/s, trial-steps/s and the
ratio, then the per-step cost of every cell of the paper-scale ``xudu-rates`` sweep (measured on 300 steps)
and the sweep time it implies (extrapolated: the per-step cost is constant along a run).

Suite ``sparse-extrapolate`` (Zhang et al., paper 001; the former ``sparse`` suite): batched AGD vs the per-trial numpy oracle
(:mod:`sim.zhang.sparse_reference`) on the same work, the per-step cost and data size of the paper-scale Fig. 2 and
Fig. 4 sweeps (an upper bound on their time: every run to 10,000 steps), and with ``--quick-diagrams`` the wall
time of every quick-scale ``zhang-*`` diagram.

Suite ``lrr``:
Work: the full pruning-cycle pipeline of one Fig. 2(a) cell (d = 10, n = 1000, 3 levels to 90 %, methods
LRR, IMP, WR and IMP-balanced) for ``--trials`` trials, with (i) L-BFGS (torch.optim.LBFGS semantics) and
(ii) gradient descent.  The reference (:mod:`sim.lrr.reference`: torch.optim.LBFGS / numpy, one trial at a
time) is timed on ``--reference-trials`` trials and scaled linearly to ``--trials`` (its cost is exactly
linear in the number of trials); the printed ratio is reference time / batched time for the same trials.
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from sim.lrr import reference as ref
from sim.lrr.cycles import CycleConfig, run_cycles
from sim.lrr.neuron import NeuronProblem, sample
from sim.core.provenance import machine, versions
from sim.lrr.trainers import GD, LBFGS
from theory.core.cli import Parser, fail, output_file, positive_int


def _time(fn) -> float:
    t0 = time.perf_counter()
    fn()
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return time.perf_counter() - t0


def bench(trials: int, ref_trials: int, device: str, epochs: int, gd_steps: int) -> list[dict]:
    problem = NeuronProblem(d=10, n=1000, sigma=0.1, trials=trials)
    cfg = CycleConfig(levels=3, sparsity=0.9, rewind_step=10)
    rows = []
    for trainer in (LBFGS(epochs=epochs), GD(lr=0.5, steps=gd_steps)):
        batch = sample(problem, seed=0, device=device)
        t_batched = _time(lambda: run_cycles(batch, trainer, cfg))
        cpu = sample(problem, seed=0, device="cpu")
        k = min(ref_trials, trials)

        def per_trial():
            for i in range(k):
                ref.run_cycles_one(cpu.theta0[i].numpy(), cpu.X[i].numpy(), cpu.y[i].numpy(), trainer, cfg.levels,
                                   cfg.sparsity, cfg.rewind_step, cfg.methods)
        t_ref = _time(per_trial) * trials / k
        rows.append({"trainer": f"{trainer.name} ({'epochs=' + str(epochs) if trainer.name == 'lbfgs' else 'steps=' + str(gd_steps)})",
                     "trials": trials, "device": device, "batched_s": round(t_batched, 2),
                     "reference_s": round(t_ref, 2), "ratio": round(t_ref / t_batched, 1),
                     "reference_trials_timed": k})
    return rows


def bench_overparam(trials: int, ref_trials: int, device: str, steps: int) -> list[dict]:
    from sim.xudu import overparam as op
    from sim.xudu.overparam_reference import gd_one
    from sim.core.registry import get

    pr = op.OverparamProblem(n=5, d=10, trials=trials)
    W0, v = op.initial_students(pr, 0, device), op.teacher(pr, device)
    op.run_gd(W0, v, op.GD(lr=0.1, steps=20, records=2))  # warm-up
    t_b = _time(lambda: op.run_gd(W0, v, op.GD(lr=0.1, steps=steps, records=40)))
    k = min(ref_trials, trials)
    Wc, vc = W0.cpu().numpy(), v.cpu().numpy()
    t_r = _time(lambda: [gd_one(Wc[i], vc, 0.1, steps, record_loss=False) for i in range(k)]) * trials / k
    rows = [{"work": f"population GD n=5 d=10, {steps} steps", "trials": trials, "device": device,
             "batched_s": round(t_b, 2), "reference_s": round(t_r, 2), "ratio": round(t_r / t_b, 1),
             "steps_per_s": round(steps / t_b, 1), "trial_steps_per_s": round(steps * trials / t_b),
             "reference_trials_timed": k}]
    dg = get("xudu-rates")
    total = 0.0
    for cell in dg.cells(dg.scales["paper"]):
        pc = op.OverparamProblem(n=cell["n"], d=cell["d"], trials=cell["trials"])
        Wp, vp = op.initial_students(pc, 0, device), op.teacher(pc, device)
        per_step = _time(lambda: op.run_gd(Wp, vp, op.GD(lr=cell["lr"], steps=300, records=2))) / 300
        total += per_step * cell["steps"]
        rows.append({"work": f"paper xudu-rates cell n={cell['n']} ({cell['trials']} seeds)", "trials": cell["trials"],
                     "device": device, "us_per_step": round(per_step * 1e6, 1),
                     "cell_s_extrapolated": round(per_step * cell["steps"], 1)})
    rows.append({"work": "paper xudu-rates sweep (serial, extrapolated)", "device": device,
                 "sweep_s_extrapolated": round(total, 1)})
    return rows


def bench_sparse(trials: int, ref_trials: int, device: str, steps: int, quick_diagrams: bool) -> list[dict]:
    """Zhang et al. (paper 001): batched AGD vs the per-trial numpy oracle on the same work (three sizes, from
    the quick scale to Fig. 3's d = 300, N = 3000; ``steps`` AGD steps, stopping rule off), runs sharing a draw
    against the same runs with a copy of the data each, the per-step cost and memory of the paper-scale
    Fig. 2 and Fig. 4 cells, and optionally the wall time of every quick-scale zhang-* diagram."""
    from sim.zhang.agd import AGD, run_agd
    from sim.core.registry import get
    from sim.zhang.sparse_reference import agd_one
    from sim.zhang.sparse_teacher import SparseProblem, free_index, init_at_distance, make_instance

    rows = []
    for K, d, r, N in ((3, 60, 10, 600), (5, 100, 20, 1000), (5, 300, 100, 3000)):
        inst = make_instance(SparseProblem(K=K, d=d, r=r, N=N, trials=trials), 0, device)
        W0 = init_at_distance(inst.W_star, inst.M, 0.5, 1)
        agd = AGD(eta=0.5, beta=0.2, max_iter=steps, tol=0.0)
        run_agd(inst, W0, AGD(eta=0.5, beta=0.2, max_iter=5, tol=0.0))  # warm-up
        t_b = _time(lambda: run_agd(inst, W0, agd))
        k = min(ref_trials, trials)
        idx = free_index(inst.M).cpu().numpy()
        Xc, yc, Wc = inst.X.cpu().numpy(), inst.y.cpu().numpy(), W0.cpu().numpy()

        def per_trial():
            for b in range(k):
                om = [idx[b, j] for j in range(K)]
                agd_one([Wc[b, j][om[j]] for j in range(K)], om, Xc[b], yc[b], 0.5, 0.2, steps, 0.0)
        t_r = _time(per_trial) * trials / k
        rows.append({"work": f"AGD K={K} d={d} r={r} N={N}, {steps} steps", "trials": trials, "device": device,
                     "batched_s": round(t_b, 2), "reference_s": round(t_r, 2), "ratio": round(t_r / t_b, 1),
                     "us_per_trial_step": round(t_b / (steps * trials) * 1e6, 1), "reference_trials_timed": k})
    # runs that share a draw (Fig. 2: the initial distances of one r; Fig. 5: the noise levels) make one
    # product per draw: the same runs against their own copy of the data
    from dataclasses import replace
    K, d, r, N, P = 5, 300, 100, 3000, 10
    shared = make_instance(SparseProblem(K=K, d=d, r=r, N=N, trials=max(trials // P, 1), runs_per_draw=P), 0, device)
    copied = replace(shared, X=shared.X_per_run())
    W0 = init_at_distance(shared.W_star, shared.M, 0.5, 1)
    agd = AGD(eta=0.5, beta=0.2, max_iter=max(steps // 4, 5), tol=0.0)
    t_s, t_c = (_time(lambda i=i: run_agd(i, W0, agd)) for i in (shared, copied))
    rows.append({"work": f"AGD K={K} d={d} r={r} N={N}: {P} runs per draw (one product) vs a copy of X per run",
                 "trials": shared.B, "device": device, "shared_s": round(t_s, 2), "copied_s": round(t_c, 2),
                 "ratio": round(t_c / t_s, 1)})
    for name in ("zhang-fig2", "zhang-fig4"):
        dg = get(name)
        cells = dg.cells(dg.scales["paper"])
        per_step_total, peak = 0.0, 0
        for cell in (cells[0], cells[-1]):
            P = len(cell.get("lams", [0]))  # Fig. 2: every initial distance of a draw shares its data
            B = cell["trials"] * P
            p = SparseProblem(K=cell["K"], d=cell["d"], r=cell["r"], N=cell["N"], trials=min(cell["trials"], 100 // P),
                              runs_per_draw=P)
            ins = make_instance(p, 0, device)
            W = init_at_distance(ins.W_star, ins.M, 0.5, 1)
            t = _time(lambda: run_agd(ins, W, AGD(eta=0.5, beta=0.2, max_iter=20, tol=0.0))) / 20 * B / ins.B
            per_step_total += t
            data = cell["trials"] * cell["N"] * cell["d"] * 8  # X once per draw, float64
            peak = max(peak, 2 * data)  # X and one temporary of its size
            rows.append({"work": f"paper {name} cell {cell['key']} ({B} runs batched, {P} per draw)", "device": device,
                         "ms_per_step": round(t * 1e3, 2), "data_GiB": round(data / 2 ** 30, 2)})
        n_cells = len(cells)
        worst = per_step_total / 2 * n_cells * cells[0]["max_iter"]
        rows.append({"work": f"paper {name}: {n_cells} cells, upper bound (every run to max_iter)", "device": device,
                     "sweep_s_upper_bound": round(worst, 0), "peak_cell_GiB": round(peak / 2 ** 30, 2)})
    if quick_diagrams:
        import tempfile
        from pathlib import Path

        from sim.core.sweep import SweepSpec, run
        for name in ("zhang-fig2", "zhang-fig3", "zhang-fig4", "zhang-fig5", "zhang-fig6", "zhang-hessian",
                     "zhang-tensor-init"):
            with tempfile.TemporaryDirectory() as tmp:
                t = _time(lambda: run(SweepSpec(name, "quick", device=device), out=Path(tmp) / "r", progress=False))
            rows.append({"work": f"{name} quick scale", "device": device, "wall_s": round(t, 1)})
    return rows


def main(argv=None) -> int:
    p = Parser(prog="python -m sim.bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--trials", type=positive_int, default=100, help="trials batched per engine (default 100)")
    p.add_argument("--reference-trials", type=positive_int, default=10,
                   help="trials timed in the per-trial reference and scaled up (default 10)")
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"], help="where the batched engines run")
    p.add_argument("--epochs", type=positive_int, default=20, help="L-BFGS step() calls per level (default 20)")
    p.add_argument("--gd-steps", type=positive_int, default=500, help="GD steps per level (default 500)")
    p.add_argument("--op-steps", type=positive_int, default=2000, help="GD steps of the overparam suite (default 2000)")
    p.add_argument("--suite", default="all", choices=["all", "lrr", "overparam", "sparse", "sparse-extrapolate",
                                                      "sparse-precision"])
    p.add_argument("--quick", action="store_true", help="sparse suite: fewer steps, draws and repetitions (< 1 min)")
    p.add_argument("--threads", type=positive_int, default=None, help="torch threads (default: torch's choice)")
    p.add_argument("--sparse-steps", type=positive_int, default=200, help="AGD steps of the sparse suite (default 200)")
    p.add_argument("--quick-diagrams", action="store_true", help="sparse suite: also time every quick zhang-* diagram")
    p.add_argument("--json", default=None, type=output_file, help="also write the rows to this file")
    args = p.parse_args(argv)
    if args.device == "cuda" and not torch.cuda.is_available():
        return fail(p.prog, "--device cuda: torch sees no CUDA device on this machine")
    if args.threads:
        torch.set_num_threads(args.threads)
    info = {"machine": machine(args.device), "threads": torch.get_num_threads(), "versions": versions()}
    print(f"# sim.bench on {info['machine']['processor']} ({info['threads']} torch threads), device {args.device}")
    rows = []
    if args.suite in ("all", "lrr"):
        rows += bench(args.trials, args.reference_trials, args.device, args.epochs, args.gd_steps)
        for r in rows:
            print(f"{r['trainer']:22s} {r['trials']} trials: batched {r['batched_s']:8.2f} s   per-trial reference "
                  f"{r['reference_s']:8.2f} s   ratio {r['ratio']:6.1f}x")
    if args.suite in ("all", "overparam"):
        op_rows = bench_overparam(args.trials, min(args.reference_trials, 5), args.device, args.op_steps)
        rows += op_rows
        for r in op_rows:
            print("  ".join(f"{k}={v}" for k, v in r.items()))
    if args.suite in ("all", "sparse"):
        from sim.zhang.bench_sparse import bench as bench_engine, print_table
        out = bench_engine(args.device, quick=args.quick)
        print_table(out)
        info["sparse_engine"] = out["header"]
        rows += out["rows"]
    if args.suite == "sparse-precision":
        from sim.zhang.agd_precision import compare, print_rows
        pr_rows = compare(device=args.device)
        print_rows(pr_rows)
        rows += pr_rows
    if args.suite in ("all", "sparse-extrapolate"):
        sp_rows = bench_sparse(min(args.trials, 32), min(args.reference_trials, 4), args.device, args.sparse_steps,
                               args.quick_diagrams)
        rows += sp_rows
        for r in sp_rows:
            print("  ".join(f"{k}={v}" for k, v in r.items()))
    if args.json:
        try:
            with open(args.json, "w") as fh:
                json.dump({"rows": rows} | info, fh, indent=2)
        except OSError as exc:
            return fail(p.prog, f"--json {args.json}: cannot write it ({exc.strerror or exc})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
