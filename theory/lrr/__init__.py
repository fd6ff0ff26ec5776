"""Paper 000 (Gadhikar & Burkholz, ICLR 2024), Sec. 2 and App. A: the single hidden neuron, checked.

:mod:`~theory.lrr.gradient_flow` (eqs. 1-3 and 7), :mod:`~theory.lrr.balancedness` (a^2 - ||w||^2 is
conserved), :mod:`~theory.lrr.closed_forms` (the reduced d = 1 flow, eqs. 4-6),
:mod:`~theory.lrr.single_neuron_limits` (Theorem 2.1, Lemma 2.2), :mod:`~theory.lrr.appendix_a2` (eqs. 8-15),
:mod:`~theory.lrr.matrix_algebra` (identities for every d), :mod:`~theory.lrr.numeric_checks` (independent
numerics) and :mod:`~theory.lrr.claims` (the registered ``lrr.*`` claims).
"""
