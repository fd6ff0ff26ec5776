"""Run a registered diagram over its grid: parallel, resumable, deterministic, with saved provenance.

Layout of a results folder::

    manifest.json        diagram, scale, its parameters, seed, device, cell keys, versions, git commit
    cells/<key>.npz      one file per finished cell, written atomically (temporary file + rename)
    summary.csv          one row per cell and method (rates, Wilson intervals, predictions)
    fits.json ...        what the diagram's fit step computes across cells (the numbers paper_repro.md quotes)
    <figure>.png         drawn from the saved data by figures.draw (figures.catalog maps the diagram's figure name)

* Determinism: each cell's seed is derived from (seed, cell key) by SHA-256, so results do not depend on
  the order or the parallelism in which cells run; same seed, same device: same numbers.
* One run per folder: the folder is locked (an OS file lock on ``.lock``, released by the kernel when the
  process ends, so a killed run leaves no stale lock) for the run's lifetime; a second run on the same
  folder is refused at once.
* Resume: an existing folder is reused only if its manifest has the same identity (diagram, scale,
  parameters, seed, device) -- the same command run again finishes or reuses it (``--resume`` says so
  explicitly and is no longer required); a different run, a corrupt or a foreign folder is refused and
  nothing in it is overwritten.  Every cell file carries its own identity (diagram, scale, the cell's
  parameters and key, master and cell seed, device) and provenance (commit, seconds, time); on reuse each is
  checked against the run, and a cell copied from another cell or run is refused with its file named.
  Finished cells are skipped; killing a run loses at most the cells in flight.
* Parallel: ``workers > 1`` runs cells in local processes (joblib/loky), at most one per CPU available
  and one per unfinished cell (:func:`worker_plan`), each with a fixed thread budget (CPUs // workers, for
  torch and the BLAS pools), and each exits within a second or two when the main process dies, even by
  kill -9; ``scheduler='tcp://host:8786'`` sends them to a Dask distributed cluster.  Either way the
  results come back to this process, which alone writes the folder (no shared file system is needed on the
  workers).  Files are written atomically and readable like any other file the user writes (umask).
"""

from __future__ import annotations

import contextlib
import dataclasses
import csv
import hashlib
import io
import json
import os
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sim.core import provenance
from sim.core.config import as_dict, config_hash, from_dict
from sim.core.folders import ResultsError, atomic_write_bytes, canon, folder_lock, occupied, require_same  # noqa: F401
from sim.core.registry import Diagram, get


@dataclass(frozen=True)
class SweepSpec:
    """Which run: a diagram at one of its scales, the master seed, the device, and changes to the scale's
    fields (``changes``: sorted (field, value) pairs, e.g. from the command line; none by default)."""

    diagram: str
    scale: str = "quick"
    seed: int = 0
    device: str = "cpu"
    changes: tuple = ()

    def identity(self, params: dict) -> dict:
        return {"diagram": self.diagram, "scale": self.scale, "params": params, "seed": self.seed,
                "device": self.device}


def cell_seed(seed: int, key: str) -> int:
    digest = hashlib.sha256(f"{seed}:{key}".encode()).digest()
    return int.from_bytes(digest[:8], "little") % (2 ** 62)


RESULTS_ROOT = Path("results")
# Paper-scale runs that take hours keep their folders here: git tracks it, so a run stopped on one machine is
# continued on a fresh clone by the same command (the cells are small: per-run scalars, not weights).
ARCHIVE_ROOT = Path("figures") / "data"


def default_out(spec: SweepSpec, root: Path = RESULTS_ROOT) -> Path:
    """``<root>/sim/<diagram>-<scale>-seed<seed>`` (root: ``results`` unless given); a run with changed fields
    gets the changes' hash appended, so two different configurations never share a folder."""
    tail = f"-{config_hash(dict(spec.changes))}" if spec.changes else ""
    return Path(root) / "sim" / f"{spec.diagram}-{spec.scale}-seed{spec.seed}{tail}"


def cell_key(cell) -> str:
    """A cell's key: the name of its file, and (with the master seed) what its random stream derives from."""
    return cell.key


def cell_record(cell) -> dict:
    """A cell as plain data (what its file's identity and the figure scripts see), with its key."""
    return as_dict(cell) | {"key": cell.key}


_IDENTITY, _PROVENANCE = "__identity__", "__provenance__"


def cell_identity(spec: SweepSpec, cell) -> dict:
    """What a cell file must match to count as this run's cell."""
    key = cell_key(cell)
    return {"diagram": spec.diagram, "scale": spec.scale, "key": key, "cell": cell_record(cell), "seed": spec.seed,
            "cell_seed": cell_seed(spec.seed, key), "device": spec.device}


def write_cell(path: Path, arrays: dict[str, np.ndarray], identity: dict | None = None,
               provenance_: dict | None = None) -> None:
    """One cell's arrays, atomically, with its identity and provenance (JSON strings) when given."""
    extra = {}
    if identity is not None:
        extra[_IDENTITY] = np.array(canon(identity))
    if provenance_ is not None:
        extra[_PROVENANCE] = np.array(canon(provenance_))
    buf = io.BytesIO()
    np.savez_compressed(buf, **{k: np.asarray(v) for k, v in arrays.items()}, **extra)
    atomic_write_bytes(path, buf.getvalue())


def _load(path: Path) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except Exception as exc:  # noqa: BLE001 - any unreadable file is reported the same way
        raise ResultsError(f"corrupt cell file {path}: {exc}; move it away to recompute that cell") from exc


def read_cell_full(path: Path) -> tuple[dict[str, np.ndarray], dict | None, dict | None]:
    """A cell file in one read: (arrays, identity, provenance); the records are None for files written before
    cells carried them."""
    z = _load(path)
    records = tuple(json.loads(str(z.pop(k))) if k in z else None for k in (_IDENTITY, _PROVENANCE))
    return z, *records


def read_cell(path: Path) -> dict[str, np.ndarray]:
    """A cell's arrays (without its identity and provenance records)."""
    return read_cell_full(path)[0]


def read_cell_records(path: Path) -> tuple[dict | None, dict | None]:
    """(identity, provenance) stored in a cell file; None for files written before cells carried them."""
    return read_cell_full(path)[1:]


def check_cells(out: Path, spec: SweepSpec, cells: list) -> None:
    """Every file in ``out/cells`` must be one of this run's cells, readable, with a matching identity."""
    by_key = {cell_key(c): c for c in cells}
    for f in sorted((out / "cells").glob("*.npz")):
        cell = by_key.get(f.stem)
        if cell is None:
            raise ResultsError(f"{f} is not a cell of this run (no cell {f.stem!r} in {spec.diagram} "
                               f"{spec.scale}); move it away")
        identity, _ = read_cell_records(f)
        if identity is not None:  # None: written before cells carried an identity; the manifest vouches for it
            require_same(identity, cell_identity(spec, cell), f"{f} belongs to another cell or run",
                         "move it away to recompute that cell")


def scale_config(diagram: Diagram, scale: str, changes: tuple = ()):
    """The diagram's configuration at ``scale`` (a frozen dataclass) with ``changes`` applied."""
    if scale not in diagram.scales:
        raise ValueError(f"--scale {scale!r}: diagram {diagram.name!r} has no such scale; choose from "
                         f"{', '.join(sorted(diagram.scales))}")
    cfg = diagram.scales[scale]
    return dataclasses.replace(cfg, **dict(changes)) if changes else cfg


def params_of(cfg) -> dict:
    """A scale configuration as the plain data a manifest records."""
    return as_dict(cfg)


def config_from_params(diagram: Diagram, params: dict):
    """The typed configuration a manifest's ``params`` describe (the inverse of :func:`params_of`)."""
    return from_dict(type(next(iter(diagram.scales.values()))), params)


def _same_run(out: Path, spec: SweepSpec, params: dict, cells: list) -> dict:
    """The manifest of ``out``, checked to hold the run ``spec`` (and its cell files to be this run's cells)."""
    mpath = out / "manifest.json"
    try:
        manifest = json.loads(mpath.read_text())
        found = {k: manifest[k] for k in spec.identity(params)}
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise ResultsError(f"corrupt manifest {mpath}: {exc}") from exc
    require_same(found, spec.identity(params), f"{out} holds a different run")
    check_cells(out, spec, cells)
    return manifest


def prepare(out: Path, spec: SweepSpec, params: dict, cells: list, resume: bool = False) -> dict:
    """Create the folder or check that an existing one holds this same run (then it is finished or reused,
    with or without ``resume``).  Returns the manifest.  Call it holding :func:`folder_lock`."""
    identity = spec.identity(params)
    mpath = out / "manifest.json"
    if occupied(out):
        if not mpath.is_file():
            raise ResultsError(f"{out} is not a results folder of sim.phase_diagram (no manifest.json); "
                               f"refusing to write into it (choose another --out)")
        return _same_run(out, spec, params, cells)
    manifest = identity | {"title": None, "cells": [cell_key(c) for c in cells], "versions": provenance.versions(),
                           "git_commit": provenance.git_commit(), "machine": provenance.machine(spec.device),
                           "created": provenance.now()}
    atomic_write_bytes(mpath, json.dumps(manifest, indent=2, sort_keys=True).encode())
    return manifest


def available_cpus() -> int:
    """CPUs this process may run on (its affinity mask where the OS has one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def _load_average() -> float:
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):  # pragma: no cover - not Unix
        return 0.0


def worker_plan(requested: int, cells: int, cpus: int | None = None, load: float | None = None
                ) -> tuple[int, int, str | None]:
    """(worker processes, threads per worker, a note when the request was capped): at most one worker per
    CPU and per unfinished cell, and each worker's thread pool sized to the CPUs the other jobs leave free
    (CPUs minus the 1-minute load average, at least 1), split among the workers.  A thread pool larger than
    the free CPUs makes torch's threads wait for each other: on the 2-core machine with two busy jobs beside
    it, one process with 2 threads took 68-80 s for the default diagram and with 1 thread 20 s."""
    if requested < 1:
        raise ValueError(f"workers must be >= 1 (got {requested})")
    cpus = available_cpus() if cpus is None else cpus
    load = _load_average() if load is None else load
    workers = max(1, min(requested, cpus, max(cells, 1)))
    free = max(1, min(cpus, int(round(cpus - load))))
    note = None
    if workers < requested:
        why = [w for w, hit in ((f"{cpus} CPU(s) available", requested > cpus),
                                (f"{cells} cell(s) to run", requested > cells)) if hit]
        note = f"--workers {requested} capped to {workers} ({' and '.join(why)})"
    return workers, max(1, free // workers), note


_WATCHING = False


def _exit_with_parent(parent: int) -> None:
    """In a worker process: a daemon thread that ends the process when ``parent`` is gone (the main process
    killed, even by kill -9, which no signal handler sees), instead of computing on as an orphan."""
    global _WATCHING
    if _WATCHING or os.getpid() == parent:
        return
    _WATCHING = True

    def watch():
        while True:
            if os.getppid() != parent:
                os._exit(1)
            time.sleep(0.5)
    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def _execute(run_cell, cell, seed: int, device: str, threads: int | None,
             parent: int | None = None) -> tuple[str, dict, float]:
    """Run one cell (in this or a worker process); ``run_cell`` is a module-level function, so it pickles
    by reference and workers need no registry of their own.  ``threads``: the thread budget for torch and
    the BLAS/OpenMP pools; ``parent``: the main process, when this runs in a local worker."""
    import torch
    from threadpoolctl import threadpool_limits

    if parent is not None:
        _exit_with_parent(parent)
    limits = contextlib.nullcontext()
    if threads:
        torch.set_num_threads(threads)
        limits = threadpool_limits(threads)
    with limits:
        t0 = time.perf_counter()
        arrays = run_cell(cell, seed, device)
    return cell_key(cell), arrays, time.perf_counter() - t0


def run(spec: SweepSpec, out: Path | None = None, workers: int = 1, resume: bool = False,
        scheduler: str | None = None, progress: bool = True, root: Path = RESULTS_ROOT) -> Path:
    """Run (or finish) a diagram; returns the results folder (``out``, else :func:`default_out` under ``root``)."""
    diagram = get(spec.diagram)
    cfg = scale_config(diagram, spec.scale, spec.changes)
    params = params_of(cfg)
    if spec.device.startswith("cuda"):
        import torch
        if not torch.cuda.is_available():
            raise RuntimeError("--device cuda asked for, but torch sees no CUDA device here")
    elif spec.device != "cpu":
        raise ValueError(f"device must be 'cpu' or 'cuda' (got {spec.device!r})")
    if workers < 1:
        raise ValueError(f"workers must be >= 1 (got {workers})")
    cells = diagram.cells(cfg)
    keys = [cell_key(c) for c in cells]
    if len(set(keys)) != len(keys):
        raise ValueError(f"diagram {spec.diagram!r} has duplicate cell keys")
    out = Path(out) if out is not None else default_out(spec, root)
    if out.exists() and not out.is_dir():
        raise ResultsError(f"--out {out} is a file, not a folder")
    with folder_lock(out):
        return _run_locked(spec, diagram, params, cells, out, workers, resume, scheduler, progress)


@dataclass(frozen=True)
class Status:
    """A run's folder as it stands, read without a lock and without writing: the finished cells' summary rows
    and fit (as the finished run would compute them, over these cells only) and the keys still missing."""

    out: Path
    finished: list
    missing: list
    rows: list
    fits: dict
    seconds: dict


def status(spec: SweepSpec, out: Path | None = None, root: Path = RESULTS_ROOT) -> Status:
    """What the run ``spec`` has finished so far (a long run in progress, or one stopped on another machine):
    its folder must hold this same run; nothing is computed but the summary and fit of the finished cells."""
    diagram = get(spec.diagram)
    cfg = scale_config(diagram, spec.scale, spec.changes)
    params = params_of(cfg)
    cells = diagram.cells(cfg)
    out = Path(out) if out is not None else default_out(spec, root)
    if not (out / "manifest.json").is_file():
        raise ResultsError(f"{out} holds no run yet (no manifest.json): nothing to report")
    _same_run(out, spec, params, cells)
    finished, missing, seconds = [], [], {}
    for c in cells:
        path = out / "cells" / f"{cell_key(c)}.npz"
        if path.is_file():
            arrays, _, prov = read_cell_full(path)
            finished.append((c, arrays))
            if prov is not None:
                seconds[cell_key(c)] = prov["seconds"]
        else:
            missing.append(cell_key(c))
    rows = diagram.summarize(finished) if finished else []
    fits = diagram.fit(finished, rows) if finished and diagram.fit is not None else {}
    return Status(out, finished, missing, rows, fits, seconds)


def _say(msg: str) -> None:
    print(msg, file=sys.stderr)


def _run_locked(spec, diagram, params, cells, out, workers, resume, scheduler, progress) -> Path:
    manifest = prepare(out, spec, params, cells, resume)
    manifest["title"] = diagram.title
    manifest["figure"] = diagram.figure
    todo = [c for c in cells if not (out / "cells" / f"{cell_key(c)}.npz").exists()]
    if len(todo) < len(cells):
        _say(f"{out}: {len(cells) - len(todo)} of {len(cells)} cells of this run are already there; "
             + (f"computing the other {len(todo)}" if todo else "reusing them (nothing to compute)"))
    workers, threads, note = worker_plan(workers, len(todo))
    if note and todo and scheduler is None:
        _say(note)
    t_start = time.perf_counter()
    bar = None
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=len(cells), initial=len(cells) - len(todo), desc=spec.diagram, unit="cell")
    commit = provenance.git_commit()
    by_key = {cell_key(c): c for c in cells}
    for key, arrays, seconds in _results(spec, diagram.run_cell, todo, workers, threads, scheduler):
        # identity and provenance travel inside the cell file, so a kill loses no record of a finished cell
        write_cell(out / "cells" / f"{key}.npz", arrays, cell_identity(spec, by_key[key]),
                   {"git_commit": commit, "seconds": round(seconds, 3), "finished": provenance.now()})
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    # the commit each cell was computed at: a resumed run may run newer code than the one that created the
    # folder (``git_commit``); cells written before cells carried their records keep the manifest's entries
    timings = dict(manifest.get("cell_seconds", {}))
    commits = dict(manifest.get("cell_git_commit", {}))
    finished = []
    for c in cells:
        key = cell_key(c)
        arrays, _, prov = read_cell_full(out / "cells" / f"{key}.npz")
        if prov is not None:
            timings[key], commits[key] = prov["seconds"], prov["git_commit"]
        finished.append((c, arrays))
    rows = diagram.summarize(finished)
    write_summary(out / "summary.csv", rows)
    if diagram.fit is not None:  # numbers read across cells (fits, pooled counts): computed here, saved as data
        for name, data in diagram.fit(finished, rows).items():
            atomic_write_bytes(out / name, json.dumps(data, indent=2, default=_json_number).encode())
    manifest |= {"cell_seconds": timings, "cell_git_commit": commits, "finished": provenance.now(),
                 "last_run_seconds": round(time.perf_counter() - t_start, 2), "workers": workers,
                 "scheduler": scheduler}
    atomic_write_bytes(out / "manifest.json", json.dumps(manifest, indent=2, sort_keys=True).encode())
    return out


def _json_number(v):
    """numpy scalars and arrays in a fit's output, as JSON numbers and lists (nan stays NaN, as json writes it)."""
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, np.ndarray):
        return v.tolist()
    raise TypeError(f"fit output {v!r} is not JSON data")


def _results(spec: SweepSpec, run_cell, todo: list, workers: int, threads: int, scheduler: str | None):
    seeds = {cell_key(c): cell_seed(spec.seed, cell_key(c)) for c in todo}
    if not todo:
        return
    if scheduler:
        from dask.distributed import Client, as_completed

        try:
            client = Client(scheduler)
        except (OSError, TimeoutError) as exc:
            raise RuntimeError(f"--scheduler {scheduler}: cannot reach the Dask scheduler ({exc}); the results "
                               f"folder is kept, and the same command continues it") from None
        with client:
            futures = [client.submit(_execute, run_cell, c, seeds[cell_key(c)], spec.device, None, pure=False)
                       for c in todo]
            for fut in as_completed(futures):
                yield fut.result()
        return
    if workers == 1:
        for c in todo:
            yield _execute(run_cell, c, seeds[cell_key(c)], spec.device, threads)
        return
    from joblib import Parallel, delayed

    par = Parallel(n_jobs=workers, return_as="generator_unordered")
    yield from par(delayed(_execute)(run_cell, c, seeds[cell_key(c)], spec.device, threads, os.getpid())
                   for c in todo)


def write_summary(path: Path, rows: list[dict]) -> None:
    if not rows:
        return
    cols = list(rows[0])
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=cols)
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_bytes(path, buf.getvalue().encode())


def read_summary(path: Path) -> list[dict]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def load_results(results: Path) -> tuple[dict, list[tuple[dict, dict[str, np.ndarray]]]]:
    """A results folder as the figure scripts read it: its manifest and, in the manifest's cell order, every
    finished cell as plain data (from the cell file's own identity) with its arrays; cells still missing
    are left out.  Needs no registry: a folder is readable by itself.  Cell files written before cells
    carried their identity are matched to the registered diagram's cells instead."""
    results = Path(results)
    manifest = json.loads((results / "manifest.json").read_text())
    out, legacy = [], None
    for key in manifest["cells"]:
        path = results / "cells" / f"{key}.npz"
        if not path.is_file():
            continue
        arrays, identity, _ = read_cell_full(path)
        if identity is None:
            if legacy is None:
                from sim.core import registry

                diagram = registry.get(manifest["diagram"])
                legacy = {cell_key(c): cell_record(c) for c in diagram.cells(config_from_params(diagram, manifest["params"]))}
            out.append((legacy[key], arrays))
        else:
            out.append((identity["cell"], arrays))
    return manifest, out
