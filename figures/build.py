"""Rebuild every figure.

* FIGURES: modules with ``main(out_dir) -> list[Path]`` (theory figures, computed from the closed forms);
* SIM_FIGURES: registered sim diagrams; their figure is re-plotted from the saved results folder
  (``results/sim/<diagram>-<scale>-seed0``, paper scale preferred when it exists) and copied to out_dir.
  A diagram without saved results is run at quick scale first (``--no-run`` skips it instead), except the
  slow ones in NOT_RUN_BY_DEFAULT, which are only re-plotted.
"""

from __future__ import annotations

import argparse
import importlib
from pathlib import Path

FIGURES = ["figures.lrr_eqs4_5_closed_forms", "figures.deep_lrr_imp"]
SIM_FIGURES = ["lrr-phase-d-sigma", "lrr-phase-d-n", "lrr-fig2a", "lrr-fig18", "lrr-fig18-one-input", "lrr-fig2a-flow",
               "lrr-fig2a-gd",
               "xudu-rates", "xudu-exponent-n-init", "xudu-exponent-n-d", "xudu-finite-sample", "xudu-flow",
               "zhang-fig2", "zhang-fig3", "zhang-fig4", "zhang-fig5", "zhang-fig6", "zhang-hessian",
               "zhang-tensor-init"]


# quick scales that take more than a few minutes on 2 cores: re-plotted when saved, never run by make figures
# (the exact-flow Fig. 2(a) left this set once its integrator stopped looping at rewinding points and at w = 0)
NOT_RUN_BY_DEFAULT: set[str] = set()


def sim_figure(name: str, out_dir: Path, allow_run: bool = True) -> list[Path]:
    import shutil

    from sim import registry
    from sim.sweep import SweepSpec, default_out, run

    diagram = registry.get(name)
    for scale in ("paper", "quick"):
        folder = default_out(SweepSpec(name, scale))
        if (folder / "summary.csv").is_file():
            break
    else:
        if not allow_run or name in NOT_RUN_BY_DEFAULT:
            print(f"{name}: no saved results, skipped (python -m sim.phase_diagram --diagram {name})")
            return []
        folder = run(SweepSpec(name, "quick"), workers=2, resume=True)
    written = []
    for png in diagram.plot(folder):
        target = out_dir / f"{name}-{folder.name.split(name + '-')[1]}-{png.name}"
        out_dir.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(png, target)
        written.append(target)
    return written


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m figures.build", description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("results/figures"), help="output folder")
    parser.add_argument("--no-run", action="store_true", help="do not run missing sim diagrams")
    args = parser.parse_args(argv)
    for name in FIGURES:
        for path in importlib.import_module(name).main(args.out):
            print(f"{name}: wrote {path}")
    for name in SIM_FIGURES:
        for path in sim_figure(name, args.out, allow_run=not args.no_run):
            print(f"{name}: wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
