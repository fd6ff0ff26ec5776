"""Rebuild every figure: each module listed here has ``main(out_dir) -> list[Path]``."""

from __future__ import annotations

import argparse
import importlib
from pathlib import Path

FIGURES = ["figures.lrr_eqs4_5_closed_forms"]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m figures.build", description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("results/figures"), help="output folder")
    args = parser.parse_args(argv)
    for name in FIGURES:
        for path in importlib.import_module(name).main(args.out):
            print(f"{name}: wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
