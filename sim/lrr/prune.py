"""Magnitude pruning of the input weights w (the output weight a is never pruned).

A schedule removes the same fraction of the remaining inputs at every level so that ``levels`` levels
reach the target ``sparsity``: after level l, k_l = max(1, round(d (1 - sparsity)^(l / levels))) inputs
remain (d = 10, 90 %, 3 levels: 10 -> 5 -> 2 -> 1, so that one input remains as in the paper's Fig. 2(a)).
Ties in magnitude are broken towards the lower input index, identically in the batched and reference code.
"""

from __future__ import annotations

import numpy as np
import torch

from sim.core.magnitude import keep_largest
from theory.core import validate


def check_sparsity(sparsity: float) -> float:
    if not (isinstance(sparsity, (int, float)) and np.isfinite(sparsity) and 0.0 <= sparsity < 1.0):
        raise ValueError(f"sparsity must be a fraction in [0, 1) (got {sparsity!r})")
    return float(sparsity)


def level_counts(d: int, sparsity: float, levels: int, final_keep: int | None = None) -> list[int]:
    """Inputs remaining after each pruning level 1..levels (non-increasing, at least 1): the same fraction
    removed at each level to reach ``sparsity``, or, with ``final_keep``, to end with exactly that many inputs
    (paper 000 Sec. 2.3: 90 % at d = 10 is "so that only one single input remains"; ``final_keep=1`` keeps
    that meaning at any d)."""
    validate.dimension("d", d)
    validate.dimension("levels", levels)
    check_sparsity(sparsity)
    if final_keep is not None:
        if isinstance(final_keep, bool) or not isinstance(final_keep, int) or not 1 <= final_keep <= d:
            raise ValueError(f"final_keep must be an integer between 1 and d = {d} (got {final_keep!r})")
        sparsity = 1.0 - final_keep / d
    counts, prev = [], d
    for level in range(1, levels + 1):
        k = max(1, min(prev, int(round(d * (1.0 - sparsity) ** (level / levels)))))
        if final_keep is not None and level == levels:
            k = final_keep
        counts.append(k)
        prev = k
    return counts


def magnitude_prune(theta: torch.Tensor, mask: torch.Tensor, keep: int) -> torch.Tensor:
    """New mask keeping the ``keep`` largest |w_i| among the inputs the current mask keeps
    (:func:`sim.core.magnitude.keep_largest`, ties to the lower input index).

    theta, mask: (T, d + 1) with column 0 the output weight a, which is never pruned (it is not a candidate)."""
    d = theta.shape[1] - 1
    if not 1 <= keep <= d:
        raise ValueError(f"keep must be between 1 and d = {d} (got {keep})")
    alive = mask[:, 1:] > 0
    if bool((alive.sum(dim=1) < keep).any()):
        raise ValueError("cannot keep more inputs than the current mask has")
    new_w = keep_largest(theta[:, 1:].abs(), keep, alive).to(theta.dtype)
    return torch.cat([torch.ones_like(mask[:, :1]), new_w], dim=1)
