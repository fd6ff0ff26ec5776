"""Closed-form population loss/gradient of the over-parameterized single-neuron problem (Xu & Du 2023)."""

import numpy as np
import torch
from hypothesis import given, settings, strategies as st

from theory.xudu import overparam_neuron as op
from theory.xudu.claims import _mc_loss_grad


@settings(max_examples=12, deadline=None)
@given(n=st.integers(1, 5), d=st.integers(2, 6), seed=st.integers(0, 2 ** 31 - 1),
       scale=st.floats(0.05, 3.0))
def test_closed_forms_agree_with_monte_carlo(n, d, seed, scale):
    rng = np.random.default_rng(seed)
    W, v = scale * rng.normal(size=(n, d)), rng.normal(size=d)
    l_mc, l_se, g_mc, g_se = _mc_loss_grad(W, v, 100_000, rng)
    Wt, vt = torch.from_numpy(W), torch.from_numpy(v)
    assert abs(float(op.population_loss(Wt, vt)) - l_mc) < 5 * l_se + 1e-12
    assert np.all(np.abs(op.population_grad(Wt, vt).numpy() - g_mc) < 5 * g_se + 1e-12)


def test_batched_gradient_is_the_finite_difference_of_the_batched_loss():
    g = torch.Generator().manual_seed(3)
    W = torch.randn(7, 4, 6, generator=g, dtype=torch.float64)
    v = torch.randn(7, 6, generator=g, dtype=torch.float64)
    grad = op.population_grad(W, v)
    h = 1e-6
    for i, c in [(0, 0), (1, 3), (3, 5), (2, 1)]:
        E = torch.zeros_like(W)
        E[:, i, c] = h
        fd = (op.population_loss(W + E, v) - op.population_loss(W - E, v)) / (2 * h)
        assert torch.allclose(fd, grad[:, i, c], atol=1e-8)


def test_dead_student_gets_zero_gradient_not_nan():
    W = torch.tensor([[[0.0, 0.0, 0.0], [0.5, 0.2, -0.1]]], dtype=torch.float64)
    v = torch.tensor([1.0, 0.0, 0.0], dtype=torch.float64)
    g, L = op.population_grad(W, v), op.population_loss(W, v)
    assert torch.isfinite(g).all() and torch.isfinite(L).all()
    assert torch.equal(g[0, 0], torch.zeros(3, dtype=torch.float64))
    # the live student sees exactly the single-neuron problem
    assert torch.allclose(g[0, 1], op.population_grad(W[:, 1:], v)[0, 0])


def test_loss_keeps_relative_precision_near_a_minimum():
    """At w_i = v/2 +- eps e2 the loss is ~ (4/(3 pi)) eps^3; summing O(1) kernels would return noise."""
    v = torch.tensor([1.0, 0.0], dtype=torch.float64)
    for eps in (1e-3, 1e-5):
        W = torch.tensor([[[0.5, eps], [0.5, -eps]]], dtype=torch.float64)
        expected = 4 / (3 * np.pi) * eps ** 3
        assert abs(float(op.population_loss(W, v)) / expected - 1) < 1e-2
