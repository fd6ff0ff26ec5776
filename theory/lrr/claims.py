"""Claims of paper 000 (Gadhikar & Burkholz, "Masks, Signs, and Learning Rate Rewinding", ICLR 2024),
Section 2 and Appendix A.1-A.2, registered for ``python -m theory.verify``."""

from __future__ import annotations

import sympy as sp

from theory.lrr import appendix_a2 as a2
from theory.lrr import balancedness, closed_forms as cf, gradient_flow, single_neuron_limits as snl
from theory.core import gaussian
from theory.core.claims import Outcome, claim
from theory.lrr.numeric_checks import (closed_form_vs_mpmath, closed_form_vs_scipy, theorem21_vs_flow,
                                   balancedness_along_flow)

P = "lrr2024"


def _fmt(d: dict) -> str:
    return "; ".join(f"{k}: {v}" for k, v in d.items())


# ---- gradient-flow ODEs ---------------------------------------------------------------------------

@claim("lrr.eq3", P, "Eq. (3), App. A.1",
       "d = 1 flow a' = -a w^2 C1 + w C2, w' = -w a^2 C1 + a C2, C1 = 1/n sum_I x^2, C2 = 1/n sum_I x y")
def _eq3():
    a_ok, w_ok = gradient_flow.eq3_matches_derivation()
    return Outcome.require(a_ok and w_ok, f"derived from L = 1/(2n) sum (a s_i w x_i - y_i)^2, s_i = 1(w x_i > 0): "
                           f"a' matches {a_ok}, w' matches {w_ok}")


@claim("lrr.eq7", P, "Eq. (7), App. A.2",
       "general-d flow w' = -a^2 C1 w + a C2, a' = -a w^T C1 w + C2^T w, C1 = 1/n sum_I x x^T, C2 = 1/n sum_I y x")
def _eq7():
    w_ok, a_ok = gradient_flow.eq7_matches_derivation()
    return Outcome.require(w_ok and a_ok, "derived by sympy matrix calculus for symbolic d from "
                           f"L = 1/(2n)||a D X w - y||^2 (D = D^T = D^2): w' matches {w_ok}, a' matches {a_ok}")


@claim("lrr.reduction", P, "App. A.1 (before eq. 4)",
       "a = sign(a0)|w| turns w' into -C1 w^3 + C2~ w with C2~ = C2 sign(a0) sign(w0)")
def _reduction():
    res = dict((f"(sign a0, sign w0)={k}", v) for k, v in gradient_flow.reduced_d1_equation())
    return Outcome.require(all(res.values()), _fmt(res))


# ---- balancedness ---------------------------------------------------------------------------------

@claim("lrr.balance.d1", P, "Sec. 2 set-up; App. A.1", "d/dt (a^2 - w^2) = 0 under eq. (3)")
def _bal_d1():
    return Outcome.require(balancedness.d1_conserved(), "2 a a' - 2 w w' expands to 0")


@claim("lrr.balance.d", P, "Sec. 2 set-up; App. A.2", "d/dt (a^2 - ||w||^2) = 0 under eq. (7), for every d")
def _bal_d():
    return Outcome.require(balancedness.general_d_conserved(),
                           "symbolic d (MatrixSymbol); 2 a a' - 2 w^T w' normalizes to 0 using D = D^T = D^2")


@claim("lrr.balance.K", P, "Sec. 2 (Arora et al. 2018; Du et al. 2018)",
       "two-layer net with K hidden neurons: d/dt (a_k^2 - ||w_k||^2) = 0 for each neuron k")
def _bal_k():
    return Outcome.require(balancedness.k_neuron_conserved(),
                           "neuron k with the other K-1 neurons as an arbitrary output R: covers every K and d")


@claim("lrr.balance.numeric", P, "Sec. 2 set-up",
       "balancedness along scipy solutions of eq. (7) with activation switches (random data, d = 1..6)")
def _bal_num():
    worst = balancedness_along_flow()
    return Outcome.require(worst < 1e-7, f"max |a^2 - ||w||^2| / ||theta(0)||^2 over runs = {worst:.2e}", numeric=True)


# ---- closed forms -----------------------------------------------------------------------------------

@claim("lrr.bernoulli", P, "App. A.1 (\"of Bernoulli form\")",
       "u = w^-2 linearizes w' = -C1 w^3 + C2~ w; sympy solves it for C2~ > 0, < 0, = 0")
def _bern():
    ok = cf.bernoulli_substitution_is_exact() and cf.rhs_is_odd()
    checks = {k: cf.solves_ode(cf.derived_solution(k), cf.CASES[k]) and cf.meets_initial_value(cf.derived_solution(k))
              for k in cf.CASES}
    detail = "; ".join(f"C2~ {k}: w(t) = {cf.derived_solution(k)} (ODE and w(0) {'ok' if v else 'FAIL'})"
                       for k, v in checks.items())
    return Outcome.require(ok and all(checks.values()), detail + " [w0 = p > 0; w0 < 0 by oddness]")


@claim("lrr.eq4", P, "Eq. (4), App. A.1", "closed form of w(t) for C2~ > 0", finding="error")
def _eq4():
    below = cf.in_region(cf.printed_eq4(), "below")
    above = cf.in_region(cf.printed_eq4(), "above")
    c_below = cf.in_region(cf.c, "below")
    ic_b, ode_b = cf.meets_initial_value(below), cf.solves_ode(below, c_below)
    fast_b = cf.solves_ode(below, c_below, speed=2)
    ic_a = cf.meets_initial_value(above)
    w0_above = sp.simplify(above.subs(cf.T, 0))
    doubled = sp.simplify(below - cf.in_region(cf.derived_solution("pos").subs(cf.T, 2 * cf.T), "below")) == 0
    rep = cf.repaired_eq4()
    rep_ok = cf.solves_ode(rep, cf.c) and cf.meets_initial_value(rep) and \
        sp.simplify(rep - cf.derived_solution("pos")) == 0
    detail = (f"w0^2 < C2~/C1: w(0) ok={ic_b}, solves ODE={ode_b}, solves w' = 2(-C1 w^3 + C2~ w)={fast_b}, "
              f"equals w_true(2t)={doubled}; w0^2 > C2~/C1: sqrt(C2~ - C1 w0^2) is imaginary and the principal "
              f"branch gives w(0) = {w0_above} (w(0) ok={ic_a}). Limit sqrt(C2~/C1) is right.")
    return Outcome.from_checks(ic_b and ode_b and ic_a, rep_ok, detail,
                               corrected="w(t) = sqrt(C2~) w0 exp(C2~ t) / sqrt(C2~ - C1 w0^2 + C1 w0^2 exp(2 C2~ t)) "
                                         "(t -> t/2 and one square root); verified: ODE, w(0), equals derived")


@claim("lrr.eq5", P, "Eq. (5), App. A.1", "closed form of w(t) for C2~ < 0", finding="typo")
def _eq5():
    e = cf.printed_eq5()
    ic, ode = cf.meets_initial_value(e), cf.solves_ode(e, -cf.c)
    w0_printed = sp.simplify(e.subs(cf.T, 0))
    squared = sp.simplify(e - cf.derived_solution("neg") ** 2 / sp.sqrt(cf.c)) == 0
    rep = cf.repaired_eq5()
    rep_ok = cf.solves_ode(rep, -cf.c) and cf.meets_initial_value(rep) and \
        sp.simplify(rep - cf.derived_solution("neg")) == 0
    detail = (f"w(0) = {w0_printed} (ok={ic}), solves ODE={ode}; printed = sign(w0) w_true(t)^2 / sqrt(-C2~): "
              f"{squared}. Limit 0 is right.")
    return Outcome.from_checks(ic and ode, rep_ok, detail,
                               corrected="w(t) = sign(w0) sqrt(-C2~) / sqrt(exp(-2 C2~ t)(C1 - C2~/w0^2) - C1) "
                                         "(denominator under a square root); verified: ODE, w(0), equals derived")


@claim("lrr.eq6", P, "Eq. (6), App. A.1", "closed form w(t) = w0 / sqrt(2 C1 w0^2 t + 1) for C2~ = 0")
def _eq6():
    e = cf.printed_eq6()
    ic, ode = cf.meets_initial_value(e), cf.solves_ode(e, 0)
    return Outcome.require(ic and ode, f"w(0) ok={ic}, solves w' = -C1 w^3: {ode}")


@claim("lrr.stable_form", P, "Eqs. (4)-(6), numerics",
       "overflow-free form |w| = |w0|/sqrt(e^-s + 2 C1 w0^2 t Phi(s)) (C2~ >= 0), |w0| e^(-s/2)/sqrt(1 + 2 C1 w0^2 t "
       "Phi(s)) (C2~ < 0), s = 2|C2~|t, Phi(s) = (1 - e^-s)/s <= 1, equals the derived solution")
def _stable():
    res = {k: cf.stable_form_matches(k) for k in cf.CASES}
    return Outcome.require(all(res.values()), _fmt(res))


@claim("lrr.limits", P, "App. A.1 (cases)", "w(oo) = sign(w0) sqrt(C2~/C1) if C2~ > 0, else 0")
def _limits():
    lims = {k: cf.limit_at_infinity(k) for k in cf.CASES}
    ok = sp.simplify(lims["pos"] - sp.sqrt(cf.c / cf.C1)) == 0 and lims["neg"] == 0 and lims["zero"] == 0
    return Outcome.require(ok, _fmt({f"C2~ {k}": v for k, v in lims.items()}) + " (w0 > 0; odd in w0)")


@claim("lrr.effective_slope", P, "App. A.1 (finite samples)",
       "a(oo) w(oo) = C2/C1 = 1 + sum_I zeta x / sum_I x^2 in the case a0, w0 > 0")
def _slope():
    Sx2, Szx, n = sp.Symbol("Sx2", positive=True), sp.Symbol("Szx", real=True), sp.Symbol("n", positive=True)
    C1_, C2_ = Sx2 / n, (Sx2 + Szx) / n  # on I = {x > 0}: x relu(x) = x^2
    w_inf = cf.limit_at_infinity("pos").subs({cf.c: C2_, cf.C1: C1_})
    ok = sp.simplify(w_inf * w_inf - C2_ / C1_) == 0 and sp.simplify(C2_ / C1_ - (1 + Szx / Sx2)) == 0
    return Outcome.require(ok, "a(oo) = w(oo) = sqrt(C2/C1) so a w = C2/C1 = 1 + Szx/Sx2 (assuming C2 > 0)")


@claim("lrr.population", P, "App. A.1 (law of large numbers)",
       "x ~ N(0, 1/d): C1 -> 1/(2d), C2 -> 1/(2d) on {x > 0}; C2 -> 0 on {x < 0}")
def _pop():
    lim = gaussian.population_C1_C2()
    d = gaussian.d
    ok = all(sp.simplify(lim[k] - 1 / (2 * d)) == 0 for k in ("C1+", "C2+", "C1-")) and lim["C2-"] == 0
    return Outcome.require(ok, _fmt(lim) + " (sympy integrals, noise N(0, sigma^2) independent)")


@claim("lrr.neg_case_C2t", P, "App. A.1, case w(0) < 0",
       "C2~ = -a(0)/n sum_I zeta_i x_i (> 0 with probability 1/2)", finding="typo")
def _neg_case():
    a0 = sp.Symbol("a0", real=True, nonzero=True)
    S = sp.Symbol("S", real=True)  # (1/n) sum_I zeta x = C2 on I = {x < 0}
    truth = sp.sign(a0) * (-1) * S  # C2~ = sign(a0) sign(w0) C2, sign(w0) = -1
    printed = -a0 * S
    holds = sp.simplify(truth - printed) == 0
    same_sign = sp.simplify(sp.sign(truth) - sp.sign(printed)) == 0
    return Outcome.from_checks(holds, same_sign,
                               f"printed - derived = {sp.simplify(printed - truth)} (zero only when |a(0)| = 1); "
                               f"the sign, which is all the argument uses, agrees: {same_sign}",
                               corrected="C2~ = -sign(a(0)) (1/n) sum_I zeta_i x_i; the probability-1/2 sign claim is "
                                         "unaffected (zeta symmetric)")


# ---- numeric evaluators ---------------------------------------------------------------------------

@claim("lrr.numeric.scipy", P, "Eqs. (4)-(6), numerics",
       "numpy evaluators agree with scipy integration of w' = -C1 w^3 + C2~ w to 1e-8 relative")
def _num_scipy():
    worst, runs = closed_form_vs_scipy()
    return Outcome.require(worst < 1e-8, f"max relative error {worst:.2e} over {runs} random (t, w0, C1, C2~)",
                           numeric=True)


@claim("lrr.numeric.extreme", P, "Eqs. (4)-(6), numerics",
       "evaluators finite and accurate for t <= 1e6, C1 and |C2~| in [1e-8, 1e3] (vs 50-digit mpmath)")
def _num_extreme():
    worst, runs, finite = closed_form_vs_mpmath()
    return Outcome.require(finite and worst < 1e-10,
                           f"all finite={finite}; max relative error {worst:.2e} over {runs} log-uniform points "
                           "(values below 1e-300 compared absolutely)", numeric=True)


# ---- Theorem 2.1, Lemma 2.2 ---------------------------------------------------------------------------

@claim("lrr.thm21.cases", P, "Theorem 2.1 / A.1",
       "learning succeeds only for a(0) > 0, w(0) > 0, whatever the data")
def _thm21():
    possible = snl.quadrant_case_analysis()
    ok = possible == {(1, 1): True, (1, -1): False, (-1, 1): False, (-1, -1): False}
    return Outcome.require(ok, "success possible in quadrant (sign a0, sign w0): " + _fmt(possible))


@claim("lrr.thm21.prob", P, "Theorem 2.1 (discussion)",
       "failure probability >= 3/4 under a sign-symmetric balanced initialization")
def _thm21_prob():
    bound = snl.failure_probability_lower_bound()
    return Outcome.require(bound == sp.Rational(3, 4), f"P(fail) >= sum of P(quadrant) over failing quadrants = {bound}")


@claim("lrr.thm21.flow", P, "Theorem 2.1",
       "d1_limit agrees with scipy integration of the d = 1 flow (eq. 3 with switching active sets)")
def _thm21_flow():
    worst, agree, runs = theorem21_vs_flow()
    return Outcome.require(agree == runs and worst < 1e-5,
                           f"success label agrees in {agree}/{runs} runs; max relative gap between scipy theta(T) and the "
                           f"closed form at T = 20: {worst:.1e}",
                           numeric=True)


@claim("lrr.thm21.saddle", P, "Theorem 2.1 (robustness; our observation)",
       "the (a0 < 0 < w0) failure needs exact balance: the origin is a saddle and any imbalance decides the outcome")
def _saddle():
    from theory.lrr.numeric_checks import saddle_exit
    ends = {delta: saddle_exit(delta) for delta in (1e-6, -1e-6)}
    plus, minus = ends[1e-6], ends[-1e-6]
    ok = plus[0] > 0.5 and plus[1] > 0.5 and minus[0] < 0
    return Outcome.require(ok, f"a0 = -sqrt(w0^2 - delta), w0 = 0.5: delta = +1e-6 ends at (a, w) = "
                           f"({plus[0]:.3f}, {plus[1]:.3f}) (success); delta = -1e-6 ends at ({minus[0]:.3g}, {minus[1]:.3g}) "
                           "(a stays < 0). Exact balance is a measure-zero knife edge; GD's step drifts a^2 - w^2 "
                           "by eta^2 (g_a^2 - g_w^2) per step", numeric=True)


@claim("lrr.lemma22", P, "Lemma 2.2 / A.2", "a cannot change sign under balanced gradient flow (eq. 7)")
def _lemma22():
    steps = snl.lemma22_steps()
    return Outcome.require(all(steps.values()), _fmt(steps) + "; hence ||theta(t)|| >= ||theta(0)|| e^{-Lt} > 0 "
                           "(Gronwall) and a^2 = ||w||^2 > 0 for all t")


# ---- App. A.2 displayed steps ----------------------------------------------------------------------------

@claim("lrr.A2.stationary", P, "App. A.2 (w = beta/sqrt||beta||)",
       "balanced stationary point: w = beta/sqrt(||beta||), a = sign(a) sqrt(||beta||), beta = X^+ y", finding="typo")
def _stationary():
    res = a2.stationary_point_check()
    printed_ok = res["sign(a)=+1, w=+beta/sqrt||beta||"] and res["sign(a)=-1, w=+beta/sqrt||beta||"]
    corrected_ok = res["sign(a)=+1, w=+beta/sqrt||beta||"] and res["sign(a)=-1, w=-beta/sqrt||beta||"]
    return Outcome.from_checks(printed_ok, corrected_ok, _fmt(res),
                               corrected="w = sign(a) beta / sqrt(||beta||) (as printed only for a > 0, the case used)")


@claim("lrr.eq8_9", P, "Eqs. (8)-(9), App. A.2",
       "<a w', z - v> = -a^2/n sum_{I, v^T x > 0} <x, z-v>^2 - a^2/n sum_{I, v^T x <= 0} <x, z-v><x, z>")
def _eq89():
    base = a2.a_wdot_is_residual_form()
    e8, e9 = a2.eq8_9_per_sample()
    return Outcome.require(base and e8 and e9, f"a w' = -a^2 (C1 z - C2): {base}; per-sample eq. (8): {e8}, eq. (9): {e9}")


@claim("lrr.eq11", P, "Eq. (11), App. A.2",
       "eq. (9) term = -a^2/n sum <x, z>^2 - a^2/n sum <x, -v>, and it is negative", finding="typo")
def _eq11():
    res = a2.eq11_check()
    return Outcome.from_checks(res["printed equals eq. (9) term"],
                               res["corrected equals eq. (9) term"] and res["corrected term <= 0 (a > 0, <x,z> > 0, <x,-v> >= 0)"],
                               _fmt(res),
                               corrected="-a^2/n sum <x,z>^2 - a^2/n sum <x,z><x,-v> (factor <x,z> restored); still <= 0")


@claim("lrr.eq12", P, "Eq. (12), App. A.2",
       "<a w', z - v> <= -a^2 ||z-v||^2 lambda1 = -lambda1 ||z|| ||z-v||^2 >= -lambda0 ||z-v||^2", finding="typo")
def _eq12():
    res = a2.eq12_check()
    printed_ok = res["a^2 = ||z|| (||z|| = |a| ||w||, ||w|| = |a|)"] and res["printed '>=' holds"]
    corrected_ok = res["a^2 = ||z|| (||z|| = |a| ||w||, ||w|| = |a|)"] and res["corrected '<=' holds"]
    return Outcome.from_checks(printed_ok, corrected_ok, _fmt(res) + " (for lambda0 < lambda1 ||z||)",
                               corrected="... = -lambda1 ||z|| ||z-v||^2 <= -lambda0 ||z-v||^2 with lambda0 <= lambda1 inf ||z||")


@claim("lrr.eq13", P, "Eq. (13), App. A.2", "a' <w, z - v> <= 0 (\"on average with respect to the data\")", finding="gap")
def _eq13():
    res = a2.eq13_check()
    corrected_ok = res["factorization"] and res["window non-empty for theta in (0, pi)"] and \
        res["window empty at theta = 0 and pi"] and res["holds every small start with w_1 < 0"]
    values = ("counterexample value", "counterexample value, x ~ N(0, I/d)")
    return Outcome.from_checks(bool(res["printed '<= 0' holds"]), corrected_ok,
                               f"population value at theta = pi/2, ||w||^2 = 1/(2 pi): {res[values[0]]} > 0 for x ~ N(0, I), "
                               f"{res[values[1]]} for the paper's x ~ N(0, I/d); "
                               + _fmt({k: v for k, v in res.items() if k not in values}),
                               corrected="population: a'<w,z-v> = (r^2/2)(2k(theta) - r^2)(r^2 - cos theta), r = ||w||, "
                                         "k = (sin + (pi-theta) cos)/(2pi); it is > 0 exactly when cos theta < r^2 < 2k(theta), "
                                         "a window that is non-empty for every theta in (0, pi) (empty at 0 and pi) and "
                                         "contains every start with w_1 < 0 and ||w||^2 < 2k(theta); the proof of eq. (15) "
                                         "as written relies on eq. (13)")


@claim("lrr.eq14", P, "Eq. (14), App. A.2",
       "a' = -||w||^3 1/n sum_I <w/||w||, x_i> + 1/n sum_{I, v^T x > 0} <v, x_i><w, x_i>", finding="typo")
def _eq14():
    res = a2.eq14_check()
    ident = a2.eq14_identity_w_z_minus_v()
    return Outcome.from_checks(res["printed first term equals -a w^T C1 w"],
                               res["corrected (squared) first term equals -a w^T C1 w"] and ident,
                               _fmt(res) + f"; <w, z-v> = ||w||^3 - w_1: {ident}",
                               corrected="a' = -||w||^3 1/n sum_I <w/||w||, x_i>^2 + 1/n sum_{I, v^T x_i > 0} <v,x_i><w,x_i>")


@claim("lrr.eq15", P, "Eq. (15), App. A.2",
       "d/dt ||z - v||^2 <= -lambda ||z - v||^2 (population, 0 < |a| ||w|| <= 2, balanced, a > 0)")
def _eq15():
    worst, r_w, th_w, share13 = a2.eq15_grid()
    near0 = a2.eq15_rate_near_zero()
    ok = worst < 0 and near0[1] < 1.1e-2 * near0[0] and near0[2] < 1.1e-2 * near0[1]
    return Outcome.require(ok, f"max of 2<z', z-v>/||z-v||^2 on a 120 x 240 grid of (||w||, theta) = {worst:.2e} "
                           f"(at ||w|| = {r_w:.3f}, theta = {th_w:.3f}); eq. (13) fails on {100 * share13:.1f}% of the "
                           f"same grid, the sum stays negative. Near z = 0 the rate vanishes from every direction: "
                           f"max over theta of |rate| = {near0[0]:.2e}, {near0[1]:.2e}, {near0[2]:.2e} at ||w|| = 0.1, 0.01, "
                           f"0.001 (~2||w||^2), so no uniform lambda > 0 without a lower bound on ||z|| = a^2, which "
                           f"the paper takes from the proof of Yehudai & Shamir's Thm 5.3", numeric=True)

