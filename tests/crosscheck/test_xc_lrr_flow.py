"""Backs paper_repro.md, paper 000, "The exact gradient flow" (lrr-fig2a-flow): the flow's outcome per run
against a second trainer (small-step GD over the same time, :mod:`sim.lrr.flow_check`) and, for IMP in
(+,-), against the sign of the noise term C2^- of the one input kept (the Filippov crossing rule, computed
from the data alone).  Tolerance: run-by-run agreement in every trial (d = 10, n = 1000, sigma = 0.1,
t_end = 200, GD lr 0.05 for 4000 steps per level, 8 trials of the (+,-) quadrant)."""

import numpy as np

from sim.lrr.cycles import run_cycles
from sim.lrr.diagrams import NeuronCell, cell_cycles, cell_problem
from sim.lrr.flow_check import gd_counterpart, last_kept_noise_terms
from sim.lrr.neuron import sample
from sim.lrr.trainers import Flow

CELL = NeuronCell(key="d10_qpm", d=10, n=1000, sigma=0.1, quadrant="+-", trials=8, trainer=Flow(t_end=200.0),
                  methods=("lrr", "imp", "imp-balanced"), rewind_step=1)


def test_flow_and_small_step_gd_agree_run_by_run_and_imp_crosses_iff_the_noise_term_points_on():
    batch = sample(cell_problem(CELL), seed=7)
    methods = CELL.methods
    flow = run_cycles(batch, CELL.trainer, cell_cycles(CELL))
    gd_tr, rewind = gd_counterpart(CELL, 0.05)
    assert (gd_tr.lr, gd_tr.steps, rewind) == (0.05, round(200.0 / 0.05), round(1 / 0.05))
    gd = run_cycles(batch, gd_tr, cell_cycles(CELL, rewind_step=rewind))
    for m in methods:
        np.testing.assert_array_equal(flow[m].success, gd[m].success, err_msg=m)
    assert flow["lrr"].success.all()  # Theorem 2.3: LRR succeeds in (+,-)
    assert not flow["imp-balanced"].success.any()  # Theorem 2.1 on the balanced one-input problem
    c2 = last_kept_noise_terms(batch.X.numpy(), batch.y.numpy(), flow["imp"].masks[:, -1])
    kept1 = flow["imp"].masks[:, -1, 0] == 1
    np.testing.assert_array_equal(flow["imp"].success[kept1], c2[kept1] > 0)
    assert 0 < flow["imp"].success.sum() < 8  # both outcomes occur on these trials: the check can tell
