"""Paper 000 (Gadhikar & Burkholz, "Masks, Signs, and Learning Rate Rewinding", ICLR 2024): the single
hidden ReLU neuron f(x) = a relu(w^T x) of Sec. 2, simulated.

:mod:`~sim.lrr.neuron` (model, data, loss), :mod:`~sim.lrr.trainer_config` and :mod:`~sim.lrr.trainers`
(GD, L-BFGS; dispatch), :mod:`~sim.lrr.flow` (exact gradient flow of eq. 7), :mod:`~sim.lrr.prune`
(magnitude pruning of w), :mod:`~sim.lrr.cycles` (IMP, WR, LRR, IMP-balanced), :mod:`~sim.lrr.outcome`
(success), :mod:`~sim.lrr.predictions` (what Theorems 2.1/2.3 predict per run), :mod:`~sim.lrr.imbalance`
(Lemma 2.2 under GD), :mod:`~sim.lrr.sign_changes` (the experiment on GD's sign changes of a),
:mod:`~sim.lrr.reference` (per-trial oracle), :mod:`~sim.lrr.flow_check` (flow vs GD run by run),
:mod:`~sim.lrr.closed_form_curves` (App. A.1: eqs. 4-5 as printed vs the corrected form vs an ODE) and
:mod:`~sim.lrr.diagrams` (the registered ``lrr-*`` experiments: typed scales and cells, fit steps).  The maths is in
:mod:`theory.lrr`; the figures are ``figures/lrr_*.py``; the claims are ``lrr.*`` in ``theory.verify``.
"""
