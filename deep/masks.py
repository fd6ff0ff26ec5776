"""Masks of prunable weights (paper 000 Sec. 3): the :class:`Mask` type, magnitude pruning with a global or
layer-wise criterion, random masks with balanced layer-wise sparsity.

Prunable: the ``weight`` of every Linear / Conv layer (biases and BatchNorm parameters are never pruned).
A :class:`Mask` maps each prunable parameter's name to a bool tensor of its shape (True: the weight is alive),
in the order of :func:`prunable`; it reads like a dict (``mask[name]``, ``mask.items()``).

Ranking goes through the one magnitude-pruning primitive :func:`sim.core.magnitude.keep_largest` (stable:
ties to the lower index): global pruning is one row of every prunable weight of the network, layer-wise
pruning one call per layer.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from sim.core.folders import atomic_write_bytes
from sim.core.magnitude import keep_largest

PRUNABLE = (nn.Linear, nn.Conv1d, nn.Conv2d)
SCOPES = ("global", "layerwise")


def prunable(model: nn.Module) -> dict[str, nn.Parameter]:
    return {f"{name}.weight" if name else "weight": m.weight for name, m in model.named_modules()
            if isinstance(m, PRUNABLE)}


@dataclass(frozen=True, eq=False)
class Mask(Mapping):
    """Per-layer bool tensors (parameter name -> alive entries), immutable as a whole."""

    layers: Mapping[str, torch.Tensor]

    def __post_init__(self):
        bad = [k for k, m in self.layers.items() if not (isinstance(m, torch.Tensor) and m.dtype == torch.bool)]
        if bad:
            raise TypeError(f"a Mask holds bool tensors; not so for {', '.join(bad)}")
        object.__setattr__(self, "layers", dict(self.layers))

    @classmethod
    def full(cls, model: nn.Module) -> "Mask":
        """Every prunable weight alive."""
        return cls({k: torch.ones_like(p, dtype=torch.bool) for k, p in prunable(model).items()})

    def __getitem__(self, name: str) -> torch.Tensor:
        return self.layers[name]

    def __iter__(self):
        return iter(self.layers)

    def __len__(self) -> int:
        return len(self.layers)

    @property
    def alive(self) -> int:
        return sum(int(m.sum()) for m in self.layers.values())

    @property
    def size(self) -> int:
        return sum(m.numel() for m in self.layers.values())

    @property
    def density(self) -> float:
        """Fraction of the prunable weights alive."""
        return self.alive / self.size

    @property
    def sparsity(self) -> float:
        return 1 - self.density

    def to(self, device) -> "Mask":
        return Mask({k: m.to(device) for k, m in self.layers.items()})

    def equals(self, other: Mapping[str, torch.Tensor]) -> bool:
        return list(self) == list(other) and all(torch.equal(self[k].cpu(), other[k].cpu()) for k in self)

    @torch.no_grad()
    def apply(self, model: nn.Module) -> None:
        """Zero the pruned weights of ``model`` in place."""
        apply_(model, self)

    def as_dict(self) -> dict[str, torch.Tensor]:
        """The plain {name: bool tensor} dict (what checkpoints store)."""
        return dict(self.layers)

    def save(self, path: Path) -> None:
        """Write the mask (torch format, atomically)."""
        buf = io.BytesIO()
        torch.save(self.as_dict(), buf)
        atomic_write_bytes(Path(path), buf.getvalue())

    @classmethod
    def load(cls, path: Path, device="cpu") -> "Mask":
        return cls(torch.load(path, map_location=device, weights_only=True))


def full_masks(model: nn.Module) -> Mask:
    return Mask.full(model)


def density(masks: Mapping[str, torch.Tensor]) -> float:
    return sum(int(m.sum()) for m in masks.values()) / sum(m.numel() for m in masks.values())


def check_keep(keep: float) -> float:
    """Fraction of the remaining weights kept per level, in (0, 1] (the paper keeps 80 %: sparsity 0.2)."""
    if not (isinstance(keep, (int, float)) and math.isfinite(keep) and 0 < keep <= 1):
        raise ValueError(f"keep must be in (0, 1] (pruning sparsity per level 1 - keep in [0, 1)), got {keep!r}")
    return float(keep)


def check_scope(scope: str) -> str:
    if scope not in SCOPES:
        raise ValueError(f"scope must be 'global' or 'layerwise', got {scope!r}")
    return scope


def kept(alive: int, keep: float) -> int:
    """How many of ``alive`` weights a level keeps: round(keep x alive)."""
    return int(round(keep * alive))


def kept_total(masks: Mapping[str, torch.Tensor], keep: float, scope: str = "global") -> int:
    """The number of weights :func:`keep_top` keeps from ``masks`` (the count a random mask matches)."""
    if scope == "layerwise":
        return sum(kept(int(m.sum()), keep) for m in masks.values())
    return kept(sum(int(m.sum()) for m in masks.values()), keep)


def magnitude_prune(model: nn.Module, masks: Mapping[str, torch.Tensor], keep: float = 0.8,
                    scope: str = "global") -> Mask:
    """Keep round(keep x alive) of the alive weights with the largest |w| (see :func:`keep_top`)."""
    weights = prunable(model)
    if set(weights) != set(masks):
        raise ValueError("masks do not match the model's prunable layers")
    with torch.no_grad():
        return keep_top({k: w.abs() for k, w in weights.items()}, masks, keep, scope)


def keep_top(scores: Mapping[str, torch.Tensor], masks: Mapping[str, torch.Tensor], keep: float,
             scope: str = "global") -> Mask:
    """A new mask keeping round(keep x alive) of the alive weights with the highest scores: ranked over all
    layers together (``global``: one row of every prunable weight) or within each layer (``layerwise``: one
    call per layer).  Ties go to the lower position (stable).  Magnitude pruning and the SNIP / Synflow
    criteria (:mod:`deep.criteria`) all prune through this."""
    check_keep(keep)
    check_scope(scope)
    if scope == "layerwise":
        return Mask({k: _keep_top(scores[k].flatten(), m.flatten(), keep).view_as(m) for k, m in masks.items()})
    flat = _keep_top(torch.cat([scores[k].flatten() for k in masks]),
                     torch.cat([m.flatten() for m in masks.values()]), keep)
    new, i = {}, 0
    for k, m in masks.items():
        new[k] = flat[i:i + m.numel()].view_as(m)
        i += m.numel()
    return Mask(new)


def _keep_top(score: torch.Tensor, alive: torch.Tensor, keep: float) -> torch.Tensor:
    """One row: the round(keep x alive) alive entries of largest score (scores in float32)."""
    return keep_largest(score.float()[None], kept(int(alive.sum()), keep), alive[None])[0]


def random_balanced(model: nn.Module, total_keep: int, gen: torch.Generator) -> Mask:
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
    return Mask(out)


@torch.no_grad()
def apply_(model: nn.Module, masks: Mapping[str, torch.Tensor]) -> None:
    """Zero the pruned weights in place (after every optimizer step, so that weight decay and momentum
    cannot revive them)."""
    for k, w in prunable(model).items():
        w.mul_(masks[k])
