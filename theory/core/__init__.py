"""What the papers' checks share: the claim registry (:mod:`~theory.core.claims`), Gaussian expectations of
ReLU features (:mod:`~theory.core.gaussian`), input checks that name the parameter
(:mod:`~theory.core.validate`) and the command-line conventions of every entry point (:mod:`~theory.core.cli`).
"""
