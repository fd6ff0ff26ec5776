"""Pruning-training cycles of paper 000 (Sec. 2): IMP, WR, LRR, and IMP with restored balance.

Level 0 trains the dense neuron from theta(0); it is shared by every method (paired comparison: same
data, same initialization).  Each later level prunes w by magnitude (sim.prune) from the method's own
previous trained parameters, then retrains from:

* ``lrr``: the previous trained values (learning-rate rewinding: only the optimizer state restarts);
* ``imp``: the initial values theta(0) (iterative magnitude pruning proper);
* ``wr``: the values after ``rewind_step`` steps of dense training (weight rewinding);
* ``imp-balanced``: theta(0) with a rescaled so that a^2 = ||w(0) * mask||^2 (sign of a kept), which
  restores the balance that Theorem 2.1 assumes and that masking a balanced theta(0) breaks.

Everything is batched over the trials of a :class:`sim.neuron.NeuronBatch`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import torch

from sim.neuron import NeuronBatch, full_mask, population_relative_error
from sim.outcome import success
from sim.prune import check_sparsity, level_counts, magnitude_prune
from sim.trainers import Trainer, train
from theory import validate

METHODS = ("lrr", "imp", "wr", "imp-balanced")


@dataclass(frozen=True)
class CycleConfig:
    levels: int = 3
    sparsity: float = 0.9
    rewind_step: int = 10
    methods: tuple[str, ...] = METHODS
    final_keep: int | None = None  # end with exactly this many inputs (overrides sparsity)

    def __post_init__(self):
        validate.dimension("levels", self.levels)
        check_sparsity(self.sparsity)
        if self.rewind_step < 0:
            raise ValueError(f"rewind_step must be >= 0 (got {self.rewind_step!r})")
        unknown = [m for m in self.methods if m not in METHODS]
        if unknown or not self.methods:
            raise ValueError(f"unknown method(s) {unknown}; choose from {METHODS}")

    def as_dict(self) -> dict:
        out = asdict(self)
        out["methods"] = list(self.methods)
        return out


@dataclass
class CycleRecord:
    """Per method, per trial and per level 0..L (numpy arrays, T leading)."""

    masks: np.ndarray  # (T, L+1, d) 0/1 of the inputs during level l
    theta_start: np.ndarray  # (T, L+1, d+1)
    theta_end: np.ndarray  # (T, L+1, d+1)
    loss: np.ndarray  # (T, L+1) training loss at the end of the level
    rel_error: np.ndarray  # (T, L+1) population relative error vs relu(x_1)
    flips_a: np.ndarray  # (T, L+1) sign changes of a during the level's training
    flips_w1: np.ndarray  # (T, L+1) sign changes of w_1 during the level's training
    steps: np.ndarray  # (T, L+1)
    switches: np.ndarray | None = None  # (T, L+1) activation switches (flow trainer only)
    success: np.ndarray = field(default=None)  # (T,) bool, at the last level

    def arrays(self) -> dict[str, np.ndarray]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


def _np(t: torch.Tensor | None):
    return None if t is None else t.detach().cpu().numpy()


def restore_balance(theta0: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """theta(0) * mask with a replaced by sign(a(0)) ||w(0) * mask|| (the balance-restoring rewind)."""
    out = theta0 * mask
    sign = torch.where(theta0[:, 0] < 0, -1.0, 1.0).to(theta0.dtype)
    out[:, 0] = sign * out[:, 1:].norm(dim=1)
    return out


def run_cycles(batch: NeuronBatch, trainer: Trainer, cfg: CycleConfig) -> dict[str, CycleRecord]:
    T, d = batch.trials, batch.d
    X, y, theta0 = batch.X, batch.y, batch.theta0
    counts = level_counts(d, cfg.sparsity, cfg.levels, cfg.final_keep)
    mask0 = full_mask(T, d, device=theta0.device)
    dense = train(trainer, theta0, X, y, mask0, snapshot_at=cfg.rewind_step)
    rewind_point = dense.snapshot
    records = {}
    for method in cfg.methods:
        masks, starts, results = [mask0], [theta0], [dense]
        for level, keep in enumerate(counts, start=1):
            prev = results[-1].theta
            mask = magnitude_prune(prev, masks[-1], keep)
            if method == "lrr":
                start = prev * mask
            elif method == "imp":
                start = theta0 * mask
            elif method == "wr":
                start = rewind_point * mask
            else:
                start = restore_balance(theta0, mask)
            masks.append(mask)
            starts.append(start)
            results.append(train(trainer, start, X, y, mask))
        stack = lambda ts: np.stack([_np(t) for t in ts], axis=1)  # noqa: E731
        theta_end = stack([r.theta for r in results])
        mask_arr = stack(masks)
        rel = population_relative_error(theta_end, mask_arr)
        rec = CycleRecord(
            masks=mask_arr[:, :, 1:].astype(np.int8), theta_start=stack(starts), theta_end=theta_end,
            loss=stack([r.loss for r in results]), rel_error=rel,
            flips_a=stack([r.sign_changes_a for r in results]), flips_w1=stack([r.sign_changes_w1 for r in results]),
            steps=stack([r.steps for r in results]),
            switches=stack([r.switches for r in results]) if results[0].switches is not None else None)
        rec.success = success(rec.theta_end[:, -1], rec.masks[:, -1])
        records[method] = rec
    return records

