"""Magnitude pruning of the sparse student of paper 001 (Zhang et al., Sec. 4.1 and 5.2): iterative magnitude
pruning (IMP) with rewinding, one-shot magnitude pruning of a trained dense network, and the matching of the
student neurons to the teacher neurons that the support recall of a mask is measured under.

Every function takes values and returns values: an :class:`~sim.zhang.sparse_teacher.Instance` is never
written to (a pruned problem is ``dataclasses.replace`` of it).  Masks and weights are (B, K, d): B runs, K
neurons, d inputs; magnitude pruning ranks all K d weights of a run together
(:func:`sim.core.magnitude.keep_largest`, one row per run).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import torch

from sim.core.magnitude import keep_largest
from sim.zhang.agd import AGD, AGDResult, run_agd
from sim.zhang.sparse_teacher import Instance


def keep_largest_weights(W: torch.Tensor, n_keep: int, alive: torch.Tensor | None = None) -> torch.Tensor:
    """Mask (B, K, d) of the ``n_keep`` weights of largest |W| per run among the ``alive`` ones (all when None),
    the K d weights of a run ranked together."""
    keep = keep_largest(W.abs().flatten(1), n_keep, None if alive is None else alive.flatten(1))
    return keep.view(W.shape)


def prune_fraction(W: torch.Tensor, M: torch.Tensor, prune_frac: float) -> torch.Tensor:
    """One IMP pruning step: of the weights alive in ``M`` keep round((1 - prune_frac) x alive) of largest |W|
    (the alive count of the first run: every run holds the same count)."""
    n_keep = int(round(M[0].sum().item() * (1 - prune_frac)))
    return keep_largest_weights(W, n_keep, M)


@dataclass(frozen=True)
class ImpRound:
    """One IMP round: the mask the student was trained on and the result of that training."""

    mask: torch.Tensor  # (B, K, d) bool
    result: AGDResult


def on_mask(inst: Instance, M: torch.Tensor) -> Instance:
    """The problem restricted to the student mask ``M``: the ground truth becomes the teacher's weights on M
    (eq. 3's augmented W*, the teacher's weights the mask drops set to zero)."""
    return replace(inst, M=M, W_star=inst.W_teacher * M)


def iterative_magnitude_pruning(inst: Instance, W_init: torch.Tensor, agd: AGD, rounds: int,
                                prune_frac: float) -> list[ImpRound]:
    """IMP with rewinding on the dense student: train by AGD from ``W_init`` on the full mask, prune
    ``prune_frac`` of the remaining weights by |W| (:func:`prune_fraction`), rewind the survivors to
    ``W_init``, retrain; ``rounds`` prunings, so ``rounds + 1`` trainings (round 0: the dense network)."""
    M = torch.ones(inst.M.shape, dtype=torch.bool, device=inst.M.device)
    out = []
    for rnd in range(rounds + 1):
        res = run_agd(on_mask(inst, M), W_init * M, agd)
        out.append(ImpRound(mask=M, result=res))
        if rnd == rounds:
            break
        M = prune_fraction(res.W, M, prune_frac)
    return out


def match_neurons(M: torch.Tensor, M_teacher: torch.Tensor) -> tuple[list[np.ndarray], np.ndarray]:
    """Per run, the matching of student neurons to teacher neurons that maximizes the teacher weights the
    mask keeps (the dense student's neurons are exchangeable, so student j may learn teacher neuron pi(j)):
    the assigned teacher neuron of every student neuron, and the support recall under that matching (teacher
    weights kept over the teacher's weights)."""
    from scipy.optimize import linear_sum_assignment

    overlap = torch.einsum("bjd,bld->bjl", M.double(), M_teacher.double()).cpu().numpy()
    total = M_teacher.flatten(1).sum(1).double().cpu().numpy()
    assigned, recall = [], np.empty(M.shape[0])
    for b in range(M.shape[0]):
        rows, cols = linear_sum_assignment(-overlap[b])
        assigned.append(cols[np.argsort(rows)])
        recall[b] = overlap[b][rows, cols].sum() / total[b]
    return assigned, recall


def support_recall(M: torch.Tensor, M_teacher: torch.Tensor) -> np.ndarray:
    """Fraction of the teacher's weights that the mask keeps, up to relabelling (:func:`match_neurons`)."""
    return match_neurons(M, M_teacher)[1]


def separated(W: torch.Tensor, M_teacher: torch.Tensor, assigned: list[np.ndarray]) -> np.ndarray:
    """Per run: whether every teacher weight is larger in |W| than every non-teacher weight, student neuron j
    compared on the support of its assigned teacher neuron ``assigned[b][j]`` (the separation Sec. 4.1
    derives from (10))."""
    Wa = W.abs().cpu().numpy()
    Mt = M_teacher.cpu().numpy()
    sep = np.zeros(W.shape[0], bool)
    for b in range(W.shape[0]):
        on = np.concatenate([Wa[b, j][Mt[b, l]] for j, l in enumerate(assigned[b])])
        off = np.concatenate([Wa[b, j][~Mt[b, l]] for j, l in enumerate(assigned[b])])
        sep[b] = on.min() > off.max()
    return sep


def magnitude_oneshot(W: torch.Tensor, M_teacher: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """Sec. 4.1 on a trained dense W (B, K, d): keep the r*/d fraction of largest |W| (all K d weights ranked
    together, as many as the teacher has).  Returns the support recall of that mask up to relabelling and
    :func:`separated` under the matching that maximizes the kept support."""
    M = keep_largest_weights(W, int(M_teacher[0].sum()))
    assigned, recall = match_neurons(M, M_teacher)
    return recall, separated(W, M_teacher, assigned)
