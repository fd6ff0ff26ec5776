"""The fit steps of the paper-001 diagrams (sim.zhang.fits, sim.zhang.nstar, sim.zhang.tinit) and their typed
scales: how Fig. 2 runs are classified, the outcome counts saved in fits.json, rows as summary.csv holds them,
and every zhang scale surviving its manifest form (as_dict -> from_dict)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from sim.core import registry
from sim.core.config import as_dict, from_dict
from sim.core.sweep import cell_key, cell_record, read_summary, write_summary
from sim.zhang.diagrams import Fig2Cell
from sim.zhang.fits import classify_fig2_runs, fig2_outcomes, fit_fig2, saved_rows
from sim.zhang.nstar import Budget
from sim.zhang.tensor_init import Support


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


def _cell(r):
    return Fig2Cell(K=3, d=60, eta=0.5, beta=0.2, max_iter=3000, tol=1e-8, N=600, r=r, lams=(1.0, 2.0), trials=2,
                    init="sphere")


def fig2_finished():
    """Three r with two draws x two distances each (runs alternate lam = 1, 2)."""
    out = []
    for r, ok, err, err90 in ((5, [1, 1, 1, 1], [1e-6] * 4, [1e-6] * 4),
                              (40, [1, 0, 1, 0], [1e-6, 2e-4, 1e-6, 0.9], [1e-6, 9e-4, 1e-6, 0.9]),
                              (60, [0, 0, 0, 0], [0.9, 2e-4, 0.9, 0.9], [0.9, 9e-4, 0.9, 0.9])):
        ok = np.array(ok) == 1
        out.append((_cell(r), {"lam": np.tile([1.0, 2.0], 2), "rel_err": np.array(err), "iters": np.where(ok, 500, 3000),
                               "stopped": ok, "diverged": np.zeros(4, bool), "success": ok,
                               "err_at_90pct": np.array(err90)}))
    return out


def test_outcomes_count_per_r_and_lam():
    out = fig2_outcomes(fig2_finished())
    # r = 40, lam = 2: runs 1 and 3; run 1 fell from 9e-4 to 2e-4 (converging), run 3 stayed at 0.9 (stalled)
    assert out[(40, 2.0)] == {"runs": 2, "success": 0, "cap_converging": 1, "cap_stalled": 1, "cap_unsplit": 0,
                              "stopped_away": 0, "diverged": 0}
    assert out[(5, 1.0)]["success"] == 2
    assert sum(v["runs"] for v in out.values()) == 12


def test_fit_fig2_saves_the_outcomes_by_name_and_the_radius_per_r():
    finished = fig2_finished()
    rows = [{"cell": c.key, "r": c.r, "lam": lam, "success_rate": float(a["success"][a["lam"] == lam].mean())}
            for c, a in finished for lam in c.lams]
    data = fit_fig2(finished, rows)["fits.json"]
    assert list(data["outcomes"]) == [f"r={r} lam={lam}" for r in (5, 40, 60) for lam in (1, 2)]
    assert data["outcomes"]["r=40 lam=2"] == fig2_outcomes(finished)[(40, 2.0)]
    assert data["r"] == [5, 40, 60]
    # r = 40: success 1 at lam = 1, 0 at lam = 2: the rate crosses 1/2 half way
    assert data["radius"][1] == 1.5 and np.isnan(data["radius"][0]) and np.isnan(data["radius"][2])


def test_saved_rows_are_what_summary_csv_holds(tmp_path):
    rows = [{"cell": "r5", "r": 5, "lam": 1.0, "rate": 0.1 + 0.2, "note": "a, b"},
            {"cell": "r40", "r": 40, "lam": 2.5, "rate": float("nan"), "note": ""}]
    write_summary(tmp_path / "summary.csv", rows)
    assert saved_rows(rows) == read_summary(tmp_path / "summary.csv")
    assert saved_rows(rows)[0]["rate"] == repr(0.1 + 0.2)


def test_every_zhang_scale_survives_its_manifest_form_and_has_unique_keys():
    for name, dg in registry.load_all().items():
        if not name.startswith("zhang-"):
            continue
        for scale, cfg in dg.scales.items():
            back = from_dict(type(cfg), as_dict(cfg))
            assert back == cfg, (name, scale)
            keys = [cell_key(c) for c in dg.cells(cfg)]
            assert len(set(keys)) == len(keys) and keys, (name, scale)
            assert all(cell_record(c)["key"] == cell_key(c) for c in dg.cells(cfg))


def test_nested_settings_come_back_typed():
    nstar = registry.get("zhang-fig4-nstar").scales["mid"]
    back = from_dict(type(nstar), as_dict(nstar))
    assert all(isinstance(b, Budget) for b in back.budgets)
    assert as_dict(nstar)["budgets"] == [{"eta": 0.5, "beta": 0.2, "max_iter": 10_000},
                                         {"eta": 2.0, "beta": 0.5, "max_iter": 6000}]
    tinit = registry.get("zhang-tinit-n").scales["quick"]
    assert all(isinstance(c, Support) for c in from_dict(type(tinit), as_dict(tinit)).configs)


def test_fig5_linearized_prediction_from_a_saved_folder_equals_a_fresh_run(tmp_path, tiny_diagram):
    """sim.zhang.fig5_linear reads saved AGD runs (the paper-scale path) and predicts the same draws as when it
    reruns AGD itself."""
    from sim.core.sweep import SweepSpec, cell_seed, run
    from sim.zhang.diagrams import run_fig5
    from sim.zhang.fig5_linear import _rows, compare_saved

    name = tiny_diagram("zhang-fig5", {"K": 2, "d": 12, "N": 150, "rs": (3, 5), "trials": 2, "max_iter": 300})
    out = run(SweepSpec(name), out=tmp_path / "r", progress=False)
    from sim.core import registry

    dg = registry.get(name)
    fresh = []
    for cell in dg.cells(dg.scales["quick"]):
        s = cell_seed(0, cell.key)
        fresh += _rows(cell, run_fig5(cell, s, "cpu"), s)
    import json

    manifest = json.loads((out / "manifest.json").read_text())
    manifest["diagram"] = "zhang-fig5"  # the tiny copy's folder, read as the diagram it copies
    (out / "manifest.json").write_text(json.dumps(manifest))
    assert compare_saved(out) == fresh


def _fig2_cell_with(r, success_rows, lams=(1.0, 2.0, 4.0)):
    """A zhang-fig2 cell whose draw g succeeds at distance p iff success_rows[g][p]."""
    S = np.array(success_rows, bool)
    cell = replace(_cell(r), lams=tuple(lams), trials=len(S))
    err = np.where(S.ravel(), 1e-6, 0.5)
    return cell, {"lam": np.tile(np.array(lams), len(S)), "rel_err": err, "iters": np.full(S.size, 100),
                  "stopped": np.ones(S.size, bool), "diverged": np.zeros(S.size, bool), "success": S.ravel(),
                  "err_at_90pct": err}


def test_radius_bootstrap_is_exact_when_every_draw_agrees_and_marks_the_grid_edges():
    from sim.zhang.fits import radius_bootstrap

    same = [[1, 1, 0]] * 6  # every draw: success at lam 1 and 2, failure at 4 -> every resample crosses at 3.0
    finished = [_fig2_cell_with(4, same), _fig2_cell_with(9, [[1, 0, 0]] * 6),  # crosses at 1.5
                _fig2_cell_with(16, [[1, 1, 1]] * 6), _fig2_cell_with(25, [[0, 0, 0]] * 6)]
    out = radius_bootstrap(finished, n_boot=200)
    assert out["per_r"]["r=4"] == {"radius": 3.0, "ci": [3.0, 3.0], "grid_bracket": [2.0, 4.0], "beyond_grid": 0.0,
                                   "below_grid": 0.0, "draws": 6}
    assert out["per_r"]["r=9"]["ci"] == [1.5, 1.5]
    assert out["per_r"]["r=16"]["radius"] == np.inf and out["per_r"]["r=16"]["beyond_grid"] == 1.0
    assert out["per_r"]["r=25"]["radius"] == -np.inf and out["per_r"]["r=25"]["below_grid"] == 1.0
    # the line over the two r inside the grid: 3.0 at sqrt(4) = 2, 1.5 at sqrt(9) = 3 -> slope -1.5, intercept 6
    assert out["fit_r"] == [4, 9] and out["slope_defined_fraction"] == 1.0
    assert np.allclose(out["slope_ci"], [-1.5, -1.5]) and np.allclose(out["intercept_ci"], [6.0, 6.0])


def test_radius_bootstrap_resamples_whole_draws_and_covers_the_point_estimate():
    from sim.zhang.fits import radius_bootstrap

    rng = np.random.default_rng(3)
    rows = [[1, 1, 0] if rng.random() < 0.5 else [1, 0, 0] for _ in range(40)]
    out = radius_bootstrap([_fig2_cell_with(4, rows)], n_boot=500)["per_r"]["r=4"]
    lo, hi = out["ci"]
    assert 1.0 <= lo < out["radius"] < hi <= 4.0  # a spread, inside the grid, around the point estimate
    # a draw is never split: with rows of only two kinds, the rate at lam = 1 is 1 in every resample
    assert out["beyond_grid"] == 0.0 and out["below_grid"] == 0.0
    with pytest.raises(ValueError, match="draws x distances"):
        cell, arr = _fig2_cell_with(4, rows)
        radius_bootstrap([(cell, {**arr, "lam": arr["lam"][::-1].copy()})])


def test_nstar_grid_logistic_recovers_a_known_transition_and_leaves_out_r_without_a_crossing():
    from sim.zhang.diagrams import Fig4Cell
    from sim.zhang.nstar import nstar_grid_logistic

    rng = np.random.default_rng(1)
    Ns = (50, 100, 200, 300, 400, 600, 800)
    finished = []
    for r in (10, 20, 40, 80):  # true N* = 10 r (r = 80: 800, on the grid's last point ...)
        for N in Ns:
            p = 1 / (1 + np.exp(-12 * (np.log(N) - np.log(10 * r)))) if r < 80 else 0.0  # ... but r = 80 never succeeds
            n = 400
            c = Fig4Cell(K=5, d=100, eta=0.5, beta=0.2, max_iter=100, tol=1e-8, N=N, r=r, lam=0.5, trials=n)
            finished.append((c, {"success": rng.random(n) < p}))
    out = nstar_grid_logistic(finished)
    for r in (10, 20, 40):
        est = out["per_r"][f"r={r}"]
        lo, hi = est["ci"]
        assert lo < est["N_star"] < hi and abs(est["N_star"] / (10 * r) - 1) < 0.05
        assert abs(est["N_star"] - 10 * r) < 1.5 * (hi - lo)  # 95 % intervals: within about 3 half-widths
        assert not est["open"]
    assert np.isnan(out["per_r"]["r=80"]["N_star"]) and "never crosses" in out["per_r"]["r=80"]["note"]
    line = out["line"]
    assert line["r"] == [10.0, 20.0, 40.0]
    wf = line["weighted_fit"]
    assert abs(wf["slope"] - 10) < 4 * wf["slope_se_scaled"] + 0.3 and wf["slope_over_K"] == pytest.approx(wf["slope"] / 5)


def test_nstar_grid_bootstrap_exact_for_all_or_nothing_cells_and_edges_marked():
    from sim.zhang.diagrams import Fig4Cell
    from sim.zhang.fits import nstar_grid_bootstrap

    def cell(r, N, ok):
        c = Fig4Cell(K=5, d=100, eta=0.5, beta=0.2, max_iter=100, tol=1e-8, N=N, r=r, lam=0.5, trials=len(ok))
        return c, {"success": np.array(ok, bool)}

    rng = np.random.default_rng(0)
    mixed = rng.random(30) < 0.5
    finished = [cell(10, 50, [0] * 8), cell(10, 100, [1] * 8), cell(20, 200, [1] * 8), cell(20, 100, [0] * 8),
                cell(30, 100, [0] * 8), cell(30, 200, [0] * 8), cell(40, 100, [1] * 8), cell(40, 200, [1] * 8),
                cell(50, 100, [0] * 30), cell(50, 200, mixed), cell(50, 400, [1] * 30)]
    out = nstar_grid_bootstrap(finished, n_boot=300)
    assert out["per_r"]["r=10"]["N_star"] == 75.0 and out["per_r"]["r=10"]["ci"] == [75.0, 75.0]
    assert out["per_r"]["r=10"]["grid_bracket"] == [50.0, 100.0]  # what the interval does not see
    assert np.isnan(out["per_r"]["r=30"]["grid_bracket"]).all()
    assert out["per_r"]["r=20"]["ci"] == [150.0, 150.0]  # cells given out of order: sorted by N
    assert out["per_r"]["r=30"]["N_star"] == np.inf and out["per_r"]["r=30"]["beyond_grid"] == 1.0
    assert out["per_r"]["r=40"]["N_star"] == -np.inf and out["per_r"]["r=40"]["below_grid"] == 1.0
    lo, hi = out["per_r"]["r=50"]["ci"]
    assert 100 <= lo < hi <= 400 and lo <= out["per_r"]["r=50"]["N_star"] <= hi
    assert out["fit_r"] == [10, 20, 50]
    # with r = 50 left out, the line through (10, 75) and (20, 150) has slope 7.5 in every resample
    two = nstar_grid_bootstrap(finished[:4], n_boot=50)
    assert np.allclose(two["slope_ci"], [7.5, 7.5]) and np.allclose(two["intercept_ci"], [0.0, 0.0])
