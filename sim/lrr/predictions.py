"""What the theory of paper 000 predicts for each run, from the signs of (a, w_1) where training starts.

* Theorem 2.1 (d = 1): balanced gradient flow succeeds iff a(0) > 0 and w(0) > 0.  We take that verdict
  from :func:`theory.lrr.single_neuron_limits.d1_limit` with the population constants, not from a copy here.
* Sec. 2.2 / Theorem 2.3 (d >= 2, zero noise, balanced, 0 < |a| ||w(0)|| <= 2): the dense flow succeeds
  and identifies the mask; a keeps its sign (Lemma 2.2).  LRR then starts the 1-d problem from the trained
  w_1 > 0, so it succeeds iff a(0) > 0; IMP restarts from theta(0), so it succeeds iff a(0) > 0 and
  w_1(0) > 0.  WR is IMP with theta(0) replaced by the rewinding point.  IMP with restored balance has
  the same prediction as IMP (balance does not change signs).
* Under a sign-symmetric initialization this gives success rates 1/4 for IMP and 1/2 for LRR (d >= 2);
  1/4 for both at d = 1, where there is nothing to prune.
"""

from __future__ import annotations

import numpy as np

from theory.lrr.single_neuron_limits import D1Data, d1_limit


def d1_succeeds(a_sign: float, w_sign: float) -> bool:
    """Theorem 2.1's verdict for a balanced start with these signs (population data)."""
    if a_sign == 0 or w_sign == 0:
        return False
    return d1_limit(float(np.sign(a_sign)), float(np.sign(w_sign)), D1Data.population(1)).success


def predicted_success(method: str, a_sign, w1_sign, d: int) -> np.ndarray:
    """Per-trial prediction.  a_sign, w1_sign: signs where the method's last cycle is rewound to
    (theta(0) for IMP, the rewinding point for WR) or, for LRR, the signs at initialization."""
    a_sign = np.sign(np.asarray(a_sign, dtype=float))
    w1_sign = np.sign(np.asarray(w1_sign, dtype=float))
    d1 = np.vectorize(d1_succeeds, otypes=[bool])(a_sign, w1_sign)
    if method == "lrr" and d >= 2:
        return a_sign > 0
    if method in ("lrr", "imp", "wr", "imp-balanced"):
        return d1
    raise ValueError(f"no prediction for method {method!r}")


def predicted_rate(method: str, d: int) -> float:
    """Success probability under independent fair signs of a(0) and w_1(0)."""
    quads = [(sa, sw) for sa in (1, -1) for sw in (1, -1)]
    return float(np.mean([predicted_success(method, sa, sw, d) for sa, sw in quads]))
