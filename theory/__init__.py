"""Machine-checked mathematics of the three papers.

Each checkable statement is a registered claim (:mod:`theory.claims`); ``python -m theory.verify`` runs
them all.  The maths lives in modules named for what they are: :mod:`theory.gradient_flow` (eqs. 1-3, 7),
:mod:`theory.balancedness`, :mod:`theory.closed_forms` (eqs. 4-6 and the numeric evaluators),
:mod:`theory.gaussian` (population expectations), :mod:`theory.single_neuron_limits` (Theorem 2.1,
Lemma 2.2) and :mod:`theory.appendix_a2` (eqs. 8-15).
"""
