"""Paper 000, App. A.1: eqs. (4) and (5) as printed against the true solution of w' = -C1 w^3 + C2~ w.

Data (CSV + JSON metadata) are computed once from ``theory.lrr.closed_forms`` and a scipy integration and
saved beside the figure; the plot reads the CSV, so re-plotting is free.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import sympy as sp

from theory.lrr import closed_forms as cf
from theory.lrr.numeric_checks import scipy_reduced_solution

# Illustrative constants: C1 = 1/2 (the population value for d = 1), |C2~| = 1/2, two starting points
# on either side of the fixed point sqrt(C2~/C1) = 1.
SETTINGS = [("eq4", 0.5, 0.5, 0.3), ("eq4", 0.5, 0.5, 1.8), ("eq5", 0.5, -0.5, 0.8)]
T_GRID = np.linspace(0.0, 8.0, 161)


def _printed(name: str, C1: float, C2t: float, w0: float) -> np.ndarray:
    expr = cf.printed_eq4() if name == "eq4" else cf.printed_eq5()
    f = sp.lambdify(cf.T, expr.subs({cf.C1: C1, cf.c: abs(C2t), cf.p: w0}), modules="mpmath")
    return np.array([complex(f(t)).real if abs(complex(f(t)).imag) < 1e-12 else np.nan for t in T_GRID])


def compute(csv_path: Path) -> None:
    rows = []
    for name, C1, C2t, w0 in SETTINGS:
        printed = _printed(name, C1, C2t, w0)
        true = cf.w_closed_form(T_GRID, w0, C1, C2t)
        for t, pv, tv in zip(T_GRID, printed, true):
            ref = scipy_reduced_solution(t, w0, C1, C2t) if t > 0 else w0
            rows.append({"eq": name, "C1": C1, "C2_tilde": C2t, "w0": w0, "t": t, "printed": pv,
                         "closed_form": tv, "scipy": ref})
    csv_path.parent.mkdir(parents=True, exist_ok=True)
    with csv_path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    csv_path.with_suffix(".json").write_text(json.dumps(
        {"settings": SETTINGS, "t_grid": [float(T_GRID[0]), float(T_GRID[-1]), len(T_GRID)],
         "source": "theory.lrr.closed_forms (printed_eq4, printed_eq5, w_closed_form) and scipy DOP853"}, indent=2))


def plot(csv_path: Path, png_path: Path) -> None:
    import matplotlib.pyplot as plt

    data = list(csv.DictReader(csv_path.open()))
    fig, axes = plt.subplots(1, len(SETTINGS), figsize=(4.2 * len(SETTINGS), 3.4), constrained_layout=True)
    for ax, (name, C1, C2t, w0) in zip(axes, SETTINGS):
        sel = [r for r in data if r["eq"] == name and float(r["w0"]) == w0 and float(r["C2_tilde"]) == C2t]
        t = np.array([float(r["t"]) for r in sel])
        for key, style, label in (("scipy", "k-", "scipy (ODE)"), ("closed_form", "C0--", "corrected closed form"),
                                  ("printed", "C3:", f"{name} as printed")):
            ax.plot(t, [float(r[key]) for r in sel], style, lw=2 if key != "scipy" else 3, label=label,
                    alpha=0.9 if key != "scipy" else 0.35)
        ax.set_title(f"Eq. ({name[-1]}): C1={C1}, C2~={C2t}, w(0)={w0}", fontsize=9)
        ax.set_xlabel("t")
        ax.set_ylabel("w(t)")
        ax.legend(fontsize=7)
    fig.suptitle("Paper 000, App. A.1: printed closed forms vs the solution of w' = -C1 w^3 + C2~ w", fontsize=10)
    png_path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png_path, dpi=120)
    plt.close(fig)


def main(out_dir: Path) -> list[Path]:
    csv_path = out_dir / "lrr_eqs4_5_closed_forms.csv"
    png_path = out_dir / "lrr_eqs4_5_closed_forms.png"
    if not csv_path.exists():
        compute(csv_path)
    plot(csv_path, png_path)
    return [png_path]


if __name__ == "__main__":
    import sys

    print(main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("results/figures")))
