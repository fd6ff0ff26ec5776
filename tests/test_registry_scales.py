"""Every registered diagram, at every scale: a typed, frozen configuration that survives the manifest round
trip, cells with distinct keys and plain-data records, and a figure name the catalog can draw."""

import json

import pytest

from figures.catalog import CATALOG
from sim.core import registry
from sim.core.config import as_dict, from_dict, options
from sim.core.sweep import cell_record, config_from_params

DIAGRAMS = sorted(registry.load_all())


@pytest.mark.parametrize("name", DIAGRAMS)
def test_scales_cells_and_figure(name):
    dg = registry.get(name)
    for scale, cfg in dg.scales.items():
        data = json.loads(json.dumps(as_dict(cfg)))  # what manifest.json holds
        assert from_dict(type(cfg), data) == cfg == config_from_params(dg, data), (name, scale)
        cells = dg.cells(cfg)
        keys = [c.key for c in cells]
        assert cells and len(set(keys)) == len(keys), (name, scale)
        records = [json.loads(json.dumps(cell_record(c))) for c in cells]
        assert [r["key"] for r in records] == keys
    assert dg.figure is None or dg.figure in CATALOG, f"{name}: figure {dg.figure!r} not in figures.catalog"


@pytest.mark.parametrize("name", DIAGRAMS)
def test_every_scale_field_is_an_option_with_help(name):
    """The command line offers every field of the scale (tuples, numbers, strings, flags), each explained."""
    cfg = registry.get(name).scales["quick"]
    offered = {f.name for f, _ in options(type(cfg))}
    assert offered, name
    for f, _ in options(type(cfg)):
        assert f.metadata.get("help"), f"{name}: field {f.name} has no help text"


def test_a_bad_registration_is_refused():
    from sim.core.registry import Diagram

    with pytest.raises(TypeError, match="frozen dataclass"):
        registry.register(Diagram(name="test-untyped", title="t", paper="t", scales={"quick": {}, "paper": {}},
                                  cells=list, run_cell=dict, summarize=list))
    assert "test-untyped" not in registry.load_all()
