"""Magnitude pruning, the one primitive: per row, keep the ``keep`` entries of largest score among those still
alive.  Scores are |weights| for magnitude pruning (IMP, one-shot), or any saliency (SNIP, Synflow) that a
caller computes.  Ties are broken towards the lower index (a stable sort), the same on every device.

Who calls it and what differs between them (the semantics, not the primitive):

* paper 000's single neuron (:mod:`sim.lrr.prune`): the rows are trials, the columns the inputs w; the
  output weight a is never pruned (it is not a column here);
* paper 001's sparse student (:mod:`sim.zhang.pruning`): the rows are runs, the columns all K d entries of
  W (one-shot / IMP over the whole layer), or one neuron's d entries;
* ``deep/`` (:mod:`deep.masks`): global pruning is one row holding every prunable weight of the network;
  layer-wise pruning calls it once per layer.
"""

from __future__ import annotations

import torch


def keep_largest(scores: torch.Tensor, keep: int | torch.Tensor, alive: torch.Tensor | None = None) -> torch.Tensor:
    """Boolean mask of the ``keep`` largest ``scores`` per row among the ``alive`` entries.

    scores: (R, n); alive: (R, n) bool or None (all alive); keep: an int for every row, or (R,) integers.
    Raises a ValueError when a row has fewer alive entries than it must keep.
    """
    if scores.dim() != 2:
        raise ValueError(f"scores must be (rows, entries), got shape {tuple(scores.shape)}")
    R, n = scores.shape
    keep_t = torch.as_tensor(keep, device=scores.device).long().expand(R)
    if bool((keep_t < 0).any()) or bool((keep_t > n).any()):
        raise ValueError(f"keep must be between 0 and {n} entries per row (got {keep!r})")
    if alive is None:
        alive = torch.ones_like(scores, dtype=torch.bool)
    if bool((alive.sum(dim=1) < keep_t).any()):
        raise ValueError("cannot keep more entries than are still alive")
    ranked = torch.where(alive, scores, torch.full_like(scores, -torch.inf))
    order = torch.sort(ranked, dim=1, descending=True, stable=True).indices
    rank_ok = torch.arange(n, device=scores.device)[None, :] < keep_t[:, None]
    out = torch.zeros_like(alive)
    return out.scatter_(1, order, rank_ok)
