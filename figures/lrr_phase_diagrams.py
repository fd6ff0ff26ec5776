"""Paper 000, Sec. 2.2-2.3: LRR vs IMP success probability over (d x sigma) or (d x n), as heatmaps.

Reads ``summary.csv`` and ``deviations.json`` of a ``sim.phase_diagram`` results folder (lrr-phase-d-sigma or
lrr-phase-d-n) and writes ``phase_diagram.png`` beside it: success of LRR, of IMP, and LRR - IMP, each cell
annotated with the measured rate and, in brackets, the theory's prediction (Theorem 2.1/2.3: 1/4 and 1/2 for
d >= 2); a star marks a cell whose 95 % interval lies above the prediction.
"""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from sim.core.sweep import read_summary  # noqa: E402


CAPTION = {
    "lrr": "LRR above the prediction: L-BFGS steps can jump across a = 0 from a(0) < 0, which the flow of "
           "Lemma 2.2 never does (paper_repro.md, 'Why the simulations deviate', item 2).",
    "imp": "IMP above the prediction: its rewound start theta(0) * mask is unbalanced (a^2 > w_1^2), so in (+,-) "
           "it succeeds whenever the noise term C2^- > 0 (item 1).",
}


def caption(deviations: dict) -> list[str]:
    """Caption lines explaining a measured rate above the prediction, one per method that shows one
    (``deviations``: the diagram's saved ``deviations.json``)."""
    out = []
    for m in ("lrr", "imp"):
        count = deviations["above_prediction_count"].get(m, 0)
        if count:
            out.append(f"* {count} {m.upper()} cell{'s' if count > 1 else ''}: " + CAPTION[m])
    return out


def plot(results: Path) -> list[Path]:
    results = Path(results)
    rows = read_summary(results / "summary.csv")
    manifest = json.loads((results / "manifest.json").read_text())
    axis = manifest["params"]["axis"]
    ds = sorted({int(r["d"]) for r in rows})
    others = sorted({float(r[axis]) for r in rows})
    grid = {m: np.full((len(ds), len(others)), np.nan) for m in ("lrr", "imp", "lrr-imp")}
    pred = {m: np.full((len(ds), len(others)), np.nan) for m in ("lrr", "imp", "lrr-imp")}
    for r in rows:
        i, j = ds.index(int(r["d"])), others.index(float(r[axis]))
        grid[r["method"]][i, j] = float(r["rate"])
        pred[r["method"]][i, j] = float(r["predicted"])
    deviations = json.loads((results / "deviations.json").read_text())
    for e in deviations["lrr_minus_imp"]:
        i, j = ds.index(int(e["d"])), others.index(float(e[axis]))
        grid["lrr-imp"][i, j], pred["lrr-imp"][i, j] = e["rate"], e["predicted"]
    notes = caption(deviations)
    starred = {(e["method"], int(e["d"]), float(e[axis])) for e in deviations["above_prediction"]}
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.9 + 0.25 * len(notes)), constrained_layout=True)
    panels = [("LRR success", grid["lrr"], pred["lrr"], "viridis", (0, 1)),
              ("IMP success", grid["imp"], pred["imp"], "viridis", (0, 1)),
              ("LRR - IMP", grid["lrr-imp"], pred["lrr-imp"], "RdBu", (-1, 1))]
    for k, (ax, (title, val, pr, cmap, lim)) in enumerate(zip(axes, panels)):
        method = ("lrr", "imp", None)[k]
        im = ax.imshow(val, origin="lower", cmap=cmap, vmin=lim[0], vmax=lim[1], aspect="auto")
        for i in range(len(ds)):
            for j in range(len(others)):
                star = "*" if (method, ds[i], others[j]) in starred else ""
                ax.text(j, i, f"{val[i, j]:.2f}{star}\n({pr[i, j]:.2f})", ha="center", va="center", fontsize=7,
                        color="w" if cmap == "viridis" and val[i, j] < 0.5 else "k")
        ax.set_xticks(range(len(others)), [f"{o:g}" for o in others])
        ax.set_yticks(range(len(ds)), [str(d) for d in ds])
        ax.set_xlabel("noise sigma" if axis == "sigma" else "samples n")
        ax.set_ylabel("input dimension d")
        ax.set_title(title)
        fig.colorbar(im, ax=ax, shrink=0.8, label="success rate" if method else "difference of rates")
    trials = rows[0]["trials"]
    fig.suptitle(f"{manifest['diagram']} ({manifest['scale']}, {trials} trials/cell, seed {manifest['seed']}): "
                 "measured success rate (theory prediction); success = last mask keeps input 1 and relative error < 0.1"
                 + ("; *: 95% interval above the prediction" if notes else ""), fontsize=9)
    if notes:
        fig.text(0.01, 0.0, "\n".join(notes), fontsize=7.5, ha="left", va="bottom", wrap=True)
        fig.get_layout_engine().set(rect=(0, 0.035 * len(notes) + 0.01, 1, 1 - 0.035 * len(notes) - 0.01))
    out = results / "phase_diagram.png"
    fig.savefig(out, dpi=130)
    plt.close(fig)
    return [out]
