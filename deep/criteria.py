"""Pruning scores other than magnitude (paper 000 Fig. 16): SNIP and Synflow, applied iteratively.

* ``snip``: |w * dL/dw| of the masked network on one batch of training data (Lee et al. 2019);
* ``synflow``: |w * dR/dw| with R = 1^T f(1) for the network with every parameter replaced by its absolute
  value, evaluated in eval mode on an all-ones input (Tanaka et al. 2020; data-free);
* ``magnitude``: |w|.

Pruned weights score 0 and stay pruned; :func:`deep.masks.keep_top` keeps round(keep x alive) weights with the
highest scores, ranked over all layers together, as magnitude pruning does.
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn

from deep import masks as mk

CRITERIA = ("magnitude", "snip", "synflow")


def scores(model: nn.Module, masks: dict[str, torch.Tensor], criterion: str, x: torch.Tensor | None = None,
           y: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
    if criterion not in CRITERIA:
        raise ValueError(f"unknown pruning criterion {criterion!r}; available: {', '.join(CRITERIA)}")
    if criterion == "magnitude":
        return {k: w.detach().abs() * masks[k] for k, w in mk.prunable(model).items()}
    net = copy.deepcopy(model)
    mk.apply_(net, masks)
    weights = mk.prunable(net)
    if criterion == "snip":
        if x is None or y is None:
            raise ValueError("snip needs a batch of training data (x, y)")
        net.train()
        loss = F.cross_entropy(net(x), y)
    else:
        net = net.double().eval()
        with torch.no_grad():
            for p in net.parameters():
                p.abs_()
        weights = mk.prunable(net)
        shape = (1,) + tuple((x.shape[1:] if x is not None else ()))
        loss = net(torch.ones(shape, dtype=torch.float64, device=next(net.parameters()).device)).sum()
    grads = torch.autograd.grad(loss, list(weights.values()))
    return {k: (w.detach() * g).abs().to(torch.float32) * masks[k] for (k, w), g in zip(weights.items(), grads)}
