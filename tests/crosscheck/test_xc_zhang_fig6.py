"""Backs paper_repro.md, paper 001, the Fig. 6 row ("for N > 100 the test error decreases while pruning to
~r*/d, then grows"; reproduced qualitatively with `zhang-fig6`).  Second computation, with neither the IMP
loop nor AGD: scipy's trust-region least squares (exact Jacobian written here) fits the same network on the
same draws twice, on the teacher's own support (the mask IMP should approach) and dense, from the same
W_init.  What it shows, asserted on every draw at N = 1000: the converged fits order as the paper says (the
support-oracle error is below the dense one: pruning to r*/d helps), and IMP's best round is below its own
dense round; but the converged dense fit is already far better than anything IMP reaches (< 1 % of IMP's
best error), so the size of the dip in `zhang-fig6` is set by the AGD budget (1500 steps), not by the
statistics.  paper_repro.md states both."""

import numpy as np
import torch
from scipy.optimize import least_squares

from sim.zhang.sparse_teacher import SparseProblem, held_out_data, make_instance
from sim.zhang.diagrams import Fig6Cell, run_fig6

CELL = Fig6Cell(K=5, d=30, r_star=6, noise=1e-3, N=1000, rounds=8, prune_frac=0.2, init_std=0.1, n_test=2000,
                trials=3, max_iter=1500, eta=0.5, beta=0.2, tol=1e-8)


def _fit(X, y, W0, mask):
    """min (1/2N) sum (mean_j relu(w_j . x) - y)^2 over the weights on ``mask`` (K, d), from W0."""
    K, d = mask.shape
    idx = np.flatnonzero(mask.ravel())

    def unpack(p):
        W = np.zeros(K * d)
        W[idx] = p
        return W.reshape(K, d)

    def resid(p):
        return np.maximum(X @ unpack(p).T, 0.0).mean(1) - y

    def jac(p):
        act = (X @ unpack(p).T > 0).astype(float) / K  # (N, K)
        J = (act[:, :, None] * X[:, None, :]).reshape(len(y), K * d)
        return J[:, idx]
    sol = least_squares(resid, W0.ravel()[idx], jac=jac, method="trf", xtol=1e-12, ftol=1e-12, gtol=1e-12,
                        max_nfev=3000)
    return unpack(sol.x)


def test_imp_dip_matches_a_least_squares_fit_on_the_teachers_support():
    seed = 5
    imp = run_fig6(CELL, seed, "cpu")["test_err"]  # (trials, rounds + 1)
    p = SparseProblem(K=5, d=30, r=30, N=1000, r_star=6, noise=1e-3, trials=3)
    inst = make_instance(p, seed)
    Xt, yt = held_out_data(inst, 2000, seed + 7)
    gen = torch.Generator().manual_seed(seed + 3)
    W_init = (torch.randn(inst.W_star.shape, generator=gen, dtype=torch.float64) * 0.1).numpy()
    for b in range(3):
        X, y = inst.X[b].numpy(), inst.y[b].numpy()
        errs = {}
        for name, mask in (("oracle", inst.M_teacher[b].numpy()), ("dense", np.ones((5, 30), bool))):
            W = _fit(X, y, W_init[b] * mask, mask)
            g = np.maximum(Xt[b].numpy() @ W.T, 0.0).mean(1)
            errs[name] = float(np.mean((g - yt[b].numpy()) ** 2) / np.mean(yt[b].numpy() ** 2))
        best = imp[b].min()
        print(f"draw {b}: least squares oracle {errs['oracle']:.3g}, dense {errs['dense']:.3g}; "
              f"IMP (AGD) dense {imp[b, 0]:.3g}, best {best:.3g} at round {int(imp[b].argmin())}")
        assert errs["oracle"] < errs["dense"], (b, errs)
        assert best < imp[b, 0], (b, imp[b])
        assert errs["dense"] < 0.01 * best, (b, best, errs)
