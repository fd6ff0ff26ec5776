"""Simulations of the papers' settings (single-neuron LRR vs IMP, sparse teacher-student recovery,
over-parameterized students).  Empty until the simulator issues land; the maths they use lives in
``theory`` (e.g. ``theory.gradient_flow.flow_rhs`` is the reference right-hand side of eq. (7))."""
