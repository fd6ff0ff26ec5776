"""The eqs. (4)-(5) curves diagram: its arrays against the theory's closed form and its own ODE reference."""

import numpy as np

from sim.lrr.closed_form_curves import Curve, CurveCell, CurvesScale, curve_cells, run_curve, summarize_curves
from theory.lrr import closed_forms as cf


def test_curves_match_the_closed_form_and_the_printed_form_is_flagged():
    cell = CurveCell(Curve("eq4", 0.5, 0.5, 0.3), t_end=4.0, points=9)
    arr = run_curve(cell, 0, "cpu")
    np.testing.assert_allclose(arr["closed_form"], cf.w_closed_form(arr["t"], 0.3, 0.5, 0.5), rtol=0, atol=0)
    np.testing.assert_allclose(arr["scipy"], arr["closed_form"], atol=1e-9)
    (row,) = summarize_curves([(cell, arr)])
    assert row["max_closed_form_vs_ode"] == np.max(np.abs(arr["closed_form"] - arr["scipy"]))
    assert row["max_printed_vs_ode"] == np.nanmax(np.abs(arr["printed"] - arr["scipy"]))
    assert row["max_printed_vs_ode"] > 1e3 * row["max_closed_form_vs_ode"]  # the printed eq. (4) is the finding


def test_scale_reads_back_from_a_manifest_and_keys_are_distinct():
    scale = CurvesScale()
    from sim.core.config import as_dict, from_dict

    assert from_dict(CurvesScale, as_dict(scale)) == scale
    keys = [c.key for c in curve_cells(scale)]
    assert len(set(keys)) == len(keys) == len(scale.curves)
