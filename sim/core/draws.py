"""Runs that share a draw of data: B runs read G data sets X (G, ...), P = B / G consecutive runs per set.

Used where several runs see the same data and differ only in their parameters: the pruning methods of one
trial (:mod:`sim.lrr.cycles`), the initial distances or noise levels of one draw of the sparse teacher
(:mod:`sim.zhang.sparse_teacher`).  Run b reads X[b // P]; P = 1 is one data set per run.
"""

from __future__ import annotations

import torch


def runs_per_draw(B: int, X: torch.Tensor) -> int:
    """P = B / G for B runs on the G data sets of X (leading axis); a clear error if B is not a multiple."""
    G = X.shape[0]
    if B % G:
        raise ValueError(f"{B} runs cannot share {G} data sets X evenly (the runs must be a multiple of the data sets)")
    return B // G
