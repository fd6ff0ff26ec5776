"""Mask and sign transplants and sign perturbation (paper 000 Sec. 3, Figs. 3, 4, 6, 7).

A source run's ``signs.npz`` holds, per level, the sign of every prunable weight (0 once pruned), flattened in
the order of :func:`deep.masks.prunable`; its non-zeros are the source's mask at that level.

* ``source_masks``: the source's mask at a level (IMP on the LRR mask, LRR on the IMP mask);
* ``set_signs``: keep the current magnitudes, take the signs from the source (IMP init + LRR mask + LRR signs:
  the magnitudes of theta(0), the signs LRR learned at that level);
* ``perturb_signs``: flip exactly round(fraction x alive) randomly chosen surviving signs in every layer.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from deep import masks as mk


def load_history(path) -> np.ndarray:
    path = Path(path)
    f = path / "signs.npz" if path.is_dir() else path
    if not f.is_file():
        raise FileNotFoundError(f"no signs.npz at {path}: transplants need a finished source run (deep.run)")
    return np.load(f)["history"]


def _split(model: nn.Module, flat: np.ndarray) -> dict[str, np.ndarray]:
    weights = mk.prunable(model)
    total = sum(w.numel() for w in weights.values())
    if flat.size != total:
        raise ValueError(f"source run has {flat.size} prunable weights, this model {total}: not the same architecture")
    out, i = {}, 0
    for k, w in weights.items():
        out[k] = flat[i:i + w.numel()].reshape(w.shape)
        i += w.numel()
    return out


def source_masks(model: nn.Module, history: np.ndarray, level: int) -> dict[str, torch.Tensor]:
    if level >= history.shape[0]:
        raise ValueError(f"the source run has levels 0..{history.shape[0] - 1}; level {level} asked for")
    dev = next(model.parameters()).device
    return {k: torch.as_tensor(v != 0, device=dev) for k, v in _split(model, history[level]).items()}


@torch.no_grad()
def set_signs(model: nn.Module, sign_flat: np.ndarray) -> None:
    """|w| times the source's signs (0 where the source pruned the weight)."""
    weights = mk.prunable(model)
    for k, s in _split(model, sign_flat).items():
        w = weights[k]
        w.copy_(w.abs() * torch.as_tensor(s, dtype=w.dtype, device=w.device))


@torch.no_grad()
def perturb_signs(model: nn.Module, masks: dict[str, torch.Tensor], fraction: float, gen: torch.Generator
                  ) -> dict[str, int]:
    if not 0 <= fraction <= 1:
        raise ValueError(f"fraction of signs to flip must be in [0, 1], got {fraction!r}")
    flipped = {}
    for k, w in mk.prunable(model).items():
        alive = masks[k].flatten().nonzero().flatten().cpu()
        n = int(round(fraction * len(alive)))
        pick = alive[torch.randperm(len(alive), generator=gen)[:n]].to(w.device)
        w.view(-1)[pick] *= -1
        flipped[k] = n
    return flipped
