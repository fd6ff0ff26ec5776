"""The sparse one-hidden-layer teacher-student model of Zhang et al. (paper 001, Sec. 2 and 5), batched
over trials.

Teacher: K ReLU neurons, neuron j reads the r* inputs Omega*_j (chosen at random), weights uniform in
[-0.5, 0.5]; y = (1/K) sum_j relu(w*_j^T x_{Omega*_j}) + xi, x ~ N(0, I_d), xi ~ N(0, sigma^2) with
sigma = noise * E_y and E_y = sqrt(mean g(x_n; W*)^2) (the paper's noise level sigma/E_y).
Student: K neurons, neuron j reads r >= r* inputs Omega_j with Omega_j containing Omega*_j (r = d: dense).

Everything is stored in the masked dense form of the paper's eq. (4): weights ``(B, K, d)`` with a 0/1
mask ``M`` (``(B, K, d)``), W = M * W.

Runs and draws: an :class:`Instance` holds B runs.  By default each run has its own draw of teacher,
supports and data.  With ``runs_per_draw = P`` (``SparseProblem``), P consecutive runs share one draw (same
teacher, mask and inputs; they differ in their initial point, or in a noise scale the caller applies to y),
so that X is stored once per draw, ``(G, N, d)`` with B = G P, and the risk, gradient and forward pass make
**one** product per draw for its P runs: ``X_g @ [W_g1 .. W_gP]^T`` with P K columns instead of P products
with K columns each (P times less memory and traffic for the inputs, and a better-shaped matmul).  The augmented ground truth W* (eq. 3) is the teacher's weights on
the student's mask (zero elsewhere).  The empirical risk (2), its gradient and its Hessian are analytic and
batched: one tensor op for all B trials.  Because relu'' = 0 almost everywhere, the Hessian of (2) is
exactly J^T J / (N K^2) with J_n = [1{w_j^T x_n > 0} x_{n, Omega_j}]_j (the Gauss-Newton form).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from sim.core.draws import runs_per_draw


def _int_at_least(name: str, value, low: int, what: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ValueError(f"{name} ({what}) must be an integer >= {low}, got {value!r}")


@dataclass(frozen=True)
class SparseProblem:
    """One configuration of the teacher-student model; ``trials`` independent draws of it.

    K: neurons; d: input dimension; r: inputs per student neuron; r_star: inputs per teacher neuron
    (default r: the student has exactly the teacher's architecture); N: training samples; noise: sigma/E_y.
    """

    K: int
    d: int
    r: int
    N: int
    r_star: int | None = None
    noise: float = 0.0
    trials: int = 1
    weight_range: float = 0.5
    layout: str = "random"  # "random": each neuron's inputs drawn independently (Sec. 5); "disjoint"
    runs_per_draw: int = 1  # P runs share each draw of teacher, supports and data (B = trials P runs)

    def __post_init__(self):
        _int_at_least("K", self.K, 1, "number of neurons")
        _int_at_least("N", self.N, 1, "number of training samples")
        _int_at_least("d", self.d, 1, "input dimension")
        _int_at_least("r", self.r, 1, "inputs per student neuron")
        _int_at_least("trials", self.trials, 1, "independent draws")
        _int_at_least("runs_per_draw", self.runs_per_draw, 1, "runs that share one draw of teacher and data")
        if self.r > self.d:
            raise ValueError(f"r (inputs per student neuron) = {self.r} exceeds d (input dimension) = {self.d}")
        if self.r_star is not None:
            _int_at_least("r_star", self.r_star, 1, "inputs per teacher neuron")
            if self.r < self.r_star:
                raise ValueError(f"r (inputs per student neuron) = {self.r} is smaller than r_star (inputs per "
                                 f"teacher neuron) = {self.r_star}: the student cannot contain the teacher (Sec. 2 "
                                 f"needs r >= r*)")
        if not (math.isfinite(self.noise) and self.noise >= 0):
            raise ValueError(f"noise (sigma/E_y) must be finite and >= 0, got {self.noise!r}")
        if self.layout not in ("random", "disjoint"):
            raise ValueError(f"layout must be 'random' or 'disjoint', got {self.layout!r}")
        if self.layout == "disjoint" and self.K * self.r > self.d:
            raise ValueError(f"layout 'disjoint' needs K r <= d, got K = {self.K}, r = {self.r}, d = {self.d}")
        if not (math.isfinite(self.weight_range) and self.weight_range > 0):
            raise ValueError(f"weight_range must be finite and > 0, got {self.weight_range!r}")

    @property
    def rs(self) -> int:
        return self.r if self.r_star is None else self.r_star


@dataclass
class Instance:
    """B runs on G draws of teacher, student mask and data (B = G P, P runs per draw, consecutive).
    Shapes: X (G, N, d) (stored once per draw); y, y_clean (B, N); masks and weights (B, K, d), sigma (B,);
    ``W_star`` is the augmented ground truth on the student mask (eq. 3)."""

    X: torch.Tensor
    y: torch.Tensor
    y_clean: torch.Tensor
    W_teacher: torch.Tensor
    M_teacher: torch.Tensor
    M: torch.Tensor
    W_star: torch.Tensor
    sigma: torch.Tensor  # (B,) noise standard deviation

    @property
    def B(self) -> int:
        return self.M.shape[0]

    @property
    def draws(self) -> int:
        return self.X.shape[0]

    def X_per_run(self) -> torch.Tensor:
        """X repeated for every run, (B, N, d) (a copy when runs share draws)."""
        return _per_run(self.X, self.B)

    @property
    def K(self) -> int:
        return self.M.shape[1]



def _generator(seed: int, device: str) -> torch.Generator:
    g = torch.Generator(device=device)
    g.manual_seed(int(seed))
    return g


def supports(B: int, K: int, d: int, r_star: int, r: int, gen: torch.Generator, device: str = "cpu",
             layout: str = "random") -> tuple[torch.Tensor, torch.Tensor]:
    """Random nested masks (B, K, d): the teacher's r* inputs and the student's r >= r* inputs containing
    them (first r* and first r entries of one random permutation per neuron).  ``disjoint``: the neurons'
    permutations are consecutive blocks of one permutation of [d] (needs K r <= d)."""
    if layout == "disjoint":
        one = torch.rand(B, d, generator=gen, device=device).argsort(-1)
        perm = torch.stack([torch.cat([one[:, j * r:(j + 1) * r], one[:, :j * r], one[:, (j + 1) * r:]], 1)
                            for j in range(K)], 1)
    else:
        perm = torch.rand(B, K, d, generator=gen, device=device).argsort(-1)
    Mt = torch.zeros(B, K, d, device=device, dtype=torch.bool).scatter_(-1, perm[..., :r_star], True)
    M = torch.zeros(B, K, d, device=device, dtype=torch.bool).scatter_(-1, perm[..., :r], True)
    return Mt, M


def check_student_mask(M: torch.Tensor, M_teacher: torch.Tensor) -> None:
    """The experiments need Omega_j to contain Omega*_j; name the first neuron that does not."""
    missing = M_teacher & ~M
    if bool(missing.any()):
        b, j, i = (int(v) for v in missing.nonzero()[0])
        raise ValueError(f"student mask: Omega_{j} of trial {b} does not contain Omega*_{j} (teacher input {i} "
                         f"missing); the experiment needs Omega_j to contain Omega*_j")


def _per_run(X: torch.Tensor, B: int) -> torch.Tensor:
    return X if X.shape[0] == B else X.repeat_interleave(B // X.shape[0], dim=0)


def _preactivations(W: torch.Tensor, X: torch.Tensor) -> torch.Tensor:
    """w_j^T x_n for every run: (G, N, P, K), one matmul per draw with the P runs' K neurons as columns."""
    P = runs_per_draw(W.shape[0], X)
    G, N = X.shape[:2]
    K, d = W.shape[1:]
    return (X @ W.reshape(G, P * K, d).transpose(1, 2)).view(G, N, P, K)


def _by_run(a: torch.Tensor) -> torch.Tensor:
    """(G, N, P) -> (B, N), run b = g P + p."""
    G, N, P = a.shape
    return a.transpose(1, 2).reshape(G * P, N)


def _by_draw(y: torch.Tensor, G: int) -> torch.Tensor:
    """(B, N) -> (G, N, P) (a view)."""
    B, N = y.shape
    return y.view(G, B // G, N).transpose(1, 2)


def forward(W: torch.Tensor, X: torch.Tensor) -> torch.Tensor:
    """g(x; W) = (1/K) sum_j relu(w_j^T x): W (B, K, d) (already masked), X (G, N, d) with B = G P
    (G = B: one data set per run) -> (B, N)."""
    return _by_run(torch.relu(_preactivations(W, X)).mean(-1))


def make_instance(problem: SparseProblem, seed: int, device: str = "cpu", dtype=torch.float64,
                  student_mask: torch.Tensor | None = None) -> Instance:
    """``problem.trials`` independent draws, each shared by ``problem.runs_per_draw`` runs (the random
    stream does not depend on runs_per_draw: P = 1 and P > 1 draw the same teachers and data)."""
    if dtype not in (torch.float32, torch.float64):
        raise ValueError(f"dtype must be torch.float32 or torch.float64, got {dtype!r}")
    gen = _generator(seed, device)
    B, K, d = problem.trials, problem.K, problem.d
    Mt, M = supports(B, K, d, problem.rs, problem.r, gen, device, problem.layout)
    if student_mask is not None:
        M = student_mask.to(device=device, dtype=torch.bool)
        check_student_mask(M, Mt)
    a = problem.weight_range
    Wt = ((torch.rand(B, K, d, generator=gen, device=device, dtype=dtype) * 2 - 1) * a) * Mt
    X = torch.randn(B, problem.N, d, generator=gen, device=device, dtype=dtype)
    y_clean = forward(Wt, X)
    e_y = y_clean.pow(2).mean(-1).sqrt()
    sigma = problem.noise * e_y
    y = y_clean + sigma[:, None] * torch.randn(B, problem.N, generator=gen, device=device, dtype=dtype)
    P = problem.runs_per_draw
    if P > 1:  # every per-run quantity repeated; X stays one copy per draw
        Wt, Mt, M, y, y_clean, sigma = (v.repeat_interleave(P, dim=0) for v in (Wt, Mt, M, y, y_clean, sigma))
    return Instance(X=X, y=y, y_clean=y_clean, W_teacher=Wt, M_teacher=Mt, M=M, W_star=Wt * M, sigma=sigma)


def held_out_data(inst: Instance, n_test: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Fresh noiseless test inputs and teacher outputs for the same teachers."""
    gen = _generator(seed, inst.X.device.type)
    Xt = torch.randn(inst.B, n_test, inst.X.shape[-1], generator=gen, device=inst.X.device, dtype=inst.X.dtype)
    return Xt, forward(inst.W_teacher, Xt)


def risk(W: torch.Tensor, X: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Empirical risk (2): (1/2N) sum_n (g(x_n; W) - y_n)^2, per run (B,); X (G, N, d), y (B, N)."""
    return 0.5 * (forward(W, X) - y).pow(2).mean(-1)


def risk_grad(W: torch.Tensor, M: torch.Tensor, X: torch.Tensor, y: torch.Tensor
              ) -> tuple[torch.Tensor, torch.Tensor]:
    """Risk (B,) and its gradient with respect to the free weights (B, K, d), zero off the mask:
    d f / d w_j = (1/(N K)) sum_n (g_n - y_n) 1{w_j^T x_n > 0} x_{n, Omega_j}.
    X (G, N, d) is shared by B / G consecutive runs (G = B: one data set per run)."""
    pre = _preactivations(W, X)  # (G, N, P, K)
    G, N, P, K = pre.shape
    res = torch.relu(pre).mean(-1) - _by_draw(y, G)  # (G, N, P)
    coef = (res[..., None] * (pre > 0).to(X.dtype)).view(G, N, P * K)
    grad = (coef.transpose(1, 2) @ X).view(W.shape) * M / (N * K)
    return 0.5 * res.pow(2).mean(1).reshape(-1), grad


def free_index(M: torch.Tensor) -> torch.Tensor:
    """Indices (B, K, r) of each neuron's inputs, ascending (all neurons of a batch share r)."""
    counts = M.sum(-1)
    r = int(counts[0, 0])
    if bool((counts != r).any()):
        raise ValueError("every neuron of every trial must have the same number r of inputs")
    return M.to(torch.int8).argsort(dim=-1, descending=True, stable=True)[..., :r].sort(-1).values


def gathered(X: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """x_{n, Omega_j} for all n, j: (B, N, K, r)."""
    B, N, d = X.shape
    K, r = idx.shape[1:]
    return X[:, :, None, :].expand(B, N, K, d).gather(3, idx[:, None].expand(B, N, K, r))


def hessian(W: torch.Tensor, M: torch.Tensor, X: torch.Tensor) -> torch.Tensor:
    """Hessian of (2) in the free weights, (B, K r, K r), ordered neuron by neuron and within a neuron
    by ascending input index: J^T J / (N K^2), J_n = [1{w_j^T x_n > 0} x_{n, Omega_j}]_j (relu'' = 0 a.e.)."""
    idx = free_index(M)
    Xg = gathered(_per_run(X, W.shape[0]), idx)  # (B, N, K, r)
    pre = torch.einsum("bnkr,bkr->bnk", Xg, W.gather(2, idx))
    J = (Xg * (pre > 0).to(X.dtype)[..., None]).flatten(2)  # (B, N, K r)
    N, K = X.shape[1], W.shape[1]
    return J.transpose(1, 2) @ J / (N * K ** 2)


def relative_error(W: torch.Tensor, W_star: torch.Tensor) -> torch.Tensor:
    """||W - W*||_F / ||W*||_F per trial (the paper's success measure, Sec. 5.1)."""
    return (W - W_star).flatten(1).norm(dim=1) / W_star.flatten(1).norm(dim=1)


def relative_error_perm(W: torch.Tensor, W_star: torch.Tensor) -> np.ndarray:
    """min over relabellings of the neurons of ||W P - W*||_F / ||W*||_F (B,): the error that matters when
    the neurons are exchangeable (identical supports, e.g. the dense network)."""
    from scipy.optimize import linear_sum_assignment

    cost = ((W[:, :, None, :] - W_star[:, None, :, :]) ** 2).sum(-1).cpu().numpy()  # (B, K, K)
    out = np.empty(W.shape[0])
    for b in range(W.shape[0]):
        rows, cols = linear_sum_assignment(cost[b])
        out[b] = np.sqrt(cost[b][rows, cols].sum())
    return out / W_star.flatten(1).norm(dim=1).cpu().numpy()


def init_at_distance(W_star: torch.Tensor, M: torch.Tensor, lam: float | torch.Tensor, seed: int,
                     where: str = "sphere") -> torch.Tensor:
    """A random W(0) on the student mask at relative distance lam from W* (``sphere``: exactly lam, the
    y-axis of Fig. 2) or uniformly inside the ball ||W(0) - W*||_F / ||W*||_F < lam (``ball``: the set
    Sec. 5 prints)."""
    if where not in ("sphere", "ball"):
        raise ValueError(f"where must be 'sphere' or 'ball', got {where!r}")
    lam_check = torch.as_tensor(lam, dtype=torch.float64)
    if not bool(torch.isfinite(lam_check).all()) or bool((lam_check < 0).any()):
        raise ValueError(f"lam (relative distance from W*) must be finite and >= 0, got {lam!r}")
    gen = _generator(seed, W_star.device.type)
    D = torch.randn(W_star.shape, generator=gen, device=W_star.device, dtype=W_star.dtype) * M
    D = D / D.flatten(1).norm(dim=1)[:, None, None]
    lam = torch.as_tensor(lam, dtype=W_star.dtype, device=W_star.device).reshape(-1)
    rad = lam * W_star.flatten(1).norm(dim=1)
    if where == "ball":
        n_free = M.flatten(1).sum(1).to(W_star.dtype)
        u = torch.rand(W_star.shape[0], generator=gen, device=W_star.device, dtype=W_star.dtype)
        rad = rad * u ** (1 / n_free)
    return W_star + rad[:, None, None] * D
