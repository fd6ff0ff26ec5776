"""``python -m theory.bench``: the closed-form evaluator against per-point scipy integration.

Prints the time per point of each on the same (t, w0, C1, C2~) points and their ratio.
"""

from __future__ import annotations

import time

import numpy as np

from theory.lrr.closed_forms import w_closed_form
from theory.lrr.numeric_checks import scipy_reduced_solution


def main() -> None:
    rng = np.random.default_rng(0)
    n_vec, n_ode = 1_000_000, 200
    t = rng.uniform(0, 5, n_vec)
    w0 = rng.choice([-1, 1], n_vec) * rng.uniform(0.1, 2, n_vec)
    C1 = rng.uniform(0.1, 2, n_vec)
    C2t = rng.uniform(-1, 1, n_vec)
    w_closed_form(t[:10], w0[:10], C1[:10], C2t[:10])  # build the lambdified forms outside the timing
    start = time.perf_counter()
    w = w_closed_form(t, w0, C1, C2t)
    per_vec = (time.perf_counter() - start) / n_vec
    start = time.perf_counter()
    ref = np.array([scipy_reduced_solution(t[i], w0[i], C1[i], C2t[i]) for i in range(n_ode)])
    per_ode = (time.perf_counter() - start) / n_ode
    err = np.max(np.abs(w[:n_ode] - ref) / np.abs(ref))
    print(f"closed form (numpy, {n_vec:,} points): {per_vec * 1e9:8.1f} ns/point")
    print(f"scipy DOP853 (rtol 1e-13, {n_ode} points): {per_ode * 1e6:8.1f} us/point")
    print(f"speed-up: {per_ode / per_vec:,.0f}x   max relative difference on the shared points: {err:.1e}")


if __name__ == "__main__":
    main()
