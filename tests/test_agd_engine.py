"""The batched AGD engine (sim.zhang.agd) in every layout it may choose (sim.zhang.agd_layout) and both precisions, against
the per-trial numpy oracle (sim.zhang.sparse_reference) in the paper's coordinates (Zhang et al., paper 001, Sec. 5)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sim.zhang.agd import AGD, resolve_layout, run_agd
from sim.zhang.agd_layout import GATHER_BELOW, choose_layout, gather_index, necessary_flops
from sim.zhang.sparse_reference import agd_one
from sim.zhang.sparse_teacher import SparseProblem, free_index, init_at_distance, make_instance

SUCCESS = 1e-4

# (name, problem, initial relative distances per run of a draw, eta): every kind of support and batching
CASES = {
    "random-overlapping": (dict(K=3, d=16, r=5, r_star=4, N=150, trials=3), [0.6], 0.5),
    "disjoint": (dict(K=3, d=16, r=5, N=150, trials=2, layout="disjoint"), [0.6], 0.5),
    "dense-r-eq-d": (dict(K=2, d=6, r=6, N=120, trials=2), [0.4], 0.5),
    "runs-share-a-draw": (dict(K=3, d=16, r=4, N=150, trials=2, runs_per_draw=3), [0.2, 1.0, 8.0], 0.5),
}


def _oracle(inst, W0, agd, b):
    """agd_one on run b, in its own coordinates: (W (K, d), iters, stopped, diverged)."""
    P = inst.B // inst.draws
    idx = free_index(inst.M).numpy()
    K, d = inst.M.shape[1:]
    om = [idx[b, j] for j in range(K)]
    with np.errstate(over="ignore", invalid="ignore"):
        W, t, stopped = agd_one([W0[b, j].numpy()[om[j]] for j in range(K)], om, inst.X[b // P].numpy(),
                                inst.y[b].numpy(), agd.eta, agd.beta, agd.max_iter, agd.tol)
    full = np.zeros((K, d))
    for j in range(K):
        full[j, om[j]] = W[j]
    return full, t, stopped, not np.isfinite(full).all()


def _case(name):
    prob, lams, eta = CASES[name]
    inst = make_instance(SparseProblem(**prob), seed=7)
    P = prob.get("runs_per_draw", 1)
    lam = torch.tensor(lams * prob["trials"], dtype=torch.float64) if P > 1 else lams[0]
    return inst, init_at_distance(inst.W_star, inst.M, lam, 3), eta


@pytest.mark.parametrize("layout", ["dense", "gathered"])
@pytest.mark.parametrize("name", list(CASES))
def test_float64_engine_matches_the_oracle_in_every_layout(name, layout):
    inst, W0, eta = _case(name)
    agd = AGD(eta=eta, beta=0.2, max_iter=1500, tol=1e-8, precision="float64", layout=layout)
    res = run_agd(inst, W0, agd)
    assert res.layout == layout and res.precision == "float64"
    for b in range(inst.B):
        W, t, stopped, diverged = _oracle(inst, W0, agd, b)
        assert (res.iters[b], res.stopped[b], res.diverged[b]) == (t, stopped, diverged)
        assert np.allclose(res.W[b].numpy(), W, rtol=1e-10, atol=1e-12)
    assert res.stopped.any()
    # the iterates themselves: a fixed number of steps, stopping rule off
    few = AGD(eta=eta, beta=0.2, max_iter=25, tol=0.0, precision="float64", layout=layout)
    res = run_agd(inst, W0, few)
    for b in range(inst.B):
        assert np.allclose(res.W[b].numpy(), _oracle(inst, W0, few, b)[0], rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("layout", ["dense", "gathered"])
@pytest.mark.parametrize("name", list(CASES))
def test_mixed_engine_keeps_the_oracles_verdicts(name, layout):
    """Mixed precision: float32 steps while the relative change is >= switch_tol (1e-4), float64 after.  The
    success verdict and the stop / divergence flags are the oracle's; an iteration count may move by a step or
    two where the crossing of tol is a near tie (the float32 rounding of W at the switch is ~1e-7 relative)."""
    inst, W0, eta = _case(name)
    agd = AGD(eta=eta, beta=0.2, max_iter=1500, tol=1e-8, layout=layout)
    res = run_agd(inst, W0, agd)
    assert res.precision == "mixed"
    for b in range(inst.B):
        W, t, stopped, diverged = _oracle(inst, W0, agd, b)
        err = np.linalg.norm(W - inst.W_star[b].numpy()) / np.linalg.norm(inst.W_star[b].numpy())
        assert (res.stopped[b], res.diverged[b]) == (stopped, diverged)
        assert (res.rel_err[b] < SUCCESS) == (err < SUCCESS)
        assert abs(int(res.iters[b]) - t) <= 3
        if stopped:  # it switched to float64 before it stopped, and ended near the oracle's point
            assert 0 < res.switched_at[b] <= res.iters[b]
            assert np.allclose(res.W[b].numpy(), W, rtol=0, atol=1e-5)


@pytest.mark.parametrize("precision", ["float64", "mixed"])
@pytest.mark.parametrize("layout", ["dense", "gathered"])
def test_diverging_runs_are_flagged_at_the_oracles_step_and_spare_their_draw(precision, layout):
    """Huge eta: every run's weights become non-finite; each is stopped at that step and flagged diverged, at
    the oracle's step (mixed: float32 overflows first, the step is decided again in float64).  A run whose start
    is not finite diverges at t = 1 without disturbing the other runs of its draw."""
    inst, W0, _ = _case("runs-share-a-draw")
    big = AGD(eta=3e3, beta=0.2, max_iter=800, tol=1e-8, precision=precision, layout=layout)
    res = run_agd(inst, W0, big)
    for b in range(inst.B):
        W, t, stopped, diverged = _oracle(inst, W0, big, b)
        assert diverged and res.diverged[b] and not res.stopped[b] and res.iters[b] == t
    agd = AGD(eta=0.5, beta=0.2, max_iter=1500, tol=1e-8, precision=precision, layout=layout)
    W0 = W0.clone()
    W0[1] = float("inf")
    res = run_agd(inst, W0, agd)
    assert res.diverged[1] and res.iters[1] == 1 and res.diverged.sum() == 1
    for b in (0, 2, 3):
        W, t, stopped, _ = _oracle(inst, W0, agd, b)
        assert res.stopped[b] == stopped and abs(int(res.iters[b]) - t) <= (0 if precision == "float64" else 3)


@pytest.mark.parametrize("layout", ["dense", "gathered"])
def test_float64_history_is_the_oracles_relative_error_held_after_the_stop(layout):
    """record_every: ||W(s) - W*|| / ||W*|| at every recorded step s up to the stop, then held at the value of the
    last recorded step (the engine before the layouts did the same)."""
    inst, W0, _ = _case("runs-share-a-draw")
    agd = AGD(eta=0.5, beta=0.2, max_iter=1200, tol=1e-7, record_every=100, precision="float64", layout=layout)
    res = run_agd(inst, W0, agd)
    assert res.stopped.any() and (res.iters < agd.max_iter).any()
    Ws = inst.W_star.numpy()
    for b in range(inst.B):
        last = None
        for i, s in enumerate(res.history_t):
            if s <= res.iters[b]:
                W = _oracle(inst, W0, AGD(eta=0.5, beta=0.2, max_iter=max(int(s), 1), tol=0.0), b)[0] if s else \
                    W0[b].numpy() * inst.M[b].numpy()
                last = np.linalg.norm(W - Ws[b]) / np.linalg.norm(Ws[b])
            assert res.history[b, i] == pytest.approx(last, rel=1e-9)


def test_a_run_that_cannot_move_stops_at_the_first_step_in_both_precisions():
    """W(0) = 0: the gradient is 0 (relu'(0) = 0); the float64 rule sees change 0 < tol at t = 1, and so must the
    mixed engine (its switch recomputes step t in float64, it does not stop one step late)."""
    inst, W0, _ = _case("random-overlapping")
    W0 = W0.clone()
    W0[0] = 0
    for precision in ("float64", "mixed"):
        res = run_agd(inst, W0, AGD(max_iter=500, precision=precision))
        assert res.iters[0] == 1 and res.stopped[0]


def test_mixed_switches_per_run_and_records_its_history_in_float64():
    inst, W0, _ = _case("runs-share-a-draw")
    hist = AGD(eta=0.5, beta=0.2, max_iter=1500, record_every=50)
    a = run_agd(inst, W0, hist)
    b = run_agd(inst, W0, AGD(eta=0.5, beta=0.2, max_iter=1500, record_every=50, precision="float64"))
    assert len(set(a.switched_at[a.stopped].tolist())) > 1  # runs of one draw switch at their own step
    assert np.array_equal(a.stopped, b.stopped)
    ok = b.history > 1e-5
    assert np.allclose(a.history[ok], b.history[ok], rtol=1e-3)
    assert (np.abs(a.history - b.history) < 1e-6).all()


def test_the_layout_rule_and_its_record():
    assert choose_layout(500, 50) == "gathered" and choose_layout(500, 300) == "dense"
    assert choose_layout(100, int(GATHER_BELOW * 100)) == "dense" and choose_layout(100, None) == "dense"
    assert necessary_flops(N=3000, K=5, r=50) == 4 * 3000 * 5 * 50
    inst = make_instance(SparseProblem(K=3, d=40, r=5, N=50, trials=2), seed=1)
    assert resolve_layout(inst, AGD())[0] == "gathered"
    assert run_agd(inst, inst.W_star, AGD(max_iter=3)).layout == "gathered"
    dense = make_instance(SparseProblem(K=3, d=10, r=8, N=50, trials=2), seed=1)
    assert resolve_layout(dense, AGD())[0] == "dense"
    # a mask whose neurons have different r (IMP) can only be held dense
    M = inst.M.clone()
    M[0, 0, :] = True
    assert gather_index(M, 1) is None
    inst.M = M
    assert resolve_layout(inst, AGD())[0] == "dense"
    with pytest.raises(ValueError, match="layout 'gathered'"):
        run_agd(inst, inst.W_star, AGD(max_iter=3, layout="gathered"))
    # runs of a draw with different masks: not gathered either
    shared = make_instance(SparseProblem(K=2, d=20, r=3, N=30, trials=1, runs_per_draw=2), seed=1)
    assert gather_index(shared.M, 2) is not None
    shared.M = shared.M.clone()
    shared.M[1] = shared.M[1].roll(1, -1)
    assert gather_index(shared.M, 2) is None


@pytest.mark.parametrize("kwargs,word", [
    (dict(precision="float16"), "precision"), (dict(precision="bf16"), "precision"), (dict(layout="csr"), "layout"),
    (dict(switch_tol=0.0), "switch_tol"), (dict(switch_tol=float("nan")), "switch_tol"), (dict(max_iter=True), "max_iter"),
])
def test_bad_engine_settings_are_one_line_errors(kwargs, word):
    with pytest.raises(ValueError, match=word) as e:
        AGD(**kwargs)
    assert "\n" not in str(e.value)


@pytest.mark.parametrize("kwargs,word", [
    (dict(K=0, d=5, r=2, N=10), "K"), (dict(K=2, d=5, r=2, N=0), "N"), (dict(K=2, d=5, r=6, N=10), "r "),
    (dict(K=2, d=5, r=2, r_star=3, N=10), "r_star"),
])
def test_bad_problems_are_one_line_errors(kwargs, word):
    with pytest.raises(ValueError, match=word) as e:
        SparseProblem(**kwargs)
    assert "\n" not in str(e.value)


def test_bad_dtypes_are_one_line_errors():
    p = SparseProblem(K=2, d=5, r=2, N=10)
    with pytest.raises(ValueError, match="dtype"):
        make_instance(p, 0, dtype=torch.float16)
    inst = make_instance(p, 0)
    inst.X = inst.X.half()
    with pytest.raises(ValueError, match="dtype"):
        run_agd(inst, inst.W_star, AGD(max_iter=2))


def test_float32_instances_run_and_keep_their_dtype():
    inst = make_instance(SparseProblem(K=2, d=12, r=4, N=200, trials=2), 3, dtype=torch.float32)
    res = run_agd(inst, init_at_distance(inst.W_star, inst.M, 0.3, 1), AGD(max_iter=2000))
    assert res.W.dtype == torch.float32 and res.stopped.all() and (res.rel_err < SUCCESS).all()
