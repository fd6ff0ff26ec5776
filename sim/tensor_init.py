"""Tensor initialization of Zhang et al. (paper 001, Sec. 4, Lemma 1) after Zhong et al. (2017),
Algorithm 1, batched over trials.

The paper modifies Zhong et al.'s moments by replacing x with x~ = (1/sqrt(K)) sum_j x_{Omega_j} in R^r
(its Appendix A is not in our copy; this module implements the modification as Sec. 4 prints it):

1. split the samples into S1, S2, S3 (``split=False``: use all samples for every moment);
2. P2 = E_S1[y (x~ x~^T - I)] (Hermite order j2 = 2: the first non-zero ReLU coefficient >= 2);
3. V = the K leading eigenvectors of P2 (by |eigenvalue|): the subspace of the directions;
4. R3 = E_S2[y H4(x~)](V, V, V, alpha) with a random unit alpha: for ReLU m_3 = 0 (every odd Hermite
   coefficient >= 3 vanishes, ``theory.relu_moments``), so P3 uses the next non-zero moment, M4, as Zhong
   et al. do (j3 = 4);
5. decompose the K x K x K tensor R3 = sum_j c_j u_j^(x)3 (non-orthogonal u_j) by simultaneous
   diagonalization (Jennrich): the eigenvectors of R3(I,I,g1) R3(I,I,g2)^-1, polished by CP-ALS where the
   polish keeps the components apart (Zhong et al. use the KCL method; this is our substitute);
   directions wbar_j = V u_j;
6. magnitudes and signs from the first moment on S3 (j1 = 1, m_1(s) = s/2): least squares
   E[y x~] = sum_j c_j wbar_j, then ||w_j|| = K c_j / (s_j m_1(1)) where s_j is the coupling of x~ to
   neuron j's inputs (1/sqrt(K) for disjoint supports, sqrt(K) when every neuron reads all d inputs);
   a negative c_j flips the direction;
7. the recovered directions are unordered; each is given to the neuron whose own first moment
   E[y x_{Omega_j}] it matches best (Hungarian assignment).  With identical supports (dense) any
   assignment is a global minimizer.

Exact when the supports are disjoint (x~ ~ N(0, I_r)) or identical (dense); with partly overlapping
supports x~ is not isotropic and the moments are biased (measured by ``zhang-tensor-init``).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment

from sim.sparse_teacher import Instance, free_index, gathered
from theory.relu_moments import first_nonzero, m_numeric


def coupling(idx: torch.Tensor) -> torch.Tensor:
    """s_j = (1/sqrt K) * mean over positions a of #{l : Omega_l(a) = Omega_j(a)}: how strongly x~ carries
    neuron j's inputs (B, K)."""
    K = idx.shape[1]
    same = (idx[:, :, None, :] == idx[:, None, :, :]).to(torch.float64)  # (B, K, K, r)
    return same.sum(2).mean(-1) / math.sqrt(K)


def xtilde_covariance(idx: torch.Tensor) -> torch.Tensor:
    """Cov(x~) for x~ = (1/sqrt K) sum_j x_{Omega_j}: (1/K) sum_{l,m} 1{Omega_l(a) = Omega_m(b)}, (B, r, r).
    The identity for disjoint supports, K I when every neuron reads the same inputs."""
    K = idx.shape[1]
    same = (idx[:, :, None, :, None] == idx[:, None, :, None, :]).to(torch.float64)  # (B, K, K, r, r)
    return same.sum((1, 2)) / K


def hermite4_contracted(y: torch.Tensor, p: torch.Tensor, s: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
    """Empirical E[y H4(x)](V, V, V, alpha) from p = V^T x (B, n, K), s = alpha^T x (B, n), a = V^T alpha
    (B, K), with V^T V = I:  p(x)p(x)p s - sym(p(x)p(x)a) - s sym(p(x)I) + sym(I(x)a)."""
    n = y.shape[1]
    K = p.shape[-1]
    eye = torch.eye(K, dtype=p.dtype, device=p.device)
    t1 = torch.einsum("bn,bni,bnj,bnk->bijk", y * s, p, p, p) / n
    Q = torch.einsum("bn,bni,bnj->bij", y, p, p) / n
    q = torch.einsum("bn,bni->bi", y * s, p) / n
    ybar = y.mean(1)
    t2 = Q[..., None] * a[:, None, None, :] + Q[:, :, None, :] * a[:, None, :, None] + \
        Q[:, None, :, :] * a[:, :, None, None]
    t3 = q[:, :, None, None] * eye[None, None] + q[:, None, :, None] * eye[None, :, None, :] + \
        q[:, None, None, :] * eye[None, :, :, None]
    Ia = eye[None, :, :, None] * a[:, None, None, :] + eye[None, :, None, :] * a[:, None, :, None] + \
        eye[None, None, :, :] * a[:, :, None, None]
    return t1 - t2 - t3 + ybar[:, None, None, None] * Ia


def jennrich(R: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Components u_j (columns, unit norm) of a symmetric K x K x K tensor sum_j c_j u_j^(x)3 with
    linearly independent u_j, by simultaneous diagonalization; batched (B, K, K, K) -> (B, K, K)."""
    B, K = R.shape[:2]
    g1 = torch.randn(B, K, generator=gen, dtype=R.dtype, device=R.device)
    g2 = torch.randn(B, K, generator=gen, dtype=R.dtype, device=R.device)
    A = torch.einsum("bijk,bk->bij", R, g1)
    C = torch.einsum("bijk,bk->bij", R, g2)
    ev, U = torch.linalg.eig(A @ torch.linalg.pinv(C))
    U = U.real
    return U / U.norm(dim=1, keepdim=True).clamp_min(1e-300)


def cp_als(R: torch.Tensor, U: torch.Tensor, iters: int = 30) -> torch.Tensor:
    """Polish the components U (B, K, K) of R = sum_j c_j u_j^(x)3 by alternating least squares on the
    three factors (started from U), then average the factors (up to sign) and normalize."""
    A = [U.clone(), U.clone(), U.clone()]
    B, K = U.shape[:2]
    unfold = [R.reshape(B, K, K * K), R.permute(0, 2, 1, 3).reshape(B, K, K * K),
              R.permute(0, 3, 1, 2).reshape(B, K, K * K)]

    def khatri_rao(P, Q):  # (B, K, R), (B, K, R) -> (B, K K, R), row index (p, q) -> p K + q
        return (P[:, :, None, :] * Q[:, None, :, :]).reshape(B, K * K, -1)

    for _ in range(iters):
        for m in range(3):
            o1, o2 = [A[i] for i in range(3) if i != m]
            kr = khatri_rao(o1, o2)
            gram = (o1.transpose(1, 2) @ o1) * (o2.transpose(1, 2) @ o2)
            A[m] = unfold[m] @ kr @ torch.linalg.pinv(gram)
    out = A[0] / A[0].norm(dim=1, keepdim=True).clamp_min(1e-300)
    for m in (1, 2):
        Am = A[m] / A[m].norm(dim=1, keepdim=True).clamp_min(1e-300)
        out = out + Am * torch.sign((Am * out).sum(1, keepdim=True))
    return out / out.norm(dim=1, keepdim=True).clamp_min(1e-300)


def tensor_init(inst: Instance, seed: int = 0, split: bool = True, whiten: bool = True
                ) -> tuple[torch.Tensor, dict]:
    """W(0) (B, K, d) on the student mask from the training data of ``inst``; ``info`` holds the pieces
    (subspace error, the assignment) for diagnostics.

    ``whiten`` (ours): the Hermite moments assume an isotropic input, but x~ has covariance S~ (identity
    only for disjoint supports; K I for a dense network), so x~ is whitened by the known S~^(-1/2)
    before the moments are taken.  ``whiten=False`` uses x~ as printed."""
    j2, j3 = first_nonzero(2), first_nonzero(3)
    if (j2, j3) != (2, 4):
        raise RuntimeError(f"ReLU moment orders changed: j2={j2}, j3={j3}; this implementation uses M2 and M4")
    X, y = inst.X_per_run(), inst.y
    B, N, d = X.shape
    K = inst.K
    if N < 3 * K:
        raise ValueError(f"N = {N} samples are too few for the three moment estimates (need >= {3 * K})")
    gen = torch.Generator(device=X.device.type)
    gen.manual_seed(int(seed))
    idx = free_index(inst.M)
    r = idx.shape[-1]
    if r < K:
        raise ValueError(f"tensor initialization needs r >= K (the K directions span a K-dim subspace of R^r); "
                         f"got r = {r}, K = {K}")
    Xg = gathered(X, idx)  # (B, N, K, r)
    xt = Xg.sum(2) / math.sqrt(K)  # (B, N, r)
    cov = xtilde_covariance(idx).to(X.dtype)
    if whiten:
        ev, Q = torch.linalg.eigh(cov)
        xt = xt @ (Q * ev.clamp_min(1e-12).rsqrt()[:, None, :] @ Q.transpose(1, 2))
        scale = cov.diagonal(dim1=1, dim2=2).mean(-1).sqrt()  # x~ ~ scale * z in the isotropic cases
    else:
        scale = torch.ones(B, dtype=X.dtype, device=X.device)
    parts = [slice(0, N // 3), slice(N // 3, 2 * N // 3), slice(2 * N // 3, N)] if split else [slice(0, N)] * 3
    s1, s2, s3 = parts
    # 2-3: second moment and its leading K-dim eigenspace
    x1, y1 = xt[:, s1], y[:, s1]
    P2 = torch.einsum("bn,bni,bnj->bij", y1, x1, x1) / x1.shape[1] - y1.mean(1)[:, None, None] * torch.eye(
        r, dtype=X.dtype, device=X.device)
    evals, evecs = torch.linalg.eigh(P2)
    top = evals.abs().argsort(-1, descending=True)[:, :K]
    V = evecs.gather(2, top[:, None, :].expand(B, r, K))  # (B, r, K)
    # 4: fourth moment contracted with a random alpha, in the K-dim subspace
    alpha = torch.randn(B, r, generator=gen, dtype=X.dtype, device=X.device)
    alpha = alpha / alpha.norm(dim=1, keepdim=True)
    x2, y2 = xt[:, s2], y[:, s2]
    R3 = hermite4_contracted(y2, x2 @ V, torch.einsum("bnr,br->bn", x2, alpha),
                             torch.einsum("brk,br->bk", V, alpha))
    # 5: components
    U0 = jennrich(R3, gen)
    U1 = cp_als(R3, U0)
    # ALS can collapse two components onto one; keep its polish only where the components stay well apart
    ok = torch.linalg.cond(U1) < 100
    U = torch.where(ok[:, None, None], U1, U0)
    D = V @ U  # (B, r, K) directions
    D = D / D.norm(dim=1, keepdim=True).clamp_min(1e-300)
    # 6: magnitudes and signs from the first moment
    x3, y3 = xt[:, s3], y[:, s3]
    M1 = torch.einsum("bn,bnr->br", y3, x3) / x3.shape[1]
    c = torch.linalg.lstsq(D, M1[..., None]).solution[..., 0]  # (B, K)
    # nearly collinear directions make the joint least squares explode: project one by one there
    ill = torch.linalg.cond(D) > 100
    c = torch.where(ill[:, None], torch.einsum("brk,br->bk", D, M1), c)
    D = D * torch.sign(c)[:, None, :]
    coup = coupling(idx).to(X.dtype)  # (B, K)
    m1 = float(m_numeric(1, 1.0))
    # 7: assign directions to neurons by their own first moments E[y x_{Omega_j}]
    own = torch.einsum("bn,bnkr->bkr", y3, Xg[:, s3]) / x3.shape[1]  # (B, K, r)
    own = own / own.norm(dim=-1, keepdim=True).clamp_min(1e-300)
    score = torch.einsum("bkr,bri->bki", own, D).cpu().numpy()  # neuron k vs direction i
    W_local = torch.zeros(B, K, r, dtype=X.dtype, device=X.device)
    assignment = np.zeros((B, K), int)
    for b in range(B):
        rows, cols = linear_sum_assignment(-score[b])
        assignment[b, rows] = cols
        for k, i in zip(rows, cols):
            W_local[b, k] = D[b, :, i] * (K * c[b, i].abs() * scale[b] / (coup[b, k] * m1))
    W0 = torch.zeros_like(inst.W_star).scatter_(2, idx, W_local)
    # diagnostics: distance of the true directions from the estimated subspace
    Wl_star = inst.W_star.gather(2, idx)
    Wn = Wl_star / Wl_star.norm(dim=-1, keepdim=True).clamp_min(1e-300)
    resid = Wn - torch.einsum("brk,bjk->bjr", V, torch.einsum("bjr,brk->bjk", Wn, V))
    info = {"subspace_error": resid.norm(dim=-1).max(-1).values.cpu().numpy(), "assignment": assignment,
            "coupling": coup.cpu().numpy()}
    return W0, info
