"""Machine-checked mathematics of the three papers, one subpackage per paper (same slugs as :mod:`sim`).

Each checkable statement is a registered claim (:mod:`theory.core.claims`) with an id that starts with its
paper's slug (``lrr.*``, ``zhang.*``, ``xudu.*``); ``python -m theory.verify`` runs them all.

* :mod:`theory.lrr`   paper 000: gradient flow of the single neuron (eqs. 1-3, 7), balancedness, the closed
  forms of App. A.1 (eqs. 4-6), Theorem 2.1 / Lemma 2.2, App. A.2 (eqs. 8-15), their claims;
* :mod:`theory.zhang` paper 001: Gaussian moments of a ReLU unit (tensor initialization), its claims;
* :mod:`theory.xudu`  paper 002: the population loss of n students and one teacher, its claims;
* :mod:`theory.core`  the claim registry, Gaussian expectations of ReLU features, input validation, the
  command-line conventions every entry point of the toolkit shares.

Commands: :mod:`theory.verify` (every claim, a table, ``--json``) and :mod:`theory.bench` (the closed-form
evaluator of paper 000 against per-point scipy integration).
"""
