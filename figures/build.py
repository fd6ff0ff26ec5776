"""Rebuild every figure.

* FIGURES: modules with ``main(out_dir) -> list[Path]`` (theory figures, computed from the closed forms);
* every registered sim diagram with a plot hook (walked from the registry, no list kept here): its figure is
  re-plotted from the saved results folder (``results/sim/<diagram>-<scale>-seed0``, paper scale preferred
  when it exists) and its PNGs copied to out_dir.  A diagram without saved results is run at quick scale
  first (``--no-run`` skips it instead).
"""

from __future__ import annotations

import argparse
import importlib
from pathlib import Path

FIGURES = ["figures.lrr_eqs4_5_closed_forms", "figures.deep_lrr_imp", "figures.lrr_gd_sign_changes"]


def sim_figure_names() -> list[str]:
    """Every registered diagram that draws something, in name order."""
    from sim.core import registry

    return sorted(name for name, dg in registry.load_all().items() if dg.plot is not None)


def sim_figure(name: str, out_dir: Path, allow_run: bool = True) -> list[Path]:
    import shutil

    from sim.core import registry
    from sim.core.sweep import SweepSpec, default_out, run

    diagram = registry.get(name)
    for scale in ("paper", "quick"):
        folder = default_out(SweepSpec(name, scale))
        if (folder / "summary.csv").is_file():
            break
    else:
        if not allow_run:
            print(f"{name}: no saved results, skipped (python -m sim.phase_diagram --diagram {name})")
            return []
        folder = run(SweepSpec(name, "quick"), workers=2, resume=True)
    written = []
    for png in (p for p in diagram.plot(folder) if p.suffix == ".png"):
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
    for name in sim_figure_names():
        for path in sim_figure(name, args.out, allow_run=not args.no_run):
            print(f"{name}: wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
