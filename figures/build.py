"""``make figures`` / ``python -m figures.build``: draw every figure from saved data, and copy it to one folder.

It walks the registries, with no list of its own: every diagram registered in :mod:`sim` that names a
figure is drawn from its saved results folder (``results/sim/<diagram>-<scale>-seed0``, the paper scale
preferred when it exists) through :mod:`figures.catalog`, and every standalone figure of the catalog is
drawn from what it reads.  Nothing is simulated here: a diagram without saved results is reported with the
command that makes them (``make figures`` runs ``python -m sim.phase_diagram --all`` first).
"""

from __future__ import annotations

import importlib
import shutil
from pathlib import Path

from figures.catalog import STANDALONE, drawer
from sim.core.sweep import ARCHIVE_ROOT, RESULTS_ROOT
from theory.core.cli import Parser, output_folder


ROOTS = (RESULTS_ROOT / "sim", ARCHIVE_ROOT / "sim")  # this machine's runs, then the ones git keeps


def saved_folder(name: str, roots: tuple[Path, ...] = ROOTS) -> Path | None:
    """The results folder of ``name`` to draw: its paper scale (the default folder, else the newest finished
    paper-scale variant with changed fields, ``<name>-paper-seed0-<hash>``), else its quick scale; None when
    nothing is saved.  Looks in ``results/sim`` (this machine's runs) and ``figures/data/sim`` (the paper-scale
    runs git keeps), this machine's first at each step."""
    def finished(f: Path) -> bool:
        return (f / "summary.csv").is_file()

    newest = lambda fs: sorted(fs, key=lambda f: (f / "summary.csv").stat().st_mtime, reverse=True)  # noqa: E731
    candidates = [root / f"{name}-paper-seed0" for root in roots]
    candidates += newest(f for root in roots for f in root.glob(f"{name}-paper-seed0-*") if finished(f))
    candidates += [root / f"{name}-quick-seed0" for root in roots]
    return next((f for f in candidates if finished(f)), None)


def diagram_figures() -> dict[str, str]:
    """Every registered diagram that names a figure: diagram name -> figure name."""
    from sim.core import registry

    return {name: dg.figure for name, dg in sorted(registry.load_all().items()) if dg.figure}


def draw_diagram(name: str, figure: str, out_dir: Path) -> list[Path]:
    folder = saved_folder(name)
    if folder is None:
        print(f"{name}: no saved results, skipped (python -m sim.phase_diagram --diagram {name})")
        return []
    written = []
    for png in (p for p in drawer(figure)(folder) if p.suffix == ".png"):
        out_dir.mkdir(parents=True, exist_ok=True)
        target = out_dir / f"{folder.name}-{png.name}"
        shutil.copyfile(png, target)
        written.append(target)
    return written


def main(argv=None) -> int:
    p = Parser(prog="python -m figures.build", description=__doc__)
    p.add_argument("--out", type=output_folder, default=Path("results/figures"), help="output folder")
    args = p.parse_args(argv)
    for name, (module, function) in STANDALONE.items():
        for path in getattr(importlib.import_module(module), function)(args.out):
            print(f"{name}: wrote {path}")
    failed = []
    for name, figure in diagram_figures().items():
        try:
            for path in draw_diagram(name, figure, args.out):
                print(f"{name}: wrote {path}")
        except (OSError, KeyError, ValueError) as exc:  # one unreadable folder does not stop the others
            failed.append(name)
            print(f"{name}: not drawn: {type(exc).__name__}: {exc}")
    if failed:
        print(f"{len(failed)} figure(s) not drawn: {', '.join(failed)} (the same command of python -m "
              f"sim.phase_diagram for each finishes its folder, with its fit step)")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
