"""Results folders, the contract shared by ``sim/`` sweeps and ``deep/`` runs: atomic writes with ordinary
permissions, one run per folder (an OS lock), and the identity check that keeps two runs from mixing.

* :func:`atomic_write_bytes`: temporary file in the same folder, fsync, rename: a reader sees the old file or
  the new one, never half of one; the file gets the permissions of any file the user writes (umask), not
  mkstemp's 0600.
* :func:`folder_lock`: ``<out>/.lock`` held with an OS file lock (``filelock``) for the run's lifetime; a
  second holder is refused at once; the kernel releases it when the process ends, however it ends, so a
  killed run never blocks the next one.
* :func:`check_identity`: an existing folder is reused only by the same run (its manifest's identity equals
  the run's); anything else is a :class:`ResultsError` naming the fields that differ.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path

LOCK_NAME = ".lock"


class ResultsError(RuntimeError):
    """A results folder that cannot be used as asked (in use, corrupt, or holding another run)."""


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_bytes(path: Path, data: bytes) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; results are ordinary files
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def atomic_write_json(path: Path, obj, **kw) -> None:
    atomic_write_bytes(path, json.dumps(obj, **({"indent": 2} | kw)).encode())


@contextlib.contextmanager
def folder_lock(out: Path, what: str = "--out"):
    """Hold ``out/.lock`` for the block; a second holder is refused at once with a :class:`ResultsError`."""
    from filelock import FileLock, Timeout

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(out / LOCK_NAME), timeout=0)
    try:
        lock.acquire()
    except Timeout:
        raise ResultsError(f"{out} is in use by another run (lock {out / LOCK_NAME} is held); wait for it to "
                           f"finish or choose another {what}") from None
    try:
        yield
    finally:
        lock.release()


def occupied(out: Path) -> bool:
    """True when ``out`` holds anything besides its lock file."""
    out = Path(out)
    return out.exists() and any(p.name != LOCK_NAME for p in out.iterdir())


def canon(obj) -> str:
    """A canonical JSON text, for comparing identities (keys sorted; tuples as lists)."""
    return json.dumps(obj, sort_keys=True, default=str)


def differing(found: dict, want: dict) -> list[str]:
    """The keys of ``want`` whose value in ``found`` is not the same (canonically)."""
    return [k for k in want if canon(found.get(k)) != canon(want[k])]


ANOTHER_RUN = "nothing was overwritten: run it with the same options or choose another --out"


def require_same(found: dict, want: dict, what: str, remedy: str = ANOTHER_RUN) -> None:
    """The identity check of the contract: a :class:`ResultsError` "WHAT (differs in: FIELDS); REMEDY" unless
    ``found`` and ``want`` are canonically equal."""
    if canon(found) != canon(want):
        raise ResultsError(f"{what} (differs in: {', '.join(differing(found, want))}); {remedy}")
