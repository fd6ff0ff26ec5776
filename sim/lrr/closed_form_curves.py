"""Paper 000, App. A.1: eqs. (4) and (5) as printed, the corrected closed form and an ODE solution of the
reduced flow w' = -C1 w^3 + C2~ w, on a grid of times (the registered diagram ``lrr-eqs4-5-closed-forms``).

The printed forms and the corrected closed form come from :mod:`theory.lrr.closed_forms`; the reference is
a scipy DOP853 integration (:func:`theory.lrr.numeric_checks.scipy_reduced_solution`).  The constants are
illustrative: C1 = 1/2 (the population value for d = 1), |C2~| = 1/2, starting points on either side of the
fixed point sqrt(C2~/C1) = 1.  The summary gives, per curve, the largest distance of the printed form and
of the corrected form from the ODE solution.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import sympy as sp

from sim.core.config import param
from sim.core.registry import Diagram, Finished, Rows, register
from theory.lrr import closed_forms as cf
from theory.lrr.numeric_checks import scipy_reduced_solution


@dataclass(frozen=True)
class Curve:
    """One curve: which printed equation (eq4: C2~ > 0, eq5: C2~ < 0), C1, C2~ and w(0)."""

    eq: str
    C1: float
    C2_tilde: float
    w0: float


@dataclass(frozen=True)
class CurvesScale:
    curves: tuple[Curve, ...] = param((Curve("eq4", 0.5, 0.5, 0.3), Curve("eq4", 0.5, 0.5, 1.8),
                                       Curve("eq5", 0.5, -0.5, 0.8)), "the curves drawn (eq, C1, C2~, w(0))")
    t_end: float = param(8.0, "last time of the grid")
    points: int = param(161, "grid points on [0, t_end]")

    def __post_init__(self):  # a manifest gives the curves back as plain dicts
        object.__setattr__(self, "curves", tuple(c if isinstance(c, Curve) else Curve(**c) for c in self.curves))


@dataclass(frozen=True)
class CurveCell:
    curve: Curve
    t_end: float
    points: int

    @property
    def key(self) -> str:
        c = self.curve
        return f"{c.eq}-C1{c.C1:g}-C2{c.C2_tilde:g}-w{c.w0:g}"


def curve_cells(scale: CurvesScale) -> list[CurveCell]:
    return [CurveCell(c, scale.t_end, scale.points) for c in scale.curves]


def printed_curve(curve: Curve, t: np.ndarray) -> np.ndarray:
    """The printed eq. (4) or (5) on the times ``t`` (nan where it is not real)."""
    expr = cf.printed_eq4() if curve.eq == "eq4" else cf.printed_eq5()
    f = sp.lambdify(cf.T, expr.subs({cf.C1: curve.C1, cf.c: abs(curve.C2_tilde), cf.p: curve.w0}), modules="mpmath")
    vals = [complex(f(x)) for x in t]
    return np.array([v.real if abs(v.imag) < 1e-12 else np.nan for v in vals])


def run_curve(cell: CurveCell, seed: int, device: str) -> dict[str, np.ndarray]:
    """The three curves of one setting (deterministic: ``seed`` and ``device`` are not used)."""
    c = cell.curve
    t = np.linspace(0.0, cell.t_end, cell.points)
    ode = np.array([scipy_reduced_solution(x, c.w0, c.C1, c.C2_tilde) if x > 0 else c.w0 for x in t])
    return {"t": t, "printed": printed_curve(c, t), "closed_form": np.asarray(cf.w_closed_form(t, c.w0, c.C1, c.C2_tilde), float),
            "scipy": ode}


def summarize_curves(finished: Finished) -> Rows:
    rows = []
    for cell, arr in finished:
        c = cell.curve
        gap_printed = np.abs(arr["printed"] - arr["scipy"])
        rows.append({"eq": c.eq, "C1": c.C1, "C2_tilde": c.C2_tilde, "w0": c.w0, "points": len(arr["t"]),
                     "printed_real_points": int(np.isfinite(arr["printed"]).sum()),
                     "max_printed_vs_ode": float(np.nanmax(gap_printed)) if np.isfinite(gap_printed).any() else np.nan,
                     "max_closed_form_vs_ode": float(np.max(np.abs(arr["closed_form"] - arr["scipy"])))})
    return rows


_SCALE = CurvesScale()
register(Diagram(
    name="lrr-eqs4-5-closed-forms", title="Eqs. (4)-(5) as printed vs the corrected closed form vs an ODE solution",
    paper="000 App. A.1, eqs. 4-6", scales={"quick": _SCALE, "paper": _SCALE}, cells=curve_cells,
    run_cell=run_curve, summarize=summarize_curves, figure="lrr-eqs4-5-closed-forms",
    columns=("eq", "C1", "C2_tilde", "w0", "printed_real_points", "max_printed_vs_ode", "max_closed_form_vs_ode"),
    legend={"printed_real_points": "grid points where the printed form is real",
            "max_printed_vs_ode": "largest |printed - ODE| on the grid (a finding: the printed form is wrong)",
            "max_closed_form_vs_ode": "largest |corrected closed form - ODE| (the verified form)"}))
