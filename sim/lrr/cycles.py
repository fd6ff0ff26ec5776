"""Pruning-training cycles of paper 000 (Sec. 2): IMP, WR, LRR, and IMP with restored balance.

Level 0 trains the dense neuron from theta(0); it is shared by every method (paired comparison: same
data, same initialization).  Each later level prunes w by magnitude (sim.lrr.prune) from the method's own
previous trained parameters, then retrains from:

* ``lrr``: the previous trained values (learning-rate rewinding: only the optimizer state restarts);
* ``imp``: the initial values theta(0) (iterative magnitude pruning proper);
* ``wr``: the values after ``rewind_step`` steps of dense training (weight rewinding);
* ``imp-balanced``: theta(0) with a rescaled so that a^2 = ||w(0) * mask||^2 (sign of a kept), which
  restores the balance that Theorem 2.1 assumes and that masking a balanced theta(0) breaks.

Everything is batched over the trials of a :class:`sim.lrr.neuron.NeuronBatch`, and every level after the dense
one over the methods too (one copy of each trial's data serves all its methods).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Callable

import numpy as np
import torch

from sim.lrr.neuron import NeuronBatch, full_mask, population_relative_error
from sim.lrr.outcome import success
from sim.lrr.prune import check_sparsity, level_counts, magnitude_prune
from sim.lrr.trainers import Trainer, train
from theory.core import validate

METHODS = ("lrr", "imp", "wr", "imp-balanced")


@dataclass(frozen=True)
class CycleConfig:
    levels: int = 3
    sparsity: float = 0.9
    rewind_step: int = 10
    methods: tuple[str, ...] = METHODS
    final_keep: int | None = None  # end with exactly this many inputs (overrides sparsity)
    # the theory (and sim.lrr.neuron.sample) start balanced, a(0)^2 = ||w(0)||^2; another start must be asked for
    unbalanced_start: bool = False

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


def rewind_start(method: str, trained: torch.Tensor, theta0: torch.Tensor, rewind_point: torch.Tensor,
                 mask: torch.Tensor) -> torch.Tensor:
    """Where ``method`` starts the next level's training, given the new mask (see the module docstring)."""
    if method == "lrr":
        return trained * mask
    if method == "imp":
        return theta0 * mask
    if method == "wr":
        return rewind_point * mask
    if method == "imp-balanced":
        return restore_balance(theta0, mask)
    raise ValueError(f"unknown method {method!r}; choose from {METHODS}")


def level_rows(dense_value, per_level: list, p: int, P: int) -> np.ndarray:
    """(T, L + 1, ...) of method p: level 0 is the shared dense value, then method p's rows t P + p of each
    later level (tensors or numpy arrays)."""
    def arr(v):
        return _np(v) if isinstance(v, torch.Tensor) else np.asarray(v)
    return np.stack([arr(dense_value)] + [arr(v)[p::P] for v in per_level], axis=1)


def prune_levels(batch: NeuronBatch, cfg: CycleConfig, dense_theta: torch.Tensor, rewind_point: torch.Tensor,
                 train_level: Callable) -> list[tuple[torch.Tensor, torch.Tensor, object]]:
    """Levels 1..L of every method, after the dense level 0 (trained values ``dense_theta``, WR's rewinding
    point ``rewind_point``): prune by magnitude from the method's previous trained values, rewind
    (:func:`rewind_start`), train.  Run t P + p is method p on trial t.

    ``train_level(start, y_runs, mask, previous)`` trains one level of all runs and returns a result with
    ``theta`` (the trained values); ``previous`` is the previous level's result (None at level 1), so a
    trainer can carry its own per-run bookkeeping from level to level.  Returns [(mask, start, result)]."""
    T, d = batch.trials, batch.d
    theta0 = batch.theta0
    counts = level_counts(d, cfg.sparsity, cfg.levels, cfg.final_keep)
    P = len(cfg.methods)
    y_runs = batch.y.repeat_interleave(P, dim=0)
    trained = dense_theta.repeat_interleave(P, dim=0)
    mask = full_mask(T, d, device=theta0.device).repeat_interleave(P, dim=0)
    levels, previous = [], None
    for keep in counts:
        mask = magnitude_prune(trained, mask, keep)
        start = torch.stack([rewind_start(m, trained[p::P], theta0, rewind_point, mask[p::P])
                             for p, m in enumerate(cfg.methods)], dim=1).reshape(T * P, d + 1)
        out = train_level(start, y_runs, mask, previous)
        levels.append((mask, start, out))
        trained, previous = out.theta, out
    return levels


def cycle_record(p: int, P: int, theta0: torch.Tensor, mask0: torch.Tensor, dense, levels: list,
                 loss: np.ndarray | None = None, steps: np.ndarray | None = None) -> CycleRecord:
    """Method p's :class:`CycleRecord` from the dense result and :func:`prune_levels`' levels (results with
    theta, sign_changes_a, sign_changes_w1 and, unless given as ``loss`` / ``steps``, loss and steps)."""
    res = [r for _, _, r in levels]
    theta_end = level_rows(dense.theta, [r.theta for r in res], p, P)
    mask_arr = level_rows(mask0, [m for m, _, _ in levels], p, P)
    switches = getattr(dense, "switches", None)
    rec = CycleRecord(
        masks=mask_arr[:, :, 1:].astype(np.int8), theta_start=level_rows(theta0, [s for _, s, _ in levels], p, P),
        theta_end=theta_end, loss=level_rows(dense.loss, [r.loss for r in res], p, P) if loss is None else loss,
        rel_error=population_relative_error(theta_end, mask_arr),
        flips_a=level_rows(dense.sign_changes_a, [r.sign_changes_a for r in res], p, P),
        flips_w1=level_rows(dense.sign_changes_w1, [r.sign_changes_w1 for r in res], p, P),
        steps=level_rows(dense.steps, [r.steps for r in res], p, P) if steps is None else steps,
        switches=level_rows(switches, [r.switches for r in res], p, P) if switches is not None else None)
    rec.success = success(rec.theta_end[:, -1], rec.masks[:, -1])
    return rec


def run_cycles(batch: NeuronBatch, trainer: Trainer, cfg: CycleConfig) -> dict[str, CycleRecord]:
    """Every method's cycles on every trial of ``batch``.  Level 0 (dense) is trained once; each later
    level trains all methods together (:func:`prune_levels`): run t P + p is method p on trial t and reads
    trial t's one copy of the data (:func:`sim.lrr.neuron.batched_xw`), so a pass over X serves the P methods."""
    T, d = batch.trials, batch.d
    X, y, theta0 = batch.X, batch.y, batch.theta0
    for name, v in (("X", X), ("y", y), ("theta0", theta0)):
        if not bool(torch.isfinite(v).all()):
            raise ValueError(f"{name} of the batch contains NaN or inf ({int((~torch.isfinite(v)).sum())} entries)")
    if not cfg.unbalanced_start:
        gap = (theta0[:, 0] ** 2 - theta0[:, 1:].pow(2).sum(1)).abs()
        off = gap > 1e-9 * theta0.pow(2).sum(1).clamp_min(1e-300)
        if bool(off.any()):
            raise ValueError(f"theta0 is unbalanced in {int(off.sum())} trial(s) (a(0)^2 != ||w(0)||^2, the "
                             f"start the theory assumes); pass CycleConfig(unbalanced_start=True) to run it anyway")
    level_counts(d, cfg.sparsity, cfg.levels, cfg.final_keep)  # a bad schedule fails before any training
    mask0 = full_mask(T, d, device=theta0.device)
    dense = train(trainer, theta0, X, y, mask0, snapshot_at=cfg.rewind_step)
    levels = prune_levels(batch, cfg, dense.theta, dense.snapshot,
                          lambda start, y_runs, mask, previous: train(trainer, start, X, y_runs, mask))
    P = len(cfg.methods)
    return {method: cycle_record(p, P, theta0, mask0, dense, levels) for p, method in enumerate(cfg.methods)}
