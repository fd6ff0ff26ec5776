"""Tensor initialization of Zhang et al. (paper 001, Sec. 4, Lemma 1) after Zhong et al. (2017),
Algorithm 1, batched over trials.

The paper modifies Zhong et al.'s moments by replacing x with x~ = (1/sqrt(K)) sum_j x_{Omega_j} in R^r
(its Appendix A is not in our copy; this module implements the modification as Sec. 4 prints it):

1. split the samples into S1, S2, S3 (``split=False``: use all samples for every moment);
2. P2 = E_S1[y (z z^T - I)] with z = S~^(-1/2) x~ (x~ whitened by its known covariance S~, see below;
   Hermite order j2 = 2: the first non-zero ReLU coefficient >= 2);
3. V = the K leading eigenvectors of P2 (by |eigenvalue|): the subspace of the directions;
4. R3 = E_S2[y H4(z)](V, V, V, alpha) with a random unit alpha: for ReLU m_3 = 0 (every odd Hermite
   coefficient >= 3 vanishes, ``theory.zhang.relu_moments``), so P3 uses the next non-zero moment, M4, as Zhong
   et al. do (j3 = 4);
5. decompose the K x K x K tensor R3 = sum_j c_j u_j^(x)3 (non-orthogonal u_j) by simultaneous
   diagonalization (Jennrich): the eigenvectors of R3(I,I,g1) R3(I,I,g2)^-1, polished by CP-ALS where the
   polish keeps the components apart (Zhong et al. use the KCL method; this is our substitute);
   directions abar_j = V u_j;
6. magnitudes and signs from the first moment on S3 (j1 = 1, m_1(s) = s/2): least squares
   E[y z] = sum_j c_j abar_j gives the signed vectors a_j = K c_j abar_j / m_1(1);
7. back to the weights, w_j = L_j^(-1) a_j, and to the neurons: the recovered vectors are unordered; the
   labelling is the one whose weights best reproduce the full first moment E[y x] = (m_1(1)/K) sum_j w_j
   (embedded in R^d), over all K! labellings (K <= 7; Hungarian on the per-neuron moments beyond).

Why L_j (the fix of 2026-11, ``tests/test_tensor_init_population.py``): z is jointly Gaussian with neuron
j's inputs, so w_j^T x_{Omega_j} = a_j^T z + (independent of z) with a_j = L_j w_j,
L_j = Cov(z, x_{Omega_j}) = S~^(-1/2) T^T E_j (T: x~ = T^T x; E_j selects Omega_j), and Stein's lemma gives
the exact population moments in z:

    M_k = E[y H_k(z)] = sum_j (1/K) m_k(||w_j||) rho_j^k abar_j^(x)k,     rho_j = ||a_j|| / ||w_j||.

Disjoint supports: L_j = I / sqrt(K); identical supports (dense): L_j = I; in both L_j is a multiple of I
and the directions of M_k are those of w_j.  With partly overlapping supports (the paper's random supports)
L_j is not, and the earlier version, which read abar_j as the direction of w_j (with a scalar coupling for
the magnitude), was wrong even on exact moments.  :class:`PopulationMoments` gives the exact moments from
the teacher, :class:`EmpiricalMoments` the sample estimates; both feed the same :func:`decompose`.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment

from sim.zhang.sparse_teacher import Instance, free_index
from theory.zhang.relu_moments import first_nonzero, m_numeric

CHUNK = 50_000  # samples per chunk when the moments are accumulated (memory: B * CHUNK * (d + K^2) floats)
MAX_ENUMERATE = 7  # enumerate all K! labellings up to this K


def coupling(idx: torch.Tensor) -> torch.Tensor:
    """s_j = (1/sqrt K) * mean over positions a of #{l : Omega_l(a) = Omega_j(a)}: how strongly x~ carries
    neuron j's inputs (B, K) (a diagnostic; the magnitudes use L_j)."""
    K = idx.shape[1]
    same = (idx[:, :, None, :] == idx[:, None, :, :]).to(torch.float64)  # (B, K, K, r)
    return same.sum(2).mean(-1) / math.sqrt(K)


def xtilde_covariance(idx: torch.Tensor) -> torch.Tensor:
    """Cov(x~) for x~ = (1/sqrt K) sum_j x_{Omega_j}: (1/K) sum_{l,m} 1{Omega_l(a) = Omega_m(b)}, (B, r, r).
    The identity for disjoint supports, K I when every neuron reads the same inputs."""
    K = idx.shape[1]
    same = (idx[:, :, None, :, None] == idx[:, None, :, None, :]).to(torch.float64)  # (B, K, K, r, r)
    return same.sum((1, 2)) / K


@dataclass(frozen=True)
class Support:
    """One network of a tensor-initialization grid: K neurons, d inputs, r inputs per neuron, support layout."""

    K: int
    d: int
    r: int
    layout: str  # "random" (drawn per neuron) or "disjoint"


def supports_of(values) -> tuple[Support, ...]:
    """A tuple of :class:`Support` from Supports or their plain data (a saved manifest's dicts)."""
    return tuple(v if isinstance(v, Support) else Support(**v) for v in values)


@dataclass
class Geometry:
    """The linear maps of the supports, per trial: x~ = T^T x (T: (B, d, r)), z = G^T x with G = T S~^(-1/2)
    (``whiten``) or G = T, and L (B, K, r, r) with L_j = Cov(z, x_{Omega_j}) = G[Omega_j]^T, so that
    a_j = L_j w_j is neuron j's direction in z."""

    idx: torch.Tensor  # (B, K, r)
    d: int
    G: torch.Tensor  # (B, d, r)
    L: torch.Tensor  # (B, K, r, r)

    @property
    def K(self) -> int:
        return self.idx.shape[1]

    @property
    def r(self) -> int:
        return self.idx.shape[2]


def geometry(idx: torch.Tensor, d: int, dtype=torch.float64, whiten: bool = True) -> Geometry:
    B, K, r = idx.shape
    T = torch.zeros(B, d, r, dtype=dtype, device=idx.device)
    for j in range(K):  # T[Omega_j(a), a] += 1/sqrt(K)
        T.scatter_add_(1, idx[:, j, None, :], torch.full((B, 1, r), 1 / math.sqrt(K), dtype=dtype,
                                                           device=idx.device))
    if whiten:
        ev, Q = torch.linalg.eigh(T.transpose(1, 2) @ T)
        G = T @ (Q * ev.clamp_min(1e-12).rsqrt()[:, None, :] @ Q.transpose(1, 2))
    else:
        G = T
    # L[b, j, c, a] = G[b, Omega_j(a), c]
    L = G.gather(1, idx.reshape(B, K * r, 1).expand(B, K * r, r)).view(B, K, r, r).transpose(2, 3)
    return Geometry(idx=idx, d=d, G=G, L=L)


# ------------------------------------------------------------------------------------------- moments
def hermite4_contracted(y: torch.Tensor, p: torch.Tensor, s: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
    """Empirical E[y H4(x)](V, V, V, alpha) from p = V^T x (B, n, K), s = alpha^T x (B, n), a = V^T alpha
    (B, K), with V^T V = I:  p(x)p(x)p s - sym(p(x)p(x)a) - s sym(p(x)I) + sym(I(x)a)."""
    return _h4_combine(*_h4_sums(y, p, s), y.shape[1], a)


def _h4_sums(y, p, s):
    t1 = torch.einsum("bn,bni,bnj,bnk->bijk", y * s, p, p, p)
    Q = torch.einsum("bn,bni,bnj->bij", y, p, p)
    q = torch.einsum("bn,bni->bi", y * s, p)
    return t1, Q, q, y.sum(1)


def _h4_combine(t1, Q, q, ysum, n, a):
    t1, Q, q, ybar = t1 / n, Q / n, q / n, ysum / n
    K = Q.shape[-1]
    eye = torch.eye(K, dtype=Q.dtype, device=Q.device)
    t2 = Q[..., None] * a[:, None, None, :] + Q[:, :, None, :] * a[:, None, :, None] + \
        Q[:, None, :, :] * a[:, :, None, None]
    t3 = q[:, :, None, None] * eye[None, None] + q[:, None, :, None] * eye[None, :, None, :] + \
        q[:, None, None, :] * eye[None, :, :, None]
    Ia = eye[None, :, :, None] * a[:, None, None, :] + eye[None, :, None, :] * a[:, None, :, None] + \
        eye[None, None, :, :] * a[:, :, None, None]
    return t1 - t2 - t3 + ybar[:, None, None, None] * Ia


class EmpiricalMoments:
    """Sample moments of (z, y) on the three parts S1, S2, S3 of the data (accumulated in chunks)."""

    def __init__(self, X: torch.Tensor, y: torch.Tensor, geom: Geometry, split: bool = True, chunk: int = CHUNK):
        self.X, self.y, self.G, self.chunk = X, y, geom.G, chunk
        N = X.shape[1]
        self.parts = [(0, N // 3), (N // 3, 2 * N // 3), (2 * N // 3, N)] if split else [(0, N)] * 3

    def _chunks(self, part):
        lo, hi = self.parts[part]
        for a in range(lo, hi, self.chunk):
            b = min(a + self.chunk, hi)
            yield self.X[:, a:b], self.y[:, a:b]

    def _n(self, part):
        return self.parts[part][1] - self.parts[part][0]

    def p2(self) -> torch.Tensor:
        r = self.G.shape[-1]
        acc, ysum = 0, 0
        for X, y in self._chunks(0):
            z = X @ self.G
            acc = acc + torch.einsum("bn,bni,bnj->bij", y, z, z)
            ysum = ysum + y.sum(1)
        n = self._n(0)
        return acc / n - (ysum / n)[:, None, None] * torch.eye(r, dtype=self.X.dtype, device=self.X.device)

    def p4(self, V: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
        sums = None
        for X, y in self._chunks(1):
            z = X @ self.G
            part = _h4_sums(y, z @ V, torch.einsum("bnr,br->bn", z, alpha))
            sums = part if sums is None else tuple(u + v for u, v in zip(sums, part))
        return _h4_combine(*sums, self._n(1), torch.einsum("brk,br->bk", V, alpha))

    def m1(self) -> torch.Tensor:
        return sum(torch.einsum("bn,bnr->br", y, X @ self.G) for X, y in self._chunks(2)) / self._n(2)

    def m1_full(self) -> torch.Tensor:
        return sum(torch.einsum("bn,bnd->bd", y, X) for X, y in self._chunks(2)) / self._n(2)


class PopulationMoments:
    """The exact moments of y = (1/K) sum_j relu(w_j^T x_{Omega_j}) in z (module docstring):
    M_k = sum_j (1/K) m_k(||w_j||) rho_j^k abar_j^(x)k with the m_k of ``theory.zhang.relu_moments``, and
    E[y x] = sum_j (1/K) m_1(||w_j||) wbar_j (embedded in R^d).  ``W_local`` (B, K, r): the teacher's weights
    on the student's supports (``geom.idx``)."""

    def __init__(self, W_local: torch.Tensor, geom: Geometry):
        self.geom = geom
        K = geom.K
        self.K = K
        a = torch.einsum("bjca,bja->bjc", geom.L, W_local)
        s = W_local.norm(dim=-1)  # (B, K)
        an = a.norm(dim=-1)
        self.abar = a / an[..., None]
        rho = an / s
        sn = s.cpu().numpy()
        self.mu = {k: torch.as_tensor(m_numeric(k, sn), dtype=a.dtype, device=a.device) * rho ** k / K
                   for k in (1, 2, 4)}
        self.full = torch.zeros(W_local.shape[0], K, geom.d, dtype=a.dtype, device=a.device).scatter_(
            2, geom.idx, W_local).sum(1) * float(m_numeric(1, 1.0)) / K  # m_1(s) wbar = m_1(1) w

    def p2(self) -> torch.Tensor:
        return torch.einsum("bj,bjr,bjs->brs", self.mu[2], self.abar, self.abar)

    def p4(self, V: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
        u = torch.einsum("brk,bjr->bjk", V, self.abar)
        return torch.einsum("bj,bji,bjk,bjl->bikl", self.mu[4] * torch.einsum("bjr,br->bj", self.abar, alpha),
                            u, u, u)

    def m1(self) -> torch.Tensor:
        return torch.einsum("bj,bjr->br", self.mu[1], self.abar)

    def m1_full(self) -> torch.Tensor:
        return self.full


# ------------------------------------------------------------------------------------------- decomposition
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


def _null_space(L: torch.Tensor, rtol: float = 1e-9) -> tuple[torch.Tensor, torch.Tensor]:
    """Pseudo-inverses L_j^+ (B, K, r, r) and null-space bases (B, K, r, r; zero columns where L_j w != 0):
    the directions of w_j that z does not see."""
    U, S, Vh = torch.linalg.svd(L)
    keep = S > rtol * S[..., :1]
    Sinv = torch.where(keep, 1 / S.clamp_min(1e-300), torch.zeros_like(S))
    pinv = Vh.transpose(-1, -2) @ (Sinv[..., None] * U.transpose(-1, -2))
    null = Vh.transpose(-1, -2) * (~keep).to(L.dtype)[..., None, :]
    return pinv, null


def _embed(geom: Geometry, v: torch.Tensor) -> torch.Tensor:
    """v (B, K, ..., r) on neuron k's inputs -> (B, K, ..., d)."""
    shape = v.shape
    B, K, r = shape[0], shape[1], shape[-1]
    flat = v.reshape(B, K, -1, r)
    out = torch.zeros(B, K, flat.shape[2], geom.d, dtype=v.dtype, device=v.device).scatter_(
        3, geom.idx[:, :, None, :].expand_as(flat), flat)
    return out.reshape(*shape[:-1], geom.d)


def _assemble(a: torch.Tensor, geom: Geometry, full: torch.Tensor) -> tuple[torch.Tensor, np.ndarray, np.ndarray]:
    """Weights from the signed z-vectors a (B, K, r) and the full first moment E[y x] (B, d).

    Neuron k given vector i: w = L_k^+ a_i + (a null-space part of L_k).  The null-space parts (x~ does not
    see them; empty for disjoint or identical supports) are fitted by least squares to
    sum_k w_k = (K / m_1(1)) E[y x], and the labelling pi is the one with the smallest residual of that
    equation (all K! labellings for K <= 7; beyond, Hungarian on the per-neuron cosines).  Returns W_local
    (B, K, r), pi (B, K) and the rank deficit of the null-space fit (B,) (0: the labelling and weights are
    determined by the moments)."""
    B, K, r = a.shape
    pinv, null = _null_space(geom.L)
    cand = torch.einsum("bkra,bia->bkir", pinv, a)  # (B, K, K, r)
    emb = _embed(geom, cand)  # (B, K, K, d)
    F = full * (K / float(m_numeric(1, 1.0)))
    Nmat = _embed(geom, null.transpose(-1, -2)).reshape(B, K * r, geom.d).transpose(1, 2)  # (B, d, K r)
    Npinv = torch.linalg.pinv(Nmat, rtol=1e-9)
    Pperp = torch.eye(geom.d, dtype=a.dtype, device=a.device) - Nmat @ Npinv
    n_null = (null.norm(dim=-2) > 0).sum((1, 2))
    deficit = (n_null - torch.linalg.matrix_rank(Nmat, rtol=1e-9)).cpu().numpy()
    if K <= MAX_ENUMERATE:
        perms = torch.tensor(list(itertools.permutations(range(K))), device=a.device)  # (nP, K)
        pred = emb[:, torch.arange(K, device=a.device)[None, :], perms].sum(2)  # (B, nP, d)
        res = torch.einsum("bde,bpe->bpd", Pperp, F[:, None, :] - pred)
        pi = perms[res.pow(2).sum(-1).argmin(1)]
    else:
        own = F[:, None, :].expand(B, K, geom.d).gather(2, geom.idx)
        score = torch.einsum("bkr,bkir->bki", own / own.norm(dim=-1, keepdim=True).clamp_min(1e-300),
                             cand / cand.norm(dim=-1, keepdim=True).clamp_min(1e-300)).cpu().numpy()
        out = np.zeros((B, K), int)
        for b in range(B):
            rows, cols = linear_sum_assignment(-score[b])
            out[b, rows] = cols
        pi = torch.as_tensor(out, device=a.device)
    ar = torch.arange(B, device=a.device)[:, None]
    W_local = cand[ar, torch.arange(K, device=a.device)[None, :], pi]  # (B, K, r)
    t = Npinv @ (F - _embed(geom, W_local).sum(1))[..., None]  # (B, K r, 1)
    W_local = W_local + torch.einsum("bkra,bka->bkr", null, t.view(B, K, r))
    return W_local, pi.cpu().numpy(), deficit


def decompose(mom, geom: Geometry, gen: torch.Generator) -> tuple[torch.Tensor, dict]:
    """Steps 2-7 on the moments ``mom`` (:class:`EmpiricalMoments` or :class:`PopulationMoments`):
    W_local (B, K, r) and the pieces (V, the z-vectors a_i, the labelling)."""
    K, r = geom.K, geom.r
    P2 = mom.p2()
    B = P2.shape[0]
    evals, evecs = torch.linalg.eigh(P2)
    top = evals.abs().argsort(-1, descending=True)[:, :K]
    V = evecs.gather(2, top[:, None, :].expand(B, r, K))  # (B, r, K)
    alpha = torch.randn(B, r, generator=gen, dtype=P2.dtype, device=P2.device)
    alpha = alpha / alpha.norm(dim=1, keepdim=True)
    R3 = mom.p4(V, alpha)
    U0 = jennrich(R3, gen)
    U1 = cp_als(R3, U0)
    # ALS can collapse two components onto one; keep its polish only where the components stay well apart
    ok = torch.linalg.cond(U1) < 100
    U = torch.where(ok[:, None, None], U1, U0)
    D = V @ U
    D = D / D.norm(dim=1, keepdim=True).clamp_min(1e-300)  # (B, r, K) unit directions abar_i
    M1 = mom.m1()
    c = torch.linalg.lstsq(D, M1[..., None]).solution[..., 0]  # (B, K)
    # nearly collinear directions make the joint least squares explode: project one by one there
    ill = torch.linalg.cond(D) > 100
    c = torch.where(ill[:, None], torch.einsum("brk,br->bk", D, M1), c)
    a = (D * (K * c / float(m_numeric(1, 1.0)))[:, None, :]).transpose(1, 2)  # (B, K, r): signed a_i
    W_local, pi, deficit = _assemble(a, geom, mom.m1_full())
    return W_local, {"V": V, "a": a, "assignment": pi, "null_deficit": deficit}


def _checked_orders():
    j2, j3 = first_nonzero(2), first_nonzero(3)
    if (j2, j3) != (2, 4):
        raise RuntimeError(f"ReLU moment orders changed: j2={j2}, j3={j3}; this implementation uses M2 and M4")


def _diagnostics(inst: Instance, geom: Geometry, V: torch.Tensor, info: dict) -> dict:
    """Subspace error: the largest distance of a true z-direction abar_j = L_j w*_j / ||.|| from span V."""
    a = torch.einsum("bjca,bja->bjc", geom.L, inst.W_star.gather(2, geom.idx))
    an = a / a.norm(dim=-1, keepdim=True).clamp_min(1e-300)
    resid = an - torch.einsum("brk,bjk->bjr", V, torch.einsum("bjr,brk->bjk", an, V))
    return {"subspace_error": resid.norm(dim=-1).max(-1).values.cpu().numpy(), "assignment": info["assignment"],
            "coupling": coupling(geom.idx).cpu().numpy(), "null_dim": (_null_space(geom.L)[1].norm(dim=-2) > 0
                                                                      ).sum((1, 2)).cpu().numpy(),
            "null_deficit": info["null_deficit"]}


def tensor_init(inst: Instance, seed: int = 0, split: bool = True, whiten: bool = True
                ) -> tuple[torch.Tensor, dict]:
    """W(0) (B, K, d) on the student mask from the training data of ``inst``; ``info`` holds the pieces
    (subspace error, the assignment) for diagnostics.

    ``whiten`` (ours): the Hermite moments assume an isotropic input, but x~ has covariance S~ (identity
    only for disjoint supports; K I for a dense network), so x~ is whitened by the known S~^(-1/2)
    before the moments are taken.  ``whiten=False`` uses x~ as printed (biased unless the supports are
    disjoint)."""
    _checked_orders()
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
    geom = geometry(idx, d, X.dtype, whiten)
    W_local, info = decompose(EmpiricalMoments(X, y, geom, split), geom, gen)
    W0 = torch.zeros_like(inst.W_star).scatter_(2, idx, W_local)
    return W0, _diagnostics(inst, geom, info["V"], info)


def population_init(inst: Instance, seed: int = 0) -> tuple[torch.Tensor, dict]:
    """The same decomposition (:func:`decompose`, same random alpha and slices for the same seed) on the
    exact population moments of the teacher of ``inst``: the N -> infinity limit of :func:`tensor_init`."""
    _checked_orders()
    gen = torch.Generator(device=inst.W_star.device.type)
    gen.manual_seed(int(seed))
    idx = free_index(inst.M)
    if idx.shape[-1] < inst.K:
        raise ValueError(f"tensor initialization needs r >= K, got r = {idx.shape[-1]}, K = {inst.K}")
    geom = geometry(idx, inst.W_star.shape[-1], inst.W_star.dtype, True)
    W_local, info = decompose(PopulationMoments(inst.W_star.gather(2, idx), geom), geom, gen)
    W0 = torch.zeros_like(inst.W_star).scatter_(2, idx, W_local)
    return W0, _diagnostics(inst, geom, info["V"], info)
