"""Paper 000, App. A.1: eqs. (4) and (5) as printed against the corrected closed form and an ODE solution of
w' = -C1 w^3 + C2~ w, drawn from the saved results of the diagram ``lrr-eqs4-5-closed-forms``."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from sim.core.sweep import load_results  # noqa: E402


def plot(results: Path) -> list[Path]:
    _, cells = load_results(results)
    fig, axes = plt.subplots(1, len(cells), figsize=(4.2 * len(cells), 3.4), constrained_layout=True, squeeze=False)
    for ax, (cell, arr) in zip(axes[0], cells):
        c = cell["curve"]
        for key, style, label in (("scipy", "k-", "scipy (ODE)"), ("closed_form", "C0--", "corrected closed form"),
                                  ("printed", "C3:", f"{c['eq']} as printed")):
            ax.plot(arr["t"], arr[key], style, lw=2 if key != "scipy" else 3, label=label,
                    alpha=0.9 if key != "scipy" else 0.35)
        ax.set_title(f"Eq. ({c['eq'][-1]}): C1={c['C1']}, C2~={c['C2_tilde']}, w(0)={c['w0']}", fontsize=9)
        ax.set_xlabel("t")
        ax.set_ylabel("w(t)")
        ax.legend(fontsize=7)
    fig.suptitle("Paper 000, App. A.1: printed closed forms vs the solution of w' = -C1 w^3 + C2~ w", fontsize=10)
    out = Path(results) / "lrr_eqs4_5_closed_forms.png"
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return [out]
