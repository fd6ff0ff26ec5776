"""sim.zhang.oracle_rerun: runs of a saved zhang-fig2 or zhang-fig4 folder re-run by the numpy oracle end as the
engine's did."""

import json

import numpy as np
import pytest

from sim import phase_diagram
from sim.zhang.oracle_rerun import classify_fig4_runs, compare_saved, crossing_cells, main, per_cell, pick_runs


def _saved(tmp_path_factory, diagram: str, *fields: str):
    out = tmp_path_factory.mktemp(diagram) / "run"
    assert phase_diagram.main(["--diagram", diagram, *fields, "--workers", "1", "--no-progress", "--no-figure",
                               "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def fig2_folder(tmp_path_factory):
    return _saved(tmp_path_factory, "zhang-fig2", "--rs", "30,60", "--lams", "1,16", "--trials", "2", "--max-iter", "600")


@pytest.fixture(scope="module")
def fig4_folder(tmp_path_factory):
    return _saved(tmp_path_factory, "zhang-fig4", "--rs", "5,10", "--Ns", "30,60,120,240", "--trials", "4",
                  "--max-iter", "1500")


def test_the_oracle_ends_each_picked_fig2_run_as_the_engine_did(fig2_folder):
    rows = compare_saved(fig2_folder, [60, 30], runs=2, say=lambda _: None)
    assert [r["r"] for r in rows] == [60, 60, 30, 30]
    for row in rows:
        assert row["same_kind"] and row["same_success"], row
        assert row["oracle"]["iters"] == row["engine"]["iters"]
        assert row["oracle"]["rel_err"] == pytest.approx(row["engine"]["rel_err"], rel=1e-3, abs=1e-7)
    # the engine's failures come first: a cap of 600 steps leaves the dense r = 60 runs short of 1e-4
    assert not rows[0]["engine"]["success"]


def test_the_oracle_ends_every_run_of_the_fig4_crossing_cells_as_the_engine_did(fig4_folder, tmp_path):
    rows = compare_saved(fig4_folder, [5, 10], runs=4, say=lambda _: None)
    assert rows, "no crossing cell found"
    for row in rows:
        assert row["same_kind"] and row["same_success"], row
        assert row["oracle"]["iters"] == row["engine"]["iters"]
        assert row["oracle"]["rel_err"] == pytest.approx(row["engine"]["rel_err"], rel=1e-3, abs=1e-7)
    cells = per_cell(rows)
    assert all(c["runs"] == 4 and c["engine_successes"] == c["oracle_successes"] for c in cells.values())
    assert main(["--results", str(fig4_folder), "--rs", "5", "--runs", "1", "--out", str(tmp_path)]) == 0
    assert main(["--results", str(fig4_folder), "--rs", "5", "--runs", "1", "--out", str(tmp_path)]) == 0
    saved = sorted(tmp_path.glob("oracle_vs_engine*.json"))
    assert len(saved) == 2  # never overwritten
    assert json.loads(saved[0].read_text())["diagram"] == "zhang-fig4"


def test_crossing_cells_take_the_partial_cells_or_the_pair_around_one_half():
    def cell(N, k, n=4):
        return {"N": N}, {"success": np.arange(n) < k}

    partial = [cell(30, 0), cell(60, 2), cell(120, 3), cell(240, 4)]
    assert [c["N"] for c, _ in crossing_cells(partial)] == [60, 120]
    jump = [cell(120, 4), cell(30, 0), cell(60, 0)]  # any order; 0/4 at 60, 4/4 at 120
    assert [c["N"] for c, _ in crossing_cells(jump)] == [60, 120]
    assert crossing_cells([cell(30, 0), cell(60, 0)]) == []


def test_fig4_outcomes_and_the_order_runs_are_picked_in():
    arr = {"rel_err": np.array([1e-6, 0.3, 0.2, np.nan, 1e-5, 0.4]), "iters": np.array([50, 100, 40, 7, 90, 100]),
           "success": np.array([True, False, False, False, True, False]), "max_iter": 100}
    kind = classify_fig4_runs(arr)
    assert kind.tolist() == ["success", "cap", "stopped_away", "diverged", "success", "cap"]
    order = pick_runs(kind, arr["iters"], 6, ("success", "cap", "stopped_away", "diverged"))
    assert order == [1, 2, 3, 5, 4, 0]  # one failure of each class in turn, then successes by iterations, most first
    assert pick_runs(kind, arr["iters"], 2, ("success", "cap", "stopped_away", "diverged")) == [1, 2]


def test_missing_cells_and_other_diagrams_are_one_line_errors(fig2_folder, fig4_folder, tmp_path, capsys):
    with pytest.raises(SystemExit) as stop:
        main(["--results", str(fig2_folder), "--rs", "500", "--out", str(tmp_path)])
    assert stop.value.code == 2
    assert "no finished cell for r = [500]" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--results", str(fig2_folder), "--rs", "a,b", "--out", str(tmp_path)])
    assert "--rs" in capsys.readouterr().err
