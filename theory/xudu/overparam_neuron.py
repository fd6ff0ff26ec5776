"""n ReLU students learning one ReLU teacher under Gaussian input (Xu & Du, COLT 2023, arXiv 2302.10034).

Set-up: f(x) = sum_i relu(w_i^T x), teacher relu(v^T x), x ~ N(0, I_d), population loss
L(w) = 1/2 E[(f(x) - relu(v^T x))^2].  With the arc-cosine kernel k(u, w) = ||u|| ||w|| G(theta) / (2 pi),
G(theta) = sin(theta) + (pi - theta) cos(theta) (derived in :mod:`theory.core.gaussian`),

    L(w)      = 1/2 [ sum_ij k(w_i, w_j) - 2 sum_i k(w_i, v) + k(v, v) ],
    grad_i L  = sum_j g(w_i; w_j) - g(w_i; v),   g(w; u) = ((pi - theta) u + ||u|| sin(theta) w/||w||) / (2 pi).

This module holds those formulas twice, once as sympy expressions (for the checks of ``theory.verify``)
and once as the batched float64 torch functions :func:`population_loss` / :func:`population_grad` that
the simulator :mod:`sim.xudu.overparam` runs; the claims in :mod:`theory.xudu.claims` check that the two agree
and that the gradient is the derivative of the loss.  Beyond the closed forms it derives the facts the
paper's argument rests on:

* the odd/even split L = ||sum w - v||^2 / 8 + E[(sum |w_i^T x| - |v^T x|)^2] / 8 (exact; ours, used to
  separate the fast linear part from the slow angular part);
* the small-angle expansion G(theta) = pi - pi theta^2/2 + theta^3/3 + O(theta^4): near a global minimum
  the loss is ||sum w - v||^2/4 plus a *cubic* form in the angles, which is what makes n >= 2 slow;
* the toy cases of the lower-bound section (reflection-symmetric pair, all students parallel to v, all
  students equal) and the n = 1 Hessian I/2 at w = v (linear convergence).

Convention at w_i = 0, where L is not differentiable: relu'(0) = 0, so a zero student gets a zero gradient
and stays at 0 (a dead neuron, reported by the simulator), never NaN.  The paper excludes this corner case
(App. E.3) by showing that its initialization keeps every student away from 0.
"""

from __future__ import annotations

from functools import lru_cache

import sympy as sp
import torch

from theory.core.gaussian import printed_arccos_kernel

theta = sp.Symbol("theta", nonnegative=True)
PI = sp.pi


def G(t):
    """2 pi k(u, w) / (||u|| ||w||): the shape of the arc-cosine kernel."""
    return sp.sin(t) + (PI - t) * sp.cos(t)


def G_abs(t):
    """pi/2 E[|u^T x| |w^T x|] / (||u|| ||w||) (derived in :func:`derived_abs_kernel`)."""
    return sp.sin(t) + (PI / 2 - t) * sp.cos(t)


# ---- symbolic closed forms ---------------------------------------------------------------------------

def _angle(a: sp.Matrix, b: sp.Matrix) -> sp.Expr:
    return sp.acos((a.T * b)[0] / sp.sqrt((a.T * a)[0] * (b.T * b)[0]))


def _k(a: sp.Matrix, b: sp.Matrix, same: bool = False) -> sp.Expr:
    na, nb = sp.sqrt((a.T * a)[0]), sp.sqrt((b.T * b)[0])
    if same:  # theta = 0 exactly; acos(1) would hide it from differentiation
        return na * nb * PI / (2 * PI)
    return na * nb * G(_angle(a, b)) / (2 * PI)


def loss_expr(W: list[sp.Matrix], v: sp.Matrix) -> sp.Expr:
    """L(w) as a sympy expression of explicit student vectors ``W`` and teacher ``v``."""
    n = len(W)
    total = sum(_k(W[i], W[j], same=(i == j)) for i in range(n) for j in range(n))
    total -= 2 * sum(_k(w, v) for w in W)
    return (total + _k(v, v, same=True)) / 2


def g_expr(w: sp.Matrix, u: sp.Matrix) -> sp.Matrix:
    """E[relu(u^T x) 1(w^T x > 0) x], the printed per-pair gradient term."""
    nu, nw = sp.sqrt((u.T * u)[0]), sp.sqrt((w.T * w)[0])
    t = _angle(w, u)
    return ((PI - t) * u + nu * sp.sin(t) * w / nw) / (2 * PI)


def grad_expr(W: list[sp.Matrix], v: sp.Matrix, i: int) -> sp.Matrix:
    """The printed closed-form gradient of student i (the j = i term is g(w; w) = w/2)."""
    out = W[i] / 2 + sum((g_expr(W[i], W[j]) for j in range(len(W)) if j != i), sp.zeros(*v.shape))
    return out - g_expr(W[i], v)


def kernel_gradient_identity() -> tuple[bool, bool]:
    """d k(e1, w)/dw = g(w; e1) in polar coordinates w = rho (cos phi, sin phi), phi in (0, pi)."""
    rho, phi = sp.symbols("rho phi", positive=True)
    k = rho * G(phi) / (2 * PI)
    # g(w; e1) in the polar frame: e1 = cos(phi) e_rho - sin(phi) e_phi, w/||w|| = e_rho
    g_rho = ((PI - phi) * sp.cos(phi) + sp.sin(phi)) / (2 * PI)
    g_phi = -(PI - phi) * sp.sin(phi) / (2 * PI)
    return (sp.simplify(sp.diff(k, rho) - g_rho) == 0, sp.simplify(sp.diff(k, phi) / rho - g_phi) == 0)


def kernel_matches_derivation() -> bool:
    """The G used here is the kernel that :mod:`theory.core.gaussian` derives by integration."""
    from theory.core.gaussian import derived_arccos_kernel, theta as gtheta

    shape = derived_arccos_kernel().subs(gtheta, theta) * 2 * PI
    return sp.simplify(shape - G(theta)) == 0 and sp.simplify(printed_arccos_kernel().subs(gtheta, theta) * 2 * PI - G(theta)) == 0


@lru_cache(maxsize=None)
def derived_abs_kernel() -> sp.Expr:
    """E[|e1^T x| |w^T x|] for unit w at angle theta to e1, x ~ N(0, I_2), by integration in polar form."""
    r, phi = sp.symbols("r phi", nonnegative=True)
    radial = sp.integrate(r ** 3 * sp.exp(-r ** 2 / 2), (r, 0, sp.oo)) / (2 * PI)
    # |cos(phi)| |cos(phi - theta)|: the product is positive on two arcs of total length 2 (pi - theta)
    # (cos(phi) cos(phi - theta) > 0 for phi in (theta - pi/2, pi/2) and its antipode) and negative on
    # the complementary two arcs of length theta each.
    f = sp.cos(phi) * sp.cos(phi - theta)
    pos = 2 * sp.integrate(f, (phi, theta - PI / 2, PI / 2))
    neg = 2 * sp.integrate(f, (phi, PI / 2, theta + PI / 2))
    return sp.simplify(radial * (pos - neg))


def odd_even_split_holds() -> tuple[bool, bool]:
    """(i) E|a||b| = (2/pi) ||u|| ||w|| G_abs(theta) (integration); (ii) 4 k = u^T w + E|a||b|, hence
    L = ||sum w - v||^2/8 + E[(sum |w_i^T x| - |v^T x|)^2]/8 (relu(z) = (z + |z|)/2, the cross terms
    E[(a^T x)|b^T x|] vanish by symmetry)."""
    abs_ok = sp.simplify(derived_abs_kernel() - 2 / PI * G_abs(theta)) == 0
    split_ok = sp.simplify(4 * G(theta) / (2 * PI) - (sp.cos(theta) + 2 / PI * G_abs(theta))) == 0
    return bool(abs_ok), bool(split_ok)


def cubic_expansion_holds() -> bool:
    """E|a||b| = u^T w + (2/(3 pi)) ||u|| ||w|| theta^3 + O(theta^4), so near alignment
    L = ||sum w - v||^2/4 + (1/(12 pi)) [sum_ij r_i r_j theta_ij^3 - 2 sum_i r_i r_v theta_iv^3] + O(theta^4)."""
    lhs = sp.series(2 / PI * G_abs(theta) - sp.cos(theta), theta, 0, 4).removeO()
    return sp.simplify(lhs - sp.Rational(2, 3) / PI * theta ** 3) == 0


# ---- toy cases -------------------------------------------------------------------------------------

p, q = sp.symbols("p q", positive=True)


def toy1_config() -> tuple[list[sp.Matrix], sp.Matrix]:
    """Reflection-symmetric pair about v = e1 in the plane: w1 = (p, q), w2 = (p, -q)."""
    return [sp.Matrix([p, q]), sp.Matrix([p, -q])], sp.Matrix([1, 0])


def toy1_symmetry_preserved() -> bool:
    """grad_2 = R grad_1 with R = diag(1, -1): gradient descent and flow keep the reflection symmetry."""
    W, v = toy1_config()
    g1, g2 = grad_expr(W, v, 0), grad_expr(W, v, 1)
    R = sp.diag(1, -1)
    return all(sp.simplify(e) == 0 for e in (g2 - R * g1))


def toy1_reduced() -> tuple[sp.Expr, sp.Matrix]:
    """Toy case 1 in its own coordinates: w_{1,2} = r (cos a, +-sin a), v = e1, so the student-student
    angle is 2a and both student-teacher angles are a.  Returns L and grad_1 (the printed formulas
    evaluated with these angles; :func:`toy1_reduced_matches` checks them against the generic forms)."""
    r, a = sp.symbols("r a", positive=True)
    w1, w2, e1 = r * sp.Matrix([sp.cos(a), sp.sin(a)]), r * sp.Matrix([sp.cos(a), -sp.sin(a)]), sp.Matrix([1, 0])
    u1 = w1 / r
    L = (2 * r ** 2 * PI + 2 * r ** 2 * G(2 * a) - 4 * r * G(a) + PI) / (4 * PI)
    g12 = ((PI - 2 * a) * w2 + r * sp.sin(2 * a) * u1) / (2 * PI)
    g1v = ((PI - a) * e1 + sp.sin(a) * u1) / (2 * PI)
    return L, w1 / 2 + g12 - g1v


def toy1_reduced_matches(points: int = 4, seed: int = 0) -> float:
    """Largest gap (40-digit evaluation) between the reduced toy-1 forms and the generic L / grad_1."""
    import random

    rng = random.Random(seed)
    W, v = toy1_config()
    L_gen, g_gen = loss_expr(W, v), grad_expr(W, v, 0)
    L_red, g_red = toy1_reduced()
    r, a = sp.symbols("r a", positive=True)
    worst = sp.Float(0)
    for _ in range(points):
        pv, qv = sp.Rational(rng.randint(1, 40), 37), sp.Rational(rng.randint(1, 40), 53)
        sub_gen = {p: pv, q: qv}
        sub_red = {r: sp.sqrt(pv ** 2 + qv ** 2), a: sp.atan(qv / pv)}
        gaps = [L_gen.subs(sub_gen) - L_red.subs(sub_red)] + list(g_gen.subs(sub_gen) - g_red.subs(sub_red))
        worst = max([worst] + [abs(sp.N(e, 40)) for e in gaps])
    return float(worst)


def toy1_asymptotics() -> dict[str, sp.Expr]:
    """Toy case 1 near its minimum (students at v/2, perpendicular part q -> 0), from the exact forms:

    * L at p = 1/2: c3 q^3 + O(q^4) (no q^2 term: the linear part of L does not see q);
    * dq/dt = -(grad_1)_y = -b q^2 + O(q^3) under the per-student flow, so q(t) ~ 1/(b t) and
      L(t) ~ c3 / (b t)^3: the perpendicular component decays like 1/t and the loss like 1/t^3;
    * dp/dt at p = 1/2 has no term below q^4, so the parallel part is slaved to q.
    """
    L, g1 = toy1_reduced()
    r, a = sp.symbols("r a", positive=True)
    at_half = {r: sp.sqrt(sp.Rational(1, 4) + q ** 2), a: sp.atan(2 * q)}  # p = 1/2
    Lq = sp.series(L.subs(at_half), q, 0, 5).removeO()
    gy = sp.series(g1[1].subs(at_half), q, 0, 4).removeO()
    gx = sp.series(g1[0].subs(at_half), q, 0, 4).removeO()
    c3, b = sp.nsimplify(sp.simplify(Lq.coeff(q, 3))), sp.simplify(gy.coeff(q, 2))
    return {"loss_series": sp.expand(Lq), "c3": c3, "qdot_series": sp.expand(-gy), "b": b,
            "pdot_series": sp.expand(-gx), "q_times_t": sp.simplify(1 / b), "loss_times_t3": sp.simplify(c3 / b ** 3)}


def toy2_parallel(n: int = 4) -> tuple[bool, bool]:
    """All students parallel to v (w_i = c_i v, c_i > 0): grad_i = (S - 1) v / 2 with S = sum c_i, and
    L = ||v||^2 (S - 1)^2 / 4, so S' = -n (S - 1)/2 under the flow: linear (exponential) convergence."""
    cs = sp.symbols(f"c1:{n + 1}", positive=True)
    vn = sp.Symbol("v_norm", positive=True)
    S = sum(cs)
    # all pairwise angles are 0: k(c_i v, c_j v) = c_i c_j ||v||^2 / 2, g(c_i v; c_j v) = c_j v / 2
    L = (sum(ci * cj for ci in cs for cj in cs) * vn ** 2 / 2 - 2 * sum(cs) * vn ** 2 / 2 + vn ** 2 / 2) / 2
    loss_ok = sp.simplify(L - vn ** 2 * (S - 1) ** 2 / 4) == 0
    # grad_i along v: sum_j c_j/2 - 1/2, and d/dc_i of L equals ||v||^2 * that (chain rule, w_i = c_i v)
    grad_coeff = S / 2 - sp.Rational(1, 2)
    grad_ok = all(sp.simplify(sp.diff(L, c) - vn ** 2 * grad_coeff) == 0 for c in cs)
    return bool(loss_ok), bool(grad_ok)


def toy3_equal_students() -> bool:
    """All students equal (w_i = w): grad_i L(w, ..., w) = grad L_1(n w), the single-student gradient at
    u = n w; so GD on the students is GD on u = sum_i w_i with step size n eta.  Checked in the plane
    with symbolic n, w = rho (cos phi, sin phi), v = e1."""
    rho, phi, nn = sp.symbols("rho phi n", positive=True)
    w = sp.Matrix([rho * sp.cos(phi), rho * sp.sin(phi)])
    v = sp.Matrix([1, 0])
    per_student = nn * w / 2 - _g_polar(w, rho, phi)  # sum_j g(w; w) = n w/2
    single = (nn * w) / 2 - _g_polar(nn * w, nn * rho, phi)  # grad L_1(u) = u/2 - g(u; v)
    return all(sp.simplify(e) == 0 for e in (per_student - single)) and v.shape == (2, 1)


def _g_polar(w: sp.Matrix, rho, phi) -> sp.Matrix:
    """g(w; e1) for w = rho (cos phi, sin phi), phi in (0, pi): theta = phi."""
    return ((PI - phi) * sp.Matrix([1, 0]) + sp.sin(phi) * w / rho) / (2 * PI)


def n1_hessian_at_teacher() -> sp.Matrix:
    """Hessian of L_1 at w = v = e1 in the plane (w = (a, b), a > 0, theta = atan(b/a))."""
    a, b = sp.symbols("a b", real=True)
    rho = sp.sqrt(a ** 2 + b ** 2)
    th = sp.atan(b / a)
    w = sp.Matrix([a, b])
    grad = w / 2 - ((PI - th) * sp.Matrix([1, 0]) + sp.sin(th) * w / rho) / (2 * PI)
    J = grad.jacobian([a, b])
    return sp.simplify(J.subs({a: 1, b: 0}))


def global_minima_hold(n: int = 3) -> tuple[bool, bool]:
    """At w_i = c_i v with c_i >= 0, sum c_i = 1: L = 0 and every grad_i = 0 (from :func:`toy2_parallel`
    with S = 1), for explicit n."""
    loss_ok, grad_ok = toy2_parallel(n)
    return loss_ok, grad_ok


# ---- numeric, batched (torch, float64) -----------------------------------------------------------------
#
# The numeric forms use the exact rewriting k(u, w) = u^T w / 2 + ||u|| ||w|| Ghat(theta) / (2 pi) with
# Ghat(theta) = G(theta) - pi cos(theta) = sin(theta) - theta cos(theta) = theta^3/3 + O(theta^5), so
#     L = ||sum w - v||^2 / 4 + [sum_ij r_i r_j Ghat(theta_ij) - 2 sum_i r_i r_v Ghat(theta_iv)] / (4 pi),
# and angles from theta = 2 atan2(||a - b||, ||a + b||) for unit a, b (chords measured from v/||v||).  Summing O(1) kernels and
# subtracting would lose everything below ~1e-15 of the loss; this form keeps relative precision in the
# late, slow phase where the loss is 1e-12 and smaller (ours; :func:`stable_form_holds` checks it).

_TWO_PI = 2.0 * torch.pi


def Ghat(t):
    """sin(t) - t cos(t) (sympy)."""
    return sp.sin(t) - t * sp.cos(t)


def stable_form_holds() -> tuple[bool, bool]:
    """(i) G = pi cos + Ghat, so L splits exactly as used numerically; (ii) Ghat's series."""
    split = sp.simplify(G(theta) - (PI * sp.cos(theta) + Ghat(theta))) == 0
    series = sp.simplify(sp.series(Ghat(theta), theta, 0, 9).removeO()
                         - (theta ** 3 / 3 - theta ** 5 / 30 + theta ** 7 / 840)) == 0
    return bool(split), bool(series)


def _ghat(t: torch.Tensor) -> torch.Tensor:
    small = t < 1e-2
    ts = torch.where(small, t, torch.zeros_like(t))
    t2 = ts * ts
    series = ts * t2 * (1.0 / 3 - t2 * (1.0 / 30 - t2 / 840))
    return torch.where(small, series, torch.sin(t) - t * torch.cos(t))


def _angles_from_chords(chord2: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Angle and sine between unit vectors a, b from the squared chord ||a - b||^2 (in [0, 4])."""
    chord2 = chord2.clamp(0.0, 4.0)
    dif, sm = torch.sqrt(chord2), torch.sqrt(4.0 - chord2)  # ||a - b||, ||a + b||
    return 2.0 * torch.atan2(dif, sm), dif * sm / 2.0


class Geometry:
    """Norms, unit vectors and (stable) angles of students W (..., n, d) and teacher v (..., d)."""

    def __init__(self, W: torch.Tensor, v: torch.Tensor):
        v = v.expand(*W.shape[:-2], W.shape[-1])
        self.W, self.v = W, v
        self.r = torch.linalg.vector_norm(W, dim=-1)  # (..., n)
        self.alive = self.r > 0
        safe = torch.where(self.alive, self.r, torch.ones_like(self.r))
        self.U = W / safe.unsqueeze(-1) * self.alive.unsqueeze(-1)
        self.rv = torch.linalg.vector_norm(v, dim=-1)  # (...)
        vhat = (v / self.rv.unsqueeze(-1)).unsqueeze(-2)  # (..., 1, d)
        # chords measured from the teacher's direction: A = U - vhat is small late in training, so
        # ||u_i - u_j||^2 = |a_i|^2 + |a_j|^2 - 2 a_i.a_j cancels only at the scale |a|^2 (and is exactly 0
        # on the diagonal); the plain Gram 2 - 2 u_i.u_j would lose every angle below ~1e-8.
        A = self.U - vhat
        GA = A @ A.transpose(-1, -2)
        sq = torch.diagonal(GA, dim1=-2, dim2=-1)  # ||u_i - vhat||^2
        self.th_ss, self.sin_ss = _angles_from_chords(sq.unsqueeze(-1) + sq.unsqueeze(-2) - 2.0 * GA)
        self.th_sv, self.sin_sv = _angles_from_chords(sq)  # (..., n)

    def linear_part(self) -> torch.Tensor:
        """||sum_i w_i - v||^2 / 4 (the part of L that a linear model would have)."""
        return ((self.W.sum(-2) - self.v) ** 2).sum(-1) / 4

    def angular_part(self) -> torch.Tensor:
        """L minus :meth:`linear_part`: [sum_ij r_i r_j Ghat_ij - 2 sum_i r_i r_v Ghat_iv] / (4 pi)."""
        r = self.r
        ss = (_ghat(self.th_ss) * r.unsqueeze(-1) * r.unsqueeze(-2)).sum((-1, -2))
        sv = (_ghat(self.th_sv) * r).sum(-1) * self.rv
        return (ss - 2.0 * sv) / (2.0 * _TWO_PI)

    def loss(self) -> torch.Tensor:
        return self.linear_part() + self.angular_part()

    def grad(self) -> torch.Tensor:
        """grad_i L = (sum w - v)/2 + [sum_j r_j (sin th_ij u_i - th_ij u_j) - r_v (sin th_iv u_i - th_iv vhat)]/(2 pi);
        dead students (w_i = 0) get 0 (relu'(0) = 0)."""
        r, U = self.r, self.U
        lin = (self.W.sum(-2) - self.v).unsqueeze(-2) / 2.0
        radial = (self.sin_ss * r.unsqueeze(-2)).sum(-1) - self.sin_sv * self.rv.unsqueeze(-1)
        tang = (self.th_ss * r.unsqueeze(-2)) @ U - self.th_sv.unsqueeze(-1) * self.v.unsqueeze(-2)
        g = lin + (U * radial.unsqueeze(-1) - tang) / _TWO_PI
        return g * self.alive.unsqueeze(-1)


def population_loss(W: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """L(w) for students W (..., n, d) and teacher v (..., d) or (d,); returns shape (...)."""
    return Geometry(W, v).loss()


def population_grad(W: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """grad_i L for all students (shape of W); dead students (w_i = 0) get 0."""
    return Geometry(W, v).grad()
