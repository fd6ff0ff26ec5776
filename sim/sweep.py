"""Run a registered diagram over its grid: parallel, resumable, deterministic, with saved provenance.

Layout of a results folder::

    manifest.json        diagram, scale, its parameters, seed, device, cell keys, versions, git commit
    cells/<key>.npz      one file per finished cell, written atomically (temporary file + rename)
    summary.csv          one row per cell and method (rates, Wilson intervals, predictions)
    <figure>.png         written by the diagram's figure script from the saved data

* Determinism: each cell's seed is derived from (seed, cell key) by SHA-256, so results do not depend on
  the order or the parallelism in which cells run; same seed, same device: same numbers.
* Resume: ``resume=True`` accepts an existing folder only if its manifest has the same identity
  (diagram, scale, parameters, seed, device); a corrupt or foreign folder is an error and nothing in it
  is overwritten.  Finished cells are skipped; killing a run loses at most the cells in flight.
* Parallel: ``workers > 1`` runs cells in local processes (joblib/loky); ``scheduler='tcp://host:8786'``
  sends them to a Dask distributed cluster.  Either way the results come back to this process, which
  alone writes the folder (no shared file system is needed on the workers).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sim import provenance
from sim.registry import Diagram, get


class ResultsError(RuntimeError):
    """A results folder that cannot be used as asked (exists, corrupt, or from another run)."""


@dataclass(frozen=True)
class SweepSpec:
    diagram: str
    scale: str = "quick"
    seed: int = 0
    device: str = "cpu"

    def identity(self, params: dict) -> dict:
        return {"diagram": self.diagram, "scale": self.scale, "params": params, "seed": self.seed,
                "device": self.device}


def cell_seed(seed: int, key: str) -> int:
    digest = hashlib.sha256(f"{seed}:{key}".encode()).digest()
    return int.from_bytes(digest[:8], "little") % (2 ** 62)


def default_out(spec: SweepSpec) -> Path:
    return Path("results") / "sim" / f"{spec.diagram}-{spec.scale}-seed{spec.seed}"


def _atomic_write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_cell(path: Path, arrays: dict[str, np.ndarray]) -> None:
    buf = io.BytesIO()
    np.savez_compressed(buf, **{k: np.asarray(v) for k, v in arrays.items()})
    _atomic_write_bytes(path, buf.getvalue())


def read_cell(path: Path) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except Exception as exc:  # noqa: BLE001 - any unreadable file is reported the same way
        raise ResultsError(f"corrupt cell file {path}: {exc}; move it away to recompute that cell") from exc


def _scale_params(diagram: Diagram, scale: str) -> dict:
    if scale not in diagram.scales:
        raise ValueError(f"diagram {diagram.name!r} has no scale {scale!r}; choose from {sorted(diagram.scales)}")
    return diagram.scales[scale]


def prepare(out: Path, spec: SweepSpec, params: dict, cells: list[dict], resume: bool) -> dict:
    """Create the folder or check that an existing one may be resumed.  Returns the manifest."""
    identity = spec.identity(params)
    mpath = out / "manifest.json"
    if out.exists() and any(out.iterdir()):
        if not resume:
            raise ResultsError(f"{out} already holds results; pass --resume to finish or reuse them, "
                               f"or --out to write elsewhere (nothing was overwritten)")
        if not mpath.is_file():
            raise ResultsError(f"{out} is not a results folder of sim.phase_diagram (no manifest.json); "
                               f"refusing to write into it")
        try:
            manifest = json.loads(mpath.read_text())
            found = {k: manifest[k] for k in identity}
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise ResultsError(f"corrupt manifest {mpath}: {exc}") from exc
        if json.dumps(found, sort_keys=True) != json.dumps(identity, sort_keys=True):
            diff = [k for k in identity if json.dumps(found.get(k), sort_keys=True) != json.dumps(identity[k], sort_keys=True)]
            raise ResultsError(f"{out} holds a different run (differs in: {', '.join(diff)}); "
                               f"resume it with the same options or choose another --out")
        for f in sorted((out / "cells").glob("*.npz")):
            read_cell(f)
        return manifest
    manifest = identity | {"title": None, "cells": [c["key"] for c in cells], "versions": provenance.versions(),
                           "git_commit": provenance.git_commit(), "machine": provenance.machine(spec.device),
                           "created": provenance.now()}
    _atomic_write_bytes(mpath, json.dumps(manifest, indent=2, sort_keys=True).encode())
    return manifest


def _execute(run_cell, cell: dict, seed: int, device: str, threads: int | None) -> tuple[str, dict, float]:
    """Run one cell (in this or a worker process); ``run_cell`` is a module-level function, so it pickles
    by reference and workers need no registry of their own."""
    import torch

    if threads:
        torch.set_num_threads(threads)
    t0 = time.perf_counter()
    arrays = run_cell(cell, seed, device)
    return cell["key"], arrays, time.perf_counter() - t0


def run(spec: SweepSpec, out: Path | None = None, workers: int = 1, resume: bool = False,
        scheduler: str | None = None, progress: bool = True, plot: bool = True) -> Path:
    """Run (or finish) a diagram; returns the results folder."""
    diagram = get(spec.diagram)
    params = _scale_params(diagram, spec.scale)
    if spec.device.startswith("cuda"):
        import torch
        if not torch.cuda.is_available():
            raise RuntimeError("--device cuda asked for, but torch sees no CUDA device here")
    elif spec.device != "cpu":
        raise ValueError(f"device must be 'cpu' or 'cuda' (got {spec.device!r})")
    if workers < 1:
        raise ValueError(f"workers must be >= 1 (got {workers})")
    cells = diagram.cells(params)
    keys = [c["key"] for c in cells]
    if len(set(keys)) != len(keys):
        raise ValueError(f"diagram {spec.diagram!r} has duplicate cell keys")
    out = Path(out) if out is not None else default_out(spec)
    manifest = prepare(out, spec, params, cells, resume)
    manifest["title"] = diagram.title
    todo = [c for c in cells if not (out / "cells" / f"{c['key']}.npz").exists()]
    t_start = time.perf_counter()
    bar = None
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=len(cells), initial=len(cells) - len(todo), desc=spec.diagram, unit="cell")
    timings = dict(manifest.get("cell_seconds", {}))
    # the commit each cell was computed at: a resumed run may run newer code than the one that created the
    # folder (``git_commit``); cells of folders made before this record have no entry
    commits = dict(manifest.get("cell_git_commit", {}))
    commit = provenance.git_commit()
    for key, arrays, seconds in _results(spec, diagram.run_cell, todo, workers, scheduler):
        write_cell(out / "cells" / f"{key}.npz", arrays)
        timings[key] = round(seconds, 3)
        commits[key] = commit
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    finished = [(c, read_cell(out / "cells" / f"{c['key']}.npz")) for c in cells]
    rows = diagram.summarize(finished)
    write_summary(out / "summary.csv", rows)
    manifest |= {"cell_seconds": timings, "cell_git_commit": commits, "finished": provenance.now(),
                 "last_run_seconds": round(time.perf_counter() - t_start, 2), "workers": workers,
                 "scheduler": scheduler}
    _atomic_write_bytes(out / "manifest.json", json.dumps(manifest, indent=2, sort_keys=True).encode())
    if plot and diagram.plot is not None:
        diagram.plot(out)
    return out


def _results(spec: SweepSpec, run_cell, todo: list[dict], workers: int, scheduler: str | None):
    seeds = {c["key"]: cell_seed(spec.seed, c["key"]) for c in todo}
    if not todo:
        return
    if scheduler:
        from dask.distributed import Client, as_completed

        with Client(scheduler) as client:
            futures = [client.submit(_execute, run_cell, c, seeds[c["key"]], spec.device, None, pure=False)
                       for c in todo]
            for fut in as_completed(futures):
                yield fut.result()
        return
    if workers == 1:
        for c in todo:
            yield _execute(run_cell, c, seeds[c["key"]], spec.device, None)
        return
    from joblib import Parallel, delayed

    threads = max(1, (os.cpu_count() or 1) // workers)
    par = Parallel(n_jobs=workers, return_as="generator_unordered")
    yield from par(delayed(_execute)(run_cell, c, seeds[c["key"]], spec.device, threads) for c in todo)


def write_summary(path: Path, rows: list[dict]) -> None:
    if not rows:
        return
    cols = list(rows[0])
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=cols)
    writer.writeheader()
    writer.writerows(rows)
    _atomic_write_bytes(path, buf.getvalue().encode())


def read_summary(path: Path) -> list[dict]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def load_results(results: Path) -> tuple[dict, list[tuple[dict, dict[str, np.ndarray]]]]:
    """A results folder as the figure scripts read it: its manifest and, in the diagram's cell order, every
    finished cell's specification with its arrays (cells still missing are left out)."""
    from sim import registry

    results = Path(results)
    manifest = json.loads((results / "manifest.json").read_text())
    specs = registry.get(manifest["diagram"]).cells(manifest["params"])
    return manifest, [(c, read_cell(results / "cells" / f"{c['key']}.npz")) for c in specs
                      if (results / "cells" / f"{c['key']}.npz").is_file()]
