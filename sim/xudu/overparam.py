"""n ReLU students learning one ReLU teacher (Xu & Du 2023): batched gradient descent on the exact
population loss, scipy gradient flow, and empirical GD on N samples.

The loss and gradient are :func:`theory.xudu.overparam_neuron.population_loss` / ``population_grad`` (float64,
batched over trials: one tensor op for all trials).  Along the way the runners record, at log-spaced
times, the quantities of the paper's proof:

* ``loss`` and its ``linear`` part ||sum w - v||^2/4 (the rest is the cubic angular part, see
  ``theory.xudu.claims`` xudu.cubic);
* per student: the norm r_i, the angle theta_i to v, the projection h_i = r_i cos theta_i; their sum
  H = sum_i h_i (the paper's H(t); ||v|| - H is the residual that Phase 2 drives to 0 exponentially);
* ``Z``: a potential for the pairwise separation of the students' parts z_i = w_i - h_i v/||v|| orthogonal
  to the teacher, Z = sum_{i<j} sqrt(2 (|z_i| |z_j| - z_i.z_j)) / ||v||.  Our summary of the paper does not
  print its potential; this one has the properties the summary lists (0 for n = 1, for students all
  parallel to v and for students all equal; positive while the z_i point apart), and Z(t) ~ 1/t is what
  the Omega(T^-3) lower bound needs (L >~ Z^3).  It is labelled as our reconstruction everywhere.

Students that reach w_i = 0 get a zero gradient (relu'(0) = 0) and stay there; ``dead`` counts them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch

from theory.core import validate
from theory.xudu.overparam_neuron import Geometry


@dataclass(frozen=True)
class OverparamProblem:
    """n students, input dimension d, ``trials`` independent initializations of typical norm ``init_scale``
    (w_i(0) ~ N(0, init_scale^2 I/d)), teacher v = v_norm e_1 (WLOG by rotation invariance of N(0, I)).
    ``samples`` = N switches to the finite-sample loss on N Gaussian inputs (None: population)."""

    n: int
    d: int
    trials: int = 8
    init_scale: float = 1e-2
    v_norm: float = 1.0
    samples: int | None = None

    def __post_init__(self):
        if not isinstance(self.n, (int, np.integer)) or self.n < 1:
            raise ValueError(f"n (number of students) must be an integer >= 1, got {self.n!r}")
        if not isinstance(self.d, (int, np.integer)) or self.d < 2:
            raise ValueError(f"d (input dimension) must be an integer >= 2, got {self.d!r}")
        if not isinstance(self.trials, (int, np.integer)) or self.trials < 1:
            raise ValueError(f"trials must be an integer >= 1, got {self.trials!r}")
        if not (math.isfinite(self.init_scale) and self.init_scale > 0):
            raise ValueError(f"init_scale must be finite and > 0, got {self.init_scale!r}")
        if not (math.isfinite(self.v_norm) and self.v_norm > 0):
            raise ValueError(f"v_norm must be finite and > 0 (v = 0 is not a teacher), got {self.v_norm!r}")
        if self.samples is not None and (not isinstance(self.samples, (int, np.integer)) or self.samples < 1):
            raise ValueError(f"samples (N) must be None or an integer >= 1, got {self.samples!r}")


def teacher(problem: OverparamProblem, device: str = "cpu") -> torch.Tensor:
    v = torch.zeros(problem.d, dtype=torch.float64, device=device)
    v[0] = problem.v_norm
    return v


def check_teacher(v: torch.Tensor, d: int | None = None) -> None:
    """The teacher: a finite, nonzero vector of the students' input dimension d (when given)."""
    if v.ndim != 1:
        raise ValueError(f"the teacher v must be a vector of shape (d,), got {tuple(v.shape)}")
    if d is not None and v.shape[0] != d:
        raise ValueError(f"the teacher v has dimension {v.shape[0]} but the students have d = {d}")
    if not torch.isfinite(v).all() or float(torch.linalg.vector_norm(v)) == 0.0:
        raise ValueError("the teacher v must be finite and nonzero")


def check_students(W: torch.Tensor) -> None:
    if W.ndim != 3:
        raise ValueError(f"students must have shape (trials, n, d), got {tuple(W.shape)}")
    if not torch.isfinite(W).all():
        raise ValueError("the initialization contains non-finite values (nan or inf)")


def initial_students(problem: OverparamProblem, seed: int, device: str = "cpu") -> torch.Tensor:
    gen = torch.Generator().manual_seed(int(seed))
    W = torch.randn(problem.trials, problem.n, problem.d, generator=gen, dtype=torch.float64)
    return (W * (problem.init_scale / math.sqrt(problem.d))).to(device)


def sample_data(problem: OverparamProblem, seed: int, device: str = "cpu") -> tuple[torch.Tensor, torch.Tensor]:
    """N Gaussian inputs per trial and noiseless teacher labels: X (trials, N, d), y (trials, N)."""
    if problem.samples is None:
        raise ValueError("sample_data needs problem.samples (N)")
    gen = torch.Generator().manual_seed(int(seed) + 7919)
    X = torch.randn(problem.trials, problem.samples, problem.d, generator=gen, dtype=torch.float64).to(device)
    return X, torch.relu(X @ teacher(problem, device))


def empirical_loss_grad(W: torch.Tensor, X: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """1/(2N) sum_k (sum_i relu(w_i.x_k) - y_k)^2 and its gradient (relu'(0) = 0), batched over trials."""
    # students as rows, (T, n, d)(T, d, N): for few students this skinny product is 1.1-2.2x faster on a CPU
    # than (T, N, d)(T, d, n) (measured at N = 30000, d = 10, n = 1..5), and the transpose is only a view
    pre = W @ X.transpose(-1, -2)  # (T, n, N)
    res = torch.relu(pre).sum(-2) - y  # (T, N)
    N = X.shape[-2]
    grad = ((res.unsqueeze(-2) * (pre > 0)) @ X) / N
    return 0.5 * (res * res).mean(-1), grad


def hessian_at_teacher(X: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Hessian of the empirical loss of one student (n = 1) at its minimum w = v, (trials, d, d):
    (1/N) sum_k 1{v.x_k > 0} x_k x_k^T (exact wherever no sample has v.x_k = 0).  Its population value is
    I/2 (``theory.xudu.claims`` xudu.n1.linear), so the same formula gives the finite-N linear rate below."""
    act = (X @ v > 0).to(X.dtype)  # (trials, N)
    return (X * act.unsqueeze(-1)).transpose(-1, -2) @ X / X.shape[-2]


def linear_rate_of_gd(lr: float, lam_min) -> np.ndarray:
    """Log-loss slope per GD step near a minimum whose smallest Hessian eigenvalue is lam_min (the slowest
    mode): the error contracts by (1 - lr lam_min) per step, the loss by its square."""
    return 2 * np.log(1 - lr * np.asarray(lam_min, dtype=float))


# ---- records -------------------------------------------------------------------------------------------

@dataclass
class Trajectory:
    """Recorded quantities at times ``t`` (steps for GD, time for the flow); arrays are (trials, records, ...)."""

    t: np.ndarray
    loss: np.ndarray
    linear: np.ndarray
    r: np.ndarray
    theta: np.ndarray
    h: np.ndarray
    Z: np.ndarray
    max_pair_angle: np.ndarray
    W_final: np.ndarray
    dead: np.ndarray
    empirical: np.ndarray | None = None
    extra: dict = field(default_factory=dict)

    @property
    def H(self) -> np.ndarray:
        return self.h.sum(-1)

    def arrays(self, prefix: str = "") -> dict[str, np.ndarray]:
        out = {"t": self.t, "loss": self.loss, "linear": self.linear, "r": self.r, "theta": self.theta,
               "h": self.h, "Z": self.Z, "max_pair_angle": self.max_pair_angle, "W_final": self.W_final,
               "dead": self.dead}
        if self.empirical is not None:
            out["empirical"] = self.empirical
        return {prefix + k: v for k, v in out.items()}


def separation_potential(W: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Z = sum_{i<j} sqrt(2 (|z_i||z_j| - z_i.z_j)) / ||v|| with z_i = w_i minus its projection on v (ours)."""
    v = v.expand(W.shape[0], W.shape[-1])
    vhat = v / torch.linalg.vector_norm(v, dim=-1, keepdim=True)
    Zp = W - (W @ vhat.unsqueeze(-1)) * vhat.unsqueeze(-2)
    nz = torch.linalg.vector_norm(Zp, dim=-1)
    gap = (nz.unsqueeze(-1) * nz.unsqueeze(-2) - Zp @ Zp.transpose(-1, -2)).clamp_min(0.0)
    pair = torch.sqrt(2.0 * gap).triu(diagonal=1)
    return pair.sum((-1, -2)) / torch.linalg.vector_norm(v, dim=-1)


def snapshot(W: torch.Tensor, v: torch.Tensor) -> dict[str, torch.Tensor]:
    g = Geometry(W, v)
    n = W.shape[-2]
    pair = g.th_ss.flatten(-2).max(-1).values if n > 1 else torch.zeros(W.shape[0], dtype=W.dtype, device=W.device)
    return {"loss": g.loss(), "linear": g.linear_part(), "r": g.r, "theta": g.th_sv,
            "h": g.r * torch.cos(g.th_sv), "Z": separation_potential(W, v), "max_pair_angle": pair}


def record_steps(steps: int, records: int) -> np.ndarray:
    """0, steps and ~records log-spaced integers between them."""
    pts = np.unique(np.round(np.logspace(0, np.log10(max(steps, 1)), records)).astype(np.int64))
    return np.unique(np.concatenate([[0], pts[pts <= steps], [steps]]))


def _stack(snaps: list[dict], key: str) -> np.ndarray:
    return torch.stack([s[key] for s in snaps], dim=1).cpu().numpy()


def _trajectory(t, snaps, W, emp=None) -> Trajectory:
    return Trajectory(t=np.asarray(t, dtype=float), **{k: _stack(snaps, k) for k in snaps[0]},
                      W_final=W.cpu().numpy(), dead=(torch.linalg.vector_norm(W, dim=-1) == 0).sum(-1).cpu().numpy(),
                      empirical=None if emp is None else torch.stack(emp, 1).cpu().numpy())


# ---- gradient descent ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class GD:
    """Full-batch gradient descent w_i <- w_i - lr grad_i L, for ``steps`` steps, ~``records`` snapshots."""

    lr: float
    steps: int
    records: int = 120

    def __post_init__(self):
        if not (math.isfinite(self.lr) and self.lr > 0):
            raise ValueError(f"lr must be finite and > 0, got {self.lr!r}")
        validate.dimension("steps", self.steps)
        if validate.dimension("records", self.records) < 2:
            raise ValueError(f"records must be >= 2 (got {self.records!r})")


def run_gd(W0: torch.Tensor, v: torch.Tensor, gd: GD, data: tuple[torch.Tensor, torch.Tensor] | None = None,
           progress: bool = False) -> Trajectory:
    """Batched GD from W0 (trials, n, d) on the population loss, or on the empirical loss of ``data``.
    The population quantities are recorded in both cases (``empirical`` holds the training loss)."""
    check_students(W0)
    check_teacher(v, W0.shape[-1])
    at = record_steps(gd.steps, gd.records)
    W = W0.clone()
    snaps, emp = [], []
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=gd.steps, unit="step", leave=False)
    done = 0
    for target in at:
        for _ in range(int(target) - done):
            if data is None:
                W = W - gd.lr * Geometry(W, v).grad()
            else:
                W = W - gd.lr * empirical_loss_grad(W, *data)[1]
        if bar is not None:
            bar.update(int(target) - done)
        done = int(target)
        snaps.append(snapshot(W, v))
        if data is not None:
            emp.append(empirical_loss_grad(W, *data)[0])
    if bar is not None:
        bar.close()
    if not torch.isfinite(W).all():
        raise FloatingPointError(f"GD diverged (lr = {gd.lr} too large for n = {W.shape[1]}? the linear part "
                                 f"needs lr < 4/n)")
    return _trajectory(at, snaps, W, emp if data is not None else None)


# ---- gradient flow (scipy, per trial) ------------------------------------------------------------------

def run_flow(W0: torch.Tensor, v: torch.Tensor, t_end: float, records: int = 120, rtol: float = 1e-10,
             atol: float = 1e-14) -> Trajectory:
    """Gradient flow w' = -grad L per trial with scipy's LSODA (stiff late phase: the linear part decays at
    rate ~n/2 while the angles creep like 1/t), recorded at log-spaced times in [0, t_end]."""
    from scipy.integrate import solve_ivp

    t_end = validate.horizon("t_end", t_end)
    if t_end <= 1e-2:
        raise ValueError(f"t_end must be > 0.01, the first recorded time (got {t_end!r})")
    if validate.dimension("records", records) < 3:
        raise ValueError(f"records must be >= 3 (got {records!r})")
    check_students(W0)
    check_teacher(v, W0.shape[-1])
    T, n, d = W0.shape
    t_eval = np.concatenate([[0.0], np.logspace(-2, np.log10(t_end), records - 1)])
    t_eval[-1] = t_end  # logspace's last point can exceed t_end by one ulp
    finals, snaps_per_trial = [], []
    for k in range(T):
        vk = v.cpu()

        def rhs(_, y):
            W = torch.from_numpy(y).view(1, n, d)
            return -Geometry(W, vk).grad().reshape(-1).numpy()

        sol = solve_ivp(rhs, (0.0, t_end), W0[k].cpu().numpy().reshape(-1), method="LSODA", t_eval=t_eval,
                        rtol=rtol, atol=atol)
        if not sol.success:
            raise RuntimeError(f"flow integration failed on trial {k}: {sol.message}")
        Ws = torch.from_numpy(sol.y.T.copy()).view(-1, n, d)  # (records, n, d)
        snaps_per_trial.append(snapshot(Ws, vk))
        finals.append(Ws[-1])
    stacked = {key: torch.stack([s[key] for s in snaps_per_trial], 0).numpy() for key in snaps_per_trial[0]}
    Wf = torch.stack(finals, 0)
    return Trajectory(t=t_eval, **stacked, W_final=Wf.numpy(),
                      dead=(torch.linalg.vector_norm(Wf, dim=-1) == 0).sum(-1).numpy())
