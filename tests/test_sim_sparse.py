"""Paper 001 (Zhang et al.): the sparse teacher-student model, batched AGD, tensor initialization, fits."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from sim.zhang.agd import AGD, run_agd
from sim.zhang.sparse_reference import agd_one, risk_grad_one
from sim.zhang.sparse_teacher import (SparseProblem, check_student_mask, free_index, hessian, init_at_distance,
                                make_instance, relative_error, relative_error_perm, risk, risk_grad)


def _small(trials=3, **kw):
    p = dict(K=3, d=12, r=5, N=200, trials=trials)
    p.update(kw)
    return make_instance(SparseProblem(**p), seed=4)


def test_gradient_and_hessian_match_autograd_and_finite_differences():
    inst = _small(r_star=3, r=5)
    W = init_at_distance(inst.W_star, inst.M, 0.3, 1)
    _, g = risk_grad(W, inst.M.double(), inst.X, inst.y)
    Wv = W.clone().requires_grad_(True)
    risk(Wv * inst.M, inst.X, inst.y).sum().backward()
    assert torch.allclose(g, Wv.grad * inst.M, atol=1e-14, rtol=1e-10)
    # finite differences of the risk in a few free coordinates
    idx = free_index(inst.M)
    h = 1e-6
    for (b, j, a) in [(0, 0, 0), (1, 2, 3), (2, 1, 4)]:
        i = int(idx[b, j, a])
        E = torch.zeros_like(W)
        E[b, j, i] = h
        fd = (risk(W + E, inst.X, inst.y) - risk(W - E, inst.X, inst.y))[b] / (2 * h)
        assert abs(float(fd) - float(g[b, j, i])) < 1e-8
    # Hessian: autograd of the gradient in local coordinates, and finite differences of the gradient
    H = hessian(W, inst.M, inst.X)
    b = 1
    loc = W[b].gather(1, idx[b]).reshape(-1)

    def f(v):
        Wb = torch.zeros_like(W[b]).scatter(1, idx[b], v.view(3, 5))
        return risk(Wb[None], inst.X[b:b + 1], inst.y[b:b + 1])[0]

    H_auto = torch.autograd.functional.hessian(f, loc)
    assert torch.allclose(H[b], H_auto, atol=1e-12)

    def grad_local(v):
        Wb = torch.zeros_like(W[b]).scatter(1, idx[b], v.view(3, 5))
        return risk_grad(Wb[None], inst.M[b:b + 1].double(), inst.X[b:b + 1], inst.y[b:b + 1])[1][0].gather(1, idx[b]).reshape(-1)

    col = 7
    e = torch.zeros_like(loc)
    e[col] = 1e-7
    fd_col = (grad_local(loc + e) - grad_local(loc - e)) / 2e-7
    assert torch.allclose(fd_col, H[b][:, col], atol=1e-6)


def test_numpy_oracle_risk_and_batched_agd_agree():
    inst = _small(trials=4)
    W0 = init_at_distance(inst.W_star, inst.M, 0.8, 2)
    agd = AGD(eta=0.5, beta=0.2, max_iter=400, tol=1e-6, precision="float64")  # the oracle's arithmetic
    res = run_agd(inst, W0, agd)
    idx = free_index(inst.M).numpy()
    for b in range(4):
        omegas = [idx[b, j] for j in range(3)]
        X, y = inst.X[b].numpy(), inst.y[b].numpy()
        Wl = [W0[b, j].numpy()[omegas[j]] for j in range(3)]
        f_ref, g_ref = risk_grad_one(Wl, omegas, X, y)
        f, g = risk_grad(W0[b:b + 1], inst.M[b:b + 1].double(), inst.X[b:b + 1], inst.y[b:b + 1])
        assert abs(float(f[0]) - f_ref) < 1e-14
        for j in range(3):
            assert np.allclose(g[0, j].numpy()[omegas[j]], g_ref[j], atol=1e-15)
        W_ref, t_ref, stopped_ref = agd_one(Wl, omegas, X, y, agd.eta, agd.beta, agd.max_iter, agd.tol)
        assert res.iters[b] == t_ref and res.stopped[b] == stopped_ref
        for j in range(3):
            assert np.allclose(res.W[b, j].numpy()[omegas[j]], W_ref[j], atol=1e-12)


def test_runs_sharing_a_draw_match_the_same_runs_with_their_own_copy_of_the_data():
    """runs_per_draw = P: one matmul per draw for its P runs.  The oracle is the same instance with X copied
    for every run (one product per run).  The draw holds runs that stop early, a run that runs to the
    cap, and a run whose start is non-finite (diverged at once: it must not disturb the others)."""
    lams = [0.2, 0.6, 6.0]
    shared = make_instance(SparseProblem(K=3, d=12, r=4, N=150, trials=3, runs_per_draw=len(lams)), seed=5)
    single = make_instance(SparseProblem(K=3, d=12, r=4, N=150, trials=3), seed=5)
    assert shared.B == 9 and shared.draws == 3 and shared.X.shape == (3, 150, 12)
    assert torch.equal(shared.X, single.X) and torch.equal(shared.W_star[::3], single.W_star)  # same stream
    copied = replace(shared, X=shared.X_per_run())
    W0 = init_at_distance(shared.W_star, shared.M, torch.tensor(lams * 3, dtype=torch.float64), 6)
    W0[4] = float("nan")
    f_s, g_s = risk_grad(W0, shared.M.double(), shared.X, shared.y)
    f_c, g_c = risk_grad(W0, copied.M.double(), copied.X, copied.y)
    ok = torch.isfinite(f_c)
    assert torch.allclose(f_s[ok], f_c[ok], rtol=1e-13) and torch.allclose(g_s[ok], g_c[ok], rtol=1e-12, atol=1e-16)
    agd = AGD(eta=0.5, beta=0.2, max_iter=1500, tol=1e-7, record_every=50)
    a, b = run_agd(shared, W0, agd), run_agd(copied, W0, agd)
    assert a.diverged[4] and b.diverged[4] and a.diverged.sum() == 1
    assert (a.iters[a.stopped] < agd.max_iter).all() and a.stopped.sum() >= 3 and (a.iters == agd.max_iter).any()
    assert np.array_equal(a.iters, b.iters) and np.array_equal(a.stopped, b.stopped)
    fin = ~a.diverged
    assert np.allclose(a.rel_err[fin], b.rel_err[fin], rtol=1e-8, atol=1e-14)
    assert np.allclose(a.history[fin], b.history[fin], rtol=1e-8, atol=1e-14)
    assert np.allclose(a.train_risk[fin], b.train_risk[fin], rtol=1e-8, atol=1e-20)


def test_agd_recovers_the_teacher_and_momentum_is_faster():
    inst = _small(trials=4, N=400)
    W0 = init_at_distance(inst.W_star, inst.M, 0.5, 3)
    fast = run_agd(inst, W0, AGD(eta=0.5, beta=0.2, max_iter=5000))
    slow = run_agd(inst, W0, AGD(eta=0.5, beta=0.0, max_iter=5000))
    ok = (fast.rel_err < 1e-4) & (slow.rel_err < 1e-4)
    assert ok.sum() >= 3  # a trial with a nearly flat direction can stop early (rule: relative change < tol)
    assert fast.stopped[ok].all() and (fast.iters[ok] < slow.iters[ok]).all()


def test_algorithm_as_stated_takes_one_step_per_subset():
    inst = _small(trials=2, N=4000, K=2, r=3, d=8)
    W0 = init_at_distance(inst.W_star, inst.M, 0.3, 3)
    res = run_agd(inst, W0, AGD(eta=2.0, beta=0.2, subsets=40))
    assert res.history.shape == (2, 41) and (res.iters == 40).all()
    assert (res.rel_err < 0.5 * res.history[:, 0]).all()  # it contracts on fresh subsets
    tiny = _small(N=10)
    with pytest.raises(ValueError, match="subsets"):
        run_agd(tiny, init_at_distance(tiny.W_star, tiny.M, 0.3, 1), AGD(subsets=20))


def test_noise_level_is_sigma_over_Ey():
    inst = make_instance(SparseProblem(K=4, d=30, r=6, N=20000, noise=0.1, trials=2), seed=1)
    e_y = inst.y_clean.pow(2).mean(-1).sqrt()
    measured = (inst.y - inst.y_clean).std(-1) / e_y
    assert torch.allclose(measured, torch.full_like(measured, 0.1), rtol=0.03)


def test_supports_are_nested_and_disjoint_layout_is_disjoint():
    inst = make_instance(SparseProblem(K=4, d=40, r=8, r_star=5, N=10, trials=3), seed=0)
    assert (inst.M_teacher <= inst.M).all() and (inst.M.sum(-1) == 8).all() and (inst.M_teacher.sum(-1) == 5).all()
    assert (inst.W_star == inst.W_teacher).all()  # teacher support inside student support
    dis = make_instance(SparseProblem(K=4, d=40, r=10, N=10, trials=3, layout="disjoint"), seed=0)
    assert (dis.M.sum(1) <= 1).all()


@pytest.mark.parametrize("kwargs,word", [
    (dict(K=0, d=5, r=2, N=10), "K"), (dict(K=2, d=5, r=2, N=0), "N"), (dict(K=2, d=5, r=6, N=10), "d"),
    (dict(K=2, d=5, r=2, r_star=3, N=10), "r_star"), (dict(K=2, d=5, r=3, N=10, layout="disjoint"), "disjoint"),
    (dict(K=2, d=5, r=2, N=10, noise=-1.0), "noise"),
])
def test_bad_problems_are_clear_errors(kwargs, word):
    with pytest.raises(ValueError, match=word):
        SparseProblem(**kwargs)


def test_a_student_mask_missing_the_teacher_is_named():
    inst = _small(r_star=3, r=5)
    M = inst.M.clone()
    j = 1
    i = int(inst.M_teacher[0, j].nonzero()[0])
    M[0, j, i] = False
    with pytest.raises(ValueError, match=r"Omega_1 of trial 0 does not contain Omega\*_1"):
        check_student_mask(M, inst.M_teacher)
    with pytest.raises(ValueError, match="AGD|beta"):
        AGD(beta=1.0)


def test_hessian_at_W_star_approaches_the_population_value_for_disjoint_supports():
    from theory.zhang.relu_moments import population_hessian_eigenvalues

    K = 3
    inst = make_instance(SparseProblem(K=K, d=12, r=4, N=200_000, trials=2, layout="disjoint"), seed=2)
    ev = torch.linalg.eigvalsh(hessian(inst.W_star, inst.M, inst.X))
    pop = {k: float(v) for k, v in population_hessian_eigenvalues(K).items()}
    assert np.allclose(ev[:, 0].numpy(), pop["min"], rtol=0.03)
    assert np.allclose(ev[:, -1].numpy(), pop["max"], rtol=0.03)
    # and fewer samples make the smallest eigenvalue smaller (Theorem 1: eps1 ~ sqrt(r/N))
    few = make_instance(SparseProblem(K=K, d=12, r=4, N=60, trials=2, layout="disjoint"), seed=2)
    assert (torch.linalg.eigvalsh(hessian(few.W_star, few.M, few.X))[:, 0] < 0.8 * pop["min"]).all()


def test_tensor_initialization_lands_where_agd_succeeds_with_enough_samples():
    from sim.zhang.tensor_init import tensor_init

    inst = make_instance(SparseProblem(K=2, d=5, r=5, N=400_000, trials=4), seed=3)
    W0, info = tensor_init(inst, seed=1)
    err = relative_error_perm(W0, inst.W_star)
    few = make_instance(SparseProblem(K=2, d=5, r=5, N=3000, trials=4), seed=3)
    err_few = relative_error_perm(tensor_init(few, seed=1)[0], few.W_star)
    assert np.median(err) < 0.5 and np.median(err) < np.median(err_few)
    assert (info["subspace_error"] < 0.1).all()
    head = replace(inst, X=inst.X[:, :4000], y=inst.y[:, :4000], y_clean=inst.y_clean[:, :4000])  # AGD needs fewer
    res = run_agd(head, W0, AGD(eta=0.5, beta=0.2, max_iter=2000))
    assert (relative_error_perm(res.W, inst.W_star) < 1e-4).mean() >= 0.75


def test_relative_error_perm_ignores_relabelling():
    inst = _small(trials=2)
    Wp = inst.W_star[:, [2, 0, 1]]
    assert np.allclose(relative_error_perm(Wp, inst.W_star), 0)
    assert (relative_error(Wp, inst.W_star) > 0.1).all()


def test_fits_recover_known_lines_and_crossings():
    from sim.zhang.fits import convergence_rate, crossing, line_fit

    rng = np.random.default_rng(0)
    x = np.linspace(1, 10, 30)
    a, b = rng.normal(size=2)
    f = line_fit(x, a + b * x + 1e-3 * rng.normal(size=30))
    assert abs(f["slope"] - b) < 5 * f["slope_se"] + 1e-12 and abs(f["intercept"] - a) < 5 * f["intercept_se"]
    c = rng.uniform(2, 8)
    xs = np.arange(11.0)
    assert abs(crossing(xs, 1 / (1 + np.exp(4 * (xs - c))), decreasing=True) - c) < 0.15
    assert abs(crossing(xs, 1 / (1 + np.exp(-4 * (xs - c))), decreasing=False) - c) < 0.15
    assert np.isnan(crossing(xs, np.zeros(11)))
    nu = rng.uniform(0.9, 0.99)
    t = np.arange(0, 500, 10)
    assert abs(convergence_rate(t, (nu ** t)[None])[0] - nu) < 1e-9


def test_zhang_diagrams_are_registered_with_both_scales():
    from sim.core import registry

    ds = registry.load_all()
    for name in ("zhang-fig2", "zhang-fig3", "zhang-fig4", "zhang-fig5", "zhang-fig6", "zhang-hessian",
                 "zhang-tensor-init"):
        assert set(ds[name].scales) >= {"quick", "paper"}
        assert ds[name].cells(ds[name].scales["quick"]) and ds[name].cells(ds[name].scales["paper"])


@pytest.mark.parametrize("name,params,png", [
    ("zhang-fig2", {"K": 2, "d": 12, "N": 150, "rs": [3, 6], "lams": [0.5, 64.0], "trials": 3, "max_iter": 800,
                    "init": "sphere", "eta": 0.5, "beta": 0.2, "tol": 1e-8}, "fig2_convex_region.png"),
    ("zhang-fig3", {"K": 2, "d": 12, "N": 150, "rs": [3, 6], "lam": 0.5, "trials": 2, "max_iter": 800,
                    "record_every": 10, "eta": 0.5, "beta": 0.2, "tol": 1e-8}, "fig3_convergence_rate.png"),
    ("zhang-fig6", {"K": 2, "d": 10, "r_star": 3, "noise": 1e-3, "Ns": [100], "rounds": 3, "prune_frac": 0.3,
                    "init_std": 0.1, "n_test": 200, "trials": 2, "max_iter": 300, "eta": 0.5, "beta": 0.2,
                    "tol": 1e-8}, "fig6_imp_synthetic.png"),
])
def test_tiny_zhang_sweeps_run_resume_and_plot(tmp_path, name, params, png):
    import json
    from dataclasses import replace

    from figures.catalog import drawer
    from sim.core import registry
    from sim.core.sweep import SweepSpec, read_summary, run

    base = registry.get(name)
    scale = replace(base.scales["quick"], **{k: tuple(v) if isinstance(v, list) else v for k, v in params.items()})
    tiny = f"test-tiny-{name}"
    if tiny not in registry.load_all():
        registry.register(replace(base, name=tiny, scales={"quick": scale, "paper": scale}))
    out = run(SweepSpec(tiny), out=tmp_path / "r", progress=False)
    drawer(base.figure)(out)
    rows = read_summary(out / "summary.csv")
    assert rows and (out / png).is_file() and json.loads((out / "fits.json").read_text())
    first = sorted((out / "cells").iterdir())[0]
    before = first.read_bytes()
    run(SweepSpec(tiny), out=out, resume=True, progress=False)
    assert first.read_bytes() == before
    if name == "zhang-fig2":  # a start 64 x ||W*|| away fails more often than one at 0.5
        rate = {(int(r["r"]), float(r["lam"])): float(r["success_rate"]) for r in rows}
        assert all(rate[(r, 0.5)] >= rate[(r, 64.0)] for r in (3, 6))
    if name == "zhang-fig6":
        rem = [float(r["remaining_pct"]) for r in rows]
        assert rem == sorted(rem, reverse=True) and rem[0] == 100.0
