"""Registry of named phase diagrams / experiments: ``python -m sim.phase_diagram --list`` shows them.

A :class:`Diagram` knows nothing about how it is swept: it gives its scales (``quick``: CPU, about a
minute; ``paper``: the paper's sizes), the grid cells of a scale, how to run one cell (batched over the
cell's trials), how to summarize finished cells into table rows, and which figure script plots the saved
results.  :mod:`sim.core.sweep` runs any diagram.  Later simulators register theirs the same way (one module
with ``register(...)`` calls, listed in :data:`_MODULES`).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

_MODULES = ("sim.lrr.diagrams", "sim.xudu.diagrams", "sim.zhang.diagrams")


@dataclass(frozen=True)
class Diagram:
    name: str
    title: str
    paper: str  # e.g. "000 Fig. 2(a)"
    scales: dict[str, dict]
    cells: Callable[[dict], list[dict]]  # scale parameters -> cells (dicts with a unique 'key')
    run_cell: Callable[[dict, int, str], dict[str, np.ndarray]]  # (cell, seed, device) -> arrays
    summarize: Callable[[list[tuple[dict, dict]]], list[dict]]  # [(cell, arrays)] -> table rows
    plot: Callable[[Path], list[Path]] | None = None  # results folder -> figure files
    columns: tuple[str, ...] = field(default_factory=tuple)  # columns of the printed summary
    legend: dict[str, str] = field(default_factory=dict)  # column -> its meaning, printed under the table


_REGISTRY: dict[str, Diagram] = {}


def register(diagram: Diagram) -> Diagram:
    if diagram.name in _REGISTRY:
        raise ValueError(f"diagram {diagram.name!r} registered twice")
    for scale in ("quick", "paper"):
        if scale not in diagram.scales:
            raise ValueError(f"diagram {diagram.name!r} lacks the {scale!r} scale")
    _REGISTRY[diagram.name] = diagram
    return diagram


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
