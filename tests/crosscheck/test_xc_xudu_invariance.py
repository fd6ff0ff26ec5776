"""Backs paper_repro.md, paper 002, the rows "the rate does not depend on the initialization scale or d"
(`xudu-exponent-n-init`, `xudu-exponent-n-d`, measured with GD and the offset fit) and "three phases in this
order".  Second computation: the gradient flow (scipy LSODA, not GD) and the model-free local exponent (no
fitted law), over the corners of the grids, n = 2 and 3, d in {2, 20}, s in {1e-3, 0.1}, 2 seeds, t <= 1e6.
Tolerances: in every corner the late local exponent is within 0.05 of -3 and still moving towards it (the
deficit one decade earlier is larger); and in every run the phases come in the paper's order (T1 <= T2)."""

import numpy as np
import pytest

from sim.xudu.overparam import OverparamProblem, initial_students, run_flow, teacher
from sim.xudu.rates import late_local_exponent, phases


@pytest.mark.parametrize("n", [2, 3])
def test_flow_exponent_is_minus_three_at_every_corner_of_the_d_and_scale_grids(n):
    for d in (2, 20):
        for s in (1e-3, 0.1):
            pr = OverparamProblem(n=n, d=d, trials=2, init_scale=s)
            tr = run_flow(initial_students(pr, seed=11), teacher(pr), t_end=1e6, records=180)
            p_end, p_before = late_local_exponent(tr.t, tr.loss)
            assert np.all(np.abs(p_end + 3) < 0.05), (n, d, s, p_end)
            assert np.all(np.abs(p_before + 3) >= np.abs(p_end + 3) - 1e-3), (n, d, s, p_before, p_end)
            T1, T2 = phases(tr.t, tr.theta, tr.loss, tr.linear)
            assert np.all(np.isfinite(T1) & np.isfinite(T2) & (T1 <= T2)), (n, d, s, T1, T2)
