"""Pure helpers of figures/zhang_recovery.py (paper 001): Fig. 2 failure classes, the radius panel's notes,
the cell edges of the Fig. 4 heat map."""

import numpy as np

from figures.zhang_recovery import _edges, classify_fig2_runs, fig2_outcomes, radius_notes


def _arr(**kw):
    base = {"rel_err": np.array([1e-6, 2e-4, 0.8, 0.7, np.nan]), "iters": np.array([500, 3000, 3000, 1200, 40]),
            "stopped": np.array([True, False, False, True, False]),
            "diverged": np.array([False, False, False, False, True]),
            "err_at_90pct": np.array([1e-6, 5e-4, 0.8, 0.7, np.nan])}
    base.update(kw)
    return base


def test_classify_splits_cap_hits_by_the_last_tenth():
    kind = classify_fig2_runs(_arr())
    assert list(kind) == ["success", "cap_converging", "cap_stalled", "stopped_away", "diverged"]


def test_classify_converging_threshold_is_095():
    a = _arr(err_at_90pct=np.array([1e-6, 2e-4 / 0.96, 0.8 / 0.94, 0.7, np.nan]))
    kind = classify_fig2_runs(a)
    assert kind[1] == "cap_stalled" and kind[2] == "cap_converging"


def test_classify_without_saved_error_at_90pct_does_not_split():
    a = _arr()
    del a["err_at_90pct"]
    kind = classify_fig2_runs(a)
    assert list(kind) == ["success", "cap_unsplit", "cap_unsplit", "stopped_away", "diverged"]


def test_classify_uses_the_saved_success_flag():
    a = _arr(success=np.array([True, True, False, False, False]))
    kind = classify_fig2_runs(a)  # run 1 counted a success as saved; run 2 neither stopped nor diverged: the cap
    assert list(kind) == ["success", "success", "cap_stalled", "stopped_away", "diverged"]


def _fig2_data():
    lams = [1.0, 2.0]
    cells, rows = [], []
    for r, ok, err, err90 in ((5, [1, 1, 1, 1], [1e-6] * 4, [1e-6] * 4),
                              (40, [1, 0, 1, 0], [1e-6, 2e-4, 1e-6, 0.9], [1e-6, 9e-4, 1e-6, 0.9]),
                              (60, [0, 0, 0, 0], [0.9, 2e-4, 0.9, 0.9], [0.9, 9e-4, 0.9, 0.9])):
        arr = {"lam": np.tile(lams, 2), "rel_err": np.array(err), "iters": np.where(np.array(ok) == 1, 500, 3000),
               "stopped": np.array(ok) == 1, "diverged": np.zeros(4, bool), "success": np.array(ok) == 1,
               "err_at_90pct": np.array(err90)}
        cells.append(({"r": r, "lams": lams, "max_iter": 3000}, arr))
        for lam in lams:
            m = arr["lam"] == lam
            rows.append({"r": r, "lam": lam, "success_rate": arr["success"][m].mean()})
    return {"params": {"max_iter": 3000}}, cells, rows


def test_outcomes_count_per_r_and_lam():
    manifest, cells, _ = _fig2_data()
    out = fig2_outcomes(manifest, cells)
    assert out[(40, 2.0)] == {"runs": 2, "success": 0, "cap_converging": 1, "cap_stalled": 1, "cap_unsplit": 0,
                              "stopped_away": 0, "diverged": 0}
    assert out[(5, 1.0)]["success"] == 2
    assert sum(v["runs"] for v in out.values()) == 12


def test_radius_notes_say_why_points_are_missing():
    manifest, cells, rows = _fig2_data()
    out = fig2_outcomes(manifest, cells)
    fits = {"r": [5, 40, 60], "radius": [np.nan, np.nan, np.nan], "fit_vs_sqrt_r": {"points": 0}}
    notes = radius_notes(fits, rows, out)
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
