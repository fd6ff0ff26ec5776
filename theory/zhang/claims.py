"""Claims of paper 001 (Zhang et al., "Why Lottery Ticket Wins?"; our copy is the ICLR 2021 submission, without
its appendices), registered for ``python -m theory.verify``.

The paper's theorems are order statements (Theta, O) without constants, so what a computer can check is
the machinery they rest on and their internal consistency: the ReLU moments of the tensor initialization
(Zhong et al. 2017, Definition 5.1, which Sec. 4 adopts), the population Hessian at W* that Theorem 1's
bounds (7) approximate (ours, disjoint supports), and the rates printed after Theorem 2.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from theory.zhang import relu_moments as rm
from theory.core.claims import Outcome, claim

P = "zhang2021"


@claim("zhang.moments.relu", P, "Sec. 4 / Lemma 1: tensor initialization after Zhong et al. (2017), Def. 5.1",
       "For ReLU, Zhong et al.'s m_1..m_4 (in gammas) are the Hermite coefficients E[relu(s z) He_j(z)]; "
       "m_3 = 0 (and every odd m_j, j >= 3), so P_3 must use M_4: j2 = 2, j3 = 4")
def _moments():
    same = all(sp.simplify(rm.zhong_m(j) - rm.hermite_coefficient(j)) == 0 for j in range(1, 5))
    odd_zero = all(sp.simplify(rm.hermite_coefficient(j)) == 0 for j in range(3, 12, 2))
    even_nonzero = all(sp.simplify(rm.hermite_coefficient(j)) != 0 for j in range(0, 12, 2))
    orders = (rm.first_nonzero(2), rm.first_nonzero(3)) == (2, 4)
    m = {j: rm.hermite_coefficient(j) for j in (1, 2, 4)}
    return Outcome.require(same and odd_zero and even_nonzero and orders,
                           f"sympy integrals: m1 = {m[1]}, m2 = {m[2]}, m3 = 0, m4 = {m[4]}; odd m_j = 0 for "
                           f"j = 3..11, even m_j != 0 for j = 0..10; first non-zero orders >= 2 and >= 3 are 2 and 4")


@claim("zhang.hessian.population", P, "Theorem 1, eq. (7) (population limit at W*; ours, disjoint supports)",
       "At W* (noiseless) the population Hessian of (2) with disjoint supports is (1/K^2)[I/2 + (uu^T - "
       "blockdiag(wbar wbar^T))/(2 pi)], eigenvalues (1/K^2){1/2 - 1/(2 pi), 1/2, 1/2 + (K-1)/(2 pi)}")
def _hessian_population():
    g = rm.gate_moments()
    gates_ok = (g["p"] == sp.Rational(1, 2) and sp.simplify(g["mean_along"] - 1 / sp.sqrt(2 * sp.pi)) == 0
                and g["second_along"] == sp.Rational(1, 2) and g["second_across"] == sp.Rational(1, 2))
    rng = np.random.default_rng(0)
    ok = True
    for K in (2, 3):
        dirs = rng.integers(-3, 4, size=(K, 2)).astype(float)
        dirs[np.all(dirs == 0, axis=1)] = [1, 0]
        dirs = [sp.Matrix([int(c) for c in v]) / sp.sqrt(sum(int(c) ** 2 for c in v)) for v in dirs]
        H = sp.zeros(2 * K, 2 * K)
        for j in range(K):
            for l in range(K):
                blk = (sp.Rational(1, 2) * sp.eye(2) if j == l else g["mean_along"] ** 2 * dirs[j] * dirs[l].T)
                H[2 * j:2 * j + 2, 2 * l:2 * l + 2] = blk / K ** 2
        ev = {sp.nsimplify(sp.simplify(k)): v for k, v in H.eigenvals().items()}
        want = rm.population_hessian_eigenvalues(K)
        expect = {sp.simplify(want["min"]): K - 1, sp.simplify(want["bulk"]): K, sp.simplify(want["max"]): 1}
        got = {}
        for k, v in ev.items():
            key = next((e for e in expect if sp.simplify(k - e) == 0), None)
            if key is None:
                ok = False
                break
            got[key] = got.get(key, 0) + v
        ok = ok and got == expect
    # Monte Carlo at K = 3, r = 3 disjoint: J^T J / (N K^2) with N = 400,000
    K, r, N = 3, 3, 400_000
    W = rng.normal(size=(K, r))
    X = rng.normal(size=(N, K, r))
    J = (X * (np.einsum("nkr,kr->nk", X, W) > 0)[..., None]).reshape(N, K * r)
    ev_mc = np.linalg.eigvalsh(J.T @ J / (N * K ** 2))
    pop = {k: float(v) for k, v in rm.population_hessian_eigenvalues(K).items()}
    mc_ok = abs(ev_mc[0] - pop["min"]) < 0.02 * pop["min"] and abs(ev_mc[-1] - pop["max"]) < 0.02 * pop["max"]
    return Outcome.require(gates_ok and ok and mc_ok,
                           f"gate moments by sympy; exact eigenvalues with multiplicities (K-1, K, 1) for K = 2, 3 "
                           f"(r = 2); Monte Carlo N = 4e5: min {ev_mc[0]:.5f} vs {pop['min']:.5f}, max {ev_mc[-1]:.5f} "
                           f"vs {pop['max']:.5f}")


@claim("zhang.thm1.orders", P, "Theorem 1, eq. (7)",
       "The population Hessian at W* has lambda_min = Theta(1/K^2) and lambda_max = Theta(1/K): K^2 lambda_min -> "
       "1/2 - 1/(2 pi) and K lambda_max -> 1/(2 pi) as K -> oo (bounds (7) at eps0 = eps1 = 0)")
def _orders():
    K = sp.Symbol("K", positive=True)
    lmin = (sp.Rational(1, 2) - 1 / (2 * sp.pi)) / K ** 2
    lmax = (sp.Rational(1, 2) + (K - 1) / (2 * sp.pi)) / K ** 2
    a = sp.limit(K ** 2 * lmin, K, sp.oo)
    b = sp.limit(K * lmax, K, sp.oo)
    ok = sp.simplify(a - (sp.Rational(1, 2) - 1 / (2 * sp.pi))) == 0 and sp.simplify(b - 1 / (2 * sp.pi)) == 0
    same_form = all(sp.simplify(rm.population_hessian_eigenvalues(k)["max"] - lmax.subs(K, k)) == 0 for k in (2, 5, 9))
    return Outcome.require(ok and same_form and a > 0, f"limits {a} and {b}; both positive constants")


@claim("zhang.thm2.rates", P, "Sec. 4, implication 1 vs. Theorem 2 and the paragraph after Lemma 1",
       "Implication 1 prints the same rate Theta(sqrt(r/K)) for AGD and for GD (beta = 0)", finding="typo")
def _rates_text():
    K, e0, c = sp.symbols("K epsilon_0 c", positive=True)
    nu_gd = 1 - c * (1 - e0) / K  # Theorem 2: nu(0) = 1 - Theta((1 - eps0)/K)
    nu_agd = 1 - c * (1 - e0) / sp.sqrt(K)  # nu(beta*) = 1 - Theta((1 - eps0)/sqrt(K))
    gap = sp.simplify(nu_gd - nu_agd)  # = c (1 - eps0) (1/sqrt(K) - 1/K) > 0 for K > 1, eps0 < 1
    positive = sp.simplify(gap.subs({K: 4, e0: sp.Rational(1, 4), c: 1})) > 0 and \
        sp.simplify(gap - c * (1 - e0) * (1 / sp.sqrt(K) - 1 / K)) == 0
    # the printed bullet says both are Theta(sqrt(r/K)): same order <=> (1 - nu(0)) / (1 - nu(beta*)) tends to a
    # positive constant as K grows
    ratio = sp.limit((1 - nu_gd) / (1 - nu_agd), K, sp.oo)
    printed_same = bool(ratio.is_positive and ratio.is_finite)
    return Outcome.from_checks(
        printed_same, positive,
        f"(1 - nu(0)) / (1 - nu(beta*)) -> {ratio} as K -> oo; Theorem 2 gives nu(0) - nu(beta*) = c (1 - eps0)(1/sqrt(K) - 1/K) > 0 for K > 1: GD is slower by a "
        "factor ~ sqrt(K) in 1 - nu, so the two rates cannot both be Theta(sqrt(r/K)); the paragraph after Lemma 1 "
        "prints nu(0) = Theta(sqrt(r)/K) and nu(beta*) = Theta(sqrt(r/K)), which matches Theorem 2",
        corrected="GD (beta = 0): Theta(sqrt(r)/K); AGD: Theta(sqrt(r/K)) (as after Lemma 1)")
