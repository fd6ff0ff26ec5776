"""Paper 000, Fig. 2(a) and Fig. 18: success rate per sign quadrant of (a(0), w_1(0)), per method.

Reads ``summary.csv`` of a results folder of lrr-fig2a, lrr-fig18, lrr-fig2a-flow or lrr-fig2a-gd and
writes ``quadrants.png``: one panel per input dimension d, bars = measured success with 95 % Wilson
intervals, black ticks = the theory's prediction (Theorem 2.1 / 2.3).
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from sim.sweep import read_summary  # noqa: E402

QUADS = ["++", "+-", "-+", "--"]
COLORS = {"lrr": "tab:blue", "imp": "tab:orange", "wr": "tab:green", "imp-balanced": "tab:red"}


def quadrant_label(quadrant: str) -> str:
    """'+-' -> 'a(0)>0, w1(0)<0'."""
    rel = {"+": ">", "-": "<"}
    return f"a(0){rel[quadrant[0]]}0, w1(0){rel[quadrant[1]]}0"


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
            ax.bar(x, rate, width, color=COLORS.get(m, "gray"), label=m, yerr=[rate - lo, hi - rate], capsize=2)
            ax.scatter(x, [float(sel[q]["predicted"]) for q in QUADS], marker="_", s=120, color="k", zorder=3,
                       label="theory" if k == 0 else None)
        ax.set_xticks(range(len(QUADS)), [quadrant_label(q) for q in QUADS], fontsize=7)
        ax.set_ylim(0, 1.05)
        ax.set_title(f"d = {d}")
        ax.set_ylabel("success rate")
    axes[0][-1].legend(fontsize=7, loc="upper right")
    trials = rows[0]["trials"]
    title = (f"{manifest['diagram']} ({manifest['scale']}, {trials} runs per quadrant, trainer "
             f"{rows[0]['trainer']}; bars: 95% Wilson intervals)")
    fig.suptitle(textwrap.fill(title, width=int(45 * len(ds))), fontsize=9)
    out = results / "quadrants.png"
    fig.savefig(out, dpi=130)
    plt.close(fig)
    return [out]
