"""Data augmentation on whole batches, on the device that holds them (no loader processes, no host copies).

``crop-flip``: the standard CIFAR / Tiny ImageNet augmentation -- pad by ``pad`` pixels (zeros, i.e. the mean
after standardization), crop back to H x W at a random offset, and mirror left-right with probability 1/2 --
as one gather over the batch.  The random offsets and flips are drawn on the CPU from the caller's generator
and moved to the device (a few bytes per image), so a seed gives the same augmentation on every device.

For 1-D signals (N, C, L) the crop shifts along L and there is no flip.  ``none`` returns the batch.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

AUGMENTS = ("none", "crop-flip")


def check(name: str) -> str:
    if name not in AUGMENTS:
        raise ValueError(f"augment must be one of {', '.join(AUGMENTS)}, got {name!r}")
    return name


def default_pad(shape) -> int:
    """4 pixels for 32 x 32 images (the usual CIFAR choice), in proportion for other sizes."""
    return max(1, shape[-1] // 8)


def crop_flip(x: torch.Tensor, gen: torch.Generator, pad: int | None = None) -> torch.Tensor:
    """Random crops of the zero-padded batch (offsets uniform in 0..2 pad) and, for images, random
    left-right flips.  Output has x's shape, dtype and device."""
    if x.dim() not in (3, 4):
        raise ValueError(f"crop_flip expects (N, C, L) or (N, C, H, W) batches, got shape {tuple(x.shape)}")
    pad = default_pad(x.shape) if pad is None else int(pad)
    n, dev = x.shape[0], x.device
    if x.dim() == 3:
        length = x.shape[-1]
        off = torch.randint(0, 2 * pad + 1, (n,), generator=gen).to(dev)
        xp = F.pad(x, (pad, pad))
        cols = off[:, None] + torch.arange(length, device=dev)
        return torch.gather(xp, 2, cols[:, None, :].expand(-1, x.shape[1], -1))
    h, w = x.shape[-2:]
    oy = torch.randint(0, 2 * pad + 1, (n,), generator=gen).to(dev)
    ox = torch.randint(0, 2 * pad + 1, (n,), generator=gen).to(dev)
    flip = torch.rand(n, generator=gen).to(dev) < 0.5
    xp = F.pad(x, (pad, pad, pad, pad))
    rows = oy[:, None] + torch.arange(h, device=dev)  # (n, h)
    cols = ox[:, None] + torch.arange(w, device=dev)  # (n, w)
    cols = torch.where(flip[:, None], cols.flip(1), cols)  # a flip reads the crop's columns backwards
    b = torch.arange(n, device=dev)[:, None, None]
    out = xp.permute(0, 2, 3, 1)[b, rows[:, :, None], cols[:, None, :]]  # (n, h, w, c)
    return torch.empty_like(x).copy_(out.permute(0, 3, 1, 2))  # in x's own memory layout


def apply(name: str, x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    if name == "none":
        return x
    check(name)
    return crop_flip(x, gen)
