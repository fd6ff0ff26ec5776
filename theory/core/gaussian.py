"""Gaussian expectations of ReLU features, derived by sympy integration.

* Population limits of the d = 1 constants (paper 000, A.1): for x ~ N(0, 1/d), noise zeta independent
  with mean 0, C1 -> E[x^2 1(x > 0)] = 1/(2d), C2 -> E[(x relu(x) + zeta x) 1(x > 0)] = 1/(2d), and on
  the negative side C2 -> 0.
* The arc-cosine kernel of degree 1: for x ~ N(0, I),
  E[relu(u^T x) relu(w^T x)] = ||u|| ||w|| (sin(theta) + (pi - theta) cos(theta)) / (2 pi), and the
  expectation E[relu(u^T x) 1(w^T x > 0) x] that gives the population gradient.  Derived in the plane
  spanned by u and w in polar coordinates (the other directions integrate out).

:func:`arccos_kernel` and :func:`arccos_kernel_grad_w` are the numeric forms (numpy), used by the
population checks here and by the over-parameterization simulator.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import sympy as sp

x, zeta = sp.symbols("x zeta", real=True)
d = sp.Symbol("d", positive=True)
sigma = sp.Symbol("sigma", positive=True)
theta = sp.Symbol("theta", nonnegative=True)


def _normal_pdf(var, variance):
    return sp.exp(-var ** 2 / (2 * variance)) / sp.sqrt(2 * sp.pi * variance)


def population_C1_C2() -> dict[str, sp.Expr]:
    """Population limits of C1, C2 on each side (x ~ N(0, 1/d), zeta ~ N(0, sigma^2) independent)."""
    px, pz = _normal_pdf(x, 1 / d), _normal_pdf(zeta, sigma ** 2)

    def expect(f, lo, hi):
        inner = sp.integrate(f * pz, (zeta, -sp.oo, sp.oo))
        return sp.simplify(sp.integrate(sp.simplify(inner) * px, (x, lo, hi)))

    return {
        "C1+": expect(x ** 2, 0, sp.oo),
        "C2+": expect(x * x + zeta * x, 0, sp.oo),  # relu(x) = x on x > 0
        "C1-": expect(x ** 2, -sp.oo, 0),
        "C2-": expect(zeta * x, -sp.oo, 0),  # relu(x) = 0 on x < 0, only the noise term is left
    }


@lru_cache(maxsize=None)
def derived_arccos_kernel() -> sp.Expr:
    """E[relu(e1^T x) relu(w^T x)] for unit w at angle theta in [0, pi] to e1, x ~ N(0, I_2)."""
    r, phi = sp.symbols("r phi", nonnegative=True)
    radial = sp.integrate(r ** 3 * sp.exp(-r ** 2 / 2), (r, 0, sp.oo)) / (2 * sp.pi)
    # both features positive for phi in (theta - pi/2, pi/2)
    angular = sp.integrate(sp.cos(phi) * sp.cos(phi - theta), (phi, theta - sp.pi / 2, sp.pi / 2))
    return sp.simplify(radial * angular)


def printed_arccos_kernel() -> sp.Expr:
    """The arc-cosine kernel in its usual printed form, unit norms."""
    return (sp.sin(theta) + (sp.pi - theta) * sp.cos(theta)) / (2 * sp.pi)


def arccos_kernel(u: np.ndarray, w: np.ndarray) -> np.ndarray:
    """E[relu(u^T x) relu(w^T x)], x ~ N(0, I), for vectors u, w (..., d)."""
    nu, nw = np.linalg.norm(u, axis=-1), np.linalg.norm(w, axis=-1)
    cos = np.clip(np.sum(u * w, axis=-1) / np.maximum(nu * nw, np.finfo(float).tiny), -1.0, 1.0)
    th = np.arccos(cos)
    return nu * nw * (np.sin(th) + (np.pi - th) * cos) / (2 * np.pi)


def arccos_kernel_grad_w(u: np.ndarray, w: np.ndarray) -> np.ndarray:
    """E[relu(u^T x) 1(w^T x > 0) x] = d/dw E[relu(u^T x) relu(w^T x)]  (x ~ N(0, I), w != 0).

    Equals ((pi - theta) u + ||u|| sin(theta) w/||w||) / (2 pi).
    """
    nu, nw = np.linalg.norm(u, axis=-1), np.linalg.norm(w, axis=-1)
    cos = np.clip(np.sum(u * w, axis=-1) / np.maximum(nu * nw, np.finfo(float).tiny), -1.0, 1.0)
    th = np.arccos(cos)
    return ((np.pi - th)[..., None] * u + (nu * np.sin(th))[..., None] * w / nw[..., None]) / (2 * np.pi)


def kernel_gradient_matches(samples: int = 5, seed: int = 0) -> float:
    """Largest relative gap between :func:`arccos_kernel_grad_w` and a central finite difference."""
    rng = np.random.default_rng(seed)
    worst = 0.0
    for _ in range(samples):
        u, w = rng.normal(size=3), rng.normal(size=3)
        h = 1e-6
        fd = np.array([(arccos_kernel(u, w + h * e) - arccos_kernel(u, w - h * e)) / (2 * h) for e in np.eye(3)])
        g = arccos_kernel_grad_w(u, w)
        worst = max(worst, float(np.linalg.norm(fd - g) / np.linalg.norm(g)))
    return worst
