"""The displayed steps of App. A.2 of paper 000 (the d > 1 argument, eqs. 8-15).

Notation of the paper: z = a w, target v (unit, v = e1), a > 0 and balanced (a = ||w||), I the active
set.  Sample sums are linear, so each identity of eqs. (8)-(11) is checked per sample in terms of the
inner products p = <x, z> and q = <x, v> (bilinearity gives <x, z - v> = p - q), which makes the check
valid for every d.

Population statements (eq. 13, eq. 15) use x ~ N(0, I): E[1(w^T x > 0) x x^T] = I/2 by x -> -x
symmetry and E[relu(v^T x) 1(w^T x > 0) x] from :mod:`theory.core.gaussian` (x ~ N(0, I/d) only rescales
time by 1/d).
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from theory.core.gaussian import arccos_kernel, arccos_kernel_grad_w
from theory.lrr.gradient_flow import general_d_symbols
from theory.lrr.matrix_algebra import identical

a = sp.Symbol("a", positive=True)
pz = sp.Symbol("p", positive=True)  # <x, z> > 0 on the active set when a > 0
q = sp.Symbol("q", real=True)       # <x, v>
r = sp.Symbol("r", positive=True)   # ||w||
th = sp.Symbol("theta", positive=True)


def a_wdot_is_residual_form() -> bool:
    """a w' = -a^2 (C1 z - C2) with z = a w: the starting point of eqs. (8)-(9)."""
    s = general_d_symbols()
    C1, C2 = s.C1, s.C2
    w_dot = -s.a ** 2 * C1 * s.w + s.a * C2
    return identical(s.a * w_dot, -s.a ** 2 * (C1 * (s.a * s.w) - C2), idempotent=[s.D])


def eq8_9_per_sample() -> tuple[bool, bool]:
    """Per active sample, <a w', z - v> * n contributes -a^2 (p - y)(p - q) with y = relu(q)."""
    contrib = lambda y: -a ** 2 * (pz - y) * (pz - q)  # noqa: E731
    eq8 = sp.expand(contrib(q) - (-a ** 2 * (pz - q) ** 2)) == 0       # v^T x > 0: y = q
    eq9 = sp.expand(contrib(0) - (-a ** 2 * (pz - q) * pz)) == 0       # v^T x <= 0: y = 0
    return eq8, eq9


def eq11_check() -> dict[str, bool]:
    """Eq. (11) rewrites the eq. (9) term; as printed its second part lacks the factor <x, z>."""
    eq9_term = -a ** 2 * (pz - q) * pz
    printed = -a ** 2 * pz ** 2 - a ** 2 * (-q)
    corrected = -a ** 2 * pz ** 2 - a ** 2 * pz * (-q)
    qm = sp.Symbol("qm", nonnegative=True)  # -q = <x, -v> >= 0 when v^T x <= 0
    return {
        "printed equals eq. (9) term": sp.expand(eq9_term - printed) == 0,
        "corrected equals eq. (9) term": sp.expand(eq9_term - corrected) == 0,
        "corrected term <= 0 (a > 0, <x,z> > 0, <x,-v> >= 0)": bool(
            sp.expand(corrected.subs(q, -qm)).is_nonpositive),
    }


def eq12_check() -> dict[str, bool]:
    """a^2 = ||z|| under balance; and the direction of the last inequality of eq. (12)."""
    ar = sp.Symbol("a_real", real=True)
    E = sp.Symbol("E", nonnegative=True)       # ||z - v||^2
    lam0 = sp.Symbol("lambda0", positive=True)
    m = sp.Symbol("m", positive=True)          # lambda1 ||z|| - lambda0 > 0 (lambda0 a strict lower bound)
    lam1_z = lam0 + m
    gap = (-lam1_z * E) - (-lam0 * E)          # printed claims gap >= 0
    return {
        "a^2 = ||z|| (||z|| = |a| ||w||, ||w|| = |a|)": sp.simplify(sp.Abs(ar) * sp.Abs(ar) - ar ** 2) == 0,
        "printed '>=' holds": bool(sp.expand(gap).is_nonnegative),
        "corrected '<=' holds": bool(sp.expand(gap).is_nonpositive),
    }


def eq14_terms():
    """Printed and correct first term of a' (eq. 14) for one active sample, with a = ||w|| = r.

    Correct: -a w^T C1 w = -||w||^3 (1/n) sum_I <w/||w||, x_i>^2; printed has no square.
    With u = <w/||w||, x>: returns (printed, correct) per-sample terms (times n).
    """
    u = sp.Symbol("u", real=True)
    correct_from_eq7 = -r * (r * u) ** 2     # -a <w, x>^2 with a = r, <w, x> = r u
    printed = -r ** 3 * u
    corrected = -r ** 3 * u ** 2
    return printed, corrected, correct_from_eq7, u


def eq14_check() -> dict[str, bool]:
    printed, corrected, truth, u = eq14_terms()
    return {"printed first term equals -a w^T C1 w": sp.expand(printed - truth) == 0,
            "corrected (squared) first term equals -a w^T C1 w": sp.expand(corrected - truth) == 0}


def eq14_identity_w_z_minus_v() -> bool:
    """<w, z - v> = ||w||^3 - <w, v> when a = ||w|| (and = ||w||^3 - w_1 for v = e1)."""
    s = general_d_symbols()
    v = sp.MatrixSymbol("v", s.d, 1)
    norm = sp.Symbol("norm_w", positive=True)
    lhs = s.w.T * (norm * s.w - v)
    rhs = norm * s.w.T * s.w - s.w.T * v  # ||w||^3 = ||w|| * w^T w
    return identical(lhs, rhs)


# ---- eq. (13): population sign of a' <w, z - v> -------------------------------------------------


def population_eq13_product(var=1):
    """a' <w, z - v> in the population limit for x ~ N(0, var I), a = ||w|| = r, theta the angle between w
    and v = e1.  With var = 1:

    a' = -a w^T (I/2) w + E[relu(v^T x) relu(w^T x)] = -r^3/2 + r k(theta),
    <w, z - v> = r^3 - r cos(theta), k = (sin + (pi - theta) cos)/(2 pi).

    Under x ~ N(0, var I) both terms of a' carry the factor var (E[1 x x^T] = var I/2, the kernel var r k)
    and <w, z - v> does not, so the product is var times the var = 1 product; the paper's x ~ N(0, I/d) is
    var = 1/d."""
    k = (sp.sin(th) + (sp.pi - th) * sp.cos(th)) / (2 * sp.pi)
    a_dot = var * (-r ** 3 / 2 + r * k)
    inner = r ** 3 - r * sp.cos(th)
    return a_dot * inner, k


def eq13_check() -> dict[str, object]:
    """Where eq. (13) fails in the population, proved symbolically: the window cos theta < r^2 < 2k(theta)
    (r^2 = ||w||^2 > 0) is non-empty exactly for theta in (0, pi); it holds every small initialization with
    w_1 < 0; the counterexample value under x ~ N(0, I) and the paper's x ~ N(0, I/d)."""
    product, k = population_eq13_product()
    # factorization: product = (r^2/2) (2k - r^2) (r^2 - cos theta)
    factored_ok = sp.simplify(product - r ** 2 / 2 * (2 * k - r ** 2) * (r ** 2 - sp.cos(th))) == 0
    # the window is (max(cos theta, 0), 2k(theta)).  (i) 2k > cos theta on (0, pi]: h = pi (2k - cos) has
    # h(0) = 0 and h' = theta sin theta > 0 on (0, pi).  (ii) 2k > 0 on [0, pi): (2 pi k)' = -(pi - theta) sin
    # theta <= 0 and 2 pi k(pi) = 0.  Hence non-empty on (0, pi); at theta = pi it is (0, 0), at 0 it is (1, 1)
    h = sp.sin(th) - th * sp.cos(th)
    below_cos = sp.simplify(sp.pi * (2 * k - sp.cos(th)) - h) == 0 and \
        sp.simplify(sp.diff(h, th) - th * sp.sin(th)) == 0 and h.subs(th, 0) == 0
    two_pi_k = 2 * sp.pi * k
    positive_k = sp.simplify(sp.diff(two_pi_k, th) + (sp.pi - th) * sp.sin(th)) == 0 and \
        sp.simplify(two_pi_k.subs(th, sp.pi)) == 0
    closes_at_ends = sp.simplify(2 * k.subs(th, sp.pi)) == 0 and sp.simplify(2 * k.subs(th, 0) - 1) == 0
    # (iii) for theta in [pi/2, pi) (w_1 <= 0) cos theta <= 0 < r^2, so every r^2 < 2k(theta) lies in the
    # window: each small enough initialization with w_1 < 0 violates eq. (13) (the case LRR is meant to fix)
    small_w1_negative = bool(sp.cos(3 * sp.pi / 4) < 0) and bool(sp.simplify(2 * k.subs(th, 3 * sp.pi / 4)) > 0)
    # explicit counterexample: theta = pi/2, r^2 = 1/(2 pi), under N(0, I) and under N(0, I/d)
    ce = {th: sp.pi / 2, r: 1 / sp.sqrt(2 * sp.pi)}
    ce_value = sp.nsimplify(sp.simplify(product.subs(ce)))
    d = sp.Symbol("d", positive=True, integer=True)
    ce_value_d = sp.simplify(population_eq13_product(1 / d)[0].subs(ce))
    return {"factorization": factored_ok, "window non-empty for theta in (0, pi)": below_cos and positive_k,
            "window empty at theta = 0 and pi": closes_at_ends,
            "holds every small start with w_1 < 0": small_w1_negative,
            "counterexample value": ce_value, "counterexample value, x ~ N(0, I/d)": ce_value_d,
            "printed '<= 0' holds": bool(ce_value <= 0)}


# ---- eq. (15): d/dt ||z - v||^2 <= -lambda ||z - v||^2 in the population (numeric grid) ----------


def population_z_rate(r_val: float, theta_val: float) -> float:
    """2 <z', z - v> / ||z - v||^2 for balanced a = ||w|| = r, x ~ N(0, I), v = e1 (2-D plane)."""
    v = np.array([1.0, 0.0])
    w = r_val * np.array([np.cos(theta_val), np.sin(theta_val)])
    a_val = r_val
    z = a_val * w
    w_dot = -a_val ** 2 * 0.5 * w + a_val * arccos_kernel_grad_w(v, w)
    a_dot = -a_val * 0.5 * (w @ w) + arccos_kernel(v, w)
    z_dot = a_val * w_dot + a_dot * w
    return float(2 * z_dot @ (z - v) / ((z - v) @ (z - v)))


def eq15_rate_near_zero(radii=(1e-1, 1e-2, 1e-3), n_theta: int = 181) -> list[float]:
    """max over theta in (0, pi) of |eq. (15)'s rate| at ||z|| = r^2, for each r: it falls like r^2, so no
    uniform lambda > 0 exists near z = 0 from any direction; the paper bounds ||z|| = a^2 below by appeal
    to the proof of Yehudai & Shamir's Thm 5.3."""
    thetas = np.linspace(1e-3, np.pi - 1e-3, n_theta)
    return [max(abs(population_z_rate(rv, tv)) for tv in thetas) for rv in radii]


def eq15_grid(n_r: int = 120, n_theta: int = 240) -> tuple[float, float, float, float]:
    """Max of the eq. (15) rate over 0 < |a| ||w|| = r^2 <= 2, theta in (0, pi); and eq. 13's failure share."""
    worst, where, violated, total = -np.inf, (0.0, 0.0), 0, 0
    for rv in np.linspace(0.02, np.sqrt(2.0), n_r):
        for tv in np.linspace(1e-3, np.pi - 1e-3, n_theta):
            val = population_z_rate(rv, tv)
            if val > worst:
                worst, where = val, (rv, tv)
            k = (np.sin(tv) + (np.pi - tv) * np.cos(tv)) / (2 * np.pi)
            violated += (-rv ** 3 / 2 + rv * k) * (rv ** 3 - rv * np.cos(tv)) > 0
            total += 1
    return worst, where[0], where[1], violated / total


# ---- the stationary point w = beta / sqrt(||beta||) ----------------------------------------------


def stationary_point_check() -> dict[str, bool]:
    """With beta solving C1 beta = C2 and a^2 = ||beta||: w = s beta/sqrt(||beta||) is stationary iff s = sign(a)."""
    s = general_d_symbols()
    beta = sp.MatrixSymbol("beta", s.d, 1)
    C1 = sp.MatrixSymbol("C1", s.d, s.d)
    nb = sp.Symbol("nb", positive=True)  # ||beta||
    out = {}
    for sign_a in (1, -1):
        for sign_w in (1, -1):
            a_val = sign_a * sp.sqrt(nb)
            w_val = sign_w * beta / sp.sqrt(nb)
            C2 = C1 * beta  # normal equations
            w_dot = -a_val ** 2 * C1 * w_val + a_val * C2
            a_dot = -a_val * w_val.T * C1 * w_val + C2.T * w_val
            stationary = identical(w_dot, sp.ZeroMatrix(s.d, 1), symmetric=[C1]) and \
                identical(a_dot, sp.ZeroMatrix(1, 1), symmetric=[C1])
            out[f"sign(a)={sign_a:+d}, w={'+' if sign_w > 0 else '-'}beta/sqrt||beta||"] = stationary
    return out
