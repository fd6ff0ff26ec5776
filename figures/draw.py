"""``python -m figures.draw FOLDER...``: draw the figure of saved results folders (from their data only).

``python -m sim.phase_diagram`` calls this after a run (as a separate program: ``sim`` does not import
``figures``); ``make figures`` draws every registered diagram's saved results through the same catalog.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from theory.core.cli import Parser


def main(argv=None) -> int:
    os.environ.setdefault("MPLBACKEND", "Agg")
    p = Parser(prog="python -m figures.draw", description=__doc__)
    p.add_argument("folders", nargs="+", type=Path, help="results folders written by python -m sim.phase_diagram")
    args = p.parse_args(argv)
    from figures.catalog import draw

    for folder in args.folders:
        if not (folder / "manifest.json").is_file():
            p.error(f"{folder} is not a results folder (no manifest.json)")
        for path in draw(folder):
            print(f"figure: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
