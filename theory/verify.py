"""``python -m theory.verify``: run every registered claim and print a table.

Exit status: 0 when every claim is ``verified`` or ``fails as printed`` (a finding about the paper,
with our corrected form verified); 1 when a check the project itself asserts is ``broken`` or
``error``.  ``--json FILE`` writes the same results as data, with the environment they came from.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import platform
import sys
import textwrap
import time

from theory.core.claims import FINDINGS, ClaimResult, load_all, run_claim
from theory.core.cli import Parser, fail, output_file


def _versions() -> dict:
    import mpmath
    import numpy
    import scipy
    import sympy

    return {"python": platform.python_version(), "numpy": numpy.__version__, "scipy": scipy.__version__,
            "sympy": sympy.__version__, "mpmath": mpmath.__version__}


def _status(r: ClaimResult) -> str:
    return f"{r.status.value} ({r.finding})" if r.finding else r.status.value


def _table(results: list[ClaimResult], verbose: bool) -> str:
    """One row per claim; a long paper reference wraps onto continuation lines at word boundaries."""
    rows = [("claim", "paper reference", "status", "time")]
    rows += [(r.id, r.ref, _status(r), f"{r.seconds:.2f}s") for r in results]
    ref_width = 42
    widths = [max(len(row[0]) for row in rows), min(max(len(row[1]) for row in rows), ref_width),
              max(len(row[2]) for row in rows), max(len(row[3]) for row in rows)]
    lines = []
    for k, row in enumerate(rows):
        ref_lines = textwrap.wrap(row[1], widths[1], break_long_words=False) or [""]
        lines.append("  ".join(cell.ljust(widths[i]) for i, cell in
                               enumerate((row[0], ref_lines[0], row[2], row[3]))).rstrip())
        for more in ref_lines[1:]:
            lines.append((" " * (widths[0] + 2) + more).rstrip())
        if k == 0:
            lines.append("  ".join("-" * w for w in widths))
    for r in results:
        if verbose or r.status.value not in ("verified", "verified (numeric)"):
            lines.append("")
            lines.append(f"{r.id} [{_status(r)}]: {r.statement}")
            lines.append(textwrap.indent(textwrap.fill(r.detail, 100), "    "))
            if r.corrected:
                lines.append(textwrap.indent(textwrap.fill("corrected: " + r.corrected, 100), "    "))
    return "\n".join(lines)


def main(argv: list[str] | None = None, registry: dict | None = None) -> int:
    """The command; ``registry`` (id -> :class:`~theory.core.claims.Claim`): the claims to run instead of every
    registered one (for a notebook or a test that checks its own claims)."""
    parser = Parser(prog="python -m theory.verify", description=__doc__,
                    formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", metavar="FILE", type=output_file, help="also write the results as JSON")
    parser.add_argument("--only", metavar="PATTERN", action="append", default=None,
                        help="run only claims whose id matches this glob (e.g. 'lrr.eq*'); repeat it for several")
    parser.add_argument("--list", action="store_true", help="list the registered claims and exit")
    parser.add_argument("-v", "--verbose", action="store_true", help="print the detail of every claim")
    args = parser.parse_args(argv)

    registry = load_all() if registry is None else registry
    patterns = args.only or ["*"]
    selected = [c for cid, c in registry.items() if any(fnmatch.fnmatch(cid, pat) for pat in patterns)]
    if not selected:
        parser.error(f"no claim id matches {' or '.join(map(repr, patterns))}; try --list")
    if args.list:
        for c in selected:
            print(f"{c.id:22s} {c.ref:40s} {c.statement}")
        return 0

    start = time.perf_counter()
    results = []
    for k, c in enumerate(selected):
        res = run_claim(c)
        results.append(res)
        if sys.stderr.isatty():  # live progress for a person watching; the table below is the record
            print(f"\r  {k + 1}/{len(selected)} {res.id:30s}", end="", file=sys.stderr, flush=True)
    if sys.stderr.isatty():
        print("\r" + " " * 50 + "\r", end="", file=sys.stderr, flush=True)
    total = time.perf_counter() - start

    print(_table(results, args.verbose))
    counts: dict[str, int] = {}
    for r in results:
        counts[_status(r)] = counts.get(_status(r), 0) + 1
    print(f"\n{len(results)} claims in {total:.1f}s: " + ", ".join(f"{v} {k}" for k, v in counts.items()))
    if any(r.finding for r in results):
        print("findings about the papers: " + "; ".join(f"{k}: {v}" for k, v in FINDINGS.items()))

    if args.json:
        try:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps({"claims": [r.as_dict() for r in results], "seconds": round(total, 2),
                                             "versions": _versions()}, indent=2))
        except OSError as exc:
            return fail(parser.prog, f"--json {args.json}: cannot write it ({exc.strerror or exc})")
        print(f"wrote {args.json}")
    problems = [r for r in results if r.status.is_problem]
    if problems:
        print("PROJECT CHECKS FAILED: " + ", ".join(r.id for r in problems), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
