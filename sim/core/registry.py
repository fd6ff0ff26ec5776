"""Registry of named phase diagrams / experiments: ``python -m sim.phase_diagram --list`` shows them.

A :class:`Diagram` knows nothing about how it is swept: it gives its scales (``quick``: CPU, about a
minute; ``paper``: the paper's sizes), each a frozen dataclass whose fields are the scale's parameters
(and, through :mod:`sim.core.config`, its command-line options); the grid cells of a scale (frozen
dataclasses with a ``key``); how to run one cell (batched over the cell's trials); how to summarize finished
cells into table rows; what to fit across cells (saved as JSON next to the summary: every number
``paper_repro.md`` quotes is computed here, never in a figure script); and the *name* of its figure
(``figures.catalog`` maps names to drawing functions; nothing here imports ``figures``).
:mod:`sim.core.sweep` runs any diagram.  Each paper's package registers its diagrams in one module listed
in :data:`_MODULES`.
"""

from __future__ import annotations

import contextlib
import importlib
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from sim.core.config import is_frozen_config

_MODULES = ("sim.lrr.diagrams", "sim.lrr.closed_form_curves", "sim.xudu.diagrams", "sim.zhang.diagrams")
Rows = list[dict]
Finished = list[tuple[object, dict[str, np.ndarray]]]  # [(cell, arrays)] in the scale's cell order


@dataclass(frozen=True)
class Diagram:
    name: str
    title: str
    paper: str  # e.g. "000 Fig. 2(a)"
    scales: dict[str, object]  # scale name -> frozen dataclass (its fields: the scale's parameters)
    cells: Callable[[object], list]  # scale config -> cells (frozen dataclasses with a unique ``key``)
    run_cell: Callable[[object, int, str], dict[str, np.ndarray]]  # (cell, seed, device) -> arrays
    summarize: Callable[[Finished], Rows]  # finished cells -> table rows (summary.csv)
    fit: Callable[[Finished, Rows], dict[str, dict]] | None = None  # -> {file name: JSON data}, e.g. fits.json
    figure: str | None = None  # name of its drawing function in figures.catalog
    columns: tuple[str, ...] = field(default_factory=tuple)  # columns of the printed summary
    legend: dict[str, str] = field(default_factory=dict)  # column -> its meaning, printed under the table


_REGISTRY: dict[str, Diagram] = {}


def register(diagram: Diagram) -> Diagram:
    """Add a diagram; it needs a ``quick`` and a ``paper`` scale, each a frozen dataclass."""
    if diagram.name in _REGISTRY:
        raise ValueError(f"diagram {diagram.name!r} registered twice")
    for scale in ("quick", "paper"):
        if scale not in diagram.scales:
            raise ValueError(f"diagram {diagram.name!r} lacks the {scale!r} scale")
    for scale, cfg in diagram.scales.items():
        if not is_frozen_config(cfg):
            raise TypeError(f"diagram {diagram.name!r}: scale {scale!r} must be a frozen dataclass instance "
                            f"(sim.core.config), got {type(cfg).__name__}")
    _REGISTRY[diagram.name] = diagram
    return diagram


@contextlib.contextmanager
def registered(diagram: Diagram):
    """``with registered(Diagram(...)):`` -- a diagram of one's own (a notebook's, a test's) is registered for
    the block and removed after it, so the registry of the toolkit's diagrams is left as it was."""
    register(diagram)
    try:
        yield diagram
    finally:
        _REGISTRY.pop(diagram.name, None)


def load_all() -> dict[str, Diagram]:
    for mod in _MODULES:
        importlib.import_module(mod)
    return dict(_REGISTRY)


def get(name: str) -> Diagram:
    diagrams = load_all()
    if name not in diagrams:
        import difflib

        near = difflib.get_close_matches(name, sorted(diagrams), n=3, cutoff=0.6)
        hint = f"did you mean {', '.join(near)}? " if near else ""
        raise KeyError(f"unknown diagram {name!r}; {hint}registered: {', '.join(sorted(diagrams))} "
                       f"(python -m sim.phase_diagram --list)")
    return diagrams[name]
