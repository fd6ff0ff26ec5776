"""The single hidden neuron of paper 000 (Sec. 2): f(x) = a relu(w^T x), trained on n noisy samples.

Data as in the paper: x ~ N(0, I/d), target t(x) = relu(x_1), labels y = t(x) + zeta with
zeta ~ N(0, sigma^2).  Initialization is balanced, a(0)^2 = ||w(0)||^2, with w(0) ~ N(0, init_scale^2 I/d)
and an independent fair sign for a(0); optionally conditioned on the sign quadrant of (a(0), w_1(0)).

Everything here is batched over trials: tensors carry a leading trial axis T.  Runs that read the same data
(the pruning methods of one trial, :mod:`sim.lrr.cycles`) may share one copy of it: X (G, n, d) with T = G P
runs, run b reading X[b // P], and each pass over the data is one (P x d)(d x n) product per data set.
Parameters are packed as theta = (a, w_1, ..., w_d) of shape (T, d + 1); a mask of the same shape has 1
for a (never pruned) and 0/1 for the inputs.  The per-trial numpy oracle of the same functions is :mod:`sim.lrr.reference`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch

from sim.core.draws import runs_per_draw
from theory.core import validate
from theory.core.gaussian import arccos_kernel

QUADRANT_NAMES = {"++": (1, 1), "+-": (1, -1), "-+": (-1, 1), "--": (-1, -1)}
"""Sign quadrants of (a(0), w_1(0)), in the paper's order of Fig. 2(a)."""


@dataclass(frozen=True)
class NeuronProblem:
    """One cell of trials: ``trials`` independent data sets and initializations of the same shape.

    d: input dimension; n: number of training samples; sigma: noise standard deviation (sigma^2 is the
    paper's noise variance); quadrant: None for fair independent signs, or one of '++', '+-', '-+', '--'
    for the signs of (a(0), w_1(0)); init_scale: w(0) ~ N(0, init_scale^2 I / d).
    """

    d: int
    n: int
    sigma: float
    trials: int
    quadrant: str | None = None
    init_scale: float = 1.0

    def __post_init__(self):
        validate.dimension("d", self.d)
        validate.dimension("n", self.n)
        validate.dimension("trials", self.trials)
        if not (np.isfinite(self.sigma) and self.sigma >= 0):
            raise ValueError(f"sigma must be a finite noise standard deviation >= 0 (got {self.sigma!r})")
        if self.quadrant is not None and self.quadrant not in QUADRANT_NAMES:
            raise ValueError(f"quadrant must be None or one of {sorted(QUADRANT_NAMES)} (got {self.quadrant!r})")
        validate.positive("init_scale", self.init_scale)

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class NeuronBatch:
    """Sampled data and initialization for a batch of trials (float64 tensors on one device)."""

    X: torch.Tensor  # (T, n, d)
    y: torch.Tensor  # (T, n)
    theta0: torch.Tensor  # (T, d + 1), balanced

    @property
    def trials(self) -> int:
        return self.X.shape[0]

    @property
    def d(self) -> int:
        return self.X.shape[2]


def sample(problem: NeuronProblem, seed: int, device: str | torch.device = "cpu") -> NeuronBatch:
    """Draw data and a balanced initialization.  Sampling is done on the CPU with a seeded generator,
    so the same seed gives the same numbers whatever device the training then runs on."""
    g = torch.Generator().manual_seed(int(seed))
    T, n, d = problem.trials, problem.n, problem.d
    X = torch.randn(T, n, d, generator=g, dtype=torch.float64) / np.sqrt(d)
    y = torch.relu(X[:, :, 0]) + problem.sigma * torch.randn(T, n, generator=g, dtype=torch.float64)
    w = problem.init_scale * torch.randn(T, d, generator=g, dtype=torch.float64) / np.sqrt(d)
    a_sign = torch.where(torch.rand(T, generator=g, dtype=torch.float64) < 0.5, -1.0, 1.0).double()
    if problem.quadrant is not None:
        sa, sw = QUADRANT_NAMES[problem.quadrant]
        a_sign = torch.full((T,), float(sa), dtype=torch.float64)
        w[:, 0] = sw * w[:, 0].abs()
    a = a_sign * w.norm(dim=1)
    theta0 = torch.cat([a[:, None], w], dim=1)
    dev = torch.device(device)
    return NeuronBatch(X.to(dev), y.to(dev), theta0.to(dev))


def full_mask(trials: int, d: int, device=None) -> torch.Tensor:
    return torch.ones(trials, d + 1, dtype=torch.float64, device=device)


def preactivation(theta: torch.Tensor, X: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """z = X (w * mask), shape (T, n): one pass over the data.  Written as the row vector (w * mask)^T times
    X^T: batched BLAS is about 5x faster for (1 x d)(d x n) products than for (n x d)(d x 1) ones."""
    return batched_xw(X, theta[:, 1:] * mask[:, 1:])


def batched_xw(X: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """X_g w_b for every run b: X (G, m, d) read by the P = B / G consecutive runs of each draw g, w (B, d)
    -> (B, m), as one (P x d)(d x m) product per draw (the fast row-vector form when P = 1)."""
    B, d = w.shape
    return torch.bmm(w.reshape(X.shape[0], runs_per_draw(B, X), d), X.transpose(1, 2)).reshape(B, X.shape[1])


def batched_xtq(X: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """X_g^T q_b for every run b: q (B, m) -> (B, d), one (P x m)(m x d) product per draw (see batched_xw)."""
    B, m = q.shape
    return torch.bmm(q.reshape(X.shape[0], runs_per_draw(B, X), m), X).reshape(B, X.shape[2])


def loss_and_grad_from_z(a: torch.Tensor, z: torch.Tensor, X: torch.Tensor, y: torch.Tensor,
                         mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Loss and gradient given the pre-activations z = X w (saves the first pass over X)."""
    n = X.shape[1]
    h = torch.relu(z)
    r = a.unsqueeze(1) * h - y
    loss = 0.5 * (r * r).mean(dim=1)
    g_a = (r * h).mean(dim=1)
    g_w = batched_xtq(X, r * (z > 0)) * (a / n).unsqueeze(1)
    return loss, torch.cat([g_a.unsqueeze(1), g_w], dim=1) * mask


def grad_only(theta: torch.Tensor, X: torch.Tensor, y: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """dL/dtheta without the loss (all that gradient descent needs), in fewer passes: with the active residual
    q = (a z - y) 1[z > 0] and v = X^T q, dL/dw = a v / n and dL/da = q . z / n = v . (w * mask) / n
    (z = X (w * mask)).  Equals :func:`loss_and_grad`'s gradient up to round-off (tests)."""
    n = X.shape[1]
    a, wm = theta[:, 0], theta[:, 1:] * mask[:, 1:]
    z = batched_xw(X, wm)
    q = z * a.unsqueeze(1)
    q.sub_(y).mul_(z > 0)
    v = batched_xtq(X, q)
    g_a = (v * wm).sum(dim=1) / n
    return torch.cat([g_a.unsqueeze(1), v * (a / n).unsqueeze(1)], dim=1) * mask


def loss_and_grad(theta: torch.Tensor, X: torch.Tensor, y: torch.Tensor,
                  mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Loss (1) L = 1/(2n) sum_i (a relu(w^T x_i) - y_i)^2 of the masked neuron and its gradient.

    theta, mask: (T, d + 1); X: (G, n, d), one data set per run (G = T) or shared by T / G consecutive runs
    (:func:`batched_xw`); y: (T, n).  Returns L (T,) and dL/dtheta (T, d + 1), zero on pruned entries.  The gradient is that of eq. (7) (relu'(0) := 0, as autograd and the paper use).
    """
    return loss_and_grad_from_z(theta[:, 0], preactivation(theta, X, mask), X, y, mask)


def loss_from_z(a: torch.Tensor, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    r = a.unsqueeze(1) * torch.relu(z) - y
    return 0.5 * (r * r).mean(dim=1)


def loss_only(theta: torch.Tensor, X: torch.Tensor, y: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    return loss_from_z(theta[:, 0], preactivation(theta, X, mask), y)


def population_relative_error(theta: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """E[(a relu(w^T x) - relu(x_1))^2] / E[relu(x_1)^2] for x ~ N(0, I/d), in closed form.

    The 1/d of the input covariance cancels in the ratio, so with the arc-cosine kernel K of
    :mod:`theory.core.gaussian` (x ~ N(0, I)) it is (a^2 K(w, w) - 2 a K(e_1, w) + K(e_1, e_1)) / K(e_1, e_1).
    theta: (..., d + 1).  A zero w gives 1 (the model is identically 0).
    """
    theta = np.asarray(theta, dtype=float)
    a, w = theta[..., 0], theta[..., 1:]
    if mask is not None:
        w = w * np.asarray(mask, dtype=float)[..., 1:]
    e1 = np.zeros_like(w)
    e1[..., 0] = 1.0
    k11 = arccos_kernel(e1, e1)
    return (a * a * arccos_kernel(w, w) - 2 * a * arccos_kernel(e1, w) + k11) / k11
