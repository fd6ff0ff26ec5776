"""Where a pruning level's mask comes from (paper 000 Sec. 3, Figs. 3, 4, 16): the mask-source registry.

Every source takes the level's :class:`Pruning` (the network after the previous level's training, its mask,
the pruning rate) and returns the level's :class:`deep.masks.Mask`:

* ``magnitude``: keep round(keep x alive) of the alive weights with the largest |w|, over all layers
  (``scope`` global) or per layer (layerwise);
* ``snip`` / ``synflow``: the same count with the highest SNIP or Synflow scores (:mod:`deep.criteria`),
  over all layers;
* ``random``: a fresh random mask with the number of weights magnitude pruning would keep, spread equally
  over the layers (balanced layer-wise sparsity);
* ``run``: another run's mask at the same level (a transplant, :mod:`deep.transplant`: IMP on the LRR mask,
  LRR on the IMP mask), read from that run's sign history.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
from torch import nn

from deep import criteria, transplant
from deep import masks as mk

PROBE = 256  # training examples in SNIP's batch


@dataclass(frozen=True)
class Pruning:
    """One level's pruning step: the network and mask it starts from and what it needs to choose the next."""

    model: nn.Module
    mask: mk.Mask
    level: int
    keep: float
    scope: str
    gen: torch.Generator  # the level's random stream (random masks)
    data: object = None  # the training data (SNIP's probe batch, Synflow's input shape)
    source: np.ndarray | None = None  # another run's sign history (transplants)


def _magnitude(p: Pruning) -> mk.Mask:
    return mk.magnitude_prune(p.model, p.mask, p.keep, p.scope)


def _scored(criterion: str) -> Callable[[Pruning], mk.Mask]:
    def source(p: Pruning) -> mk.Mask:
        xb, yb = p.data.probe(PROBE)
        return mk.keep_top(criteria.scores(p.model, p.mask, criterion, xb, yb), p.mask, p.keep)

    return source


def _random(p: Pruning) -> mk.Mask:
    return mk.random_balanced(p.model, mk.kept_total(p.mask, p.keep, p.scope), p.gen)


def _run(p: Pruning) -> mk.Mask:
    if p.source is None:
        raise ValueError("mask source 'run' needs mask_from: the folder of a finished source run")
    return mk.Mask(transplant.source_masks(p.model, p.source, p.level))


MASK_SOURCES: dict[str, Callable[[Pruning], mk.Mask]] = {
    "magnitude": _magnitude, "snip": _scored("snip"), "synflow": _scored("synflow"), "random": _random,
    "run": _run}
SCORED = ("snip", "synflow")  # rank all layers together: scope global only


def next_mask(source: str, p: Pruning) -> mk.Mask:
    """The level's mask from the mask source named ``source``."""
    if source not in MASK_SOURCES:
        raise ValueError(f"mask must be one of {', '.join(MASK_SOURCES)}, got {source!r}")
    return MASK_SOURCES[source](p)
