"""Bad input to the numeric entry points ends in a ValueError that names the parameter, never in a hang, a
silent wrong number or a raw library error (hypothesis draws the bad values)."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given, strategies as st

from sim.lrr.cycles import CycleConfig, run_cycles
from sim.lrr.neuron import NeuronBatch, NeuronProblem, sample
from sim.xudu.overparam import GD as OverparamGD, OverparamProblem, initial_students, run_flow, teacher
from sim.zhang.sparse_teacher import SparseProblem, init_at_distance, make_instance
from sim.lrr.trainers import GD, LBFGS, Flow
from theory.lrr.single_neuron_limits import D1Data

not_positive = st.one_of(st.just(math.nan), st.just(math.inf), st.just(-math.inf),
                         st.floats(max_value=0.0, allow_nan=False))


@given(not_positive)
def test_flow_horizons_that_would_hang_or_run_backwards_are_refused(t_end):
    pr = OverparamProblem(n=2, d=3, trials=1)
    with pytest.raises(ValueError, match="t_end"):
        run_flow(initial_students(pr, 0), teacher(pr), t_end)
    with pytest.raises(ValueError, match="t_end"):
        Flow(t_end=t_end)


@given(st.one_of(st.floats(allow_nan=True).filter(lambda v: not float(v).is_integer()), st.integers(max_value=0)))
def test_step_counts_must_be_positive_integers(steps):
    with pytest.raises(ValueError, match="steps"):
        GD(steps=steps)
    with pytest.raises(ValueError, match="steps"):
        OverparamGD(lr=0.1, steps=steps)
    with pytest.raises(ValueError, match="epochs"):
        LBFGS(epochs=steps)


def test_teacher_of_another_dimension_is_named():
    pr = OverparamProblem(n=2, d=3, trials=1)
    with pytest.raises(ValueError, match="teacher v has dimension 4 but the students have d = 3"):
        run_flow(initial_students(pr, 0), torch.ones(4, dtype=torch.float64), 1.0)


@given(st.one_of(st.just(math.nan), st.floats(max_value=-1e-12, allow_nan=False, allow_infinity=True)))
def test_negative_or_nan_initial_distance_is_refused(lam):
    inst = make_instance(SparseProblem(K=2, d=10, r=3, N=20), 0)
    with pytest.raises(ValueError, match="lam"):
        init_at_distance(inst.W_star, inst.M, lam, 0)


def test_empty_samples_are_named_as_such():
    with pytest.raises(ValueError, match="empty"):
        D1Data.from_samples([], [])


def test_cycles_refuse_non_finite_data_and_an_unasked_for_unbalanced_start():
    b = sample(NeuronProblem(d=3, n=20, sigma=0.1, trials=2), 0)
    X = b.X.clone()
    X[0, 0, 0] = float("nan")
    cfg = CycleConfig(levels=1, sparsity=0.5)
    with pytest.raises(ValueError, match="X of the batch contains NaN"):
        run_cycles(NeuronBatch(X, b.y, b.theta0), GD(steps=3), cfg)
    unbalanced = NeuronBatch(b.X, b.y, b.theta0 * torch.tensor([1.5, 1.0, 1.0, 1.0], dtype=torch.float64))
    with pytest.raises(ValueError, match="unbalanced in 2 trial"):
        run_cycles(unbalanced, GD(steps=3), cfg)
    recs = run_cycles(unbalanced, GD(steps=3), CycleConfig(levels=1, sparsity=0.5, unbalanced_start=True))
    assert np.isfinite(recs["lrr"].theta_end).all()
