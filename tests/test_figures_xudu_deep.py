"""Pure helpers of the xudu, deep and LRR phase-diagram figures (no plotting, no saved results needed)."""

from pathlib import Path

import numpy as np

from figures import deep_lrr_imp as deep
from figures import xudu_slowdown as xs


def test_until_floor_stops_at_first_crossing():
    y = np.array([1.0, 1e-5, 1e-14, 1e-11, 1e-12])  # noise after the first drop below the floor
    assert xs.until_floor(y, 1e-13).tolist() == [True, True, False, False, False]
    assert xs.until_floor(np.array([1.0, 0.5]), 1e-13).all()
    assert xs.until_floor(np.array([1.0, np.nan, 0.5]), 1e-13).tolist() == [True, False, False]


def test_tick_labels_are_the_values():
    assert xs.tick_labels([2, 5, 20]) == ["2", "5", "20"]
    assert xs.tick_labels([0.001, 0.01, 0.1]) == ["0.001", "0.01", "0.1"]
    assert "initialization scale s" in xs.AXIS_LABEL["init_scale"]


def test_end_note_says_floor_or_slope_from_the_fits():
    fit = {"median_loss_floor_at": 607.0, "median_loss_last_decade_slope": None}
    assert xs.end_note(fit, 1e-26) == "reaches 1e-26 at T = 607"
    fit = {"median_loss_floor_at": None, "median_loss_last_decade_slope": -2.9016}
    assert xs.end_note(fit, 1e-26) == "last-decade slope -2.90"
    assert xs.end_note({"median_loss_floor_at": None, "median_loss_last_decade_slope": None}, 1e-26) == ""


def test_xudu_figure_reads_saved_data_only():
    """figures/xudu_slowdown.py imports nothing of sim but the results reader, and no missing fits pass."""
    import ast

    import pytest

    tree = ast.parse(Path(xs.__file__).read_text())
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    imported |= {a.name for node in ast.walk(tree) if isinstance(node, ast.Import) for a in node.names}
    assert {m for m in imported if m.split(".")[0] in ("sim", "theory")} == {"sim.core.sweep"}
    with pytest.raises(FileNotFoundError, match="fits.json"):
        xs.read_fits(Path("/nonexistent-results-folder"))


def test_cell_label_names_trainer_only_when_mixed():
    gd = {"n": 2, "trainer": "gd", "lr": 0.1}
    fl = {"n": 2, "trainer": "flow"}
    assert xs.cell_label(gd, False) == "n = 2"
    assert xs.cell_label(gd, True) != xs.cell_label(fl, True)
    assert "flow" in xs.xlabel_for([gd, fl]) and "GD" in xs.xlabel_for([gd, fl])


def _run(method, seed, lr=0.1, dataset="mnist-5k"):
    return (Path(f"x-{method}-{lr}-{seed}"),
            {"config": {"dataset": dataset, "model": "lenet5", "seed": seed, "train": {"lr": lr, "epochs": 10},
                        "cycle": {"method": method, "levels": 10}}})


def test_group_runs_separates_learning_rates_and_averages_seeds():
    items = [_run(m, s) for m in ("lrr", "imp") for s in range(5)] + [_run(m, s, lr=0.05) for m in ("lrr", "imp")
                                                                      for s in range(3)]
    items.append(_run("lrr", 0, dataset="mnist1d"))
    figs = deep.group_runs(items)
    assert len(figs) == 3
    for key, groups in figs.items():
        lrs = {m["config"]["train"]["lr"] for runs in groups.values() for _, m in runs}
        assert len(lrs) == 1  # never two learning rates in one figure
    sizes = sorted(sorted(len(r) for r in g.values()) for g in figs.values())
    assert sizes == [[1], [3, 3], [5, 5]]
    names = deep.figure_names({k: sum(len(r) for r in g.values()) for k, g in figs.items()})
    assert sorted(names.values()) == ["deep-mnist-5k-lenet5-lr0.05-lrr-vs-imp", "deep-mnist-5k-lenet5-lrr-vs-imp",
                                      "deep-mnist1d-lenet5-lrr-vs-imp"]


def test_band_label_only_promises_band_with_two_seeds():
    assert "min-max" in deep.band_label([1, 2])
    assert "min-max" not in deep.band_label([1, 1])
    assert deep.describe({"train.lr": 0.05, "train.epochs": 10}) == "lr 0.05, epochs/level 10"


def _row(method, rate, lo, pred, d=2):
    return {"method": method, "rate": rate, "ci_low": lo, "predicted": pred, "d": d, "sigma": 0.1}


