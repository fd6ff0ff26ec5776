"""Paper 001 (Zhang et al., "Why Lottery Ticket Wins? A Theoretical Perspective of Sample Complexity on
Sparse Neural Networks"): the sparse one-hidden-layer teacher-student model of Sec. 2 and 5, simulated.

:mod:`~sim.zhang.sparse_teacher` (model, batched risk, gradient, Hessian), :mod:`~sim.zhang.agd`
(Algorithm 1, batched; its product layouts in :mod:`~sim.zhang.agd_layout`), :mod:`~sim.zhang.sparse_reference` (per-trial oracle), :mod:`~sim.zhang.tensor_init`
(Sec. 4 / Lemma 1), :mod:`~sim.zhang.pruning` (IMP on the teacher, one-shot pruning, neuron matching),
:mod:`~sim.zhang.fits` (radius, N*, lines), :mod:`~sim.zhang.nstar` (Fig. 4's N* by bisection),
:mod:`~sim.zhang.tinit`, :mod:`~sim.zhang.fig5_linear` and :mod:`~sim.zhang.diagrams` (the registered
``zhang-*`` experiments); :mod:`~sim.zhang.bench_sparse` and :mod:`~sim.zhang.agd_precision` (the
engine's throughput and its mixed precision against float64, for ``python -m sim.bench``).  The maths is in :mod:`theory.zhang`; the figures are ``figures/zhang_*.py``.
"""
