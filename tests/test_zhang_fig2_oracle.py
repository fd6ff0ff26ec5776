"""sim.zhang.fig2_oracle: runs of a saved zhang-fig2 folder re-run by the numpy oracle end as the engine's did."""

import pytest

from sim import phase_diagram
from sim.zhang.fig2_oracle import compare_saved, main


@pytest.fixture(scope="module")
def fig2_folder(tmp_path_factory):
    out = tmp_path_factory.mktemp("fig2") / "run"
    assert phase_diagram.main(["--diagram", "zhang-fig2", "--rs", "30,60", "--lams", "1,16", "--trials", "2",
                               "--max-iter", "600", "--workers", "1", "--no-progress", "--no-figure",
                               "--out", str(out)]) == 0
    return out


def test_the_oracle_ends_each_picked_run_as_the_engine_did(fig2_folder):
    rows = compare_saved(fig2_folder, [60, 30], runs=2, say=lambda _: None)
    assert [r["r"] for r in rows] == [60, 60, 30, 30]
    for row in rows:
        assert row["same_kind"] and row["same_success"], row
        assert row["oracle"]["iters"] == row["engine"]["iters"]
        assert row["oracle"]["rel_err"] == pytest.approx(row["engine"]["rel_err"], rel=1e-3, abs=1e-7)
    # the engine's failures come first: a cap of 600 steps leaves the dense r = 60 runs short of 1e-4
    assert not rows[0]["engine"]["success"]


def test_missing_cells_and_other_diagrams_are_one_line_errors(fig2_folder, tmp_path, capsys):
    with pytest.raises(SystemExit) as stop:
        main(["--results", str(fig2_folder), "--rs", "500", "--out", str(tmp_path)])
    assert stop.value.code == 2
    assert "no finished cell for r = [500]" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--results", str(fig2_folder), "--rs", "a,b", "--out", str(tmp_path)])
    assert "--rs" in capsys.readouterr().err
