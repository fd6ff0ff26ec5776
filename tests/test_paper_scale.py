"""Checks at the papers' own sizes (``-m slow``; minutes on two cores): the batched engines against their
per-trial oracles where the paper-scale runs of ``paper_repro.md`` use them, outside the small sizes the
default tests cover."""

import numpy as np
import pytest

from sim.zhang.agd import AGD, run_agd
from sim.zhang.sparse_reference import agd_one
from sim.zhang.sparse_teacher import SparseProblem, free_index, init_at_distance, make_instance

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("K, d, N, r, layout", [(5, 500, 3000, 50, "gathered"), (5, 500, 3000, 300, "dense"),
                                                 (10, 300, 1000, 40, "gathered")])
def test_sparse_engine_at_paper_sizes_matches_the_oracle(K, d, N, r, layout, one_thread):
    """Fig. 2 / Fig. 5 sizes: 40 float64 steps of the engine in the layout its rule picks there equal the
    numpy oracle's in the paper's coordinates; the mixed engine's iterate stays within float32 distance."""
    inst = make_instance(SparseProblem(K=K, d=d, r=r, N=N, trials=2), seed=11)
    W0 = init_at_distance(inst.W_star, inst.M, 0.5, 2)
    steps = 40
    exact = run_agd(inst, W0, AGD(max_iter=steps, tol=0.0, precision="float64"))
    mixed = run_agd(inst, W0, AGD(max_iter=steps, tol=0.0))
    assert exact.layout == layout == mixed.layout
    idx = free_index(inst.M).numpy()
    for b in range(inst.B):
        om = [idx[b, j] for j in range(K)]
        W, t, _ = agd_one([W0[b, j].numpy()[om[j]] for j in range(K)], om, inst.X[b].numpy(), inst.y[b].numpy(),
                          0.5, 0.2, steps, 0.0)
        full = np.zeros((K, d))
        for j in range(K):
            full[j, om[j]] = W[j]
        assert t == steps == exact.iters[b]
        np.testing.assert_allclose(exact.W[b].numpy(), full, rtol=1e-9, atol=1e-12)
        scale = np.linalg.norm(full)
        assert np.linalg.norm(mixed.W[b].numpy() - full) < 1e-5 * scale


def test_overparam_gd_at_paper_size_matches_the_oracle(one_thread):
    """xudu-rates paper size (n = 10 students, d = 10): 2000 batched population-GD steps equal the numpy
    oracle's trial by trial."""
    from sim.xudu import overparam as op
    from sim.xudu.overparam_reference import gd_one

    pr = op.OverparamProblem(n=10, d=10, trials=3)
    W0, v = op.initial_students(pr, 5, "cpu"), op.teacher(pr, "cpu")
    traj = op.run_gd(W0, v, op.GD(lr=0.1, steps=2000, records=2))
    for b in range(pr.trials):
        W, _ = gd_one(W0[b].numpy(), v.numpy(), 0.1, 2000, record_loss=False)
        np.testing.assert_allclose(traj.W_final[b], W, rtol=1e-9, atol=1e-12)
