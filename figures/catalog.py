"""The map from a figure's name to the function that draws it: ``name -> (module, function, arguments)``.

A registered diagram of :mod:`sim` names its figure (``Diagram.figure``, recorded in each results folder's
``manifest.json``); this catalog is the only place that turns the name into code, so ``sim`` never imports
``figures``.  Every drawing function takes a results folder (and the fixed arguments listed here), reads
only the saved data (``summary.csv``, the cell files, the JSON a diagram's fit step saved) and returns the
files it wrote.  Adding a figure is one function in a ``figures/<slug>_*.py`` module plus one line here.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Callable

CATALOG: dict[str, tuple[str, str, tuple]] = {
    # paper 000 (lrr)
    "lrr-phase": ("figures.lrr_phase_diagrams", "plot", ()),
    "lrr-fig2a-quadrants": ("figures.lrr_fig2a_sign_quadrants", "plot", ()),
    "lrr-gd-sign-changes": ("figures.lrr_gd_sign_changes", "plot", ()),
    "lrr-eqs4-5-closed-forms": ("figures.lrr_eqs4_5_closed_forms", "plot", ()),
    # paper 001 (zhang)
    "zhang-fig2": ("figures.zhang_recovery", "plot", ("fig2",)),
    "zhang-fig3": ("figures.zhang_recovery", "plot", ("fig3",)),
    "zhang-fig4": ("figures.zhang_recovery", "plot", ("fig4",)),
    "zhang-fig4-nstar": ("figures.zhang_recovery", "plot", ("fig4-nstar",)),
    "zhang-fig5": ("figures.zhang_recovery", "plot", ("fig5",)),
    "zhang-fig6": ("figures.zhang_recovery", "plot", ("fig6",)),
    "zhang-hessian": ("figures.zhang_recovery", "plot", ("hessian",)),
    "zhang-tensor-init": ("figures.zhang_recovery", "plot", ("tensor",)),
    "zhang-tinit-n": ("figures.zhang_tinit", "plot", ()),
    # paper 002 (xudu)
    "xudu-rates": ("figures.xudu_slowdown", "plot", ("rates",)),
    "xudu-grid": ("figures.xudu_slowdown", "plot", ("grid",)),
    "xudu-samples": ("figures.xudu_slowdown", "plot", ("samples",)),
}


# figures that belong to no sim diagram: ``main(out_dir) -> files`` (the deep runs saved under results/deep)
STANDALONE: dict[str, tuple[str, str]] = {
    "lrr-deep": ("figures.deep_lrr_imp", "main"),
}


def drawer(name: str) -> Callable[[Path], list[Path]]:
    """The drawing function registered as ``name`` (a one-line error naming the known ones otherwise)."""
    if name not in CATALOG:
        raise KeyError(f"no figure named {name!r} in figures.catalog; known: {', '.join(sorted(CATALOG))}")
    module, function, args = CATALOG[name]
    fn = getattr(importlib.import_module(module), function)
    return lambda folder: fn(Path(folder), *args)


def draw(folder: Path) -> list[Path]:
    """Draw the figure a results folder's manifest names (nothing when its diagram has no figure)."""
    import json

    manifest = json.loads((Path(folder) / "manifest.json").read_text())
    name = manifest.get("figure")
    return drawer(name)(folder) if name else []
