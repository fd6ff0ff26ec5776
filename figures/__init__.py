"""One script per figure, named for the paper and the figure; ``python -m figures.build`` runs them all."""
