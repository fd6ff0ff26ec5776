"""Training one pruning level: SGD with momentum and weight decay under a learning-rate schedule, pruned
weights held at zero after every step (so weight decay and momentum cannot revive them).

Schedules (paper 000 Sec. 3, Table 1 and App. A.3): ``cosine-warmup`` (linear warm-up for ``warmup_epochs``,
then cosine to 0); ``step-warmup`` (warm-up, then x0.1 at 40 % and 80 % of the epochs: epochs 60 and 120 of
150 as in A.3 (ii)); ``imagenet-step`` (A.3 (iii): a constant lr/10 during the warm-up, then lr, x0.1 every
30 epochs after the warm-up); ``constant``.  LRR repeats the whole schedule at every level, so every level
starts with its warm-up.

Speed (what the GPU runs need; each is a field of :class:`TrainConfig`, and all work on the CPU too): data stay
resident on the device with the augmentation done there (:mod:`deep.augment`); ``precision="bf16"`` runs the
forward and backward passes under bf16 autocast (weights and optimizer state stay fp32); ``channels_last``
stores 4-D activations and weights NHWC; ``compile`` wraps the model in ``torch.compile``.  The masks are
applied by one fused multi-tensor multiply (``torch._foreach_mul_``) over the prunable weights after each
optimizer step, and not at all while the network is dense.

Under torchrun (torch.distributed initialized) the model is wrapped in DistributedDataParallel and every rank
trains on its share (rank::world) of each batch of the same shuffled order; the effective batch is ``batch``.
"""

from __future__ import annotations

import contextlib
import copy
import math
from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from deep import augment as aug
from deep import masks as mk
from sim.core.config import param

SCHEDULES = ("cosine-warmup", "step-warmup", "imagenet-step", "constant")
PRECISIONS = ("fp32", "bf16")


@dataclass(frozen=True)
class TrainConfig:
    """How every level trains (the same schedule, restarted at each level)."""

    epochs: int = param(10, "training epochs per level")
    lr: float = param(0.1, "peak learning rate")
    momentum: float = param(0.9, "SGD momentum, in [0, 1]")
    weight_decay: float = param(5e-4, "L2 weight decay, in [0, 1]")
    batch: int = param(128, "mini-batch size")
    schedule: str = param("cosine-warmup", f"learning-rate schedule per level: {', '.join(SCHEDULES)}")
    warmup_epochs: int = param(1, "warm-up epochs of the schedule (linear; lr/10 for imagenet-step)")
    optimizer: str = param("sgd", "sgd, or adam (the lottery-ticket code paper 001 used; momentum ignored)")
    augment: str = param("none", "crop-flip: random crops and mirroring, on the device that holds the data")
    precision: str = param("fp32", "fp32, or bf16: autocast (GPU speed)")
    channels_last: bool = param(False, "NHWC layout for images (GPU speed)")
    compile: bool = param(False, "torch.compile the model (GPU speed)")

    def __post_init__(self):
        if not isinstance(self.epochs, int) or self.epochs < 1:
            raise ValueError(f"epochs must be an integer >= 1, got {self.epochs!r}")
        if not (math.isfinite(self.lr) and self.lr > 0):
            raise ValueError(f"lr must be a finite number > 0, got {self.lr!r}")
        for name in ("momentum", "weight_decay"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name} must be in [0, 1], got {getattr(self, name)!r}")
        if not (isinstance(self.batch, int) and self.batch >= 1):
            raise ValueError(f"batch must be an integer >= 1, got {self.batch!r}")
        if not (isinstance(self.warmup_epochs, int) and 0 <= self.warmup_epochs <= self.epochs):
            raise ValueError(f"warmup_epochs must be an integer in 0..epochs ({self.epochs}), got "
                             f"{self.warmup_epochs!r}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {', '.join(SCHEDULES)}, got {self.schedule!r}")
        if self.optimizer not in ("sgd", "adam"):
            raise ValueError(f"optimizer must be 'sgd' or 'adam', got {self.optimizer!r}")
        aug.check(self.augment)
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {self.precision!r}")


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
        return 0.1 if cfg.schedule == "imagenet-step" else (step + 1) / warm
    if cfg.schedule == "constant":
        return 1.0
    if cfg.schedule == "imagenet-step":
        return 0.1 ** ((step - warm) // (30 * steps_per_epoch))
    if cfg.schedule == "step-warmup":
        frac = step / total
        return 0.01 if frac >= 0.8 else 0.1 if frac >= 0.4 else 1.0
    return 0.5 * (1 + math.cos(math.pi * (step - warm) / max(total - warm, 1)))


def autocast(cfg: TrainConfig, device: torch.device):
    if cfg.precision == "bf16":
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def layout(x: torch.Tensor, cfg: TrainConfig) -> torch.Tensor:
    """An image batch in the layout the network was prepared for (NHWC under ``channels_last``)."""
    return x.contiguous(memory_format=torch.channels_last) if cfg.channels_last and x.dim() == 4 else x


def prepare(model: nn.Module, cfg: TrainConfig) -> nn.Module:
    """The network the steps run through: the model itself (NHWC if asked) or its compiled wrapper."""
    if cfg.channels_last:
        model.to(memory_format=torch.channels_last)
    return torch.compile(model) if cfg.compile else model


def make_optimizer(model: nn.Module, cfg: TrainConfig) -> torch.optim.Optimizer:
    if cfg.optimizer == "adam":
        return torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    return torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)


def make_step(model: nn.Module, net: nn.Module, opt: torch.optim.Optimizer, masks: dict[str, torch.Tensor] | None,
              cfg: TrainConfig) -> Callable[[torch.Tensor, torch.Tensor, float], torch.Tensor]:
    """One training step ``step(x, y, lr) -> loss`` (the benchmark times exactly this).  ``masks`` None or all
    ones: no masking; else one fused multiply of the prunable weights by their masks, kept in each weight's
    dtype and memory layout, after the optimizer step."""
    device = next(model.parameters()).device
    weights, factors = [], []
    if masks is not None and mk.density(masks) < 1:
        for k, w in mk.prunable(model).items():
            weights.append(w)
            factors.append(torch.empty_like(w).copy_(masks[k]))

    def step(x: torch.Tensor, y: torch.Tensor, lr: float) -> torch.Tensor:
        for g in opt.param_groups:
            g["lr"] = lr
        with autocast(cfg, device):
            loss = F.cross_entropy(net(layout(x, cfg)), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if weights:
            with torch.no_grad():
                torch._foreach_mul_(weights, factors)
        return loss

    return step


@torch.no_grad()
def evaluate(model: nn.Module, batches, cfg: TrainConfig = TrainConfig()) -> tuple[float, float]:
    """(accuracy, mean cross-entropy) over an iterable of (x, y) batches, in ``cfg``'s precision and layout."""
    model.eval()
    correct, loss, n = 0, 0.0, 0
    for x, y in batches:
        with autocast(cfg, x.device):
            out = model(layout(x, cfg))
        out = out.float()
        loss += float(F.cross_entropy(out, y, reduction="sum"))
        correct += int((out.argmax(1) == y).sum())
        n += len(y)
    return correct / n, loss / n


def train(model: nn.Module, data, masks: dict[str, torch.Tensor], cfg: TrainConfig, seed: int,
          snapshot_epoch: int | None = None) -> dict:
    """Train in place on ``data`` (a :class:`deep.data.Data` or a streamed ImageFolderData); returns metrics
    and, if asked, a copy of the state after ``snapshot_epoch`` epochs (the weight-rewinding point)."""
    device = data.device
    world, rank = dist_info()
    mk.apply_(model, masks)
    fwd = net = prepare(model, cfg)
    if world > 1:  # DistributedDataParallel: every rank takes its share of each batch, gradients are averaged
        from torch.nn.parallel import DistributedDataParallel

        net = DistributedDataParallel(net, device_ids=[device.index] if device.type == "cuda" else None)
    opt = make_optimizer(model, cfg)
    step = make_step(model, net, opt, masks, cfg)
    gen = torch.Generator(device="cpu")
    gen.manual_seed(int(seed))
    agen = torch.Generator(device="cpu")
    agen.manual_seed(int(seed) + 7919)  # the augmentation's own stream: the data order does not depend on it
    n = data.n_train
    spe = max(1, math.ceil(n / cfg.batch))
    snapshot = copy.deepcopy(model.state_dict()) if snapshot_epoch == 0 else None
    it = 0
    for epoch in range(cfg.epochs):
        model.train()
        perm = torch.randperm(n, generator=gen)
        for x, y in data.train_batches(perm, cfg.batch, cfg.augment, agen, rank, world):
            step(x, y, cfg.lr * lr_factor(cfg, it, spe))
            it += 1
        if snapshot_epoch is not None and epoch + 1 == snapshot_epoch:
            snapshot = copy.deepcopy(model.state_dict())
    if world > 1:  # the last step updated each rank's BN statistics from its own share: take rank 0's
        import torch.distributed as dist

        for b in model.buffers():
            dist.broadcast(b, src=0)
    acc, test_loss = evaluate(fwd, data.eval_batches("test"), cfg)
    train_acc, train_loss = evaluate(fwd, data.eval_batches("train"), cfg)
    return {"test_acc": acc, "test_loss": test_loss, "train_acc": train_acc, "train_loss": train_loss,
            "snapshot": snapshot}
