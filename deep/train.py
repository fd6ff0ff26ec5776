"""Training one pruning level: SGD with momentum and weight decay under a learning-rate schedule, masks
re-applied after every step (so weight decay and momentum cannot revive a pruned weight).

Schedules (paper 000 Sec. 3 / Table 1): ``cosine-warmup`` (linear warm-up for ``warmup_epochs``, then
cosine to 0), ``step-warmup`` (warm-up, then x0.1 at 50 % and 75 % of the epochs), ``constant``.  LRR
repeats the whole schedule at every level, so every level starts with its warm-up.

Under torchrun (torch.distributed initialized) the model is wrapped in DistributedDataParallel and every rank
trains on its share (rank::world) of each batch of the same shuffled order; the effective batch is ``batch``.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from deep import masks as mk
from deep.data import Data

SCHEDULES = ("cosine-warmup", "step-warmup", "constant")


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 10
    lr: float = 0.1
    momentum: float = 0.9
    weight_decay: float = 5e-4
    batch: int = 128
    schedule: str = "cosine-warmup"
    warmup_epochs: int = 1
    optimizer: str = "sgd"  # "adam": Adam (the lottery-ticket code paper 001 used), momentum ignored

    def __post_init__(self):
        if not isinstance(self.epochs, int) or self.epochs < 1:
            raise ValueError(f"epochs must be an integer >= 1, got {self.epochs!r}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"unknown schedule {self.schedule!r}; available: {', '.join(SCHEDULES)}")
        if self.optimizer not in ("sgd", "adam"):
            raise ValueError(f"optimizer must be 'sgd' or 'adam', got {self.optimizer!r}")
        if not (self.lr > 0 and self.batch >= 1 and 0 <= self.warmup_epochs <= self.epochs):
            raise ValueError("need lr > 0, batch >= 1 and 0 <= warmup_epochs <= epochs")


def dist_info() -> tuple[int, int]:
    """(world size, rank): (1, 0) unless torch.distributed is initialized (torchrun)."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_world_size(), dist.get_rank()
    return 1, 0


def lr_factor(cfg: TrainConfig, step: int, steps_per_epoch: int) -> float:
    total = cfg.epochs * steps_per_epoch
    warm = cfg.warmup_epochs * steps_per_epoch
    if step < warm:
        return (step + 1) / warm
    if cfg.schedule == "constant":
        return 1.0
    if cfg.schedule == "step-warmup":
        frac = step / total
        return 0.01 if frac >= 0.75 else 0.1 if frac >= 0.5 else 1.0
    return 0.5 * (1 + math.cos(math.pi * (step - warm) / max(total - warm, 1)))


@torch.no_grad()
def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch: int = 1024) -> tuple[float, float]:
    model.eval()
    correct, loss = 0, 0.0
    for i in range(0, len(y), batch):
        out = model(x[i:i + batch])
        loss += float(F.cross_entropy(out, y[i:i + batch], reduction="sum"))
        correct += int((out.argmax(1) == y[i:i + batch]).sum())
    return correct / len(y), loss / len(y)


def train(model: nn.Module, data: Data, masks: dict[str, torch.Tensor], cfg: TrainConfig, seed: int,
          snapshot_epoch: int | None = None) -> dict:
    """Train in place; returns metrics and, if asked, a copy of the state after ``snapshot_epoch`` epochs
    (the weight-rewinding point)."""
    device = data.x_train.device
    world, rank = dist_info()
    net = model
    if world > 1:  # DistributedDataParallel: every rank takes its share of each batch, gradients are averaged
        from torch.nn.parallel import DistributedDataParallel

        net = DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
    if cfg.optimizer == "adam":
        opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    else:
        opt = torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    gen = torch.Generator(device="cpu")
    gen.manual_seed(int(seed))
    n = len(data.y_train)
    spe = max(1, math.ceil(n / cfg.batch))
    mk.apply_(model, masks)
    snapshot = copy.deepcopy(model.state_dict()) if snapshot_epoch == 0 else None
    step = 0
    for epoch in range(cfg.epochs):
        model.train()
        perm = torch.randperm(n, generator=gen).to(device)
        for i in range(spe):
            idx = perm[i * cfg.batch:(i + 1) * cfg.batch][rank::world]
            for g in opt.param_groups:
                g["lr"] = cfg.lr * lr_factor(cfg, step, spe)
            loss = F.cross_entropy(net(data.x_train[idx]), data.y_train[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            mk.apply_(model, masks)
            step += 1
        if snapshot_epoch is not None and epoch + 1 == snapshot_epoch:
            snapshot = copy.deepcopy(model.state_dict())
    if world > 1:  # the last step updated each rank's BN statistics from its own share: take rank 0's
        import torch.distributed as dist

        for b in model.buffers():
            dist.broadcast(b, src=0)
    acc, test_loss = evaluate(model, data.x_test, data.y_test)
    train_acc, train_loss = evaluate(model, data.x_train, data.y_train)
    return {"test_acc": acc, "test_loss": test_loss, "train_acc": train_acc, "train_loss": train_loss,
            "snapshot": snapshot}
