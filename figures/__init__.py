"""Figures, drawn from saved data only (nothing here simulates or fits).

One module per paper and figure family, named by the paper's slug: ``lrr_*`` (paper 000), ``zhang_*``
(paper 001; ``zhang_recovery`` draws Figs. 2-6 and the Hessian and tensor-initialization diagrams),
``xudu_*`` (paper 002) and ``deep_lrr_imp`` (the deep runs).  :mod:`figures.catalog` maps each diagram's figure
name to its drawing function; :mod:`figures.draw` draws one saved folder, :mod:`figures.build` (``make
figures``) every registered diagram's saved results, :mod:`figures.report` (``make report``) one HTML page of
the claims, the summaries and the figures.
"""
