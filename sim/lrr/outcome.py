"""What "success" means for the single-neuron experiments (paper 000, Fig. 2(a) and Fig. 18).

A run succeeds when, after the last pruning level, (i) the right input survives: the mask keeps input 1,
the only input the target relu(x_1) depends on; and (ii) the trained neuron is close to the target on
fresh data: its population relative error E[(a relu(w^T x) - relu(x_1))^2] / E[relu(x_1)^2]
(closed form, :func:`sim.lrr.neuron.population_relative_error`) is below SUCCESS_THRESHOLD.

The failure modes of Theorem 2.1 give errors of order 1 (a dead neuron: 1; a wrong sign: >= 1), while a
successful fit with sigma^2 = 0.01 and n = 1000 has errors of order 1e-4, so the threshold is not a
tuning knob: any value between about 0.01 and 0.5 gives the same verdicts (the per-trial errors are saved,
so this can be checked on every result).
"""

from __future__ import annotations

import numpy as np

from sim.lrr.neuron import population_relative_error

SUCCESS_THRESHOLD = 0.1


def success(theta_final: np.ndarray, input_mask_final: np.ndarray,
            threshold: float = SUCCESS_THRESHOLD) -> np.ndarray:
    """theta_final: (T, d + 1); input_mask_final: (T, d) 0/1 of the inputs.  Returns (T,) bool."""
    full = np.concatenate([np.ones_like(input_mask_final[:, :1]), input_mask_final], axis=1)
    err = population_relative_error(theta_final, full)
    return (np.asarray(input_mask_final)[:, 0] > 0) & (err < threshold)
