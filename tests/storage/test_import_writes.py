"""Import-sized writes: one timer owner's group is checked as before; the memory
store writes a new case whose timer groups are all empty without replacing anything,
leaving the store as replacing nothing did (timers, index, stale count, compaction)."""

from __future__ import annotations

import heapq
from typing import Any

import pendulum
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from servicewf.case import Case
from servicewf.events import Event, EventKind
from servicewf.storage import MemoryStore, Timer
from servicewf.storage import memory as memory_module
from servicewf.storage.base import WriteSet

T = pendulum.datetime(2026, 3, 2, 9, tz="UTC")


class _Replacing(MemoryStore):
    """The memory store replacing every write's timer groups (as before the shortcut)."""

    def _apply(self, write: WriteSet) -> None:
        owned = write.timers
        dues = self._dues(write.case.id, [t for g in owned.values() for t in g]) \
            if owned else []
        with self._lock:
            cases = self._cases
            cid = write.case.id
            if write.expected_version == 0 and cid in cases:
                from servicewf.errors import CaseAlreadyExists
                raise CaseAlreadyExists.for_id(cid)
            events = write.events
            if write.expected_version == 0:
                self._events[cid] = list(events)
            else:
                self._events[cid].extend(events)
            cases[cid] = write.case
            self._log.extend(events)
            if owned:
                self._replace_owned(cid, owned, dues)


def _state(store: MemoryStore) -> Any:
    return (store._timers, {c: {n: e[:4] for n, e in d.items()} for c, d in
                            store._entries.items()},
            sorted(e[:4] for e in store._heap), store._stale, store._cases, store._log)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(0, 5), st.sampled_from(["", "sla:", "obl:"]),
                          st.integers(0, 2), st.integers(0, 3)), min_size=1, max_size=40))
def test_a_new_case_of_empty_timer_groups_leaves_the_store_as_replacing_nothing(writes):
    fast, slow = MemoryStore(), _Replacing()
    version: dict[str, int] = {}
    for n, (case_no, owner, timers, due) in enumerate(writes):
        cid = f"c{case_no}"
        seq = version.get(cid, 0) + 1
        case = Case(cid, "p", 1, "s", seq, T, T)
        event = Event(cid, seq, T, EventKind.OPENED if seq == 1 else EventKind.NOTE, "a",
                      "r", None, None if seq == 1 else "s", "s", {})
        group = tuple(Timer(cid, f"{owner}t{k}", T.add(minutes=due + k + n % 2), "p")
                      for k in range(timers))
        write = WriteSet(case, (event,), seq - 1, {owner: group} if owner or group else {})
        for store in (fast, slow):
            store.append(write)
        version[cid] = seq
        assert _state(fast) == _state(slow)
        assert fast.due_timers(T.add(days=1)) == slow.due_timers(T.add(days=1))


def test_a_new_case_of_empty_timer_groups_compacts_the_index_when_due(monkeypatch):
    store = MemoryStore()
    for k in range(4):  # a case's timers replaced again and again: stale entries
        store.append(WriteSet(Case("a", "p", 1, "s", k + 1, T, T), (Event(
            "a", k + 1, T, EventKind.OPENED if k == 0 else EventKind.NOTE, "x", "r", None,
            None if k == 0 else "s", "s", {}),), k, {"sla:": (
                Timer("a", "sla:t", T.add(minutes=k), "p"),)}))
    assert store._stale == 3 and len(store._heap) == 4
    # (A lower threshold: the next write is the first to see it, as a replacing one would.)
    monkeypatch.setattr(memory_module, "_COMPACT_MIN", 2)
    store.append(WriteSet(Case("b", "p", 1, "s", 1, T, T), (Event(
        "b", 1, T, EventKind.OPENED, "x", "r", None, None, "s", {}),), 0, {"sla:": ()}))
    assert store._stale == 0 and len(store._heap) == 1
    assert heapq.nsmallest(1, store._heap)[0][1] == "a"
    with pytest.raises(Exception, match="already"):
        store.append(WriteSet(Case("b", "p", 1, "s", 1, T, T), (Event(
            "b", 1, T, EventKind.OPENED, "x", "r", None, None, "s", {}),), 0, {"sla:": ()}))


@pytest.mark.parametrize(("timers", "refusal"), [
    ({"sla:": ()}, None),
    ({"": ()}, None),
    ({"sla:": (Timer("c1", "sla:a", T), Timer("c1", "sla:b", T))}, None),
    ({"sla:": (Timer("c1", "obl:a", T),)}, "does not start with"),
    ({"sla:": (Timer("c2", "sla:a", T),)}, "timer of case"),
    ({"sla:": (Timer("c1", "sla:a", T), Timer("c1", "sla:a", T))}, "unique"),
    ({"sla:": (Timer("c1", "sla:a", T.naive()),)}, "naive"),
    ({"sla:": (), "sla:x": ()}, "overlap"),
    ({"sla:": (Timer("c1", "sla:a", T),), "obl:": (Timer("c1", "sla:a", T),)},
     "does not start with"),
])
def test_timer_groups_are_checked_as_before(timers, refusal):
    from servicewf.storage.base import check_write

    case = Case("c1", "p", 1, "s", 1, T, T)
    event = Event("c1", 1, T, EventKind.OPENED, "a", "r", None, None, "s", {})
    write = WriteSet(case, (event,), 0, timers)
    if refusal is None:
        check_write(write)
    else:
        with pytest.raises(ValueError, match=refusal):
            check_write(write)
