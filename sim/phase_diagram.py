"""Front door of the toolkit: run a registered phase diagram or experiment and save data + figure.

    python -m sim.phase_diagram                      # LRR vs IMP over (d x sigma), quick scale
    python -m sim.phase_diagram --list
    python -m sim.phase_diagram --diagram lrr-fig2a --scale paper --workers 2
    python -m sim.phase_diagram --diagram lrr-fig18 --scheduler tcp://10.0.0.5:8786
    python -m sim.phase_diagram --out results/my-run             # the same command again finishes an interrupted run
    python -m sim.phase_diagram --diagram zhang-fig2 --scale paper --trials 20 --help   # the scale's own options
    python -m sim.phase_diagram --all --scale quick      # every registered diagram (finished ones are reused)
    python -m sim.phase_diagram --diagram zhang-fig4 --scale paper --root figures/data   # hours; kept by git
    python -m sim.phase_diagram --diagram zhang-fig4 --scale paper --root figures/data --status   # how far it got

Each diagram's scale is a typed configuration; its fields are options of this command (shown by
``--diagram NAME --help``), with the chosen scale's values as defaults.  A run with changed fields gets its
own folder (the changes' hash appended to the name).

Results: ``results/sim/<diagram>-<scale>-seed<seed>/`` (or --out; ``--root figures/data`` puts it in the
folder git tracks, as ``make paper-zhang`` does for the runs that take hours) with manifest.json (config, seed,
versions, git commit, and the commit each cell was computed at), cells/*.npz (per-trial data), summary.csv,
the fit step's JSON (fits.json ...) and the figure, drawn from the saved data by ``python -m figures.draw``.
"""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

from sim.core import config, registry
from sim.core.sweep import RESULTS_ROOT, ResultsError, SweepSpec, cell_record, read_summary, run, scale_config, status
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
            cells = [cell_record(c) for c in dg.cells(dg.scales[scale])]
            # a cell that batches several grid values (initial distances, noise levels) runs trials x values
            runs = sum(c.get("trials", 0) * len(c.get("lams", c.get("noise_levels", [0]))) for c in cells)
            print(f"{'':22s}   {scale}: {len(cells)} cells, {runs} runs")


def _print_summary(path: Path, columns: tuple[str, ...] = (), legend: dict[str, str] | None = None) -> None:
    """The summary table, then one line per printed column that the diagram explains."""
    _print_rows(read_summary(path / "summary.csv"), columns, legend)


def _print_rows(rows: list[dict], columns: tuple[str, ...] = (), legend: dict[str, str] | None = None) -> None:
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


def _draw(out: Path) -> list[Path]:
    """Draw the run's figure from its saved data, in a separate program (``sim`` does not import ``figures``)."""
    done = subprocess.run([sys.executable, "-m", "figures.draw", str(out)], capture_output=True, text=True,
                          env={**__import__("os").environ, "MPLBACKEND": "Agg"})
    if done.returncode != 0:
        print(f"figure not drawn ({done.stderr.strip().splitlines()[-1] if done.stderr.strip() else 'failed'}); "
              f"the data are saved: python -m figures.draw {out}", file=sys.stderr)
        return []
    return [Path(line.split("figure: ", 1)[1]) for line in done.stdout.splitlines() if line.startswith("figure: ")]


def _parser() -> Parser:
    p = Parser(prog="python -m sim.phase_diagram", description=__doc__,
               formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--list", action="store_true", help="list the registered diagrams and exit")
    p.add_argument("--diagram", default=DEFAULT, help=f"diagram name (default {DEFAULT})")
    p.add_argument("--all", action="store_true", help="run every registered diagram at --scale (one after another)")
    p.add_argument("--scale", default="quick",
                   help="quick: CPU, ~1 min; paper: the paper's sizes; a diagram may define more (see --list)")
    p.add_argument("--device", default="cpu", help="cpu or cuda (batched trainers run there)")
    p.add_argument("--workers", type=positive_int, default=2,
                   help="local worker processes for cells (joblib); capped at the CPUs available and the cells to run")
    p.add_argument("--scheduler", default=None, help="address of a Dask distributed scheduler (tcp://host:8786)")
    p.add_argument("--out", type=output_folder, default=None, help="results folder (default results/sim/<diagram>-<scale>-seed<seed>)")
    p.add_argument("--root", default=None, type=output_folder, metavar="DIR",
                   help="parent of the default results folder (default results; 'figures/data' is tracked by git, "
                        "for paper-scale runs that take hours, so that the same command continues them on a fresh clone)")
    p.add_argument("--resume", action="store_true",
                   help="finish or reuse the results folder of this same run (the default anyway: a folder of the same "
                        "diagram, scale, parameters, seed and device is always finished or reused; any other is refused)")
    p.add_argument("--seed", type=int, default=0, help="master seed (cell seeds are derived from it)")
    p.add_argument("--status", action="store_true",
                   help="report on this run's folder without computing or writing anything: the cells finished and "
                        "missing, and the summary and fit of the finished cells (a long run in progress, or stopped)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--no-figure", action="store_true", help="save the data only (draw later: python -m figures.draw FOLDER)")
    return p


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    p = _parser()
    # first pass: which diagram and scale, so that the second can offer that scale's fields as options
    first, _ = _parser().parse_known_args([a for a in argv if a not in ("-h", "--help")])
    changes: tuple = ()
    proto = None
    if not first.list and not first.all:
        try:
            diagram = registry.get(first.diagram)
        except KeyError as exc:
            return fail(p.prog, str(exc.args[0]))
        try:
            proto = scale_config(diagram, first.scale)
        except ValueError as exc:
            return fail(p.prog, str(exc))
        if config.is_frozen_config(proto):
            config.add_options(p, type(proto), defaults=proto,
                               title=f"{first.diagram} at scale {first.scale!r} (change any field)")
    args = p.parse_args(argv)
    if not args.list and not args.all and config.is_frozen_config(proto):
        changes = tuple(sorted(config.given(type(proto), args).items()))
    # a SIGTERM (kill, a batch scheduler's time limit) unwinds like Ctrl-C, so the sweep stops its worker
    # processes instead of leaving them computing as orphans; finished cells are on disk already
    signal.signal(signal.SIGTERM, _stop)
    if args.list:
        _print_list()
        return 0
    names = sorted(registry.load_all()) if args.all else [args.diagram]
    if args.all and args.out is not None:
        return fail(p.prog, "--out names one folder; with --all each diagram gets its default folder")
    if args.out is not None and args.root is not None:
        return fail(p.prog, "--out names the folder itself; --root only the parent of the default one: give one of them")
    if args.status:
        if args.all:
            return fail(p.prog, "--status reports on one run: name it with --diagram (and its scale and fields)")
        return _status(p, args, changes)
    for name in names:
        code = _run_one(p, args, name, changes)
        if code:
            return code
    return 0


def _status(p, args, changes: tuple) -> int:
    diagram = registry.get(args.diagram)
    try:
        st = status(SweepSpec(args.diagram, args.scale, args.seed, args.device, changes), out=args.out,
                    root=args.root or RESULTS_ROOT)
    except (ValueError, ResultsError) as exc:
        return fail(p.prog, str(exc))
    n = len(st.finished) + len(st.missing)
    took = sum(st.seconds.values())
    print(f"{st.out}: {len(st.finished)} of {n} cells finished ({took / 3600:.2f} h of cell time)"
          + (f"; missing: {', '.join(st.missing)}" if st.missing else "; complete"))
    if st.rows:
        print()
        _print_rows(st.rows, diagram.columns, diagram.legend)
    for name, data in st.fits.items():
        print(f"\n{name} over the finished cells only (not written):")
        for key, value in data.items():
            text = json.dumps(value, default=_plain)
            print(f"  {key}: {text if len(text) <= 400 else text[:400] + ' ...'}")
    return 0


def _plain(v):
    return v.tolist() if hasattr(v, "tolist") else str(v)


def _run_one(p, args, name: str, changes: tuple) -> int:
    try:
        diagram = registry.get(name)
        t0 = time.perf_counter()
        out = run(SweepSpec(name, args.scale, args.seed, args.device, changes), out=args.out, workers=args.workers,
                  resume=args.resume, scheduler=args.scheduler, progress=not args.no_progress,
                  root=args.root or RESULTS_ROOT)
    except (KeyError, ValueError, TypeError, ResultsError, RuntimeError) as exc:
        msg = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        return fail(p.prog, str(msg))
    _print_summary(out, diagram.columns, diagram.legend)
    figures = [] if args.no_figure else _draw(out)
    print(f"\n{name} ({args.scale}) in {time.perf_counter() - t0:.1f} s -> {out}/")
    for f in figures or sorted(out.glob("*.png")):
        print(f"figure: {f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
