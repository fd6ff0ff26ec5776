"""Command-line conventions shared by every entry point of the toolkit (theory.verify, sim.phase_diagram,
sim.bench, ...): a user error ends with **one line** on stderr that names the option or file, and exit code
2, never a traceback.  The argument types below check values where argparse reads them."""

from __future__ import annotations

import argparse
import math
import os
import sys
from pathlib import Path


class Parser(argparse.ArgumentParser):
    """argparse with the one-line error: ``PROG: error: MESSAGE`` and exit code 2 (no usage dump)."""

    def error(self, message):  # noqa: D401 - argparse's hook
        sys.stderr.write(f"{self.prog}: error: {message} (see --help)\n")
        raise SystemExit(2)


def fail(prog: str, message: str) -> int:
    """Print a user error in the convention and return the exit code 2 (for errors found after parsing)."""
    sys.stderr.write(f"{prog}: error: {message}\n")
    return 2


def whole_number(minimum: int):
    """An argparse type: a whole number >= ``minimum``."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be >= {minimum} (got {value})")
        return value
    return parse


def real_number(low: float = -math.inf, high: float = math.inf, low_open: bool = False):
    """An argparse type: a finite number in [low, high] (or (low, high] with ``low_open``)."""
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        below = value <= low if low_open else value < low
        if not math.isfinite(value) or below or value > high:
            bounds = f"{'>' if low_open else '>='} {low:g}" if math.isinf(high) else \
                f"in {'(' if low_open else '['}{low:g}, {high:g}]"
            raise argparse.ArgumentTypeError(f"must be finite and {bounds} (got {text})")
        return value
    return parse


positive_int = whole_number(1)
nonnegative_int = whole_number(0)
positive_float = real_number(0.0, low_open=True)
fraction = real_number(0.0, 1.0)


def output_file(text: str) -> Path:
    """A file to be written: not a folder, in a folder that exists and is writable (or can be created)."""
    path = Path(text)
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{path} is a folder; give a file name")
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise argparse.ArgumentTypeError(f"{parent} is not a folder, so {path} cannot be written")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise argparse.ArgumentTypeError(f"{parent} is not writable, so {path} cannot be written")
    return path


def output_folder(text: str) -> Path:
    """A results folder: not a file, under a writable existing ancestor."""
    path = Path(text)
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(f"{path} is a file, not a folder")
    probe = path
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not probe.is_dir() or not os.access(probe, os.W_OK | os.X_OK):
        raise argparse.ArgumentTypeError(f"{probe} is not a writable folder, so {path} cannot be written")
    return path
