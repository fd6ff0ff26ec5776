"""Paper 000, Fig. 2(a) and Fig. 18: success rate per sign quadrant of (a(0), w_1(0)), per method.

Reads ``summary.csv`` and ``deviations.json`` of a results folder of lrr-fig2a, lrr-fig18, lrr-fig18-one-input,
lrr-fig2a-flow or lrr-fig2a-gd and writes ``quadrants.png``: one panel per input dimension d, bars = measured success with 95 % Wilson
intervals, white diamonds = the theory's prediction (Theorem 2.1 / 2.3, applied to each run's signs), drawn
above the axis so that a prediction of 0 stays visible.  Where IMP (or WR) succeeds in (+,-) beyond its
interval around the prediction, a caption line says why (the unbalanced rewound start, paper_repro item 1).
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from sim.core.sweep import read_summary  # noqa: E402

QUADS = ["++", "+-", "-+", "--"]
COLORS = {"lrr": "tab:blue", "imp": "tab:orange", "wr": "tab:green", "imp-balanced": "tab:red"}


def quadrant_label(quadrant: str) -> str:
    """'+-' -> 'a(0)>0\nw1(0)<0' (two lines, so that four labels fit under a panel)."""
    rel = {"+": ">", "-": "<"}
    return f"a(0){rel[quadrant[0]]}0\nw1(0){rel[quadrant[1]]}0"


def deviation_note(deviations: dict) -> str | None:
    """A caption line when IMP or WR succeed in (+,-) although the theory predicts failure: their rewound
    start is not balanced (a(0)^2 = ||w(0)||^2 > w_1(0)^2), so Theorem 2.1's failure does not apply.
    ``deviations``: the diagram's saved ``deviations.json``."""
    over = sorted({e["method"] for e in deviations["above_prediction"]
                   if e["quadrant"] == "+-" and e["method"] in ("imp", "wr")})
    if not over:
        return None
    bal = [e for e in deviations["pooled"] if e["quadrant"] == "+-" and e["method"] == "imp-balanced"]
    tail = (f"; IMP-balanced (a rescaled to balance) succeeds in {bal[0]['successes']} of {bal[0]['trials']}, "
            f"as predicted") if bal else ""
    return (f"{' and '.join(m.upper() for m in over)} above the prediction in a(0)>0, w1(0)<0: the rewound start is "
            f"unbalanced (a(0)^2 > w1(0)^2), so w1 can cross 0 when the noise term C2^- > 0 (paper_repro, item 1)"
            + tail)


def plot(results: Path) -> list[Path]:
    results = Path(results)
    rows = read_summary(results / "summary.csv")
    manifest = json.loads((results / "manifest.json").read_text())
    ds = sorted({int(r["d"]) for r in rows})
    methods = list(dict.fromkeys(r["method"] for r in rows))
    fig, axes = plt.subplots(1, len(ds), figsize=(3.6 * len(ds) + 1, 3.6), squeeze=False, constrained_layout=True)
    width = 0.8 / len(methods)
    for ax, d in zip(axes[0], ds):
        for k, m in enumerate(methods):
            sel = {r["quadrant"]: r for r in rows if int(r["d"]) == d and r["method"] == m}
            x = np.arange(len(QUADS)) + (k - (len(methods) - 1) / 2) * width
            rate = np.array([float(sel[q]["rate"]) for q in QUADS])
            lo = np.array([float(sel[q]["ci_low"]) for q in QUADS])
            hi = np.array([float(sel[q]["ci_high"]) for q in QUADS])
            ax.bar(x, rate, width, color=COLORS.get(m, "gray"), label=m, yerr=[rate - lo, hi - rate], capsize=2,
                   ecolor="0.3")
            ax.scatter(x, [float(sel[q]["predicted"]) for q in QUADS], marker="D", s=22, facecolor="white",
                       edgecolor="k", linewidth=0.9, zorder=4, clip_on=False,
                       label="theory (per-run prediction)" if k == 0 else None)
        ax.set_xticks(range(len(QUADS)), [quadrant_label(q) for q in QUADS], fontsize=8)
        ax.set_ylim(-0.04, 1.08)
        ax.axhline(0, color="0.6", linewidth=0.6, zorder=0)
        ax.set_title(f"d = {d}")
        ax.set_ylabel("success rate (fraction of runs)")
    axes[0][-1].legend(fontsize=7, loc="upper right")
    trials = rows[0]["trials"]
    title = (f"{manifest['diagram']} ({manifest['scale']}, {trials} runs per quadrant, trainer "
             f"{rows[0]['trainer']}; bars: 95% Wilson intervals)")
    fig.suptitle(textwrap.fill(title, width=int(45 * len(ds))), fontsize=9)
    note = deviation_note(json.loads((results / "deviations.json").read_text()))
    if note:  # below the tick labels; bbox_inches="tight" keeps it in the saved image
        axes[0][0].annotate(textwrap.fill(note, width=int(70 * len(ds) + 10)), xy=(0, -0.26), xycoords="axes fraction",
                            va="top", ha="left", fontsize=7)
    out = results / "quadrants.png"
    fig.savefig(out, dpi=130, bbox_inches="tight")
    plt.close(fig)
    return [out]
