"""Paper 002 (Xu & Du, "Over-Parameterization Exponentially Slows Down Gradient Descent for Learning a
Single Neuron", COLT 2023): n ReLU students learning one ReLU teacher under Gaussian input, simulated.

:mod:`~sim.xudu.overparam` (the exact population loss, batched GD and the flow),
:mod:`~sim.xudu.overparam_reference` (per-trial oracle), :mod:`~sim.xudu.rates` (exponents, linear rates,
phases read off trajectories) and :mod:`~sim.xudu.diagrams` (the registered ``xudu-*`` experiments).  The
maths is in :mod:`theory.xudu`; the figures are ``figures/xudu_*.py``.
"""
