"""The cross-check tier (``make crosscheck``): each test pairs one verdict of paper_repro.md with a second
computation that does not share the code path that decides it, at reduced size, and fails when the two
disagree beyond the tolerance stated in its docstring.  Every test here is marked ``crosscheck``."""

import pytest


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/crosscheck/" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.crosscheck)
