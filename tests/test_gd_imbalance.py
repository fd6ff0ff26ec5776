"""sim.lrr.imbalance: the per-step law of the imbalance a^2 - ||w||^2 under GD, on trajectories of sim.lrr.trainers' GD.

Under the flow a^2 - ||w||^2 is conserved (Lemma 2.2's premise).  One GD step changes it by exactly
eta^2 (g_a^2 - ||g_w||^2): the first-order term -2 eta (a g_a - w . g_w) vanishes identically because
g_a = w . m and g_w = a m.  These tests check that identity to round-off on real trajectories (gradients from
autograd, not from the code under test), its closed form, and that the tracked GD and cycles are the very
iterates of sim.lrr.trainers / sim.lrr.cycles.
"""

import numpy as np
import pytest
import torch

from sim.lrr.cycles import CycleConfig, run_cycles
from sim.lrr.imbalance import flip_prediction, gd_tracked, imbalance, phi_coefficient, run_cycles_tracked, step_increment
from sim.lrr.sign_changes import GdSignCell, gd_sign_cell, summarize_gd_sign
from sim.lrr.neuron import NeuronProblem, full_mask, loss_only, sample
from sim.lrr.trainers import GD, train

EPS = np.finfo(float).eps


def _autograd(theta, X, y, mask):
    th = theta.clone().requires_grad_(True)
    loss_only(th, X, y, mask).sum().backward()
    return th.grad * mask


@pytest.mark.parametrize("quadrant,lr", [("-+", 0.5), ("-+", 2.0), ("+-", 1.0), (None, 0.25)])
def test_per_step_imbalance_law_holds_to_round_off_on_gd_trajectories(quadrant, lr):
    """delta_{k+1} - delta_k = eta^2 (g_a^2 - ||g_w||^2) at every step of sim.lrr.trainers' GD (one step per call),
    with a pruned mask, to a few ulps of the scale a^2 + ||w||^2; the first-order term is round-off."""
    torch.manual_seed(0)
    b = sample(NeuronProblem(d=10, n=200, sigma=0.1, trials=6, quadrant=quadrant), seed=3)
    mask = full_mask(6, 10)
    mask[:, 6:] = 0.0  # inputs 6..10 pruned: the law holds for the masked neuron
    theta = b.theta0 * mask
    worst, first_order = 0.0, 0.0
    total, total_pred = torch.zeros(6, dtype=torch.float64), torch.zeros(6, dtype=torch.float64)
    for _ in range(200):
        g = _autograd(theta, b.X, b.y, mask)
        new = train(GD(lr=lr, steps=1), theta, b.X, b.y, mask).theta
        assert torch.allclose(new, theta - lr * g, rtol=1e-12, atol=1e-15)  # it is a GD step
        change = imbalance(new, mask) - imbalance(theta, mask)
        pred = step_increment(g, lr)
        scale = EPS * ((theta * theta).sum(1) + (new * new).sum(1) + lr * lr * (g * g).sum(1))
        worst = max(worst, float(((change - pred).abs() / scale).max()))
        fo = theta[:, 0] * g[:, 0] - (theta[:, 1:] * g[:, 1:]).sum(1)
        first_order = max(first_order, float((fo.abs() / (1 + (theta * theta).sum(1))).max()))
        total += change
        total_pred += pred
        theta = new
    assert worst < 16, worst  # a few ulps of a^2 + ||w||^2
    assert first_order < 1e-14, first_order  # a g_a = w . g_w up to round-off (the flow's conservation)
    # and the law is not vacuous: the drift is far above round-off and summed matches the change
    assert float(total.abs().min()) > 1e-7
    assert torch.allclose(total, total_pred, rtol=1e-9, atol=1e-15)


def test_increment_closed_form_and_sign():
    """g_a^2 - ||g_w||^2 = -||m||^2 (delta + ||w||^2 sin^2(w, m)) <= -||m||^2 delta, m = g_w / a: from delta >= 0
    GD can only lower delta; at d = 1 (sin = 0) delta is only multiplied by (1 - eta^2 m^2)."""
    b = sample(NeuronProblem(d=7, n=200, sigma=0.3, trials=40), seed=9)
    g = torch.Generator().manual_seed(1)
    theta = b.theta0 * (1 + 0.5 * torch.randn(40, 8, generator=g, dtype=torch.float64))  # unbalanced points
    mask = full_mask(40, 7)
    grad = _autograd(theta, b.X, b.y, mask)
    a, w = theta[:, 0], theta[:, 1:]
    m = grad[:, 1:] / a[:, None]
    m2, w2 = (m * m).sum(1), (w * w).sum(1)
    cos2 = (w * m).sum(1) ** 2 / (w2 * m2)
    delta = imbalance(theta)
    lhs = grad[:, 0] ** 2 - (grad[:, 1:] ** 2).sum(1)
    assert torch.allclose(lhs, -m2 * (delta + w2 * (1 - cos2)), rtol=1e-10, atol=1e-16)
    assert bool((lhs <= -m2 * delta + 1e-15).all())


def test_gd_keeps_balance_at_d1_but_not_at_d10():
    """From an exactly balanced start GD keeps a^2 = w^2 to round-off at d = 1 and drifts to ||w|| > |a| at
    d = 10 (the sin^2 term), by an amount far above round-off."""
    for d, expect_drift in ((1, False), (10, True)):
        b = sample(NeuronProblem(d=d, n=300, sigma=0.1, trials=8, quadrant="-+"), seed=4)
        out = gd_tracked(GD(lr=0.5, steps=400), b.theta0, b.X, b.y, full_mask(8, d))
        if expect_drift:
            assert (out.delta_end < -1e-4).all() and (out.drift < -1e-4).all(), out.delta_end
        else:
            assert np.abs(out.delta_end).max() < 1e-14, out.delta_end


def test_gd_tracked_is_sim_trainers_gd_iterate_for_iterate():
    b = sample(NeuronProblem(d=5, n=120, sigma=0.1, trials=4, quadrant="-+"), seed=2)
    P = 3  # three runs per data set, as the methods of a trial in sim.lrr.cycles
    theta = b.theta0.repeat_interleave(P, 0) * (1 + 0.1 * torch.arange(P, dtype=torch.float64)).repeat(4)[:, None]
    y = b.y.repeat_interleave(P, 0)
    mask = full_mask(4 * P, 5)
    mask[::2, 3] = 0.0
    ref = train(GD(lr=1.0, steps=250), theta, b.X, y, mask)
    out = gd_tracked(GD(lr=1.0, steps=250), theta, b.X, y, mask)
    assert torch.equal(out.theta, ref.theta)
    np.testing.assert_array_equal(out.sign_changes_a, ref.sign_changes_a.numpy())
    np.testing.assert_array_equal(out.sign_changes_w1, ref.sign_changes_w1.numpy())
    assert out.identity_residual.max() < 16


def test_run_cycles_tracked_matches_run_cycles():
    b = sample(NeuronProblem(d=6, n=200, sigma=0.1, trials=5, quadrant="-+"), seed=7)
    cfg = CycleConfig(levels=3, sparsity=0.8, rewind_step=3)
    recs = run_cycles(b, GD(lr=2.0, steps=150), cfg)
    tracked = run_cycles_tracked(b, GD(lr=2.0, steps=150), cfg)
    for method, rec in recs.items():
        mine, tk = tracked[method]
        for key in ("theta_start", "theta_end", "masks", "flips_a", "flips_w1", "success"):
            np.testing.assert_array_equal(getattr(mine, key), getattr(rec, key), err_msg=f"{method} {key}")
        np.testing.assert_allclose(mine.loss, rec.loss, rtol=1e-12)
        # delta at the start and end of every level is a^2 - ||w||^2 of that level's (masked) parameters
        for lvl in range(4):
            np.testing.assert_allclose(tk["delta_start"][:, lvl], imbalance(torch.from_numpy(rec.theta_start[:, lvl])).numpy(),
                                       rtol=1e-12, atol=1e-15)
            np.testing.assert_allclose(tk["delta_end"][:, lvl], imbalance(torch.from_numpy(rec.theta_end[:, lvl])).numpy(),
                                       rtol=1e-12, atol=1e-15)
        # the bookkeeping: within a level, delta_end - delta_start is that level's summed drift; the drift is
        # carried over levels where the method continues (LRR, and WR from its rewinding point)
        per_level = tk["drift"] - np.concatenate([np.zeros((5, 1)), tk["drift"][:, :-1]], axis=1) \
            if method == "lrr" else tk["drift"]
        if method != "wr":
            np.testing.assert_allclose(tk["delta_end"] - tk["delta_start"], per_level, atol=1e-13)
        if method == "lrr":  # pruning between levels raises delta by the pruned mass ||w_pruned||^2 >= 0
            assert (tk["delta_start"][:, 1:] >= tk["delta_end"][:, :-1] - 1e-15).all()


def test_balanced_reference_conserves_and_predicts_the_gd_imbalance():
    """The reference keeps the flow's invariant exactly and never flips a; the imbalance E it predicts for GD
    along its (balanced) path equals GD's actual delta within 2 % while a is far from 0 (dense level)."""
    b = sample(NeuronProblem(d=10, n=500, sigma=0.1, trials=8, quadrant="-+"), seed=5)
    mask = full_mask(8, 10)
    gd = gd_tracked(GD(lr=0.5, steps=200), b.theta0, b.X, b.y, mask)
    ref = gd_tracked(GD(lr=0.5, steps=200), b.theta0, b.X, b.y, mask, conserve=True)
    assert np.abs(ref.delta_end - ref.delta_start).max() < 1e-14
    assert (ref.sign_changes_a == 0).all()
    np.testing.assert_allclose(ref.drift, gd.delta_end, rtol=0.02)
    assert (gd.delta_end < -1e-4).all()


def test_flip_prediction_and_phi():
    margin = np.array([[0.1, -0.01], [0.1, 0.2], [1e-20, 1e-20], [0.3, -1e-14]])
    min_a = np.array([[0.5, 0.1], [0.5, 0.4], [0.5, 1e-10], [0.5, 0.3]])
    pred, edge = flip_prediction(margin, min_a)
    np.testing.assert_array_equal(pred, [True, False, False, False])
    np.testing.assert_array_equal(edge, [False, False, True, False])
    assert phi_coefficient([1, 0, 1, 0], [1, 0, 1, 0]) == pytest.approx(1.0)
    assert phi_coefficient([1, 0, 1, 0], [0, 1, 0, 1]) == pytest.approx(-1.0)
    assert np.isnan(phi_coefficient([1, 1], [0, 1]))


def test_sign_cell_and_summary_are_consistent():
    cell = GdSignCell(d=5, n=200, sigma=0.1, quadrant="-+", trials=6, lr=2.0, steps=120,
                      methods=("lrr", "imp", "imp-balanced"))
    arr = gd_sign_cell(cell, seed=1, device="cpu")
    rows = summarize_gd_sign([(cell, arr)])
    assert [r["method"] for r in rows] == list(cell.methods)
    for r in rows:
        flips = arr[f"{r['method']}/flips_a"].sum(1) > 0
        assert r["a_flipped"] == int(flips.sum()) and r["successes"] == int(arr[f"{r['method']}/success"].sum())
        assert r["flip_ci_low"] <= r["a_flipped"] / 6 <= r["flip_ci_high"]
        assert r["agree"] + r["false_pos"] + r["false_neg"] == r["decided"]
        assert r["identity_residual_max_eps"] < 16
    # the shared dense level: identical tracked numbers for every method
    np.testing.assert_array_equal(arr["lrr/drift"][:, 0], arr["imp/drift"][:, 0])
