"""Store.append_all: every write-set checked as append checks it; on the SQL stores one
transaction (all or nothing); the bulk path and the ordinary path write the same."""

from __future__ import annotations

import pendulum
import pytest

from servicewf.case import Case
from servicewf.errors import CaseAlreadyExists, InvalidData, StaleVersion
from servicewf.events import Event, EventKind
from servicewf.storage import MemoryStore, Timer, WriteSet

from ..contract.backends import BACKENDS, make_store

T = pendulum.datetime(2026, 3, 2, 9, tz="UTC")
SHARED = {"impact": "High", "n": 1}


def creation(cid: str, *, data=SHARED) -> WriteSet:
    events = (Event(cid, 1, T, EventKind.OPENED, "a", "agent", None, None, "new", data),
              Event(cid, 2, T.add(minutes=1), EventKind.TRANSITION, "a", "agent", "go", "new",
                    "done", data))
    case = Case(cid, "ticket", 1, "done", 2, T, T.add(minutes=1), data)
    return WriteSet.build(case, events, 0, {"sla:": [Timer(cid, "sla:x", T.add(days=1))]})


@pytest.fixture(params=BACKENDS)
def store(request):
    yield from make_store(request.param, request)


def test_bulk_creations_write_cases_events_timers_in_log_order(store):
    store.append_all([creation("c1"), creation("c2"), creation("c3")])
    assert [store.load(c).version for c in ("c1", "c2", "c3")] == [2, 2, 2]
    log = store.read_log()
    assert [(e.case_id, e.seq) for _, e in log] == [
        ("c1", 1), ("c1", 2), ("c2", 1), ("c2", 2), ("c3", 1), ("c3", 2)]
    assert [p for p, _ in log] == sorted(p for p, _ in log)
    assert store.history("c2")[1].data == SHARED
    assert [t.name for t in store.timers("c3")] == ["sla:x"]
    store.append_all([])  # nothing to do


def test_a_taken_id_refuses_the_whole_batch_on_sql_stores(store):
    store.append_all([creation("c1")])
    with pytest.raises(CaseAlreadyExists):
        store.append_all([creation("c2"), creation("c1")])
    written = {e.case_id for _, e in store.read_log()}
    # SQL stores: one transaction, c2 was not written; the memory store applies in turn.
    assert written == ({"c1", "c2"} if isinstance(store, MemoryStore) else {"c1"})


def test_every_write_is_checked_first(store):
    with pytest.raises(InvalidData):
        store.append_all([creation("c1"), creation("c2", data={"x": float("nan")})])
    assert store.read_log() == [] or isinstance(store, MemoryStore)


def test_mixed_batches_take_the_ordinary_path_in_one_transaction(store):
    store.append_all([creation("c1")])
    stored = store.load("c1")
    note = Event("c1", 3, T.add(minutes=2), EventKind.NOTE, "a", "agent", None, "done",
                 "done", {})
    update = WriteSet.build(Case("c1", "ticket", 1, "done", 3, T, T.add(minutes=2),
                                 stored.data), [note], 2)
    store.append_all([update, creation("c2")])
    assert store.load("c1").version == 3 and store.load("c2").version == 2
    stale = WriteSet.build(Case("c1", "ticket", 1, "done", 3, T, T.add(minutes=3),
                                stored.data), [note], 2)
    with pytest.raises(StaleVersion):
        store.append_all([creation("c3"), stale])
    assert ("c3" in {e.case_id for _, e in store.read_log()}) == isinstance(store,
                                                                           MemoryStore)
