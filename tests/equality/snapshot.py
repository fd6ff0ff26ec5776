"""Equality check for a refactor: everything the quick scales compute must stay the same.

    python tests/equality/snapshot.py save DIR      # every registered diagram at quick scale, seed 0, one
                                                    # worker, one thread; plus theory.verify --json
    python tests/equality/snapshot.py compare A B   # exit 1 when a value changed or disappeared; values that
                                                    # are new (outputs that did not exist in A) are listed

What is compared: every cell's arrays (bitwise: SHA-256 of each array's dtype, shape and bytes), every
``summary.csv`` and every other ``.json`` a run writes next to it (``fits.json`` ...) except its manifest,
and the claims of ``theory.verify --json`` (id, verdict, detail; not timings or the environment).  Run it
before and after a change that should not change any number.  It is a script, not a test: a full ``save``
runs every diagram's quick scale (about 30-60 min on two cores).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")
os.environ.setdefault("MPLBACKEND", "Agg")

SKIP_JSON = {"manifest.json"}
# claim ids renamed on purpose when each paper got one slug (zh.* -> zhang.*, xd.* -> xudu.*)
RENAMED_IDS = (("zh.", "zhang."), ("xd.", "xudu."))
VOLATILE = {"seconds", "elapsed", "time", "wall_s", "environment", "env", "versions", "git_commit", "finished",
            "started", "python", "platform", "host", "when", "created"}


def _modules():
    try:  # the by-paper layout
        from sim.core import registry, sweep
    except ImportError:  # the flat layout it replaced
        from sim import registry, sweep
    return registry, sweep


def _strip(obj):
    if isinstance(obj, dict):
        return {k: _strip(v) for k, v in obj.items() if k not in VOLATILE}
    if isinstance(obj, list):
        return [_strip(v) for v in obj]
    return obj


def _array_digests(cells: Path) -> dict:
    import numpy as np

    out = {}
    for f in sorted(cells.glob("*.npz")):
        with np.load(f, allow_pickle=False) as z:
            for k in sorted(z.files):
                if k.startswith("__") or k.endswith("seconds"):  # records and wall times are not results
                    continue
                a = np.ascontiguousarray(z[k])
                h = hashlib.sha256(f"{a.dtype.str}{a.shape}".encode() + a.tobytes()).hexdigest()[:20]
                out[f"{f.stem}/{k}"] = h
    return out


def save(root: Path, only: list[str]) -> int:
    import torch

    torch.set_num_threads(1)
    registry, sweep = _modules()
    names = sorted(registry.load_all())
    if only:
        names = [n for n in names if n in only]
    root.mkdir(parents=True, exist_ok=True)
    for name in names:
        dest = root / "runs" / name
        if (root / "digest" / f"{name}.json").exists():
            print(f"{name}: already saved", flush=True)
            continue
        print(f"{name}: running quick scale", flush=True)
        sweep.run(sweep.SweepSpec(name, "quick", 0, "cpu"), out=dest, workers=1, progress=False)
        _figures_and_fits(name, dest)
        record = {"arrays": _array_digests(dest / "cells"), "files": {}}
        for f in sorted(dest.iterdir()):
            if f.suffix == ".csv":
                record["files"][f.name] = f.read_text()
            elif f.suffix == ".json" and f.name not in SKIP_JSON:
                record["files"][f.name] = _strip(json.loads(f.read_text()))
        (root / "digest").mkdir(exist_ok=True)
        (root / "digest" / f"{name}.json").write_text(json.dumps(record, indent=1, sort_keys=True))
    if not only or "verify" in only:
        tmp = root / "verify-raw.json"
        subprocess.run([sys.executable, "-m", "theory.verify", "--json", str(tmp)], check=False,
                       stdout=subprocess.DEVNULL)
        data = json.loads(tmp.read_text())
        claims = data.get("claims", data) if isinstance(data, dict) else data
        (root / "digest" / "verify.json").write_text(json.dumps(_strip(claims), indent=1, sort_keys=True))
    return 0


def _figures_and_fits(name: str, dest: Path) -> None:
    """In the by-paper layout the sweep writes fits itself; in the flat layout they came from the plot hook
    (which :func:`sweep.run` called), so there is nothing more to do in either case."""


def _flat(obj, prefix=""):
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _flat(v, f"{prefix}/{k}")
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _flat(v, f"{prefix}[{i}]")
    else:
        yield prefix, obj


def _renamed(text: str) -> str:
    for old, new in RENAMED_IDS:
        text = text.replace(f'"{old}', f'"{new}')
    return text


def _csv_without_times(text: str) -> str:
    """A summary.csv without its wall-time columns (named ``seconds``: how long a cell took, not a result)."""
    import csv
    import io

    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        return text
    keep = [i for i, c in enumerate(rows[0]) if c != "seconds"]
    return "\n".join(",".join(r[i] for i in keep if i < len(r)) for r in rows)


def _same(u, v) -> bool:
    return u == v or (isinstance(u, float) and isinstance(v, float) and u != u and v != v)  # nan == nan here


def compare(a: Path, b: Path) -> int:
    bad = 0
    fa, fb = sorted((a / "digest").glob("*.json")), sorted((b / "digest").glob("*.json"))
    na, nb = {f.name for f in fa}, {f.name for f in fb}
    for missing in sorted(na ^ nb):
        print(f"only in {'A' if missing in na else 'B'}: {missing}")
        bad += 1
    for name in sorted(na & nb):
        x, y = (json.loads(_renamed((d / "digest" / name).read_text())) for d in (a, b))
        dx, dy = ({k: (_csv_without_times(v) if k.endswith(".csv") else v) for k, v in _flat(z)
                   if not (k.startswith("/arrays/") and k.endswith("seconds"))} for z in (x, y))
        changed = [k for k in sorted(set(dx) & set(dy)) if not _same(dx[k], dy[k])]
        removed = sorted(set(dx) - set(dy))
        added = sorted(set(dy) - set(dx))
        if changed or removed:
            bad += 1
            print(f"{name}: {len(changed)} changed, {len(removed)} removed")
            for k in (changed + removed)[:8]:
                print(f"   {k}: {str(dx.get(k, '<absent>'))[:120]!r} != {str(dy.get(k, '<absent>'))[:120]!r}")
        else:
            print(f"{name}: identical")
        if added:
            files = sorted({k.split("/")[2] if k.startswith("/files/") else k.split("/")[1] for k in added})
            print(f"   + {len(added)} new values (outputs that did not exist before: {', '.join(files)})")
    print("EQUAL" if not bad else f"{bad} files differ")
    return 1 if bad else 0


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) >= 2 and argv[0] == "save":
        return save(Path(argv[1]), argv[2:])
    if len(argv) == 3 and argv[0] == "compare":
        return compare(Path(argv[1]), Path(argv[2]))
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
