"""sim.gpu_check: the dry run (every section at tiny sizes on the CPU) writes a JSON with every section's numbers
and a log into a fresh folder; it never overwrites; CUDA asked for and absent is a one-line error."""

from __future__ import annotations

import json
import math

import pytest
import torch

from sim import gpu_check


def _numbers(obj) -> list[float]:
    if isinstance(obj, bool):
        return []
    if isinstance(obj, (int, float)):
        return [float(obj)]
    if isinstance(obj, dict):
        return [x for v in obj.values() for x in _numbers(v)]
    if isinstance(obj, list):
        return [x for v in obj for x in _numbers(v)]
    return []


def test_dry_run_writes_every_section(tmp_path, one_thread, capsys):
    out = tmp_path / "check"
    assert gpu_check.main(["--dry-run", "--out", str(out)]) == 0
    res = json.loads((out / "gpu_check.json").read_text())
    assert (out / "log.txt").read_text().count("## ") == 4
    assert res["dry_run"] and res["device"] == "cpu"
    eng = res["sparse_engine"]
    assert eng["header"]["gemm_float64_GFLOPs"] > 0 and eng["header"]["gemm_float32_GFLOPs"] > 0
    for row in eng["rows"]:
        for k in ("us_per_run_step", "engine_GFLOPs", "ceiling_GFLOPs", "fraction_of_ceiling", "speedup_vs_old",
                  "speedup_vs_reference"):
            assert row[k] > 0 and math.isfinite(row[k])
        assert row["layout"] in ("dense", "gathered")
    fig4 = res["zhang_fig4_sample"]
    assert fig4["sampled"] and fig4["diagram_s_extrapolated"] > 0 and fig4["cells_total"] >= len(fig4["sampled"])
    assert res["overparam_gd"]["steps_per_s"] > 0 and res["overparam_gd"]["trial_steps_per_s"] > 0
    deep = res["deep_bench"]
    assert deep["peak_tflops"] > 0 and deep["rows"]
    for row in deep["rows"]:
        assert row["dense_img_s"] > 0 and row["masked_img_s"] > 0 and math.isfinite(row["mask_overhead"])
        assert row["mfu_measured_peak"] > 0
    assert all(math.isfinite(x) for x in _numbers(res))
    # the folder exists now: a second run refuses (one line), it does not overwrite
    capsys.readouterr()
    assert gpu_check.main(["--dry-run", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "exists already" in err and err.count("\n") == 1


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cuda_asked_for_and_absent_is_a_one_line_error(tmp_path, capsys):
    assert gpu_check.main(["--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert "no CUDA device" in err and err.count("\n") == 1
    assert not (tmp_path / "x").exists()
