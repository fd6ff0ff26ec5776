import pytest
import torch
from hypothesis import HealthCheck, settings

settings.register_profile("default", deadline=None, max_examples=25, derandomize=True, database=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("default")


@pytest.fixture
def one_thread():
    """torch on one thread for the test (heavy tests that run beside other jobs)."""
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


@pytest.fixture
def tiny_diagram():
    """A function registering ``test-tiny-<name>``: a registered diagram's cells, runner, summary and plot
    with small parameters at both scales (the real registration is left as it is).  Returns the new name."""
    from sim.core import registry
    from sim.core.registry import Diagram, register

    def make(name: str, params: dict) -> str:
        base = registry.get(name)
        tiny = f"test-tiny-{name}"
        if tiny not in registry.load_all():
            register(Diagram(name=tiny, title="tiny", paper="test", scales={"quick": params, "paper": params},
                             cells=base.cells, run_cell=base.run_cell, summarize=base.summarize, plot=base.plot,
                             columns=base.columns))
        return tiny
    return make
