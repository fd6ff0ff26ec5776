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
    """A function registering ``test-tiny-<name>`` for the test: a registered diagram's cells, runner, summary,
    fit and figure with its quick scale changed by ``changes`` (field -> value; or a whole scale) at both scales; removed from
    the registry after the test.  Returns the new name."""
    import contextlib
    import dataclasses

    from sim.core import registry

    with contextlib.ExitStack() as stack:
        def make(name: str, changes: dict) -> str:
            base = registry.get(name)
            quick = base.scales["quick"]
            if dataclasses.is_dataclass(changes):  # a whole scale
                scale = changes
            elif isinstance(quick, dict):
                scale = quick | changes
            else:
                scale = dataclasses.replace(quick, **changes)
            tiny = f"test-tiny-{name}"
            if tiny not in registry.load_all():
                stack.enter_context(registry.registered(dataclasses.replace(
                    base, name=tiny, title="tiny", paper="test", scales={"quick": scale, "paper": scale})))
            return tiny
        yield make
