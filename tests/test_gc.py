"""servicewf._gc.collector_paused: the collector is off inside and restored as it was."""

from __future__ import annotations

import gc

import pytest

from servicewf._gc import collector_paused


@pytest.mark.parametrize("enabled", [True, False])
def test_collector_state_is_restored(enabled: bool) -> None:
    was = gc.isenabled()
    try:
        gc.enable() if enabled else gc.disable()
        with collector_paused():
            assert not gc.isenabled()
        assert gc.isenabled() is enabled
        with pytest.raises(KeyError), collector_paused():
            raise KeyError("x")
        assert gc.isenabled() is enabled
    finally:
        gc.enable() if was else gc.disable()


def test_available_leaves_the_collector_on() -> None:
    import pendulum

    from servicewf import Actor, DefinitionBuilder, Engine, FrozenClock, MemoryStore

    b = DefinitionBuilder("p")
    b.add_state("a", initial=True)
    b.add_state("z", final=True)
    b.add_transition("go", "a", "z")
    engine = Engine(MemoryStore(), FrozenClock(pendulum.datetime(2026, 1, 1, tz="UTC")),
                    [b.build()])
    case = engine.open("p", actor=Actor("u", "agent"))
    assert [o.trigger for o in engine.available(case, Actor("u", "agent"))] == ["go"]
    assert gc.isenabled()
