"""The layout's promises, checked on the source: dependencies point one way (theory <- sim <- figures;
deep uses only the shared parts of sim and theory), and no module imports itself through a cycle."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("theory", "sim", "figures", "deep")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> set[str]:
    """Every project module imported anywhere in the file (module level or inside functions)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    pkg = _module_name(path).rsplit(".", 1)[0] if path.name != "__init__.py" else _module_name(path)
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(pkg.split(".")[: len(pkg.split(".")) - node.level + 1] + ([base] if base else []))
            found.add(base)
            found |= {f"{base}.{a.name}" for a in node.names}  # "from sim.core import sweep" imports a module
    return {m for m in found if m.split(".")[0] in PACKAGES}


def _graph() -> dict[str, set[str]]:
    files = [f for pkg in PACKAGES for f in (ROOT / pkg).rglob("*.py")]
    names = {_module_name(f): f for f in files}
    graph = {}
    for name, f in names.items():
        deps = set()
        for m in _imports(f):
            while m and m not in names:  # "from sim.core.sweep import run" -> the module sim.core.sweep
                m = m.rpartition(".")[0]
            if m and m != name and not name.startswith(m + ".") and m not in ("sim", "theory", "figures", "deep"):
                deps.add(m)
        graph[name] = deps
    return graph


def test_graph_sees_the_project():
    g = _graph()
    assert "sim.core.sweep" in g["sim.phase_diagram"] and "sim.zhang.agd" in g
    assert any(d.startswith("theory.") for d in g["sim.lrr.neuron"])


@pytest.mark.parametrize("layer, forbidden", [("theory", ("sim", "figures", "deep")), ("sim", ("figures", "deep")),
                                              ("deep", ("figures",))])
def test_dependencies_point_one_way(layer, forbidden):
    bad = [(m, d) for m, deps in _graph().items() if m.split(".")[0] == layer for d in deps
           if d.split(".")[0] in forbidden]
    assert not bad, f"{layer} must not import {forbidden}: {bad}"


def test_deep_uses_only_the_shared_parts():
    bad = [(m, d) for m, deps in _graph().items() if m.startswith("deep") for d in deps
           if d.split(".")[0] in ("sim", "theory") and d.split(".")[1] != "core"]
    assert not bad, f"deep may use sim.core and theory.core only: {bad}"


def test_no_import_cycles():
    g = _graph()
    state, stack, cycles = {}, [], []

    def visit(n):
        state[n] = 1
        stack.append(n)
        for d in sorted(g.get(n, ())):
            if state.get(d) == 1:
                cycles.append(stack[stack.index(d):] + [d])
            elif d in g and not state.get(d):
                visit(d)
        stack.pop()
        state[n] = 2

    for n in sorted(g):
        if not state.get(n):
            visit(n)
    assert not cycles, f"import cycles: {cycles}"


def test_each_paper_has_one_slug_in_both_layers():
    for slug in ("lrr", "zhang", "xudu"):
        assert (ROOT / "theory" / slug / "claims.py").is_file()
        assert (ROOT / "sim" / slug / "diagrams.py").is_file()
