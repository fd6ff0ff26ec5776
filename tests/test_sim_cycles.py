"""Pruning schedule, magnitude pruning, IMP/WR/LRR cycles (batched vs per-trial), predictions, intervals."""

import numpy as np
import pytest
import torch
from hypothesis import given, strategies as st

from sim.lrr import reference as ref
from sim.lrr.cycles import CycleConfig, run_cycles
from sim.core.intervals import wilson
from sim.lrr.neuron import NeuronProblem, full_mask, sample
from sim.lrr.predictions import predicted_rate, predicted_success
from sim.lrr.prune import level_counts, magnitude_prune
from sim.lrr.trainers import GD, LBFGS, train


def test_level_counts_reach_one_input_like_fig2a():
    assert level_counts(10, 0.9, 3) == [5, 2, 1]
    assert level_counts(1, 0.9, 3) == [1, 1, 1]
    assert level_counts(50, 0.9, 3)[-1] == 5


@pytest.mark.parametrize("s", [-0.1, 1.0, 1.5, float("nan")])
def test_sparsity_outside_unit_interval_is_rejected(s):
    with pytest.raises(ValueError, match="sparsity"):
        level_counts(10, s, 3)
    with pytest.raises(ValueError, match="sparsity"):
        CycleConfig(sparsity=s)


@given(seed=st.integers(0, 1000), keep=st.integers(1, 6))
def test_magnitude_prune_matches_reference_with_ties(seed, keep):
    g = torch.Generator().manual_seed(seed)
    theta = torch.round(torch.randn(7, 7, generator=g, dtype=torch.float64) * 2) / 2  # many ties
    mask = torch.ones(7, 7, dtype=torch.float64)
    mask[:, 1:] = (torch.rand(7, 6, generator=g) < 0.9).double()
    mask[:, 1:keep + 1] = 1.0
    new = magnitude_prune(theta, mask, keep)
    for k in range(7):
        np.testing.assert_array_equal(new[k].numpy(), ref.magnitude_prune(theta[k].numpy(), mask[k].numpy(), keep))
    assert bool((new[:, 1:].sum(1) == keep).all()) and bool((new[:, 0] == 1).all())
    assert bool((new <= mask).all())  # never revives a pruned input


def test_final_keep_prunes_to_exactly_that_many_inputs_at_any_d():
    for d in (2, 5, 10, 20, 50, 200):
        counts = level_counts(d, 0.9, 3, final_keep=1)
        assert counts[-1] == 1
        assert counts == sorted(counts, reverse=True)
        # the first level removes inputs, except at d = 2, where 2 (1/2)^(1/3) = 1.59 rounds back to 2
        assert (counts[0] < d) == (d != 2)
    assert level_counts(10, 0.9, 3, final_keep=1) == level_counts(10, 0.9, 3)  # the paper's d = 10 case
    assert level_counts(20, 0.9, 3)[-1] == 2  # 90 % alone leaves 2 of 20 inputs
    with pytest.raises(ValueError, match="final_keep"):
        level_counts(5, 0.9, 3, final_keep=6)


@pytest.mark.parametrize("trainer,final_keep", [(GD(lr=0.5, steps=150), None), (LBFGS(epochs=2), None),
                                                (GD(lr=0.5, steps=100), 1)])
def test_batched_cycles_match_per_trial_reference(trainer, final_keep):
    b = sample(NeuronProblem(d=6, n=150, sigma=0.1, trials=4), seed=11)
    cfg = CycleConfig(levels=3, sparsity=0.8, rewind_step=3, final_keep=final_keep)
    recs = run_cycles(b, trainer, cfg)
    if final_keep:
        assert all((recs[m].masks[:, -1].sum(1) == final_keep).all() for m in cfg.methods)  # (T, L+1, d)
    for k in range(4):
        one = ref.run_cycles_one(b.theta0[k].numpy(), b.X[k].numpy(), b.y[k].numpy(), trainer, 3, 0.8, 3, cfg.methods,
                                 final_keep)
        for m in cfg.methods:
            np.testing.assert_array_equal(recs[m].masks[k], one[m]["masks"])
            np.testing.assert_allclose(recs[m].theta_end[k], one[m]["theta_end"], rtol=1e-6, atol=1e-7)
            assert bool(recs[m].success[k]) == one[m]["success"]
            np.testing.assert_array_equal(recs[m].flips_w1[k], one[m]["flips_w1"])


def test_rewinding_rules():
    b = sample(NeuronProblem(d=5, n=100, sigma=0.1, trials=3), seed=2)
    recs = run_cycles(b, GD(lr=0.5, steps=50), CycleConfig(levels=2, sparsity=0.6, rewind_step=5))
    th0 = b.theta0.numpy()
    full = lambda r, lvl: np.concatenate([np.ones((3, 1)), r.masks[:, lvl]], 1)  # noqa: E731
    for lvl in (1, 2):
        np.testing.assert_array_equal(recs["imp"].theta_start[:, lvl], th0 * full(recs["imp"], lvl))
        np.testing.assert_allclose(recs["lrr"].theta_start[:, lvl], recs["lrr"].theta_end[:, lvl - 1] * full(recs["lrr"], lvl))
        bal = recs["imp-balanced"].theta_start[:, lvl]
        np.testing.assert_allclose(bal[:, 0] ** 2, (bal[:, 1:] ** 2).sum(1))
        np.testing.assert_array_equal(np.sign(bal[:, 0]), np.sign(th0[:, 0]))
    # WR rewinds to the weights after rewind_step = 5 steps of dense training, at every level
    snapshot = train(GD(lr=0.5, steps=5), b.theta0, b.X, b.y, full_mask(3, 5)).theta.numpy()
    for lvl in (1, 2):
        np.testing.assert_array_equal(recs["wr"].theta_start[:, lvl], snapshot * full(recs["wr"], lvl))
    assert not np.allclose(snapshot, th0)  # the rewinding point is not theta(0): the check can tell WR from IMP


def test_predictions_follow_theorems():
    assert predicted_rate("imp", 10) == 0.25 and predicted_rate("lrr", 10) == 0.5
    assert predicted_rate("lrr", 1) == 0.25
    np.testing.assert_array_equal(predicted_success("lrr", [1, 1, -1, -1], [1, -1, 1, -1], 5), [True, True, False, False])
    np.testing.assert_array_equal(predicted_success("imp", [1, 1, -1, -1], [1, -1, 1, -1], 5), [True, False, False, False])
    with pytest.raises(ValueError):
        predicted_success("magic", [1], [1], 2)


def test_wilson_interval():
    lo, hi = wilson(0, 10)
    assert lo == 0.0 and 0.25 < hi < 0.35  # 0.2775 for 95 %
    lo, hi = wilson(50, 100)
    assert lo < 0.5 < hi and hi - lo == pytest.approx(2 * 0.0962, abs=2e-3)
    with pytest.raises(ValueError):
        wilson(5, 3)
