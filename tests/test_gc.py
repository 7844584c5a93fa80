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


class _Node:
    """A tracked object (instances of a Python class are)."""

    def __init__(self) -> None:
        self.other: object = None


def test_kept_objects_join_the_oldest_generation_uncollected() -> None:
    # Without kept=True, the first allocation after the block would start a young collection
    # walking everything the block allocated; kept, it goes straight to the oldest generation.
    was = gc.isenabled()
    try:
        gc.enable()
        with collector_paused(kept=True):
            made = [_Node() for _ in range(5000)]
            assert gc.get_count()[0] >= 5000
        assert gc.isenabled()
        assert gc.get_count()[0] < 100  # the young count starts again
        young = {id(o) for o in gc.get_objects(0)} | {id(o) for o in gc.get_objects(1)}
        assert not any(id(o) in young for o in made)
        oldest = {id(o) for o in gc.get_objects(2)}
        assert all(id(o) in oldest for o in made)
        assert gc.get_freeze_count() == 0
    finally:
        gc.enable() if was else gc.disable()


def test_a_cycle_made_in_a_kept_block_is_still_collected() -> None:
    import weakref

    was = gc.isenabled()
    try:
        gc.enable()
        with collector_paused(kept=True):
            a, b = _Node(), _Node()
            a.other, b.other = b, a
            gone = weakref.ref(a)
            del a, b
        assert gone() is not None  # only the collector frees a cycle
        gc.collect()
        assert gone() is None
    finally:
        gc.enable() if was else gc.disable()


@pytest.mark.parametrize("enabled", [True, False])
def test_kept_leaves_objects_the_program_froze_frozen(enabled: bool) -> None:
    was = gc.isenabled()
    gc.collect()
    try:
        gc.freeze()
        frozen = gc.get_freeze_count()
        assert frozen > 0
        gc.enable() if enabled else gc.disable()
        with collector_paused(kept=True):
            _ = [_Node() for _ in range(100)]
        assert gc.get_freeze_count() == frozen
        assert gc.isenabled() is enabled
    finally:
        gc.unfreeze()
        gc.enable() if was else gc.disable()


def test_kept_outside_a_disabled_collector_moves_nothing() -> None:
    # A caller that disabled the collector manages it itself: the generations stay as they are.
    was = gc.isenabled()
    try:
        gc.disable()
        before = gc.get_count()[0]
        with collector_paused(kept=True):
            made = [_Node() for _ in range(1000)]
        assert not gc.isenabled()
        assert gc.get_count()[0] >= before + 1000
        assert len(made) == 1000
    finally:
        gc.enable() if was else gc.disable()


@pytest.mark.parametrize("kept", [False, True])
def test_only_kept_spares_the_young_collection_after_the_block(kept: bool) -> None:
    # Definitions built under the collector's pause are not kept the way an import is: by
    # default the block's objects meet a young collection as soon as the collector resumes.
    was = gc.isenabled()
    started: list[int] = []

    def note(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started.append(info["generation"])

    try:
        gc.enable()
        gc.collect()
        try:
            with (collector_paused(kept=True) if kept else collector_paused()):
                made = [_Node() for _ in range(2000)]
                gc.callbacks.append(note)  # no collection runs while the collector is off
            more = [_Node() for _ in range(10)]  # allocations after the block
        finally:
            gc.callbacks.remove(note)
        assert len(made) + len(more) == 2010
        assert bool(started) is not kept
    finally:
        gc.enable() if was else gc.disable()
