"""Paper 001 (Zhang et al.), Lemma 1: the tensor initialization's decomposition (``sim.zhang.tensor_init.decompose``,
the code path the sample moments go through) recovers W* from the exact population moments.

The closed form (``PopulationMoments``): in z = S~^(-1/2) x~, M_k = sum_j (1/K) m_k(||w_j||) rho_j^k
abar_j^(x)k with a_j = L_j w_j and the m_k of ``theory.zhang.relu_moments``; E[y x] = sum_j (1/K) m_1(||w_j||) wbar_j.
Before the 2026-11 fix the back-mapping read abar_j as w_j's direction, exact for disjoint and identical
supports but off by 0.7-1.1 (relative error) on the paper's overlapping random supports even with exact
moments; ``test_population_moments_recover_w_star[overlap-*]`` fails there.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sim.zhang.sparse_teacher import SparseProblem, free_index, make_instance, relative_error, relative_error_perm
from sim.zhang.tensor_init import EmpiricalMoments, PopulationMoments, geometry, population_init

LAYOUTS = {"dense": dict(d=12, r=12, layout="random"), "disjoint": dict(d=50, r=10, layout="disjoint"),
           "overlap": dict(d=30, r=12, layout="random")}


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.mark.parametrize("K", [3, 4, 5])
@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_population_moments_recover_w_star(layout, K):
    inst = make_instance(SparseProblem(K=K, N=3, trials=12, **LAYOUTS[layout]), seed=100 + K)
    W0, info = population_init(inst, seed=7)
    err = relative_error_perm(W0, inst.W_star)
    assert err.max() < 1e-6, err
    assert info["subspace_error"].max() < 1e-8
    if layout != "dense":  # distinct supports: the labelling itself must be right, not only up to relabelling
        assert relative_error(W0, inst.W_star).max() < 1e-6
    if layout == "overlap":  # the draws where x~ does not see a direction of some w_j are exercised
        assert (info["null_dim"] > 0).any() and (info["null_deficit"] == 0).all()


@pytest.mark.parametrize("layout", ["dense", "overlap"])
def test_closed_form_moments_agree_with_sample_moments(layout):
    """Each entry of P2 = E[y (z z^T - I)], E[y z] and E[y x] from 1e5 samples lies within 5.5 of its own
    standard errors of the closed form (an error in a coefficient m_k, in rho_j or in L_j shows as >> 5.5)."""
    K, N = 3, 100_000
    kw = dict(LAYOUTS[layout], d=10, r=10) if layout == "dense" else dict(LAYOUTS[layout], d=16, r=8)
    inst = make_instance(SparseProblem(K=K, N=N, trials=2, **kw), seed=5)
    idx = free_index(inst.M)
    geom = geometry(idx, inst.X.shape[-1])
    pop = PopulationMoments(inst.W_star.gather(2, idx), geom)
    emp = EmpiricalMoments(inst.X, inst.y, geom, split=False)
    z = inst.X @ geom.G
    y = inst.y
    r = z.shape[-1]
    samples = {"p2": y[..., None, None] * (z[..., :, None] * z[..., None, :] - torch.eye(r, dtype=z.dtype)),
               "m1": y[..., None] * z, "m1_full": y[..., None] * inst.X}
    for name, s in samples.items():
        est, exact = getattr(emp, name)(), getattr(pop, name)()
        se = s.std(1) / np.sqrt(N)
        assert torch.allclose(est, s.mean(1), rtol=1e-10, atol=1e-12)
        zscore = ((est - exact) / se).abs().max().item()
        assert zscore < 5.5, (name, zscore)


def test_tiny_tinit_sweep_records_population_limit_and_fits(tmp_path):
    """The registered ``zhang-tinit-n`` diagram on a tiny grid: its summary carries the population error
    (~0: the decomposition is exact) and the exact-P2/P4 ablations, its fit step writes fits.json from the
    summary, and figures.zhang_tinit draws it from there."""
    import json
    from dataclasses import replace

    from figures.zhang_tinit import plot
    from sim.core import registry
    from sim.core.sweep import SweepSpec, read_summary, run
    from sim.zhang.tensor_init import Support

    base = registry.get("zhang-tinit-n")
    tiny = replace(base.scales["quick"], configs=(Support(K=2, d=6, r=6, layout="random"),
                                                 Support(K=2, d=10, r=5, layout="random")),
                   Ns=(2000, 20000), trials=3, n_agd=500, max_iter=300)
    name = "test-tiny-zhang-tinit-n"
    if name not in registry.load_all():
        registry.register(replace(base, name=name, scales={"quick": tiny, "paper": tiny}))
    out = run(SweepSpec(name), out=tmp_path / "r", progress=False)
    rows = read_summary(out / "summary.csv")
    assert len(rows) == 4 and {r["support"] for r in rows} == {"dense", "overlap"}
    assert max(float(r["pop_err_max"]) for r in rows) < 1e-8
    fits = json.loads((out / "fits.json").read_text())
    assert set(fits) == {"dense K=2 d=6 r=6", "overlap K=2 d=10 r=5"}
    for label, f in fits.items():
        sub = sorted((r for r in rows if f"{r['support']} K={r['K']} d={r['d']} r={r['r']}" == label),
                     key=lambda r: int(r["N"]))
        assert f["N"] == [2000, 20000]
        assert f["init_err"] == [float(r["init_err"]) for r in sub]
        assert f["agd_success_tensor"] == [float(r["agd_success_tensor"]) for r in sub]
        slope = np.polyfit(np.log10(f["N"]), np.log10(f["init_err"]), 1)[0]
        assert np.isclose(f["loglog_slope_init_err"]["slope"], slope, rtol=1e-9)
    assert plot(out) == [out / "tinit_vs_N.png"] and (out / "tinit_vs_N.png").is_file()
