"""How the batched AGD engine (:mod:`sim.zhang.agd`) lays out the products of one step of the sparse teacher-student
model (Zhang et al., paper 001, Sec. 5), and the rule that picks the layout from the shapes.

One AGD step needs, for every run, the pre-activations w_j^T x_{n, Omega_j} (forward) and the gradient
(1/(N K)) sum_n res_n 1{w_j^T x_n > 0} x_{n, Omega_j} (backward).  The *necessary* work is the support-only
count: 2 N K r multiply-adds per run and step (N K r forward, N K r backward), i.e.

    necessary flops per run-step = 4 N K r                                             (NECESSARY_FLOPS)

Two layouts compute exactly these quantities (same algorithm, only the summation order differs):

``dense``
    the masked dense form of eq. (4): weights (B, K, d) with zeros off the mask; per draw of the data one
    product X_g (N x d) @ [W_g1 .. W_gP]^T (d x P K) and its transpose for the gradient, then the mask.
    It performs d/r times the necessary multiply-adds, but in large well-shaped GEMMs.  It is today's
    engine (and the only layout for masks whose neurons have different numbers of inputs, e.g. after IMP).
``gathered``
    the paper's own coordinates (eq. 2): weights (B, K, r) on the support; the inputs of each neuron of each
    draw gathered once, X_{g, Omega_j} (N x r), and one batched product over the G K (draw, neuron) blocks,
    (N x r) @ (r x P) for the P runs sharing the draw, and its transpose (r x N) @ (N x P).  Exactly the
    necessary multiply-adds, in skinny products that run at a lower rate; it needs the runs of a draw to share
    the student mask and every neuron to have the same r (checked: :func:`gather_index`), and G K N r numbers
    for the gathered inputs.

Selection rule (:func:`choose_layout`, deterministic from the shapes): gathered when it is applicable and

    r / d  <  GATHER_BELOW  (= 0.4)

i.e. when the d/r saved multiply-adds outweigh the lower rate of the skinny products.  Measured on the 2-core
CPU (one thread, loaded machine; ms per step of the gradient, f64 / f32), K = 5, d = 500, N = 3000, 10 runs per
draw: r = 25: dense 30 / 10, gathered 6 / 2; r = 50: 28 / 12 vs 7 / 3.5; r = 100: 26 / 11 vs 12 / 7;
r = 300: 28 / 10 vs 38 / 19 (dense wins); one run per draw, r = 50: 82 / 32 vs 15 / 8.5; K = 5, d = 100,
r = 50: 3.9 / 1.9 vs 4.9 / 1.9 (a tie at r / d = 0.5); K = 10, d = 300, r = 40, 4 runs per draw: 9.6 / 3.6 vs
4.3 / 2.6.  The gathered products run at 0.3-0.45 of the dense product's rate in both precisions, hence the
threshold.  ``python -m sim.bench --suite sparse`` prints both layouts' rates for every cell so that the rule can
be re-checked on another machine; on CUDA the same rule is used (both layouts are memory-bound there at these
sizes, and gathering cuts the traffic by the same d/r).
"""

from __future__ import annotations

import torch

from sim.zhang.sparse_teacher import risk_grad

LAYOUTS = ("dense", "gathered")
GATHER_BELOW = 0.4  # r / d below which the gathered layout is chosen (measured, see the docstring)


def necessary_flops(N: int, K: int, r: int) -> int:
    """Support-only flops of one AGD step of one run: forward X_Omega w and gradient X_Omega^T (res * relu'),
    2 N K r multiply-adds = 4 N K r flops."""
    return 4 * N * K * r


def check_layout(layout: str) -> None:
    if layout not in LAYOUTS + ("auto",):
        raise ValueError(f"layout must be one of {('auto',) + LAYOUTS}, got {layout!r}")


def gather_index(M: torch.Tensor, P: int) -> torch.Tensor | None:
    """The support Omega_j of every neuron of every draw, (G, K, r) ascending, or None when the gathered
    layout cannot hold the mask (M (B, K, d), B = G P: neurons with different r, or runs of one draw with
    different masks)."""
    counts = M.sum(-1)
    r = int(counts.reshape(-1)[0])
    if r == 0 or bool((counts != r).any()):
        return None
    Mg = M.reshape(-1, P, *M.shape[1:])
    if P > 1 and not bool((Mg == Mg[:, :1]).all()):
        return None
    first = Mg[:, 0]
    return first.to(torch.int8).argsort(dim=-1, descending=True, stable=True)[..., :r].sort(-1).values


def choose_layout(d: int, r: int | None) -> str:
    """The rule above: ``gathered`` when applicable (r not None: every neuron has r inputs and the runs of a draw
    share the mask) and r / d < GATHER_BELOW, else ``dense``."""
    return "gathered" if r is not None and r / d < GATHER_BELOW else "dense"


def prepare_inputs(layout: str, X: torch.Tensor, idx: torch.Tensor | None, dtype: torch.dtype) -> torch.Tensor:
    """The inputs in the layout's form: dense X (G, N, d); gathered X_{g, Omega_j} as (G K, N, r)."""
    X = X.to(dtype)
    if layout == "dense":
        return X
    G, N, d = X.shape
    K, r = idx.shape[1:]
    Xg = torch.empty(G, K, N, r, dtype=dtype, device=X.device)
    for j in range(K):  # one neuron at a time: no (G, N, K, d) temporary
        Xg[:, j] = X.gather(2, idx[:, j, None, :].expand(G, N, r))
    return Xg.view(G * K, N, r)


def to_local(layout: str, W: torch.Tensor, idx_runs: torch.Tensor | None) -> torch.Tensor:
    """Weights (B, K, d) -> the layout's coordinates (dense: unchanged; gathered: (B, K, r) on Omega_j)."""
    return W if layout == "dense" else W.gather(2, idx_runs)


def to_full(layout: str, Wl: torch.Tensor, idx_runs: torch.Tensor | None, d: int) -> torch.Tensor:
    """The layout's coordinates -> (B, K, d), zero off the mask."""
    if layout == "dense":
        return Wl
    B, K, _ = Wl.shape
    return torch.zeros(B, K, d, dtype=Wl.dtype, device=Wl.device).scatter_(2, idx_runs, Wl)


def gradient(layout: str, Wl: torch.Tensor, Xp: torch.Tensor, y: torch.Tensor, M: torch.Tensor | None
             ) -> torch.Tensor:
    """Gradient of the empirical risk (2) in the layout's coordinates, for B = G P runs (P consecutive runs
    per draw).  dense: :func:`sim.zhang.sparse_teacher.risk_grad` (M the (B, K, d) mask in Xp's dtype); gathered:
    the same formula with the batched (draw, neuron) products."""
    if layout == "dense":
        return risk_grad(Wl, M, Xp, y)[1]
    B, K, r = Wl.shape
    GK, N, _ = Xp.shape
    G = GK // K
    P = B // G
    Wt = Wl.view(G, P, K, r).permute(0, 2, 3, 1).reshape(GK, r, P)
    pre = torch.bmm(Xp, Wt).view(G, K, N, P)  # w_j^T x_{n, Omega_j}
    res = torch.relu(pre).mean(1) - y.view(G, P, N).transpose(1, 2)  # (G, N, P): g(x_n) - y_n
    coef = torch.where(pre > 0, res[:, None], 0.0).view(GK, N, P)  # res_n relu'(w_j^T x_n)
    g = torch.bmm(coef.transpose(1, 2), Xp)  # (G K, P, r): rows of coef^T times X_Omega, contiguous reads
    return g.view(G, K, P, r).transpose(1, 2).reshape(B, K, r) / (N * K)


def bare_products(layout: str, Wl: torch.Tensor, Xp: torch.Tensor) -> None:
    """Only the two products of one step at the same shapes (the ceiling :mod:`sim.bench` compares against)."""
    if layout == "dense":
        G, N, d = Xp.shape
        B, K, _ = Wl.shape
        pre = Xp @ Wl.reshape(G, -1, d).transpose(1, 2)  # (G, N, P K)
        pre.transpose(1, 2) @ Xp  # (G, P K, d): the gradient product as risk_grad makes it
        return
    B, K, r = Wl.shape
    GK, N, _ = Xp.shape
    P = B // (GK // K)
    Wt = Wl.reshape(GK, r, P)
    pre = torch.bmm(Xp, Wt)
    torch.bmm(pre.transpose(1, 2), Xp)
