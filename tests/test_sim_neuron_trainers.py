"""sim.lrr.neuron, sim.lrr.trainers, sim.lrr.flow against autograd, Monte Carlo, torch.optim.LBFGS and scipy."""

import numpy as np
import pytest
import torch
from hypothesis import given, strategies as st

from sim.lrr import reference as ref
from sim.lrr.flow import integrate_flow
from sim.lrr.neuron import NeuronProblem, full_mask, grad_only, loss_and_grad, population_relative_error, sample
from sim.lrr.trainers import GD, LBFGS, Flow, train
from theory.lrr.numeric_checks import integrate_theta


def _batch(d=4, n=60, sigma=0.1, trials=5, seed=0, quadrant=None):
    return sample(NeuronProblem(d=d, n=n, sigma=sigma, trials=trials, quadrant=quadrant), seed)


@given(d=st.integers(1, 6), seed=st.integers(0, 10_000))
def test_gradient_matches_autograd_and_numpy(d, seed):
    b = _batch(d=d, seed=seed)
    g = torch.Generator().manual_seed(seed)
    mask = full_mask(5, d)
    mask[:, 1:] = (torch.rand(5, d, generator=g) < 0.7).double()
    theta = b.theta0.clone().requires_grad_(True)
    loss, grad = loss_and_grad(b.theta0, b.X, b.y, mask)
    q = theta * mask
    r = q[:, :1] * torch.relu(torch.bmm(b.X, q[:, 1:, None]).squeeze(2)) - b.y
    (0.5 * (r * r).mean(dim=1)).sum().backward()
    assert torch.allclose(grad, theta.grad, rtol=1e-12, atol=1e-14)
    assert torch.allclose(grad_only(b.theta0, b.X, b.y, mask), theta.grad, rtol=1e-12, atol=1e-14)
    for k in range(5):
        lk, gk = ref.loss_grad(b.theta0[k].numpy(), b.X[k].numpy(), b.y[k].numpy(), mask[k].numpy())
        assert lk == pytest.approx(float(loss[k]), rel=1e-12)
        np.testing.assert_allclose(gk, grad[k].numpy(), rtol=1e-11, atol=1e-14)


@pytest.mark.parametrize("trainer", [GD(lr=0.5, steps=300), LBFGS(epochs=40), Flow(t_end=20.0)],
                         ids=["gd", "lbfgs", "flow"])
def test_runs_sharing_a_data_set_match_the_same_runs_with_their_own_copy(trainer):
    """X (G, n, d) read by P = 3 runs each (as the methods of one trial in sim.lrr.cycles) against X copied per run.
    Draws 0-3 are noise-free and all their runs start at the teacher, so L-BFGS finishes them at once and
    drops them from its working batch; in some other draws one run finishes long before the rest: it waits,
    frozen, while its draw stays in the batch.  (Far from the teacher, L-BFGS with lr = 1 amplifies
    round-off, which differs between the two layouts: see LBFGS.)"""
    G, P, d = 8, 3, 3
    b = _batch(d=d, n=50, trials=G, seed=4)
    star = torch.tensor([1.0, 1.0, 0.0, 0.0], dtype=torch.float64)
    y = b.y.clone()
    y[:4] = torch.relu(b.X[:4, :, 0])
    g = torch.Generator().manual_seed(5)
    theta = star + 0.3 * torch.randn(G * P, d + 1, generator=g, dtype=torch.float64)  # near it: L-BFGS stays tame
    theta[:4 * P] = star
    mask = full_mask(G * P, d)
    mask[1::P, 3] = 0.0
    y_runs = y.repeat_interleave(P, dim=0)
    shared = train(trainer, theta, b.X, y_runs, mask)
    copied = train(trainer, theta, b.X.repeat_interleave(P, dim=0), y_runs, mask)
    assert torch.equal(shared.steps, copied.steps) and torch.equal(shared.sign_changes_a, copied.sign_changes_a)
    assert torch.allclose(shared.theta, copied.theta, rtol=1e-9, atol=1e-12)
    assert torch.allclose(shared.loss, copied.loss, rtol=1e-9, atol=1e-15)
    if isinstance(trainer, LBFGS):  # draws 0-3 left the working batch at once; a draw kept a finished run waiting
        steps = shared.steps.view(G, P)
        assert int(steps[:4].max()) == 0
        assert bool(((steps.min(1).values < 10) & (steps.max(1).values > 100)).any())
    with pytest.raises(ValueError, match="multiple of the data sets"):
        train(trainer, theta[:-1], b.X, y_runs[:-1], mask[:-1])


def test_population_error_matches_monte_carlo():
    rng = np.random.default_rng(0)
    d, N = 4, 400_000
    x = rng.normal(size=(N, d)) / np.sqrt(d)
    for _ in range(4):
        theta = rng.normal(size=d + 1)
        f = theta[0] * np.maximum(x @ theta[1:], 0) - np.maximum(x[:, 0], 0)
        num = f ** 2
        den = np.mean(np.maximum(x[:, 0], 0) ** 2)
        est, se = num.mean() / den, num.std() / np.sqrt(N) / den
        assert abs(population_relative_error(theta) - est) < 5 * se
    assert population_relative_error(np.array([1.0, 1.0, 0, 0])) == pytest.approx(0.0, abs=1e-15)
    assert population_relative_error(np.array([0.0, 1.0, 0, 0])) == pytest.approx(1.0)


def test_sampling_is_seeded_balanced_and_conditioned():
    a, b = _batch(seed=3, quadrant="+-"), _batch(seed=3, quadrant="+-")
    assert torch.equal(a.X, b.X) and torch.equal(a.theta0, b.theta0)
    assert not torch.equal(a.X, _batch(seed=4).X)
    th = a.theta0
    assert torch.allclose(th[:, 0] ** 2, (th[:, 1:] ** 2).sum(1))
    assert bool((th[:, 0] > 0).all()) and bool((th[:, 1] < 0).all())


@pytest.mark.parametrize("kwargs, word", [({"d": 0}, "d"), ({"sigma": -0.1}, "sigma"), ({"n": 0}, "n"),
                                          ({"quadrant": "+0"}, "quadrant"), ({"init_scale": 0.0}, "init_scale")])
def test_bad_problem_input(kwargs, word):
    args = {"d": 3, "n": 10, "sigma": 0.1, "trials": 2} | kwargs
    with pytest.raises(ValueError, match=word):
        NeuronProblem(**args)


@pytest.mark.parametrize("d, n, seed, max_iter", [(5, 200, 3, 20), (1, 100, 0, 20), (3, 100, 5, 4), (8, 150, 2, 20)])
def test_batched_lbfgs_is_torch_lbfgs_per_trial(d, n, seed, max_iter):
    """Cases whose steps stay moderate (see sim.lrr.trainers.LBFGS on round-off after very long steps)."""
    b = _batch(d=d, n=n, trials=4, seed=seed)
    mask = full_mask(4, d)
    tr = LBFGS(epochs=5, max_iter=max_iter)
    res = train(tr, b.theta0, b.X, b.y, mask, snapshot_at=5)
    for k in range(4):
        th, flips, snap = ref.train_lbfgs(tr, b.theta0[k].numpy(), b.X[k].numpy(), b.y[k].numpy(), mask[k].numpy(), 5)
        np.testing.assert_allclose(res.theta[k].numpy(), th, rtol=1e-9, atol=1e-11)
        np.testing.assert_allclose(res.snapshot[k].numpy(), snap, rtol=1e-9, atol=1e-11)
        assert [int(res.sign_changes_a[k]), int(res.sign_changes_w1[k])] == flips.tolist()


def test_batched_gd_matches_reference_and_keeps_pruned_zero():
    b = _batch(d=5, trials=3, seed=1)
    mask = full_mask(3, 5)
    mask[:, 3] = 0.0
    tr = GD(lr=0.5, steps=300)
    res = train(tr, b.theta0, b.X, b.y, mask, snapshot_at=7)
    assert bool((res.theta[:, 3] == 0).all())
    for k in range(3):
        th, flips, snap = ref.train_gd(tr, b.theta0[k].numpy(), b.X[k].numpy(), b.y[k].numpy(), mask[k].numpy(), 7)
        np.testing.assert_allclose(res.theta[k].numpy(), th, rtol=1e-10, atol=1e-13)
        np.testing.assert_allclose(res.snapshot[k].numpy(), snap, rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("quadrant", ["++", "+-", "-+", "--"])
def test_event_flow_matches_dense_active_set_integration(quadrant):
    b = _batch(d=4, n=120, trials=1, seed=7, quadrant=quadrant)
    th0, X, y = b.theta0[0].numpy(), b.X[0].numpy(), b.y[0].numpy()
    res = integrate_flow(th0, X, y, np.ones(5), Flow(t_end=15.0, rtol=1e-11, atol=1e-13))
    refsol = integrate_theta(th0, X, y, 15.0, rtol=1e-11, atol=1e-13).y[:, -1]
    np.testing.assert_allclose(res.theta, refsol, atol=1e-6)
    assert res.switches >= 1
    # Lemma 2.2 and balancedness along the exact flow
    assert np.sign(res.theta[0]) == np.sign(th0[0])
    assert abs(res.theta[0] ** 2 - res.theta[1:] @ res.theta[1:]) < 1e-7


def test_event_flow_with_a_rewinding_point_runs_on_to_t_end():
    """A snapshot time inside [0, t_end] must not stop the flow there (it once looped on the reached stop)."""
    b = _batch(d=4, n=120, trials=1, seed=3, quadrant="+-")
    th0, X, y = b.theta0[0].numpy(), b.X[0].numpy(), b.y[0].numpy()
    tr = Flow(t_end=15.0, rtol=1e-11, atol=1e-13, max_events=5000)
    plain = integrate_flow(th0, X, y, np.ones(5), tr)
    res = integrate_flow(th0, X, y, np.ones(5), tr, snapshot_at=1.0)
    assert not res.truncated and res.segments <= plain.segments + 2
    np.testing.assert_allclose(res.theta, plain.theta, atol=1e-8)
    early = integrate_flow(th0, X, y, np.ones(5), Flow(t_end=1.0, rtol=1e-11, atol=1e-13))
    np.testing.assert_allclose(res.snapshot, early.theta, atol=1e-8)


def test_event_flow_that_reaches_the_origin_stops_there_and_keeps_the_conservation_law():
    """a < 0 with |a| >> ||w||: the active samples are switched off one after another until w = 0, a
    stationary point (relu'(0) = 0); the integrator once toggled samples there at zero progress until
    max_events.  a^2 - ||w||^2 is conserved along the flow, so |a| ends at sqrt(a0^2 - ||w0||^2)."""
    rng = np.random.default_rng(5)
    X = rng.normal(size=(60, 2)) / np.sqrt(10)
    y = np.maximum(X[:, 0], 0) + 0.1 * rng.normal(size=60)
    th0 = np.array([-1.4, -0.4, 0.3])
    res = integrate_flow(th0, X, y, np.ones(3), Flow(t_end=60.0, max_events=3000), snapshot_at=50.0)
    assert res.at_origin and not res.truncated and res.segments < 100
    assert np.all(res.theta[1:] == 0) and res.theta[0] < 0
    assert res.theta[0] ** 2 == pytest.approx(1.4 ** 2 - 0.25, rel=1e-8)
    np.testing.assert_array_equal(res.snapshot, res.theta)  # held at the origin from then on
    assert res.loss == pytest.approx(0.5 * np.mean(y * y), rel=1e-12)


def test_event_flow_reaches_the_origin_where_scipys_event_root_finder_gave_up():
    """Run 40 of the paper-scale lrr-fig2a-flow (-,-) cell, a level that keeps inputs 1 and 10: w runs
    into the origin at t ~ 82.7, every margin reaches 0 there with slopes 1e4 apart, and locating that
    instant took brentq 103 iterations, more than the 100 solve_ivp allows (it raised and stopped the sweep)."""
    from sim.core.sweep import cell_seed

    batch = sample(NeuronProblem(d=10, n=1000, sigma=0.1, trials=100, quadrant="--"), cell_seed(0, "d10_qmm"))
    X, y = batch.X[40].numpy(), batch.y[40].numpy()
    th0 = np.zeros(11)
    th0[[0, 1, 10]] = -0.8549370041491777, -0.2234730842867848, -0.16272956026861224
    mask = (th0 != 0).astype(float)
    res = integrate_flow(th0, X, y, mask, Flow(t_end=200.0))
    assert res.at_origin and not res.truncated
    assert np.all(res.theta[1:] == 0)
    assert res.theta[0] ** 2 == pytest.approx(th0[0] ** 2 - th0[1] ** 2 - th0[10] ** 2, rel=1e-8)


def test_segment_solver_is_solve_ivp_step_for_step():
    """sim.lrr.flow's own loop replaces solve_ivp only to allow brentq more iterations: on a system where
    solve_ivp's root finder converges, times, states and event lists agree exactly."""
    from scipy.integrate import solve_ivp

    from sim.lrr.flow import _solve_segment

    A = np.array([[-0.1, 1.0, 0.0], [-1.0, -0.1, 0.3], [0.0, -0.3, -0.05]])
    rhs = lambda y: A @ y + np.array([0.0, 0.0, 0.02 * y[0] * y[1]])  # noqa: E731

    def first(_t, y):
        return y[0]

    def second(_t, y):
        return y[1] - 0.2

    def stop(_t, y):
        return y[2] - 0.2
    stop.terminal, stop.direction, second.direction = True, -1, 1
    y0 = np.array([1.0, 0.0, 0.4])
    statuses, events = [], 0
    for t_end in (3.0, 40.0):
        ref = solve_ivp(lambda _t, y: rhs(y), (0.0, t_end), y0, method="DOP853", rtol=1e-9, atol=1e-12,
                        events=[first, second, stop])
        ours = _solve_segment(rhs, 0.0, t_end, y0, 1e-9, 1e-12, [first, second, stop])
        assert ours.status == ref.status
        assert ours.t == ref.t[-1]
        np.testing.assert_array_equal(ours.y, ref.y[:, -1])
        assert [list(e) for e in ref.t_events] == ours.t_events
        statuses.append(ours.status)
        events += sum(map(len, ours.t_events))
    assert statuses == [0, 1] and events >= 3  # both endings and several events were exercised


def test_event_flow_agrees_on_a_hand_built_negative_a_case():
    """Two samples, a < 0, balanced start: both samples switch off and the flow stops on the boundary."""
    X = np.array([[1.0, 0.0], [0.6, 0.8]])
    y = np.array([1.0, 2.0])
    th0 = np.array([-1.0, 0.8, -0.6])
    res = integrate_flow(th0, X, y, np.ones(3), Flow(t_end=3.0, rtol=1e-11, atol=1e-13))
    refsol = integrate_theta(th0, X, y, 3.0, rtol=1e-9, atol=1e-12).y[:, -1]
    np.testing.assert_allclose(res.theta, refsol, atol=1e-5)
    assert res.switches >= 1 and res.theta[0] < 0


def test_event_flow_slides_on_the_switching_surface_as_the_smoothed_flow_does_in_the_limit():
    """The Filippov branch.  Hand-built, d = 2: sample 2 (label 2) pulls w towards x_2 and so raises
    z_1 = x_1.w to 0; on the surface, sample 1 (label -1 < 0) pushes back when counted active, so both sides
    point into the surface and the flow slides along z_1 = 0.  Oracle: the gradient flow of the smoothed loss
    (relu -> eps softplus(z/eps), relu' -> sigmoid(z/eps)), whose solutions tend to the Filippov solution as
    eps -> 0; the gap must shrink about tenfold per decade of eps."""
    from scipy.integrate import solve_ivp
    from scipy.special import expit

    X, y = np.array([[1.0, 0.0], [1.0, 1.0]]), np.array([-1.0, 2.0])
    w0 = np.array([-0.2, 1.2])
    th0 = np.concatenate([[np.linalg.norm(w0)], w0])
    res = integrate_flow(th0, X, y, np.ones(3), Flow(t_end=3.0, rtol=1e-11, atol=1e-13))
    assert res.sliding == 1 and abs(X[0] @ res.theta[1:]) < 1e-12  # it reached z_1 = 0 and stayed on it

    def smoothed(eps):
        def rhs(_t, th):
            z = X @ th[1:]
            sp, sg = eps * np.logaddexp(0.0, z / eps), expit(z / eps)
            r = th[0] * sp - y
            return -np.concatenate([[np.mean(r * sp)], th[0] * (r * sg) @ X / len(y)])
        return solve_ivp(rhs, (0.0, 3.0), th0, method="Radau", rtol=1e-10, atol=1e-12).y[:, -1]

    gaps = [np.abs(smoothed(eps) - res.theta).max() for eps in (1e-3, 1e-4, 1e-5)]
    assert gaps[2] < 2e-4 and gaps[1] < 0.2 * gaps[0] and gaps[2] < 0.2 * gaps[1]


def test_trainers_reject_bad_settings():
    with pytest.raises(ValueError, match="lr"):
        GD(lr=-1.0)
    with pytest.raises(ValueError, match="line_search"):
        LBFGS(line_search="wolfe")
    with pytest.raises(ValueError, match="t_end"):
        Flow(t_end=0.0)
