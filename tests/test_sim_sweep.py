"""The sweep runner and the CLI: determinism, resume, refusal to overwrite, bad input, joblib and Dask."""

import dataclasses
import json
from dataclasses import dataclass

import numpy as np
import pytest

from sim import phase_diagram
from sim.core import registry
from sim.core.config import param
from sim.lrr.diagrams import NeuronCell, run_neuron_cell, summarize_neuron
from sim.lrr.trainer_config import GD
from sim.core.registry import Diagram
from sim.core.sweep import ResultsError, SweepSpec, read_cell, read_summary, run

TINY = "test-tiny-neuron"


@dataclass(frozen=True)
class TinyScale:
    trials: int = param(3, "trials per cell")


def _cells(p: TinyScale) -> list[NeuronCell]:
    return [NeuronCell(key=f"d{d}", d=d, n=40, sigma=0.1, quadrant=None, trials=p.trials, trainer=GD(lr=0.5, steps=30),
                       methods=("lrr", "imp"), levels=2, sparsity=0.5, rewind_step=2) for d in (1, 2, 3)]


@pytest.fixture(autouse=True, scope="module")
def _tiny_registered():
    """The tiny diagram exists for this module's tests only; the toolkit's registry is left as it was."""
    with registry.registered(Diagram(name=TINY, title="tiny", paper="test",
                                     scales={"quick": TinyScale(), "paper": TinyScale(4)}, cells=_cells,
                                     run_cell=run_neuron_cell, summarize=summarize_neuron)):
        yield


def _run(tmp, **kw):
    args = {"workers": 1, "progress": False} | kw
    return run(SweepSpec(TINY, "quick", seed=kw.pop("seed", 0) if "seed" in kw else 0), out=tmp, **args)


def _cell_arrays(out):
    return {f.name: read_cell(f) for f in sorted((out / "cells").glob("*.npz"))}


def _same(a, b):
    assert a.keys() == b.keys()
    for k in a:
        assert a[k].keys() == b[k].keys()
        for name in a[k]:
            np.testing.assert_array_equal(a[k][name], b[k][name])


def test_results_folder_is_complete_and_deterministic(tmp_path):
    out1 = _run(tmp_path / "a")
    out2 = _run(tmp_path / "b")
    _same(_cell_arrays(out1), _cell_arrays(out2))
    manifest = json.loads((out1 / "manifest.json").read_text())
    for key in ("diagram", "scale", "params", "seed", "versions", "git_commit", "cells", "finished"):
        assert key in manifest
    rows = read_summary(out1 / "summary.csv")
    assert len(rows) == 6 and {r["method"] for r in rows} == {"lrr", "imp"}
    other = run(SweepSpec(TINY, "quick", seed=1), out=tmp_path / "c", workers=1, progress=False)
    assert not np.array_equal(read_cell(other / "cells" / "d2.npz")["a0"], read_cell(out1 / "cells" / "d2.npz")["a0"])


def test_resume_recomputes_only_missing_cells_and_never_overwrites(tmp_path):
    out = _run(tmp_path / "r")
    before = _cell_arrays(out)
    kept = out / "cells" / "d1.npz"
    mtime = kept.stat().st_mtime_ns
    (out / "cells" / "d3.npz").unlink()  # as if the run had been killed during that cell
    _run(out)  # the same command again finishes the run (no --resume needed) ...
    assert kept.stat().st_mtime_ns == mtime
    _same(before, _cell_arrays(out))
    _run(out, resume=True)  # ... and a third time reuses it
    assert kept.stat().st_mtime_ns == mtime


def test_a_second_run_on_the_same_folder_is_refused_while_the_first_holds_it(tmp_path):
    from sim.core.sweep import folder_lock

    out = tmp_path / "busy"
    with folder_lock(out):  # as a concurrent run would hold it
        with pytest.raises(ResultsError, match="in use by another run"):
            _run(out)
    assert not (out / "manifest.json").exists()
    single = _run(tmp_path / "single")
    _same(_cell_arrays(_run(out)), _cell_arrays(single))  # the lock is free again; same numbers
    with pytest.raises(ResultsError, match="differs in: seed"):  # seeds 1 and 2 never mix in one folder
        run(SweepSpec(TINY, "quick", seed=2), out=out, workers=1, progress=False)


def test_a_cell_copied_from_another_cell_or_run_is_refused_with_its_file_named(tmp_path):
    import shutil

    out = _run(tmp_path / "c")
    shutil.copy(out / "cells" / "d1.npz", out / "cells" / "d2.npz")  # n = 1's cell over n = 2's
    with pytest.raises(ResultsError, match=r"d2\.npz belongs to another cell or run \(differs in: key, cell, cell_seed\)"):
        _run(out, resume=True)
    other = run(SweepSpec(TINY, "quick", seed=1), out=tmp_path / "o", workers=1, progress=False)
    shutil.copy(other / "cells" / "d1.npz", out / "cells" / "d2.npz")
    shutil.copy(other / "cells" / "d1.npz", out / "cells" / "d1.npz")  # same key, another seed
    (out / "cells" / "d2.npz").unlink()
    with pytest.raises(ResultsError, match=r"d1\.npz belongs to another cell or run \(differs in: seed, cell_seed\)"):
        _run(out)
    (out / "cells" / "d1.npz").unlink()
    (out / "cells" / "zz.npz").write_bytes((other / "cells" / "d3.npz").read_bytes())
    with pytest.raises(ResultsError, match=r"zz\.npz is not a cell of this run"):
        _run(out)


def test_results_files_are_readable_like_ordinary_files_and_cells_keep_their_records(tmp_path):
    import os
    import stat

    from sim.core.sweep import read_cell_records

    old = os.umask(0o022)
    try:
        out = _run(tmp_path / "perm")
    finally:
        os.umask(old)
    for f in [out / "manifest.json", out / "summary.csv", *(out / "cells").glob("*.npz")]:
        assert stat.S_IMODE(f.stat().st_mode) == 0o644, f
    identity, prov = read_cell_records(out / "cells" / "d2.npz")
    assert identity["key"] == "d2" and identity["cell"]["d"] == 2 and identity["seed"] == 0
    assert prov["seconds"] > 0 and prov["git_commit"] and prov["finished"]
    m = json.loads((out / "manifest.json").read_text())
    assert m["cell_seconds"]["d2"] == prov["seconds"]


def test_worker_plan_caps_workers_at_cpus_and_cells_and_splits_the_threads():
    from sim.core.sweep import worker_plan

    assert worker_plan(1000, 4, cpus=2, load=0) == (2, 1, "--workers 1000 capped to 2 (2 CPU(s) available and 4 cell(s) to run)")
    assert worker_plan(8, 3, cpus=16, load=0) == (3, 5, "--workers 8 capped to 3 (3 cell(s) to run)")
    assert worker_plan(1, 10, cpus=2, load=0) == (1, 2, None)
    assert worker_plan(2, 10, cpus=2, load=0) == (2, 1, None)
    # other jobs keep the CPUs busy: the single process uses the one thread that is free, not two
    assert worker_plan(1, 10, cpus=2, load=1.1) == (1, 1, None)
    assert worker_plan(1, 10, cpus=2, load=5.0) == (1, 1, None)
    assert worker_plan(1, 10, cpus=16, load=4.2) == (1, 12, None)
    with pytest.raises(ValueError, match="workers must be >= 1"):
        worker_plan(0, 3)


def test_resumed_cells_record_the_commit_they_were_computed_at(tmp_path, monkeypatch):
    from sim.core import provenance

    monkeypatch.setattr(provenance, "git_commit", lambda: "commit-A")
    out = _run(tmp_path / "p")
    (out / "cells" / "d3.npz").unlink()
    monkeypatch.setattr(provenance, "git_commit", lambda: "commit-B")
    _run(out, resume=True)
    m = json.loads((out / "manifest.json").read_text())
    assert m["git_commit"] == "commit-A"  # the folder's creation
    assert m["cell_git_commit"] == {"d1": "commit-A", "d2": "commit-A", "d3": "commit-B"}


def test_resume_refuses_foreign_corrupt_or_unrelated_folders(tmp_path):
    out = _run(tmp_path / "f")
    with pytest.raises(ResultsError, match="seed"):
        run(SweepSpec(TINY, "quick", seed=5), out=out, resume=True, progress=False)
    (out / "cells" / "d2.npz").write_bytes(b"not a zip")
    with pytest.raises(ResultsError, match="corrupt cell"):
        _run(out, resume=True)
    assert (out / "cells" / "d2.npz").read_bytes() == b"not a zip"  # left for the user to inspect
    (out / "manifest.json").write_text("{ broken")
    with pytest.raises(ResultsError, match="corrupt manifest"):
        _run(out, resume=True)
    stranger = tmp_path / "stranger"
    stranger.mkdir()
    (stranger / "notes.txt").write_text("mine")
    with pytest.raises(ResultsError, match="not a results folder"):
        _run(stranger, resume=True)


def test_parallel_joblib_and_dask_give_the_same_numbers(tmp_path):
    serial = _cell_arrays(_run(tmp_path / "s"))
    _same(serial, _cell_arrays(_run(tmp_path / "j", workers=2)))
    from dask.distributed import LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        _same(serial, _cell_arrays(_run(tmp_path / "d", scheduler=cluster.scheduler_address)))


def test_cli_list_unknown_name_and_bad_options(tmp_path, capsys):
    assert phase_diagram.main(["--list"]) == 0
    listed = capsys.readouterr().out
    for name in ("lrr-phase-d-sigma", "lrr-phase-d-n", "lrr-fig2a", "lrr-fig18", "lrr-fig2a-flow"):
        assert name in listed
    assert phase_diagram.main(["--diagram", "no-such", "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert "unknown diagram 'no-such'" in err and "lrr-fig2a" in err
    with pytest.raises(SystemExit) as stop:  # argparse's type check: one line, exit 2 (tests/test_cli_errors.py)
        phase_diagram.main(["--diagram", TINY, "--workers", "0", "--out", str(tmp_path / "y")])
    assert stop.value.code == 2
    assert phase_diagram.main(["--diagram", TINY, "--device", "tpu", "--out", str(tmp_path / "z")]) == 2
    assert phase_diagram.main(["--diagram", TINY, "--workers", "1", "--no-progress", "--out", str(tmp_path / "ok")]) == 0
    assert "lrr" in capsys.readouterr().out


def test_bad_cell_parameters_name_the_parameter():
    cell = _cells(TinyScale(2))[0]
    with pytest.raises(ValueError, match="sigma"):
        dataclasses.replace(cell, sigma=-1.0)
    with pytest.raises(ValueError, match="sparsity"):
        dataclasses.replace(cell, sparsity=1.0)
    with pytest.raises(ValueError, match="d must be"):
        dataclasses.replace(cell, d=0)


def test_a_diverged_run_is_a_counted_failure_and_stays_out_of_the_median_error():
    from sim.lrr.outcome import success

    cell = _cells(TinyScale(4))[1]
    arr = run_neuron_cell(cell, 0, "cpu")
    before = {r["method"]: r for r in summarize_neuron([(cell, arr)])}
    assert all(r["diverged"] == 0 for r in before.values())
    arr = dict(arr)
    theta, rel = arr["imp/theta_end"].copy(), arr["imp/rel_error"].copy()
    theta[0, -1] = np.nan  # run 0 of IMP overflowed in its last level
    rel[0, -1] = np.nan
    arr["imp/theta_end"], arr["imp/rel_error"] = theta, rel
    assert not success(theta[:, -1], arr["imp/masks"][:, -1])[0]
    after = {r["method"]: r for r in summarize_neuron([(cell, arr)])}
    assert after["imp"]["diverged"] == 1 and after["lrr"]["diverged"] == 0
    assert after["imp"]["median_rel_error"] == pytest.approx(float(np.median(rel[1:, -1])))
    assert after["lrr"] == before["lrr"]


def _state_and_parent(pid: int) -> tuple[str, int] | None:
    """(state letter, parent pid) of a process from Linux /proc, None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return fields[0], int(fields[1])


def _alive(pids: set[int]) -> set[int]:
    """The processes of pids that still run (neither gone nor zombies)."""
    return {p for p in pids if (st := _state_and_parent(p)) is not None and st[0] != "Z"}


def _descendants(pid: int) -> set[int]:
    """Live descendant processes of pid (Linux /proc)."""
    import os

    parent = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (st := _state_and_parent(int(entry))) is not None and st[0] != "Z":
            parent[int(entry)] = st[1]
    found, frontier = set(), {pid}
    while frontier:
        frontier = {p for p, pp in parent.items() if pp in frontier} - found
        found |= frontier
    return found


@pytest.mark.skipif(not __import__("os").path.isdir("/proc/self"), reason="needs Linux /proc")
@pytest.mark.parametrize("signame", ["SIGTERM", "SIGKILL"])
def test_a_stopped_or_killed_sweep_leaves_no_worker_processes(tmp_path, signame):
    """SIGTERM unwinds the sweep, which stops its workers; kill -9 gives it no chance, so each worker
    watches its parent and exits when it is gone (before: they computed on for minutes as orphans)."""
    import os
    import signal
    import subprocess
    import sys
    import time

    sig = getattr(signal, signame)

    proc = subprocess.Popen([sys.executable, "-m", "sim.phase_diagram", "--diagram", "lrr-fig2a", "--workers", "2",
                             "--no-progress", "--out", str(tmp_path / "run")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    workers: set[int] = set()
    try:
        deadline = time.time() + 120
        while len(_descendants(proc.pid)) < 2 and time.time() < deadline and proc.poll() is None:
            time.sleep(0.5)
        workers = _descendants(proc.pid)
        assert len(workers) >= 2, "the sweep never started its worker processes"
        time.sleep(2)
        proc.send_signal(sig)
        if sig == signal.SIGTERM:
            assert proc.wait(timeout=60) == 128 + signal.SIGTERM
            assert "--resume" in proc.stderr.read()
        else:
            assert proc.wait(timeout=60) == -signal.SIGKILL
        deadline = time.time() + 30
        while _alive(workers) and time.time() < deadline:
            time.sleep(0.5)
        assert not _alive(workers), f"worker processes left running: {sorted(_alive(workers))}"
    finally:
        if proc.poll() is None:
            proc.kill()
        for p in _alive(workers):  # never leave them behind, even on failure
            try:
                os.kill(p, signal.SIGKILL)
            except OSError:
                pass


def test_an_unreachable_scheduler_is_one_clear_error_and_the_folder_does_not_block_the_next_start(tmp_path):
    import dask

    out = tmp_path / "sched"
    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
        with pytest.raises(RuntimeError, match="cannot reach the Dask scheduler"):
            _run(out, scheduler="tcp://127.0.0.1:9")
    single = _run(tmp_path / "plain")
    _same(_cell_arrays(_run(out)), _cell_arrays(single))  # the same command, no --resume: it runs


def test_root_puts_the_default_folder_under_it_and_excludes_out(tmp_path, capsys):
    """--root DIR: the run's default folder is DIR/sim/<diagram>-<scale>-seed<seed>, as figures.build looks for it
    in figures/data (the folder git keeps, for paper-scale runs); --root with --out is refused in one line."""
    root = tmp_path / "kept"
    args = ["--diagram", TINY, "--workers", "1", "--no-progress", "--no-figure"]
    assert phase_diagram.main([*args, "--root", str(root)]) == 0
    assert (root / "sim" / f"{TINY}-quick-seed0" / "summary.csv").is_file()
    assert phase_diagram.main([*args, "--root", str(root), "--out", str(tmp_path / "o")]) == 2
    assert "--root" in capsys.readouterr().err


def test_status_reports_finished_and_missing_cells_and_writes_nothing(tmp_path, capsys):
    """--status: the cells finished and missing, and the summary of the finished ones, of a run stopped half way;
    nothing is written (no summary.csv appears where the run has none); a folder with no run is a one-line error."""
    out = tmp_path / "run"
    args = ["--diagram", TINY, "--workers", "1", "--no-progress", "--no-figure", "--out", str(out)]
    assert phase_diagram.main(args) == 0
    cells = sorted((out / "cells").glob("*.npz"))
    assert len(cells) >= 2
    cells[0].unlink()
    (out / "summary.csv").unlink()
    before = sorted(p.name for p in out.rglob("*"))
    capsys.readouterr()
    assert phase_diagram.main([*args, "--status"]) == 0
    text = capsys.readouterr().out
    assert f"{len(cells) - 1} of {len(cells)} cells finished" in text and f"missing: {cells[0].stem}" in text
    assert sorted(p.name for p in out.rglob("*")) == before  # read only
    assert phase_diagram.main([*args[:-1], str(tmp_path / "nothing"), "--status"]) == 2
    assert "holds no run yet" in capsys.readouterr().err
