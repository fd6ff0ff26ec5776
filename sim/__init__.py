"""Simulations of the three papers' settings, one subpackage per paper, named by its slug.

* :mod:`sim.lrr`   paper 000, Gadhikar & Burkholz (learning rate rewinding): the single hidden neuron
  f(x) = a relu(w^T x), its trainers (GD, L-BFGS, exact gradient flow), IMP / WR / LRR cycles;
* :mod:`sim.zhang` paper 001, Zhang et al. (why lottery tickets win): the sparse teacher-student model,
  accelerated gradient descent, tensor initialization, N* and the Fig. 2-6 experiments (Fig. 7 is a
  deep-network run of ``deep/``);
* :mod:`sim.xudu`  paper 002, Xu & Du (over-parameterization slows GD): n students, one teacher neuron;
* :mod:`sim.core`  what the papers share: the diagram registry, the sweep runner, results folders,
  provenance, intervals, runs that share a draw.

``python -m sim.phase_diagram`` runs any registered diagram; ``python -m sim.bench`` times the engines.
The maths the simulations use lives in :mod:`theory` (same slugs); figures in :mod:`figures` only read
what the sweeps save.
"""
