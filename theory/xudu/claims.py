"""Claims of paper 002 (Xu & Du, "Over-Parameterization Exponentially Slows Down Gradient Descent for
Learning a Single Neuron", COLT 2023, arXiv 2302.10034), registered for ``python -m theory.verify``.

Our copy of the paper is a summary (``../shared/papers/002_*.txt``); the set-up is the paper's (abstract,
Sec. 1-2), the formulas below are the standard ones it names ("closed form expressions of L(w) and
grad L(w)"), and where the summary only names a statement (toy cases, phases) the claim says how we read
it.  Derivations marked "ours" are facts the toolkit uses that the paper does not print.
"""

from __future__ import annotations

import numpy as np
import sympy as sp
import torch

from theory.xudu import overparam_neuron as op
from theory.core.claims import Outcome, claim

P = "xudu2023"


def _rng_config(rng, n, d):
    W = rng.normal(size=(n, d))
    v = rng.normal(size=d)
    return W, v


def _mc_loss_grad(W: np.ndarray, v: np.ndarray, samples: int, rng) -> tuple[float, float, np.ndarray, np.ndarray]:
    x = rng.normal(size=(samples, W.shape[1]))
    pre = x @ W.T
    res = np.maximum(pre, 0).sum(1) - np.maximum(x @ v, 0)
    loss = 0.5 * res ** 2
    g = (res[:, None, None] * (pre > 0)[:, :, None] * x[:, None, :])  # (S, n, d)
    return loss.mean(), loss.std() / np.sqrt(samples), g.mean(0), g.std(0) / np.sqrt(samples)


@claim("xudu.kernel", P, "Sec. 2 (closed forms); the arc-cosine kernel as usually printed",
       "E[relu(u^T x) relu(w^T x)] = ||u|| ||w|| (sin t + (pi - t) cos t) / (2 pi), x ~ N(0, I)")
def _kernel():
    return Outcome.require(op.kernel_matches_derivation(),
                           "derived by integration in the plane of u, w (theory.core.gaussian) and equal to the printed form")


@claim("xudu.grad.derivative", P, "Sec. 2: closed form of grad L(w)",
       "grad_i L = sum_j g(w_i; w_j) - g(w_i; v), g(w; u) = ((pi - t) u + ||u|| sin t w/||w||)/(2 pi), is the derivative of L")
def _grad_is_derivative():
    k_rho, k_phi = op.kernel_gradient_identity()
    # the whole loss: sympy derivative of L (n = 2, d = 3, symbolic coordinates) at rational points, 40 digits
    syms = sp.symbols("a0:9", real=True)
    W = [sp.Matrix(syms[0:3]), sp.Matrix(syms[3:6])]
    v = sp.Matrix(syms[6:9])
    L = op.loss_expr(W, v)
    rng = np.random.default_rng(5)
    worst = 0.0
    worst_torch = 0.0
    for _ in range(3):
        vals = [sp.Rational(int(k), 17) for k in rng.integers(-30, 30, size=9)]
        sub = dict(zip(syms, vals))
        for i in range(2):
            closed = op.grad_expr(W, v, i).subs(sub)
            for c in range(3):
                deriv = sp.diff(L, syms[3 * i + c]).subs(sub)
                worst = max(worst, float(abs(sp.N(deriv - closed[c], 40))))
        Wt = torch.tensor([[float(x) for x in vals[0:3]], [float(x) for x in vals[3:6]]], dtype=torch.float64)
        vt = torch.tensor([float(x) for x in vals[6:9]], dtype=torch.float64)
        gt = op.population_grad(Wt, vt).numpy()
        ref = np.array([[float(sp.N(e, 30)) for e in op.grad_expr(W, v, i).subs(sub)] for i in range(2)])
        worst_torch = max(worst_torch, float(np.abs(gt - ref).max()), abs(float(op.population_loss(Wt, vt))
                                                                        - float(sp.N(L.subs(sub), 30))))
    ok = k_rho and k_phi and worst < 1e-30 and worst_torch < 1e-12
    return Outcome.require(ok, f"kernel level (polar coordinates): d/drho {k_rho}, d/dphi {k_phi}; whole loss "
                           f"(n = 2, d = 3, sympy diff at 3 rational points, 40 digits): max gap {worst:.1e}; the "
                           f"batched torch loss/gradient used by sim/ vs the sympy forms: {worst_torch:.1e}")


@claim("xudu.loss.montecarlo", P, "Sec. 2: closed forms of L(w) and grad L(w)",
       "the closed-form L and grad L agree with Monte Carlo estimates within 5 standard errors")
def _mc():
    rng = np.random.default_rng(11)
    worst = 0.0
    for n, d in ((1, 2), (2, 3), (5, 4), (3, 10)):
        W, v = _rng_config(rng, n, d)
        l_mc, l_se, g_mc, g_se = _mc_loss_grad(W, v, 400_000, rng)
        Wt, vt = torch.from_numpy(W), torch.from_numpy(v)
        z_l = abs(float(op.population_loss(Wt, vt)) - l_mc) / l_se
        z_g = float(np.max(np.abs(op.population_grad(Wt, vt).numpy() - g_mc) / g_se))
        worst = max(worst, z_l, z_g)
    return Outcome.require(worst < 5.0, f"4 random (n, d) configurations, 4e5 samples each: largest |z| = {worst:.2f}",
                           numeric=True)


@claim("xudu.minima", P, "Sec. 2 / Phase 3 (global minima)",
       "w_i = c_i v with c_i >= 0 and sum c_i = 1 are global minima: L = 0 and grad L = 0 there")
def _minima():
    loss_ok, grad_ok = op.global_minima_hold(4)
    return Outcome.require(loss_ok and grad_ok, "n = 4, symbolic c_i and ||v||: L = ||v||^2 (S - 1)^2 / 4 and "
                           "grad_i = (S - 1) v / 2 (S = sum c_i), both 0 at S = 1; L >= 0 makes them global")


@claim("xudu.odd-even", P, "ours (used to split the phases)",
       "L = ||sum w_i - v||^2/8 + E[(sum |w_i^T x| - |v^T x|)^2]/8 exactly, with E|u^T x||w^T x| = (2/pi)||u|| ||w|| (sin t + (pi/2 - t) cos t)")
def _odd_even():
    abs_ok, split_ok = op.odd_even_split_holds()
    return Outcome.require(abs_ok and split_ok, f"E|a||b| derived by integration: {abs_ok}; 4 k(u, w) = u^T w + E|a||b|: {split_ok}")


@claim("xudu.cubic", P, "ours; Technical overview (why n >= 2 is slow)",
       "near alignment L = ||sum w - v||^2/4 + [sum_ij r_i r_j t_ij^3 - 2 sum_i r_i r_v t_iv^3]/(12 pi) + O(t^4): the angles enter cubically")
def _cubic():
    ok = op.cubic_expansion_holds()
    split, series = op.stable_form_holds()
    return Outcome.require(ok and split and series,
                           f"E|a||b| - a.b = (2/(3 pi)) r r' t^3 + O(t^4): {ok}; exact form used numerically, "
                           f"G = pi cos t + (sin t - t cos t): {split}; sin t - t cos t = t^3/3 - t^5/30 + t^7/840 + O(t^9): {series}")


@claim("xudu.phase1", P, "Technical overview; Phase 1 (Theorem 4)",
       "with small students (interaction terms dropped) theta_i decreases at rate ~1/||w_i|| while ||w_i|| grows at most at rate ||v||/2")
def _phase1():
    rho, phi = sp.symbols("rho phi", positive=True)
    w = sp.Matrix([rho * sp.cos(phi), rho * sp.sin(phi)])
    wdot = op._g_polar(w, rho, phi)  # -grad_i L with the O(||w||) interaction terms dropped, v = e1
    e_rho = sp.Matrix([sp.cos(phi), sp.sin(phi)])
    e_phi = sp.Matrix([-sp.sin(phi), sp.cos(phi)])
    rho_dot = sp.simplify((wdot.T * e_rho)[0])
    phi_dot = sp.simplify((wdot.T * e_phi)[0] / rho)
    radial_ok = sp.simplify(rho_dot - op.G(phi) / (2 * sp.pi)) == 0
    angular_ok = sp.simplify(phi_dot + (sp.pi - phi) * sp.sin(phi) / (2 * sp.pi * rho)) == 0
    grid = np.linspace(0, np.pi, 2001)
    g_vals = np.sin(grid) + (np.pi - grid) * np.cos(grid)
    bounds_ok = bool(g_vals.min() >= -1e-15 and g_vals.max() <= np.pi + 1e-12)
    return Outcome.require(radial_ok and angular_ok and bounds_ok,
                           "polar form of w' = g(w; v): ||w||' = G(t)/(2 pi) in [0, 1/2] (checked on a grid of "
                           f"t in [0, pi]) {radial_ok and bounds_ok}; t' = -(pi - t) sin t / (2 pi ||w||) <= 0 "
                           f"{angular_ok}: the angle closes fast while the norm stays small")


@claim("xudu.toy1.symmetry", P, "Case study, toy case 1",
       "if w_1 and w_2 are reflection-symmetric with respect to v, gradient descent preserves the symmetry")
def _toy1_sym():
    return Outcome.require(op.toy1_symmetry_preserved(), "grad_2 = R grad_1, R = reflection about v, symbolically")


@claim("xudu.toy1.rate", P, "Case study, toy case 1",
       "the perpendicular parts lambda_{1,2} of the symmetric pair decay like 1/t (so L ~ t^-3, not linearly)")
def _toy1_rate():
    from scipy.integrate import solve_ivp

    gap = op.toy1_reduced_matches()
    a = op.toy1_asymptotics()
    qt, lt3 = a["q_times_t"], a["loss_times_t3"]
    ok_sym = gap < 1e-30 and a["loss_series"] == a["c3"] * op.q ** 3 and sp.simplify(qt - sp.pi / 2) == 0
    v = torch.tensor([1.0, 0.0], dtype=torch.float64)

    def rhs(_, y):
        W = torch.tensor([[y[0], y[1]], [y[0], -y[1]]], dtype=torch.float64)
        g = op.population_grad(W, v)[0].numpy()
        return -g

    t_end = 1e4
    sol = solve_ivp(rhs, (0, t_end), [0.3, 0.4], method="LSODA", rtol=1e-10, atol=1e-14, dense_output=True)
    qf = sol.y[1, -1]
    Wf = torch.tensor([[sol.y[0, -1], qf], [sol.y[0, -1], -qf]], dtype=torch.float64)
    lf = float(op.population_loss(Wf, v))
    num_q, num_l = qf * t_end / float(qt), lf * t_end ** 3 / float(lt3)
    ok_num = abs(num_q - 1) < 0.02 and abs(num_l - 1) < 0.06
    return Outcome.require(bool(ok_sym and ok_num),
                           f"exact forms at p = 1/2: L = {a['loss_series']} + O(q^4), q' = {a['qdot_series']} + O(q^3), "
                           f"p' has no term below q^4; hence q(t) t -> {qt}, L(t) t^3 -> {lt3}. scipy flow from "
                           f"(0.3, 0.4) to t = 1e4: q t / (pi/2) = {num_q:.4f}, L t^3 / (pi^2/6) = {num_l:.4f}. "
                           "Reading: the summary's 'lambda_2(t) ~ t^-1' is the perpendicular part q")


@claim("xudu.toy2.parallel", P, "Case study, toy case 2",
       "if all students are parallel to the teacher the convergence rate is linear")
def _toy2():
    loss_ok, grad_ok = op.toy2_parallel(3)
    return Outcome.require(loss_ok and grad_ok, "w_i = c_i v: the gradient is along v (students stay parallel), "
                           "L = ||v||^2 (S - 1)^2/4 and S' = -n (S - 1)/2, so L(t) = L(0) e^{-n t} (GD: factor "
                           "(1 - n eta/2)^2 per step)")


@claim("xudu.toy3.equal", P, "Case study, toy case 3",
       "if all students are equal, training is one student learning the teacher with step size multiplied by n")
def _toy3():
    return Outcome.require(op.toy3_equal_students(), "grad_i L(w, ..., w) = grad L_1(n w) (symbolic n, polar w): "
                           "u = sum_i w_i follows GD on L_1 with step n eta")


@claim("xudu.n1.linear", P, "Abstract; Sec. 1 (exact parameterization)",
       "for n = 1 gradient descent converges linearly (exp(-Omega(T)))")
def _n1():
    H = op.n1_hessian_at_teacher()
    ok = H == sp.eye(2) / 2
    return Outcome.require(bool(ok), f"Hessian of L_1 at w = v is {H.tolist()} = I/2: locally strongly convex, so GD "
                           "with eta < 4 contracts the loss by (1 - eta/2)^2 per step and the flow by e^{-t}")
