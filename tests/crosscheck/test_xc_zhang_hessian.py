"""Backs paper_repro.md, paper 001, the Theorem 1 row (`zhang-hessian`: the empirical Hessian's extreme
eigenvalues approach the population ones as sqrt(K r / N) -> 0).  Second computation: the population Hessian
at W* built from gate moments that sympy integrates (theory.zhang.relu_moments.population_hessian_disjoint, with
each teacher neuron's own direction), against the empirical J^T J / (N K^2) of sim.zhang.sparse_teacher.hessian on
N = 2e5 samples (disjoint supports).  Tolerance: every entry within 6 / sqrt(N) (relative to the largest
entry), and K^2 lambda_min, K lambda_max within 2 % of the closed forms."""

import numpy as np

from sim.zhang.sparse_teacher import SparseProblem, free_index, hessian, make_instance
from theory.zhang.relu_moments import population_hessian_disjoint, population_hessian_eigenvalues


def test_empirical_hessian_at_w_star_tends_to_the_population_hessian():
    K, r, N = 3, 4, 200_000
    inst = make_instance(SparseProblem(K=K, d=K * r, r=r, N=N, layout="disjoint", trials=2), seed=11)
    H = hessian(inst.W_star, inst.M, inst.X).numpy()
    idx = free_index(inst.M)
    for b in range(2):
        Wb = inst.W_star[b].gather(1, idx[b]).numpy()  # (K, r): each neuron's weights on its own inputs
        dirs = Wb / np.linalg.norm(Wb, axis=1, keepdims=True)
        pop = np.array(population_hessian_disjoint(K, r, dirs).evalf(), dtype=float)
        scale = np.abs(pop).max()
        assert np.abs(H[b] - pop).max() < 6 / np.sqrt(N) * scale
        ev = np.linalg.eigvalsh(H[b])
        closed = {k: float(v) for k, v in population_hessian_eigenvalues(K).items()}
        assert abs(ev[0] - closed["min"]) < 0.02 * closed["min"]
        assert abs(ev[-1] - closed["max"]) < 0.02 * closed["max"]
    # the empirical side is not the population one by construction: at N = 2000 the gap is visible
    small = make_instance(SparseProblem(K=K, d=K * r, r=r, N=2000, layout="disjoint", trials=1), seed=11)
    ev_small = np.linalg.eigvalsh(hessian(small.W_star, small.M, small.X).numpy()[0])
    assert abs(ev_small[0] - float(population_hessian_eigenvalues(K)["min"])) > 1e-4
