"""Benchmark: batched engine vs the per-trial reference on the same work (prints figures and ratios).

    python -m sim.bench [--suite all|lrr|overparam] [--trials 100] [--device cpu|cuda] [--reference-trials 10]

Suite ``overparam`` (Xu & Du 2023): population GD of n = 5 students in d = 10 for ``--trials`` seeds and
``--op-steps`` steps, batched (:func:`sim.overparam.run_gd`) vs the per-trial numpy oracle
(:mod:`sim.overparam_reference`, timed on a few trials and scaled); it prints steps/s, trial-steps/s and the
ratio, then the per-step cost of every cell of the paper-scale ``xudu-rates`` sweep (measured on 300 steps)
and the sweep time it implies (extrapolated: the per-step cost is constant along a run).

Suite ``lrr``:
Work: the full pruning-cycle pipeline of one Fig. 2(a) cell (d = 10, n = 1000, 3 levels to 90 %, methods
LRR, IMP, WR and IMP-balanced) for ``--trials`` trials, with (i) L-BFGS (torch.optim.LBFGS semantics) and
(ii) gradient descent.  The reference (:mod:`sim.reference`: torch.optim.LBFGS / numpy, one trial at a
time) is timed on ``--reference-trials`` trials and scaled linearly to ``--trials`` (its cost is exactly
linear in the number of trials); the printed ratio is reference time / batched time for the same trials.
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from sim import reference as ref
from sim.cycles import CycleConfig, run_cycles
from sim.neuron import NeuronProblem, sample
from sim.provenance import machine, versions
from sim.trainers import GD, LBFGS


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
    from sim import overparam as op
    from sim.overparam_reference import gd_one
    from sim.registry import get

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


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m sim.bench", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--trials", type=int, default=100)
    p.add_argument("--reference-trials", type=int, default=10)
    p.add_argument("--device", default="cpu")
    p.add_argument("--epochs", type=int, default=20, help="L-BFGS step() calls per level")
    p.add_argument("--gd-steps", type=int, default=500)
    p.add_argument("--op-steps", type=int, default=2000, help="GD steps of the overparam suite")
    p.add_argument("--suite", default="all", choices=["all", "lrr", "overparam"])
    p.add_argument("--json", default=None, help="also write the rows to this file")
    args = p.parse_args(argv)
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
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"rows": rows} | info, fh, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
