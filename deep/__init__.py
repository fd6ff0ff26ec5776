"""Deep-network experiments (LRR vs IMP/WR, masks, sign flips).  Empty until its issue lands."""
