"""Sign statistics across pruning levels (paper 000 Figs. 5, 13, 14, 15b, 17b).

A sign history is an int8 array (levels + 1, n): the sign (-1, 0, +1) of every prunable weight at the end
of each level (level 0: dense training), 0 once pruned.  ``init`` holds the signs at initialization.

* ``switches``: per weight, how many times its sign changes between consecutive levels at which it is alive;
* ``last_change``: per weight, the level after which its sign never changes again (0: it never changed
  after level 0), counting only levels at which it is alive;
* ``flips_from_init``: per level, the fraction of alive weights whose sign differs from the initial sign.
"""

from __future__ import annotations

import numpy as np


def switches(history: np.ndarray) -> np.ndarray:
    h = np.asarray(history)
    both = (h[1:] != 0) & (h[:-1] != 0)
    return ((h[1:] != h[:-1]) & both).sum(0)


def last_change(history: np.ndarray) -> np.ndarray:
    h = np.asarray(history)
    both = (h[1:] != 0) & (h[:-1] != 0)
    changed = (h[1:] != h[:-1]) & both  # changed[l-1]: between level l-1 and l
    out = np.zeros(h.shape[1], dtype=int)
    for level in range(1, h.shape[0]):
        out[changed[level - 1]] = level
    return out


def flips_from_init(history: np.ndarray, init: np.ndarray) -> np.ndarray:
    h = np.asarray(history)
    alive = h != 0
    flipped = (h != np.asarray(init)[None]) & alive
    return flipped.sum(1) / np.maximum(alive.sum(1), 1)


def summary(history: np.ndarray, init: np.ndarray) -> dict:
    sw = switches(history)
    alive_end = np.asarray(history)[-1] != 0
    return {"flips_from_init": flips_from_init(history, init).round(6).tolist(),
            "mean_switches_survivors": float(sw[alive_end].mean()) if alive_end.any() else 0.0,
            "last_change_histogram_survivors": np.bincount(last_change(history)[alive_end],
                                                           minlength=np.asarray(history).shape[0]).tolist()}
