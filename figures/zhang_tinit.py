"""Paper 001 (Zhang et al.), Lemma 1 against N (``zhang-tinit-n``): the tensor initialization's error and AGD
from it, drawn from the ``fits.json`` the diagram's fit step saved (no fitting here).

Left: median ||W(0) - W*|| / ||W*|| (best relabelling) against N per network, and the same with P2 and P4
exact.  Right: AGD success from W(0) against a random start at the same distance.
"""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402


def plot(results: Path) -> list[Path]:
    results = Path(results)
    fits = json.loads((results / "fits.json").read_text())
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.6), constrained_layout=True)
    for label, f in fits.items():
        line, = axes[0].plot(f["N"], f["init_err"], "o-", label=label)
        axes[0].plot(f["N"], f["err_exact_p2p4"], "x:", color=line.get_color())
        axes[1].plot(f["N"], f["agd_success_tensor"], "o-", color=line.get_color(), label=label)
        # the random starts are drawn slightly to the right so that equal values stay visible
        axes[1].plot(np.asarray(f["N"]) * 1.08, f["agd_success_random"], "s--", color=line.get_color(), alpha=0.5,
                     markerfacecolor="none")
    axes[0].set(xscale="log", yscale="log", xlabel="N (training samples for the moments)",
                ylabel="median ||W(0) - W*|| / ||W*|| (best relabelling)",
                title="W(0) error: tensor init. (o), with exact P2 and P4 (x)")
    axes[1].set(xscale="log", xlabel="N (training samples for the moments)",
                ylabel="AGD success rate (error < 1e-4)", ylim=(-0.03, 1.03),
                title="AGD from W(0) (o) vs a random start\nat the same distance (open squares)")
    axes[0].legend(fontsize=7, title="support, K, d, r", title_fontsize=7)
    kinds = [Line2D([], [], color="0.3", marker="o", linestyle="-", label="from W(0)"),
             Line2D([], [], color="0.3", marker="s", markerfacecolor="none", linestyle="--", alpha=0.6,
                    label="from a random start (drawn at 1.08 N)")]
    axes[1].legend(handles=kinds, fontsize=7, loc="best")
    path = results / "tinit_vs_N.png"
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return [path]
