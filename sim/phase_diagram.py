"""Front door of the toolkit: run a registered phase diagram or experiment and save data + figure.

    python -m sim.phase_diagram                      # LRR vs IMP over (d x sigma), quick scale
    python -m sim.phase_diagram --list
    python -m sim.phase_diagram --diagram lrr-fig2a --scale paper --workers 2
    python -m sim.phase_diagram --diagram lrr-fig18 --scheduler tcp://10.0.0.5:8786
    python -m sim.phase_diagram --out results/my-run             # the same command again finishes an interrupted run

Results: ``results/sim/<diagram>-<scale>-seed<seed>/`` (or --out) with manifest.json (config, seed,
versions, git commit, and the commit each cell was computed at), cells/*.npz (per-trial data), summary.csv and a PNG figure.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from pathlib import Path

from sim.core import registry
from sim.core.sweep import ResultsError, SweepSpec, read_summary, run
from theory.core.cli import Parser, fail, output_folder, positive_int

DEFAULT = "lrr-phase-d-sigma"


def _stop(signum, frame):
    print(f"\nstopped by signal {signum}: finished cells are saved; the same command (or with --resume) "
          f"continues the run", file=sys.stderr)
    raise SystemExit(128 + signum)


def _print_list() -> None:
    for name, dg in sorted(registry.load_all().items()):
        print(f"{name:22s} {dg.paper}")
        print(f"{'':22s} {dg.title}")
        for scale in dg.scales:
            cells = dg.cells(dg.scales[scale])
            # a cell that batches several grid values (initial distances, noise levels) runs trials x values
            trials = sum(c.get("trials", 0) * len(c.get("lams", c.get("noise_levels", [0]))) for c in cells)
            print(f"{'':22s}   {scale}: {len(cells)} cells, {trials} trials")


def _print_summary(path: Path, columns: tuple[str, ...] = (), legend: dict[str, str] | None = None) -> None:
    """The summary table, then one line per printed column that the diagram explains."""
    rows = read_summary(path / "summary.csv")
    cols = list(columns) or ["d", "n", "sigma", "quadrant", "method", "trials", "rate", "ci_low", "ci_high",
                             "predicted", "mask_correct", "dense_w1_flips"]
    cols = [c for c in cols if c in rows[0]]
    widths = {c: max(len(c), *(len(str(r[c])) for r in rows)) for c in cols}
    print("  ".join(c.rjust(widths[c]) for c in cols))
    for r in rows:
        print("  ".join(str(r[c]).rjust(widths[c]) for c in cols))
    explained = [(c, legend[c]) for c in cols if legend and c in legend]
    if explained:
        print("\ncolumns:")
        for c, meaning in explained:
            print(f"  {c:>{max(len(k) for k, _ in explained)}}  {meaning}")


def main(argv=None) -> int:
    p = Parser(prog="python -m sim.phase_diagram", description=__doc__,
               formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--list", action="store_true", help="list the registered diagrams and exit")
    p.add_argument("--diagram", default=DEFAULT, help=f"diagram name (default {DEFAULT})")
    p.add_argument("--scale", default="quick",
                   help="quick: CPU, ~1 min; paper: the paper's sizes; a diagram may define more (see --list)")
    p.add_argument("--device", default="cpu", help="cpu or cuda (batched trainers run there)")
    p.add_argument("--workers", type=positive_int, default=2,
                   help="local worker processes for cells (joblib); capped at the CPUs available and the cells to run")
    p.add_argument("--scheduler", default=None, help="address of a Dask distributed scheduler (tcp://host:8786)")
    p.add_argument("--out", type=output_folder, default=None, help="results folder (default results/sim/<diagram>-<scale>-seed<seed>)")
    p.add_argument("--resume", action="store_true",
                   help="finish or reuse the results folder of this same run (the default anyway: a folder of the same "
                        "diagram, scale, parameters, seed and device is always finished or reused; any other is refused)")
    p.add_argument("--seed", type=int, default=0, help="master seed (cell seeds are derived from it)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    args = p.parse_args(argv)
    # a SIGTERM (kill, a batch scheduler's time limit) unwinds like Ctrl-C, so the sweep stops its worker
    # processes instead of leaving them computing as orphans; finished cells are on disk already
    signal.signal(signal.SIGTERM, _stop)
    if args.list:
        _print_list()
        return 0
    try:
        diagram = registry.get(args.diagram)
        t0 = time.perf_counter()
        out = run(SweepSpec(args.diagram, args.scale, args.seed, args.device), out=args.out, workers=args.workers,
                  resume=args.resume, scheduler=args.scheduler, progress=not args.no_progress)
    except (KeyError, ValueError, ResultsError, RuntimeError) as exc:
        msg = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        return fail(p.prog, str(msg))
    _print_summary(out, diagram.columns, diagram.legend)
    pngs = sorted(out.glob("*.png"))
    print(f"\n{args.diagram} ({args.scale}) in {time.perf_counter() - t0:.1f} s -> {out}/")
    for f in pngs:
        print(f"figure: {f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
