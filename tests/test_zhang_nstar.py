"""Paper 001 (Zhang et al.), Fig. 4: the N* locator of sim/zhang/nstar.py on known success curves, and its
adapter to the batched AGD engine (nested data)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from sim.zhang.nstar import (NestedDraws, bisect_nstar, isotonic, isotonic_crossing, locate_nstar, logistic_fit,
                             nstar_estimates, nstar_line, weighted_line_fit)

M_TRUE, S_TRUE = math.log(300.0), 0.15  # p(N) = 1 / (1 + exp(-(log N - M_TRUE) / S_TRUE)): N* = 300


def _p(N):
    return 1 / (1 + np.exp(-(np.log(np.asarray(N, float)) - M_TRUE) / S_TRUE))


def _shared(seed, T):
    """T draws, each with its own threshold N_b drawn from the logistic: draw b succeeds at N iff N >= N_b
    (the same draws at every N, as nested data make them); P(N_b <= N) = p(N)."""
    u = np.random.default_rng(seed).uniform(size=T)
    thr = np.exp(M_TRUE + S_TRUE * np.log(u / (1 - u)))
    return lambda N: N >= thr


def _independent(seed, T):
    """Fresh draws at every N (and at every call)."""
    rng = np.random.default_rng(seed)
    return lambda N: rng.uniform(size=T) < _p(N)


def test_logistic_fit_recovers_a_known_midpoint_and_slope_from_exact_counts():
    N = np.array([150, 200, 250, 300, 350, 400, 500])
    n = 10 ** 7
    f = logistic_fit(N, np.round(n * _p(N)), n)
    assert abs(f["N_star"] / 300 - 1) < 1e-4 and abs(f["b"] * S_TRUE - 1) < 1e-3
    assert f["profile_low"] < 300 < f["profile_high"] and f["profile_high"] / f["profile_low"] < 1.001


def test_profile_interval_covers_the_midpoint_of_independent_draws():
    """95 % profile-likelihood intervals from independent binomial draws cover N* = 300 in >= 34 of 40
    seeds (P(<= 33 | coverage 0.95) = 0.8 %), and are not trivially wide."""
    N = np.array([200, 250, 280, 300, 320, 350, 450])
    cover, widths = 0, []
    for seed in range(40):
        k = np.random.default_rng(seed).binomial(30, _p(N))
        f = logistic_fit(N, k, 30)
        cover += f["profile_low"] < 300 < f["profile_high"]
        widths.append(f["profile_high"] / f["profile_low"])
    assert cover >= 34 and np.median(widths) < 1.25


def test_bisection_and_logistic_agree_and_cover_the_true_midpoint_on_shared_draws():
    """Shared draws (one threshold per draw): over 30 seeds the draw-bootstrap interval of the logistic N*
    covers 300 in >= 25 (P(<= 24 | 0.95) < 0.3 %); in every seed the bisection (isotonic) crossing lies inside
    the logistic's bootstrap interval, and the bisection's final bracket is narrower than 3 %."""
    cover, agree = 0, 0
    for seed in range(30):
        loc = locate_nstar(_shared(seed, 60), 100, 400, steps=7, n_boot=400, seed=seed)
        lo, hi = loc["boot_logistic_ci"]
        cover += lo < 300 < hi
        agree += lo <= loc["N_star_crossing"] <= hi
        b_lo, b_hi = loc["bracket"]
        assert b_hi / b_lo < 1.03 and loc["rate"][b_lo] < 0.5 <= loc["rate"][b_hi]
        # rates of threshold draws rise along the path
        assert b_lo * (1 - 1e-12) <= loc["N_star_crossing"] <= b_hi * (1 + 1e-12)
    assert cover >= 25 and agree == 30


def test_bisection_finds_the_crossing_and_widens_a_bracket_that_misses_it():
    f = _shared(1, 200)
    b = bisect_nstar(f, 20, 40, steps=8)  # the crossing (about 300) is above the bracket: hi doubles to 320
    assert b["N"][:5].tolist() == [20, 40, 80, 160, 320] and b["bracket"][1] <= 320
    assert b["S"].shape == (200, len(b["N"])) and b["S"].dtype == bool
    true_median = np.quantile(np.exp(M_TRUE + S_TRUE * np.log((u := np.random.default_rng(1).uniform(size=200))
                                                              / (1 - u))), 0.5)
    assert b["bracket"][0] <= true_median + 1 and b["bracket"][1] >= true_median - 1
    with pytest.raises(ValueError, match="above the bracket"):
        bisect_nstar(f, 5, 10, steps=3, max_expand=2)
    with pytest.raises(ValueError, match="below the bracket"):
        bisect_nstar(f, 2000, 4000, steps=3, max_expand=1)


def test_isotonic_fit_and_crossing():
    assert np.allclose(isotonic([0.1, 0.5, 0.3, 0.9], [1, 1, 1, 1]), [0.1, 0.4, 0.4, 0.9])
    # the crossing of 1/2 between N = 100 (0.25) and N = 400 (0.75) is at the geometric midpoint 200
    assert abs(isotonic_crossing([100, 400], [1, 3], 4) - 200) < 1e-9
    assert math.isnan(isotonic_crossing([100, 400], [3, 4], 4))  # already >= 1/2 at the smallest N
    assert math.isnan(isotonic_crossing([100, 400], [0, 1], 4))  # never reaches 1/2


def test_weighted_line_and_nstar_line_propagate_known_errors():
    rng = np.random.default_rng(3)
    r = np.array([10.0, 20, 40, 80])
    se = np.array([2.0, 3, 6, 12])
    a, b = 5.0, 9.0
    fits = [weighted_line_fit(r, a + b * r + se * rng.normal(size=4), se) for _ in range(400)]
    slopes = np.array([f["slope"] for f in fits])
    # the propagated se is the scatter of the slope over repetitions (within 15 %)
    assert abs(slopes.mean() - b) < 3 * fits[0]["slope_se"] / 20
    assert abs(slopes.std() / fits[0]["slope_se"] - 1) < 0.15
    exact = weighted_line_fit(r, a + b * r, se)
    assert abs(exact["slope"] - b) < 1e-9 and abs(exact["intercept"] - a) < 1e-9
    boot = (a + b * r)[:, None] + se[:, None] * rng.normal(size=(4, 2000))
    ci = np.stack([a + b * r - 1.96 * se, a + b * r + 1.96 * se], 1)
    out = nstar_line(r, a + b * r, ci, boot, K=3)
    assert abs(out["weighted_fit"]["slope_se"] / exact["slope_se"] - 1) < 1e-4  # 1.96 vs z(0.975)
    lo, hi = out["bootstrap_line"]["slope_ci"]
    assert lo < b < hi and abs((hi - lo) / (2 * 1.96 * exact["slope_se"]) - 1) < 0.15
    assert np.allclose(out["N_star_over_Kr"], (a + b * r) / (3 * r))


@pytest.mark.parametrize("call,word", [
    (lambda: logistic_fit([100, 200], [0, 0], 10), "both successes and failures"),
    (lambda: logistic_fit([100, -1], [1, 2], 10), "N \\(sample sizes\\)"),
    (lambda: logistic_fit([100, 200], [1, 11], 10), "successes <= trials"),
    (lambda: logistic_fit([100, 200], [1, 5], 10, level=1.5), "level"),
    (lambda: bisect_nstar(lambda N: np.ones(3, bool), 10, 10, 2), "N_lo < N_hi"),
    (lambda: bisect_nstar(lambda N: np.ones(3, bool), 10, 20, -1), "steps"),
    (lambda: bisect_nstar(lambda N: np.ones(3), 10, 20, 2), "boolean"),
    (lambda: nstar_estimates([1, 2], np.zeros((3, 2)), 10), "2-D boolean"),
    (lambda: nstar_estimates([1, 2], np.zeros((3, 2), bool), 0), "n_boot"),
    (lambda: weighted_line_fit([1, 2], [1, 2], [1, 0]), "se"),
    (lambda: NestedDraws(2, 10, 3, 2, lam=-1.0, seed=0), "lam"),
])
def test_bad_inputs_are_clear_errors(call, word):
    with pytest.raises(ValueError, match=word):
        call()


def test_nested_draws_share_teacher_and_prefix_data_across_N():
    torch.set_num_threads(1)
    a = NestedDraws(K=2, d=10, r=4, trials=3, lam=0.5, seed=5, chunk=16)
    b = NestedDraws(K=2, d=10, r=4, trials=3, lam=0.5, seed=5, chunk=16)
    X40 = a.data(40)
    assert torch.equal(a.data(25), X40[:, :25])  # the first 25 samples do not depend on the largest N
    assert torch.equal(b.data(25), X40[:, :25]) and torch.equal(b.data(70)[:, :40], X40)
    assert torch.equal(a.instance(30).W_star, b.instance(50).W_star) and torch.equal(a.W0, b.W0)
    assert (a.instance(30).M.sum(-1) == 4).all()
    c = NestedDraws(K=2, d=10, r=4, trials=3, lam=0.5, seed=6, chunk=16)
    assert not torch.equal(c.data(25), X40[:, :25])


def test_agd_recovery_on_nested_draws_fails_below_K_r_and_succeeds_well_above():
    """N < K r samples leave the K r free weights undetermined (rank of the Jacobian <= N): no run may
    recover W*; at N = 6 K r with a generous budget every run does."""
    from sim.zhang.agd import AGD

    torch.set_num_threads(1)
    dr = NestedDraws(K=2, d=10, r=4, trials=6, lam=0.5, seed=2)
    agd = AGD(eta=1.0, beta=0.5, max_iter=4000)
    low, high = dr.evaluate(6, agd), dr.evaluate(48, agd)
    assert not low["success"].any() and high["success"].all()
    assert (high["stopped"] | ~high["cap_hit"]).all() and set(low) >= {"rel_err", "iters", "cap_hit", "diverged"}
