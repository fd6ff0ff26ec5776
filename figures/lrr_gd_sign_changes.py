"""Paper 000, Lemma 2.2 under gradient descent (`lrr-gd-sign-changes`): when does GD change the sign of a?

Reads ``summary.csv`` and ``flip_curves.json`` of a results folder of lrr-gd-sign-changes (the curves are laid
out by the diagram's fit step, :func:`sim.lrr.sign_changes.flip_curves`) and writes ``sign_changes.png``: (a)
and (b) the fraction of runs in which a changed sign (95 % Wilson intervals) against the training time per
level t = lr x steps, one line per step size, for LRR and for IMP-balanced in the (-,+) quadrant; (c) the
magnitude of the median imbalance a^2 - ||w||^2 that dense GD accumulates, against the step size (the flow
keeps it at 0), per number of steps.  ``python -m figures.draw RESULTS`` draws it.
"""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from sim.core.sweep import read_summary  # noqa: E402

NAME = "lrr-gd-sign-changes"


def series(curves: dict, method: str, quadrant: str = "-+") -> dict[float, list[list[float]]]:
    """lr -> [[t, flipped fraction, ci_low, ci_high]] sorted by t, for one method and quadrant (``curves``:
    the saved ``flip_curves.json``)."""
    return {c["lr"]: c["points"] for c in sorted(curves["flip_fraction"], key=lambda c: c["lr"])
            if c["method"] == method and c["quadrant"] == quadrant}


def drift_series(curves: dict, method: str = "lrr", quadrant: str = "-+") -> dict[int, list[list[float]]]:
    """steps -> [[lr, |median imbalance after dense GD|]] sorted by lr, for one method and quadrant."""
    return {c["steps"]: c["points"] for c in sorted(curves["dense_drift"], key=lambda c: c["steps"])
            if c["method"] == method and c["quadrant"] == quadrant}


def plot(results: Path) -> list[Path]:
    results = Path(results)
    rows = read_summary(results / "summary.csv")
    curves = json.loads((results / "flip_curves.json").read_text())
    fig, axes = plt.subplots(1, 3, figsize=(14, 4.2), constrained_layout=True)
    colors = plt.get_cmap("viridis")
    for ax, method, tag in zip(axes[:2], ("lrr", "imp-balanced"), ("(a)", "(b)")):
        data = series(curves, method)
        for i, (lr, pts) in enumerate(data.items()):
            t, f, lo, hi = (np.array(c) for c in zip(*pts))
            ax.errorbar(t, f, yerr=[f - lo, hi - f], marker="o", capsize=2, color=colors(i / max(len(data) - 1, 1)),
                        label=f"lr {lr:g}")
        ax.set(xscale="log", ylim=(-0.03, 1.03), xlabel="training time per level t = lr x steps",
               ylabel="fraction of runs in which a changed sign",
               title=f"{tag} {method}, a(0) < 0 < w_1(0)" + (" (incl. round-off saddle)" if method == "imp-balanced" else ""))
        ax.axhline(0, color="0.6", linewidth=0.6)
        ax.legend(fontsize=8, title="step size", title_fontsize=8)
    for steps, pts in drift_series(curves).items():
        lr, drift = (np.array(c) for c in zip(*pts))
        axes[2].plot(lr, drift, "o-", label=f"{steps} steps")
    axes[2].set(xscale="log", yscale="log", xlabel="step size lr",
                ylabel="median |a^2 - ||w||^2| after dense GD",
                title="(c) imbalance after dense GD (the flow: 0)")
    axes[2].legend(fontsize=8, title="steps per level", title_fontsize=8)
    trials = rows[0]["trials"]
    fig.suptitle(f"{NAME} ({results.name}; {trials} runs per cell): a changes sign only in long GD runs, and less "
                 f"for smaller steps at equal time", fontsize=10)
    out = results / "sign_changes.png"
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return [out]
