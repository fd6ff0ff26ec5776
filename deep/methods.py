"""The paper's method names as pairs of the two choices a pruning run makes: what each level rewinds to
(:mod:`deep.rewind`) and where its mask comes from (:mod:`deep.mask_source`).

``imp``: (init, magnitude); ``wr``: (epoch, magnitude); ``lrr``: (none, magnitude); ``imp-rand``: (init,
random); ``lrr-rand``: (none, random).  Any other pair is named ``<rewind>+<mask>`` (e.g. ``none+snip``: LRR
with SNIP scores; ``bn+magnitude``: LRR with BatchNorm rewinding).

:func:`cycle_record` reads the cycle part of a run's identity written with a ``method`` name (and the
``bn_rewind`` / ``criterion`` fields that went with it) as the two fields.
"""

from __future__ import annotations

METHODS: dict[str, tuple[str, str]] = {"imp": ("init", "magnitude"), "wr": ("epoch", "magnitude"),
                                       "lrr": ("none", "magnitude"), "imp-rand": ("init", "random"),
                                       "lrr-rand": ("none", "random")}


def choices(method: str) -> tuple[str, str]:
    """(rewind, mask source) of a method name."""
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; available: {', '.join(METHODS)}")
    return METHODS[method]


def label(rewind: str, mask: str) -> str:
    """The method name of a (rewind, mask source) pair, or ``<rewind>+<mask>``."""
    for name, pair in METHODS.items():
        if pair == (rewind, mask):
            return name
    return f"{rewind}+{mask}"


def cycle_record(cycle: dict) -> dict:
    """A cycle configuration as plain data with ``rewind`` and ``mask`` fields; one given as ``method``
    (with ``bn_rewind``, ``criterion`` and ``mask_from``) is converted: bn_rewind -> rewind ``bn``, a
    criterion other than magnitude -> that mask source, mask_from -> mask source ``run``."""
    if "method" not in cycle:
        return dict(cycle)
    out = {k: v for k, v in cycle.items() if k not in ("method", "bn_rewind", "criterion")}
    rewind, mask = choices(cycle["method"])
    if cycle.get("bn_rewind"):
        rewind = "bn"
    if cycle.get("criterion", "magnitude") != "magnitude" and mask == "magnitude":
        mask = cycle["criterion"]
    if cycle.get("mask_from"):
        mask = "run"
    return out | {"rewind": rewind, "mask": mask}
