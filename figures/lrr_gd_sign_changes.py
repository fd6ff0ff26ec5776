"""Paper 000, Lemma 2.2 under gradient descent (`lrr-gd-sign-changes`): when does GD change the sign of a?

Reads ``summary.csv`` of a results folder of lrr-gd-sign-changes and writes ``sign_changes.png``: (a) and (b)
the fraction of runs in which a changed sign (95 % Wilson intervals) against the training time per level
t = lr x steps, one line per step size, for LRR and for IMP-balanced in the (-,+) quadrant; (c) the median
imbalance a^2 - ||w||^2 that dense GD accumulates, against the step size (the flow keeps it at 0), per number
of steps.  ``python -m figures.lrr_gd_sign_changes [RESULTS]``; ``make figures`` calls :func:`main`.
"""

from __future__ import annotations

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from sim.core.sweep import SweepSpec, default_out, read_summary  # noqa: E402

NAME = "lrr-gd-sign-changes"


def series(rows: list[dict], method: str, quadrant: str = "-+") -> dict[float, list[tuple[float, float, float, float]]]:
    """lr -> [(t, flipped fraction, ci_low, ci_high)] sorted by t, for one method and quadrant."""
    out: dict[float, list] = {}
    for r in rows:
        if r["method"] == method and r["quadrant"] == quadrant:
            k = int(r["trials"])
            out.setdefault(float(r["lr"]), []).append(
                (float(r["time"]), int(r["a_flipped"]) / k, float(r["flip_ci_low"]), float(r["flip_ci_high"])))
    return {lr: sorted(v) for lr, v in sorted(out.items())}


def plot(results: Path) -> list[Path]:
    results = Path(results)
    rows = read_summary(results / "summary.csv")
    fig, axes = plt.subplots(1, 3, figsize=(14, 4.2), constrained_layout=True)
    colors = plt.get_cmap("viridis")
    for ax, method, tag in zip(axes[:2], ("lrr", "imp-balanced"), ("(a)", "(b)")):
        data = series(rows, method)
        for i, (lr, pts) in enumerate(data.items()):
            t, f, lo, hi = (np.array(c) for c in zip(*pts))
            ax.errorbar(t, f, yerr=[f - lo, hi - f], marker="o", capsize=2, color=colors(i / max(len(data) - 1, 1)),
                        label=f"lr {lr:g}")
        ax.set(xscale="log", ylim=(-0.03, 1.03), xlabel="training time per level t = lr x steps",
               ylabel="fraction of runs in which a changed sign",
               title=f"{tag} {method}, a(0) < 0 < w_1(0)" + (" (incl. round-off saddle)" if method == "imp-balanced" else ""))
        ax.axhline(0, color="0.6", linewidth=0.6)
        ax.legend(fontsize=8, title="step size", title_fontsize=8)
    by_steps: dict[int, list[tuple[float, float]]] = {}
    for r in rows:
        if r["method"] == "lrr" and r["quadrant"] == "-+":
            by_steps.setdefault(int(r["steps"]), []).append((float(r["lr"]), abs(float(r["dense_drift_median"]))))
    for steps, pts in sorted(by_steps.items()):
        lr, drift = (np.array(c) for c in zip(*sorted(pts)))
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


def main(out_dir: Path, results: Path | None = None) -> list[Path]:
    """Draw from the saved results (paper scale preferred) and copy the figure into ``out_dir``; nothing when no
    results are saved (``python -m sim.phase_diagram --diagram lrr-gd-sign-changes`` makes them)."""
    import shutil

    if results is None:
        found = [default_out(SweepSpec(NAME, s)) for s in ("paper", "quick")]
        found = [f for f in found if (f / "summary.csv").is_file()]
        if not found:
            print(f"{NAME}: no saved results, skipped (python -m sim.phase_diagram --diagram {NAME})")
            return []
        results = found[0]
    written = []
    for png in plot(results):
        Path(out_dir).mkdir(parents=True, exist_ok=True)
        target = Path(out_dir) / f"{Path(results).name}-{png.name}"
        shutil.copyfile(png, target)
        written.append(target)
    return written


if __name__ == "__main__":
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else None
    print(main(Path("results/figures"), folder))
