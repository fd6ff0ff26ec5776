"""deep.summary: LRR - IMP / LRR - WR over seeds from metrics.json files written here (no training)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from deep import summary


def _write(root, prefix, method, seed, acc, flips, switches=0.0, dens=None):
    dens = dens or [0.7 ** i for i in range(len(acc))]
    d = root / f"{prefix}-{method}-seed{seed}"
    d.mkdir(parents=True)
    m = {"data_note": "tiny", "metrics": [{"level": i, "density": dens[i], "test_acc": a} for i, a in enumerate(acc)],
         "signs": {"flips_from_init": flips, "mean_switches_survivors": switches}}
    (d / "metrics.json").write_text(json.dumps(m))


def test_summary_pairs_by_seed_and_gets_the_numbers_right(tmp_path):
    lrr = {0: [0.90, 0.92, 0.93], 1: [0.91, 0.93, 0.95], 2: [0.89, 0.90, 0.94]}
    imp = {0: [0.90, 0.91, 0.90], 1: [0.91, 0.92, 0.91], 2: [0.89, 0.91, 0.90]}
    for s in range(3):
        _write(tmp_path, "x", "lrr", s, lrr[s], [0.1, 0.12, 0.15 + s / 100], switches=0.01 * s)
        _write(tmp_path, "x", "imp", s, imp[s], [0.1, 0.05, 0.02])
    _write(tmp_path, "x", "wr", 0, [0.9, 0.9, 0.9], [0.1, 0.1, 0.1])  # one seed only
    (tmp_path / "x-imp-seed9").mkdir()  # no metrics.json: ignored
    runs = summary.collect(tmp_path / "x")
    assert sorted(runs) == ["imp", "lrr", "wr"] and sorted(runs["imp"]) == [0, 1, 2]
    s = summary.summarize(runs)
    d = s["differences"]["lrr-imp"]
    lvl2 = d["test_acc_per_level"][2]
    diffs = np.array([lrr[k][2] - imp[k][2] for k in range(3)])  # 0.03, 0.04, 0.04
    assert lvl2["mean"] == pytest.approx(diffs.mean())
    assert lvl2["sd"] == pytest.approx(diffs.std(ddof=1))
    half = 4.302652729911275 * diffs.std(ddof=1) / math.sqrt(3)  # t_{0.975, 2}
    assert lvl2["t95"] == pytest.approx([diffs.mean() - half, diffs.mean() + half])
    assert lvl2["sign_test"]["positive"] == 3 and lvl2["sign_test"]["p_two_sided"] == pytest.approx(0.25)
    assert d["test_acc_per_level"][0]["sign_test"]["ties"] == 3
    pool = d["test_acc_pooled_levels_1_to_L"]
    # level 1: +0.01, +0.01, -0.01; level 2: all positive -> 5 of 6 positive
    assert pool["sign_test_over_level_seed_pairs"]["positive"] == 5
    assert pool["sign_test_over_level_seed_pairs"]["negative"] == 1
    assert pool["per_seed_mean_over_levels"] == pytest.approx([0.02, 0.025, 0.015])
    assert s["differences"]["lrr-wr"]["seeds"] == [0] and s["differences"]["lrr-wr"]["test_acc_per_level"][1]["t95"] is None
    f = s["methods"]["lrr"]["flips_from_init"][2]
    assert f["mean"] == pytest.approx(0.16) and f["min"] == pytest.approx(0.15) and f["max"] == pytest.approx(0.17)
    assert s["methods"]["lrr"]["mean_switches_survivors"]["mean"] == pytest.approx(0.01)
    assert d["flips_from_init_per_level"][2]["positive"] == 3
    text = summary.table(s)
    assert "lrr-imp" in text and "5 of 6" in text


def test_summary_refuses_runs_that_do_not_share_the_levels(tmp_path):
    _write(tmp_path, "y", "lrr", 0, [0.9, 0.9], [0.1, 0.1])
    _write(tmp_path, "y", "imp", 0, [0.9, 0.9], [0.1, 0.1], dens=[1.0, 0.8])
    with pytest.raises(ValueError, match="densities"):
        summary.summarize(summary.collect(tmp_path / "y"))
    with pytest.raises(FileNotFoundError):
        summary.collect(tmp_path / "nothing")
    with pytest.raises(ValueError, match="no 'lrr' runs"):
        summary.summarize({"imp": summary.collect(tmp_path / "y")["imp"]})


def test_summary_cli_writes_json(tmp_path, capsys):
    for s in range(2):
        _write(tmp_path, "z", "lrr", s, [0.9, 0.95], [0.1, 0.2])
        _write(tmp_path, "z", "imp", s, [0.9, 0.93 + s / 100], [0.1, 0.05])
    assert summary.main([str(tmp_path / "z")]) == 0
    out = json.loads((tmp_path / "z-summary.json").read_text())
    assert out["differences"]["lrr-imp"]["test_acc_per_level"][1]["mean"] == pytest.approx(0.015)
    assert "written" in capsys.readouterr().out
