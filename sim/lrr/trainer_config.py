"""What a trainer of the single neuron is (paper 000): its settings and what it reports.

The three trainers -- full-batch gradient descent, L-BFGS and the exact gradient flow of eq. (7) -- are
small frozen dataclasses; :func:`sim.lrr.trainers.train` dispatches on them (GD and L-BFGS there, the flow
in :mod:`sim.lrr.flow`).  Both import this module, neither imports the other's caller.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from theory.core import validate


@dataclass(frozen=True)
class GD:
    """Full-batch gradient descent: theta <- theta - lr * grad, ``steps`` times per training cycle."""

    lr: float = 0.5
    steps: int = 4000
    name: str = "gd"

    def __post_init__(self):
        if not (np.isfinite(self.lr) and self.lr > 0):
            raise ValueError(f"lr must be > 0 (got {self.lr!r})")
        validate.dimension("steps", self.steps)


@dataclass(frozen=True)
class LBFGS:
    """L-BFGS with the semantics of ``torch.optim.LBFGS`` (the optimizer the paper's experiments most
    likely used): ``epochs`` calls of ``step()``, each running at most ``max_iter`` iterations; history of
    ``history`` pairs, stored only when s^T y > 1e-10; at most max_iter * 5 // 4 loss evaluations per call; first step length min(1, 1/|g|_1) * lr, then lr
    (``line_search='none'``, torch's default) or Armijo backtracking from lr (``'armijo'``); a step call
    ends early when max|g| <= tolerance_grad, g^T d > -tolerance_change, max|t d| <= tolerance_change or
    |loss change| < tolerance_change, and the next call continues with the same history.

    Every trial is its own optimizer (own history, step lengths, stopping); the batch only shares tensor
    operations.  The oracle the tests compare against is ``torch.optim.LBFGS`` itself, one trial at a time:
    the iterates agree to ~1e-13 while steps stay moderate.  With lr = 1 and no line search L-BFGS sometimes
    takes steps of length 1e3 across a kink of the ReLU loss; such a step multiplies round-off differences
    (summation order in the two-loop recursion) and the two trajectories then agree only to ~1e-5.
    """

    epochs: int = 1000
    max_iter: int = 20
    history: int = 100
    lr: float = 1.0
    tolerance_grad: float = 1e-7
    tolerance_change: float = 1e-9
    line_search: str = "none"
    name: str = "lbfgs"

    def __post_init__(self):
        for name in ("epochs", "max_iter", "history"):
            validate.dimension(name, getattr(self, name))
        if not (np.isfinite(self.lr) and self.lr > 0):
            raise ValueError(f"lr must be > 0 (got {self.lr!r})")
        if self.line_search not in ("none", "armijo"):
            raise ValueError(f"line_search must be 'none' or 'armijo' (got {self.line_search!r})")


@dataclass(frozen=True)
class Flow:
    """Exact gradient flow of eq. (7) on [0, t_end] (scipy DOP853 between activation switches)."""

    t_end: float = 200.0
    rtol: float = 1e-9
    atol: float = 1e-12
    max_events: int = 200_000
    name: str = "flow"

    def __post_init__(self):
        validate.horizon("t_end", self.t_end)
        validate.dimension("max_events", self.max_events)


Trainer = GD | LBFGS | Flow


def trainer_from_dict(spec: dict) -> Trainer:
    kinds = {"gd": GD, "lbfgs": LBFGS, "flow": Flow}
    spec = dict(spec)
    kind = spec.pop("name", None)
    if kind not in kinds:
        raise ValueError(f"unknown trainer {kind!r}; choose one of {sorted(kinds)}")
    return kinds[kind](**spec)


@dataclass
class TrainResult:
    theta: torch.Tensor  # (T, d + 1)
    loss: torch.Tensor  # (T,)
    sign_changes_a: torch.Tensor  # (T,) int64
    sign_changes_w1: torch.Tensor  # (T,) int64
    steps: torch.Tensor  # (T,) int64: iterations (GD, L-BFGS) or integration segments (flow)
    snapshot: torch.Tensor | None = None  # theta after snapshot_at steps (WR's rewinding point)
    switches: torch.Tensor | None = None  # flow only: activation switches per trial
    sliding: torch.Tensor | None = None  # flow only: sliding episodes per trial
