"""Drawing helpers of figures/zhang_recovery.py (paper 001): the Fig. 2 outcome counts read back from
fits.json, the radius panel's notes, the cell edges of the Fig. 4 heat map."""

import numpy as np

from figures.zhang_recovery import _edges, fig2_outcomes, radius_notes

KINDS = ("success", "cap_converging", "cap_stalled", "cap_unsplit", "stopped_away", "diverged")


def _counts(runs=2, **kw):
    return {"runs": runs, **{k: kw.get(k, 0) for k in KINDS}}


def _fig2_data():
    lams = [1.0, 2.0]
    outcomes = {(5, 1.0): _counts(success=2), (5, 2.0): _counts(success=2),
                (40, 1.0): _counts(success=2), (40, 2.0): _counts(cap_converging=1, cap_stalled=1),
                (60, 1.0): _counts(cap_stalled=2), (60, 2.0): _counts(cap_converging=1, cap_stalled=1)}
    rows = [{"r": str(r), "lam": str(lam), "success_rate": str(v["success"] / v["runs"])}
            for (r, lam), v in outcomes.items()]
    fits = {"outcomes": {f"r={r} lam={lam:g}": v for (r, lam), v in outcomes.items()}}
    return fits, rows, outcomes, lams


def test_outcomes_are_read_back_by_r_and_lam():
    fits, rows, outcomes, _ = _fig2_data()
    assert fig2_outcomes(fits, rows) == outcomes


def test_radius_notes_say_why_points_are_missing():
    fits, rows, outcomes, _ = _fig2_data()
    fits |= {"r": [5, 40, 60], "radius": [np.nan, np.nan, np.nan], "fit_vs_sqrt_r": {"points": 0}}
    notes = radius_notes(fits, rows, fig2_outcomes(fits, rows))
    assert notes[0] == "r = 5, 40: success >= 1/2 up to lam = 2, radius beyond the grid (^)"
    assert notes[1] == "r = 60: success < 1/2 from lam = 1, radius below the grid (v)"
    assert "r = 40: 2 failures, 1 cut off by the cap still converging, 1 away from W*" in notes
    assert "r = 60: 4 failures, 1 cut off by the cap still converging, 3 away from W*" in notes
    assert notes[-1] == "0 finite radius: no line against sqrt(r)"
    assert not any(n.startswith("r = 5:") for n in notes)  # no failures, no line


def test_edges_are_geometric_midpoints():
    e = _edges([10, 40, 160])
    assert np.allclose(e, [5, 20, 80, 320])
    assert len(_edges([7])) == 2
