"""Masks of prunable weights (paper 000 Sec. 3): magnitude pruning with a global or layer-wise criterion,
random masks with balanced layer-wise sparsity, and applying masks in place.

Prunable: the ``weight`` of every Linear / Conv layer (biases and BatchNorm parameters are never pruned).
A mask set is ``{parameter name: bool tensor}``.
"""

from __future__ import annotations

import math

import torch
from torch import nn

PRUNABLE = (nn.Linear, nn.Conv1d, nn.Conv2d)


def prunable(model: nn.Module) -> dict[str, nn.Parameter]:
    return {f"{name}.weight" if name else "weight": m.weight for name, m in model.named_modules()
            if isinstance(m, PRUNABLE)}


def full_masks(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: torch.ones_like(p, dtype=torch.bool) for k, p in prunable(model).items()}


def density(masks: dict[str, torch.Tensor]) -> float:
    return sum(int(m.sum()) for m in masks.values()) / sum(m.numel() for m in masks.values())


def check_keep(keep: float) -> float:
    """Fraction of the remaining weights kept per level, in (0, 1] (the paper keeps 80 %: sparsity 0.2)."""
    if not (isinstance(keep, (int, float)) and math.isfinite(keep) and 0 < keep <= 1):
        raise ValueError(f"keep must be in (0, 1] (pruning sparsity per level 1 - keep in [0, 1)), got {keep!r}")
    return float(keep)


def magnitude_prune(model: nn.Module, masks: dict[str, torch.Tensor], keep: float = 0.8,
                    scope: str = "global") -> dict[str, torch.Tensor]:
    """Keep round(keep x alive) of the alive weights with the largest |w| (see :func:`keep_top`)."""
    weights = prunable(model)
    if set(weights) != set(masks):
        raise ValueError("masks do not match the model's prunable layers")
    with torch.no_grad():
        return keep_top({k: w.abs() for k, w in weights.items()}, masks, keep, scope)


def keep_top(scores: dict[str, torch.Tensor], masks: dict[str, torch.Tensor], keep: float,
             scope: str = "global") -> dict[str, torch.Tensor]:
    """New masks keeping round(keep x alive) of the alive weights with the highest scores: ranked over all
    layers together (``global``) or within each layer (``layerwise``).  Ties are broken by position (stable).
    Magnitude pruning and the SNIP / Synflow criteria (:mod:`deep.criteria`) all prune through this."""
    check_keep(keep)
    if scope not in ("global", "layerwise"):
        raise ValueError(f"scope must be 'global' or 'layerwise', got {scope!r}")
    if scope == "layerwise":
        return {k: _keep_top(scores[k].flatten(), m.flatten(), keep).view_as(m) for k, m in masks.items()}
    flat = _keep_top(torch.cat([scores[k].flatten() for k in masks]),
                     torch.cat([m.flatten() for m in masks.values()]), keep)
    new, i = {}, 0
    for k, m in masks.items():
        new[k] = flat[i:i + m.numel()].view_as(m)
        i += m.numel()
    return new


def _keep_top(score: torch.Tensor, alive: torch.Tensor, keep: float) -> torch.Tensor:
    n_keep = int(round(keep * int(alive.sum())))
    s = torch.where(alive, score.float(), torch.full_like(score, -1.0, dtype=torch.float32))
    order = torch.sort(s, descending=True, stable=True).indices[:n_keep]
    return torch.zeros_like(alive).scatter_(0, order, True)


def random_balanced(model: nn.Module, total_keep: int, gen: torch.Generator) -> dict[str, torch.Tensor]:
    """A random mask keeping ``total_keep`` weights spread equally over the layers (every layer keeps the
    same number, capped by its size; what a small layer cannot hold goes to the others equally)."""
    weights = prunable(model)
    sizes = {k: w.numel() for k, w in weights.items()}
    if not 0 <= total_keep <= sum(sizes.values()):
        raise ValueError(f"total_keep must be between 0 and {sum(sizes.values())}, got {total_keep}")
    counts = dict.fromkeys(sizes, 0)
    order = sorted(sizes, key=sizes.get)  # water-filling from the smallest layer
    left = total_keep
    for i, k in enumerate(order):
        counts[k] = min(sizes[k], left // (len(order) - i))
        left -= counts[k]
    for k in reversed(order):  # the remainder of the integer division: one more in the largest layers
        if left == 0:
            break
        if counts[k] < sizes[k]:
            counts[k] += 1
            left -= 1
    out = {}
    for k, w in weights.items():
        perm = torch.randperm(sizes[k], generator=gen)[:counts[k]]
        out[k] = torch.zeros(sizes[k], dtype=torch.bool).scatter_(0, perm, True).view_as(w).to(w.device)
    return out


@torch.no_grad()
def apply_(model: nn.Module, masks: dict[str, torch.Tensor]) -> None:
    """Zero the pruned weights in place (after every optimizer step, so that weight decay and momentum
    cannot revive them)."""
    for k, w in prunable(model).items():
        w.mul_(masks[k])
