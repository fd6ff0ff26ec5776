"""Paper 001 (Zhang et al.), checked: :mod:`~theory.zhang.relu_moments` (the Gaussian moments the tensor
initialization inverts, and the Hessian's population limit) and :mod:`~theory.zhang.claims` (``zhang.*``).
"""
