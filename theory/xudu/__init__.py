"""Paper 002 (Xu & Du, COLT 2023), checked: :mod:`~theory.xudu.overparam_neuron` (the population loss of n
students and one teacher in closed form) and :mod:`~theory.xudu.claims` (``xudu.*``).
"""
