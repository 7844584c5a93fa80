"""Write-sets: what every store refuses before writing, and how timers are replaced by owner.

The checks run in :meth:`Store.append` before any backend sees the write, so the in-memory
reference is enough here; ``test_store_contract.py`` holds what each backend must do itself.
"""

from __future__ import annotations

import datetime as dt
from types import MappingProxyType

import attrs
import pytest

from servicewf.errors import InvalidData, InvalidIdentifier, StaleVersion
from servicewf.storage import MemoryStore, Timer
from servicewf.storage.base import WriteSet

from .backends import T0, case, moved, open_case, opened, timer


def stored(store: MemoryStore, cid: str) -> tuple[object, ...]:
    return store.load(cid), store.history(cid), store.timers(cid)


@pytest.fixture
def store() -> MemoryStore:
    s = MemoryStore()
    open_case(s, "c1", timers=(timer("c1", "sla:a", T0), timer("c1", "obl:b", T0)))
    return s


def step(version: int = 2, state: str = "open") -> tuple[object, ...]:
    return case("c1", version=version, state=state), moved("c1", version, "new", state)


def test_a_write_set_replaces_only_the_timers_its_owners_hold(store: MemoryStore) -> None:
    c, e = step()
    write = WriteSet(c, (e,), 1, {"sla:": (timer("c1", "sla:z", T0.add(hours=1)),)})
    current = store.timers("c1")
    assert sorted(t.name for t in write.timers_after(current)) == ["obl:b", "sla:z"]
    assert write.owns("sla:a") and not write.owns("obl:b")
    untouched = WriteSet(c, (e,), 1)
    assert untouched.timers_after(current) == current
    store.append(write)
    assert sorted(t.name for t in store.timers("c1")) == sorted(
        t.name for t in write.timers_after(current))


def test_a_write_needs_events_that_continue_the_version(store: MemoryStore) -> None:
    before = stored(store, "c1")
    c2, e2 = step(2)
    c3, e3 = step(3, "later")
    bad = [
        WriteSet(case("c1", version=1), (), 1),  # nothing to append
        WriteSet(case("c1", version=1), (attrs.evolve(e2, seq=1),), 1),  # seq 1 again
        WriteSet(c3, (e2, attrs.evolve(e3, seq=4)), 1),  # a gap: 2, 4
        WriteSet(c3, (e2, attrs.evolve(e3, case_id="c9")), 1),  # another case's event
        WriteSet(c2, (e2, e3), 1),  # the snapshot does not match the events
    ]
    for write in bad:
        with pytest.raises(ValueError):
            store.append(write)
    assert stored(store, "c1") == before
    store.append(WriteSet(c3, (e2, e3), 1))  # two contiguous events are fine
    assert store.load("c1").version == 3


def test_timers_must_be_aware_owned_and_of_this_case(store: MemoryStore) -> None:
    before = stored(store, "c1")
    c, e = step()
    naive = Timer("c1", "sla:n", dt.datetime(2026, 3, 1, 10))  # type: ignore[arg-type]
    bad = [
        {"sla:": (naive,)},
        {"sla:": (timer("c1", "sla:x", T0),), "obl:": (naive,)},
        {"sla:": (timer("c1", "sla:x", T0),), "obl:": (timer("c1", "sla:y", T0),)},
        {"sla:": (timer("c1", "sla:x", T0),), "obl:": (timer("c2", "obl:y", T0),)},
        {"sla:": (timer("c1", "sla:x", T0),), "sla:x": (timer("c1", "sla:xy", T0),)},
        {"": (timer("c1", "any", T0),), "obl:": ()},
    ]
    for timers in bad:
        with pytest.raises(ValueError):
            store.append(WriteSet(c, (e,), 1, timers))
    with pytest.raises(ValueError, match="timer 'sla:n' has a naive due"):  # named, early
        store.append(WriteSet(c, (e,), 1, {"sla:": (naive,)}))
    assert stored(store, "c1") == before


@pytest.mark.parametrize("bad", ["c1\n", " c1", "", "x" * 201])
def test_a_hand_built_case_id_follows_the_identifier_rule(bad: str) -> None:
    s = MemoryStore()
    c = case(bad)
    with pytest.raises(InvalidIdentifier):
        s.create(c, [attrs.evolve(opened(), case_id=bad)])
    assert s.count() == 0


def test_hand_built_values_are_checked_before_they_are_stored(store: MemoryStore) -> None:
    before = stored(store, "c1")
    c, e = step()
    nan = MappingProxyType({"x": float("nan")})  # a proxy is trusted by the value types
    writes = [
        WriteSet(attrs.evolve(c, data=nan), (e,), 1),
        WriteSet(attrs.evolve(c, extensions=nan), (e,), 1),
        WriteSet(c, (attrs.evolve(e, data=nan),), 1),
        WriteSet(c, (e,), 1, {"sla:": (attrs.evolve(timer("c1", "sla:x", T0), payload=nan),)}),
    ]
    for write in writes:
        with pytest.raises(InvalidData, match="finite"):
            store.append(write)
    assert stored(store, "c1") == before


def test_the_older_append_form_never_creates(store: MemoryStore) -> None:
    before = stored(store, "c1")
    c, e = step(1)
    with pytest.raises(StaleVersion) as refused:
        store.append(case("c1", version=1), [attrs.evolve(e, seq=1)], expected_version=0)
    assert (refused.value.expected, refused.value.actual) == (0, 1)
    assert stored(store, "c1") == before
    c, e = step()
    store.append(c, [e], expected_version=1, timers=[timer("c1", "t", T0)])
    assert [t.name for t in store.timers("c1")] == ["t"]  # this form replaces every timer
