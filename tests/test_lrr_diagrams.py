"""The registered lrr-* diagrams: typed scales that read back from a manifest's parameters, typed cells that
read back from a cell file's record, the fit steps against independent counts, the figure names."""

import dataclasses
import json

import numpy as np
import pytest

from sim.core import registry
from sim.core.config import as_dict
from sim.core.sweep import cell_key, cell_record, config_from_params
from sim.lrr.diagrams import NeuronCell, cell_from_record, fit_deviations, run_neuron_cell, summarize_neuron
from sim.lrr.predictions import predicted_success
from sim.lrr.sign_changes import GdSignCell, fit_gd_sign, gd_sign_cell, pooled_report, summarize_gd_sign
from sim.lrr.trainer_config import GD, LBFGS, Flow

LRR = ("lrr-phase-d-sigma", "lrr-phase-d-n", "lrr-fig2a", "lrr-fig18", "lrr-fig18-one-input", "lrr-fig2a-flow",
       "lrr-fig2a-gd", "lrr-gd-sign-changes")
FIGURES = {"lrr-phase-d-sigma": "lrr-phase", "lrr-phase-d-n": "lrr-phase", "lrr-gd-sign-changes": "lrr-gd-sign-changes"}


@pytest.mark.parametrize("name", LRR)
def test_scales_and_cells_read_back_from_their_saved_identities(name):
    dg = registry.get(name)
    assert dg.figure == FIGURES.get(name, "lrr-fig2a-quadrants") and dg.fit is not None
    for scale in ("quick", "paper"):
        cfg = dg.scales[scale]
        assert config_from_params(dg, as_dict(cfg)) == cfg
        cells = dg.cells(cfg)
        keys = [cell_key(c) for c in cells]
        assert len(set(keys)) == len(keys)
        for c in cells:
            if isinstance(c, NeuronCell):
                assert cell_from_record(cell_record(c)) == c


def test_saved_paper_flow_manifest_names_the_paper_scale():
    """The parameters a results folder of lrr-fig2a-flow at paper scale recorded (its manifest.json) are the
    paper scale's fields: such a folder stays this run's folder, and its cells are this scale's cells."""
    dg = registry.get("lrr-fig2a-flow")
    saved = {"ds": [10], "n": 1000, "sigma": 0.1, "t_end": 200.0, "trials": 100}
    assert as_dict(dg.scales["paper"]) == saved
    cells = dg.cells(config_from_params(dg, saved))
    assert [c.key for c in cells] == ["d10_qpp", "d10_qpm", "d10_qmp", "d10_qmm"]
    assert all(c.trainer == Flow(t_end=200.0) and c.rewind_step == 1 for c in cells)


def test_a_record_with_the_short_trainer_form_reads_as_the_same_cell():
    cell = registry.get("lrr-fig2a").cells(registry.get("lrr-fig2a").scales["quick"])[1]
    short = {k: v for k, v in cell_record(cell).items() if k != "final_keep"} | {"trainer": {"name": "lbfgs", "epochs": 20}}
    assert cell_from_record(short) == cell and cell.trainer == LBFGS(epochs=20)


def test_a_bad_cell_parameter_is_named_when_the_cell_is_made():
    cell = NeuronCell(key="t", d=3, n=40, sigma=0.1, quadrant=None, trials=2, trainer=GD(lr=0.5, steps=5),
                      methods=("lrr", "imp"))
    for change, name in (({"sigma": -1.0}, "sigma"), ({"sparsity": 1.0}, "sparsity"), ({"d": 0}, "d must be"),
                         ({"final_keep": 4}, "final_keep"), ({"quadrant": "+"}, "quadrant"),
                         ({"methods": ("lrr", "magic")}, "method")):
        with pytest.raises(ValueError, match=name):
            dataclasses.replace(cell, **change)
    with pytest.raises(ValueError, match="sigma"):
        GdSignCell(d=5, n=40, sigma=-1.0, quadrant="-+", trials=2, lr=0.5, steps=20, methods=("lrr",))


def test_neuron_cell_predictions_use_each_methods_own_start_and_the_fit_counts_them():
    cell = NeuronCell(key="d3_qpm", d=3, n=60, sigma=0.1, quadrant="+-", trials=6, trainer=GD(lr=0.5, steps=40),
                      methods=("lrr", "imp", "wr"), levels=2, sparsity=0.6, rewind_step=3)
    arr = run_neuron_cell(cell, 4, "cpu")
    np.testing.assert_array_equal(arr["imp/predicted"], predicted_success("imp", arr["a0"], arr["w10"], 3))
    wr_start = arr["wr/theta_start"][:, 1]  # the rewinding point, masked
    np.testing.assert_array_equal(arr["wr/predicted"], predicted_success("wr", wr_start[:, 0], wr_start[:, 1], 3))
    rows = summarize_neuron([(cell, arr)])
    other = dataclasses.replace(cell, key="d3_qmm", quadrant="--")
    rows += summarize_neuron([(other, run_neuron_cell(other, 5, "cpu"))])
    dev = fit_deviations([], rows)["deviations.json"]
    assert dev["above_prediction"] == [
        {"cell": r["cell"], "d": 3, "n": 60, "sigma": 0.1, "quadrant": r["quadrant"], "method": r["method"],
         "ci_low": r["ci_low"], "predicted": r["predicted"]} for r in rows if r["ci_low"] > r["predicted"]]
    assert dev["above_prediction_count"] == {m: sum(r["ci_low"] > r["predicted"] for r in rows if r["method"] == m)
                                             for m in cell.methods}
    for e in dev["pooled"]:
        mine = [r for r in rows if r["quadrant"] == e["quadrant"] and r["method"] == e["method"]]
        assert (e["successes"], e["trials"]) == (sum(r["successes"] for r in mine), 6 * len(mine))
    for e in dev["lrr_minus_imp"]:
        by = {r["method"]: r for r in rows if r["cell"] == e["cell"]}
        assert e["rate"] == by["lrr"]["rate"] - by["imp"]["rate"]


def test_gd_sign_fit_pools_the_cells_summaries():
    cells = [GdSignCell(d=4, n=60, sigma=0.1, quadrant=q, trials=4, lr=lr, steps=40, methods=("lrr", "imp-balanced"))
             for q in ("-+", "--") for lr in (0.5, 2.0)]
    finished = [(c, gd_sign_cell(c, i, "cpu")) for i, c in enumerate(cells)]
    rows = summarize_gd_sign(finished)
    fits = fit_gd_sign(finished, rows)
    assert json.dumps(fits["pooled.json"]) == json.dumps(pooled_report(finished))  # (NaN phi where a class is empty)
    for e in fits["pooled.json"]["by_quadrant_method"]:
        mine = [r for r in rows if r["quadrant"] == e["quadrant"] and r["method"] == e["method"]]
        assert e["runs"] == sum(r["trials"] for r in mine) and e["a_flipped"] == sum(r["a_flipped"] for r in mine)
        assert e["successes"] == sum(r["successes"] for r in mine)
        assert e["knife_edge"] == sum(r["knife_edge"] for r in mine)
    curves = fits["flip_curves.json"]["flip_fraction"]
    assert sum(len(c["points"]) for c in curves) == len(rows)
    for c in curves:
        for t, frac, _, _ in c["points"]:
            r, = [r for r in rows if (r["method"], r["quadrant"], r["lr"], r["time"]) == (c["method"], c["quadrant"], c["lr"], t)]
            assert frac == r["a_flipped"] / r["trials"]
