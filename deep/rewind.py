"""What a pruning level starts from, before its mask is applied (paper 000 Sec. 3): the rewinding registry.

Each entry maps (trained, theta0, rewind_point, bn_keys) to a fresh state dict:

* ``init``: theta(0), the initialization (IMP proper);
* ``epoch``: the weights after ``rewind_epoch`` epochs of dense training (weight rewinding, WR);
* ``none``: the trained weights themselves; only the learning-rate schedule restarts (LRR);
* ``bn``: the trained weights with the BatchNorm parameters and statistics reset to theta(0)'s (LRR with BN
  rewinding).
"""

from __future__ import annotations

import copy
from typing import Callable

State = dict  # parameter / buffer name -> tensor


def _init(trained: State, theta0: State, point: State, bn_keys: list[str]) -> State:
    return copy.deepcopy(theta0)


def _epoch(trained: State, theta0: State, point: State, bn_keys: list[str]) -> State:
    return copy.deepcopy(point)


def _none(trained: State, theta0: State, point: State, bn_keys: list[str]) -> State:
    return copy.deepcopy(trained)


def _bn(trained: State, theta0: State, point: State, bn_keys: list[str]) -> State:
    state = copy.deepcopy(trained)
    for k in bn_keys:
        state[k] = theta0[k].clone()
    return state


REWINDS: dict[str, Callable[[State, State, State, list[str]], State]] = {
    "init": _init, "epoch": _epoch, "none": _none, "bn": _bn}


def start_state(rewind: str, trained: State, theta0: State, point: State, bn_keys: list[str]) -> State:
    """The state a level starts from under the rewinding rule ``rewind``."""
    if rewind not in REWINDS:
        raise ValueError(f"rewind must be one of {', '.join(REWINDS)}, got {rewind!r}")
    return REWINDS[rewind](trained, theta0, point, bn_keys)
