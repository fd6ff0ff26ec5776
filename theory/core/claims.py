"""The claim registry: each checkable statement of a paper is a small registered *claim*.

A claim has an id (``lrr.eq4``), the paper and the place in it (``Eq. (4), App. A.1``), a one-line
statement of what is checked, and a check function.  The check returns a :class:`Outcome`:

* ``verified``: the statement holds *as printed* (symbolically unless the outcome says ``numeric``);
* ``fails as printed``: the printed statement is wrong, and the check also derived and verified a
  corrected form (given in ``corrected``).  This is a *finding about the paper*, not a failure of
  the project;
* ``broken``: something the project itself asserts did not hold (e.g. a corrected form that does
  not verify).  ``python -m theory.verify`` exits non-zero on it, or on an exception (``error``).

Every claim that can fail as printed says, when it is registered, what such a finding means for the paper
(:data:`FINDINGS`): a ``typo`` whose intended form is plain from context, an ``error`` with consequences for
a stated result, or a ``gap`` in an argument.  A claim that fails as printed without that class is
reported ``broken``: every finding must be classed.
"""

from __future__ import annotations

import importlib
import time
import traceback
from dataclasses import dataclass, field
from enum import Enum
from typing import Callable


FINDINGS = {
    "typo": "a typo: the intended form is plain from context and nothing that depends on it changes",
    "error": "an error with consequences for a stated result",
    "gap": "a gap in an argument: a step that fails, on which the stated proof relies",
}


class Status(str, Enum):
    VERIFIED = "verified"
    VERIFIED_NUMERIC = "verified (numeric)"
    FAILS_AS_PRINTED = "fails as printed"
    BROKEN = "broken"
    ERROR = "error"

    @property
    def is_problem(self) -> bool:
        """True when the project itself (not the paper) is at fault."""
        return self in (Status.BROKEN, Status.ERROR)


MODULES = ("theory.lrr.claims", "theory.xudu.claims", "theory.zhang.claims")


@dataclass(frozen=True)
class Outcome:
    """What a check found.  ``detail`` says how; ``corrected`` is the verified repair, if any."""

    status: Status
    detail: str
    corrected: str = ""

    @staticmethod
    def from_checks(printed_ok: bool, corrected_ok: bool, detail: str, corrected: str = "",
                    numeric: bool = False) -> "Outcome":
        """The common case: a printed statement and (when it fails) our corrected one."""
        if printed_ok:
            return Outcome(Status.VERIFIED_NUMERIC if numeric else Status.VERIFIED, detail)
        if corrected_ok:
            return Outcome(Status.FAILS_AS_PRINTED, detail, corrected)
        return Outcome(Status.BROKEN, detail + " | the corrected form did NOT verify", corrected)

    @staticmethod
    def require(ok: bool, detail: str, numeric: bool = False) -> "Outcome":
        """A statement the project asserts (a derivation, a proof step): verified or broken."""
        if ok:
            return Outcome(Status.VERIFIED_NUMERIC if numeric else Status.VERIFIED, detail)
        return Outcome(Status.BROKEN, detail)


@dataclass(frozen=True)
class Claim:
    id: str
    paper: str
    ref: str
    statement: str
    check: Callable[[], Outcome] = field(repr=False)
    finding: str = ""  # what a 'fails as printed' outcome means for the paper (a key of FINDINGS)


@dataclass(frozen=True)
class ClaimResult:
    id: str
    paper: str
    ref: str
    statement: str
    status: Status
    detail: str
    corrected: str
    seconds: float
    finding: str = ""

    def as_dict(self) -> dict:
        return {"id": self.id, "paper": self.paper, "ref": self.ref, "statement": self.statement,
                "status": self.status.value, "finding": self.finding, "detail": self.detail,
                "corrected": self.corrected, "seconds": round(self.seconds, 4)}


_REGISTRY: dict[str, Claim] = {}


def claim(id: str, paper: str, ref: str, statement: str, finding: str = ""):
    """Decorator registering ``check`` (a function of no arguments returning :class:`Outcome`); ``finding``
    classes what a 'fails as printed' outcome means (a key of :data:`FINDINGS`)."""
    if finding and finding not in FINDINGS:
        raise ValueError(f"finding must be one of {sorted(FINDINGS)} (got {finding!r})")

    def register(check: Callable[[], Outcome]) -> Callable[[], Outcome]:
        if id in _REGISTRY:
            raise ValueError(f"claim id {id!r} is registered twice")
        _REGISTRY[id] = Claim(id, paper, ref, statement, check, finding)
        return check

    return register


def load_all() -> dict[str, Claim]:
    """Import every paper's claims module (:data:`MODULES`; each registers on import) and return the
    registry, in import order.  By name, so this registry does not depend on the papers' modules."""
    for module in MODULES:
        importlib.import_module(module)
    return dict(_REGISTRY)


def run_claim(c: Claim) -> ClaimResult:
    start = time.perf_counter()
    try:
        out = c.check()
        if not isinstance(out, Outcome):
            raise TypeError(f"check of {c.id} returned {type(out).__name__}, not Outcome")
    except Exception as exc:  # a crash in a check is the project's fault: report it, keep going
        tb = traceback.format_exception_only(type(exc), exc)[-1].strip()
        out = Outcome(Status.ERROR, tb)
    finding = ""
    if out.status is Status.FAILS_AS_PRINTED:
        if not c.finding:
            out = Outcome(Status.BROKEN, out.detail + " | fails as printed, but the claim does not class the finding "
                          "(typo, error or gap)", out.corrected)
        else:
            finding = c.finding
    return ClaimResult(c.id, c.paper, c.ref, c.statement, out.status, out.detail, out.corrected,
                       time.perf_counter() - start, finding)
