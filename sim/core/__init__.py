"""What the three papers' simulations share, and nothing paper-specific.

:mod:`~sim.core.registry` (named diagrams with typed scales), :mod:`~sim.core.config` (frozen dataclasses
to command-line options), :mod:`~sim.core.sweep` (parallel, resumable, deterministic runs of a diagram),
:mod:`~sim.core.folders` (the results-folder contract: locks, atomic writes, identities; also used by
``deep/``), :mod:`~sim.core.provenance` (versions, commit, machine), :mod:`~sim.core.intervals` (Wilson
and bootstrap intervals), :mod:`~sim.core.draws` (runs that share one draw of data),
:mod:`~sim.core.magnitude` (the one magnitude-pruning primitive).
"""
