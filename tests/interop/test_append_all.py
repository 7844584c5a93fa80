"""Store.append_all: every write-set checked as append checks it; on the SQL stores one
transaction (all or nothing); the bulk path and the ordinary path write the same."""

from __future__ import annotations

import itertools

import attrs
import pendulum
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from servicewf.case import Case
from servicewf.errors import CaseAlreadyExists, InvalidData, StaleVersion
from servicewf.events import Event, EventKind
from servicewf.storage import MemoryStore, Timer, WriteSet

from ..contract.backends import BACKENDS, SQL_BACKENDS, make_store

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


# --- the bulk path writes what the ordinary path writes ------------------------------------

_TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
                max_size=8) | st.sampled_from(["\\", "\\N", "\t", "\n", "\r\n", "a\\tb", "NULL",
                                                 "", '"', "é漢"])
_VALUES = st.one_of(st.none(), st.booleans(), st.integers(-2**63, 2**63 - 1),
                    st.floats(allow_nan=False, allow_infinity=False), _TEXT,
                    st.lists(_TEXT, max_size=2))
_DATA = st.dictionaries(_TEXT, _VALUES, max_size=3)
_IDS = itertools.count()


@st.composite
def _creations(draw, prefix: str) -> list[WriteSet]:
    writes = []
    for _ in range(draw(st.integers(1, 4))):
        cid = f"{prefix}-{next(_IDS)}"
        n = draw(st.integers(1, 4))
        at = [T.add(microseconds=draw(st.integers(0, 10**12))) for _ in range(n)]
        at.sort()
        events = [Event(cid, 1, at[0], EventKind.OPENED, draw(_IDENT), draw(_IDENT), None, None,
                        "new", draw(_DATA), draw(st.none() | _TEXT))]
        for i in range(1, n):
            events.append(Event(cid, i + 1, at[i], EventKind.TRANSITION, draw(_IDENT),
                                draw(_IDENT), draw(_IDENT), "new", "new", draw(_DATA),
                                draw(st.none() | _TEXT)))
        case = Case(cid, "ticket", 1, "new", n, at[0], at[-1], draw(_DATA), draw(_DATA))
        timers = [Timer(cid, f"sla:{name}", T.add(seconds=draw(st.integers(0, 10**6))),
                        payload=draw(_DATA))
                  for name in draw(st.lists(_IDENT, max_size=2, unique=True))]
        writes.append(WriteSet.build(case, events, 0, {"sla:": timers} if timers else None))
    return writes


_IDENT = st.from_regex(r"[A-Za-z][A-Za-z0-9 _\\-]{0,6}[A-Za-z0-9]", fullmatch=True)


@pytest.mark.parametrize("kind", SQL_BACKENDS)
def test_the_bulk_path_stores_what_appending_one_by_one_stores(kind, request):
    # append_all's bulk path hands rows to the driver (COPY on PostgreSQL, the DBAPI's
    # executemany on SQLite): text with tabs, backslashes and newlines, big numbers, nested
    # values and missing fields must come back as the ordinary append writes them.
    stores = make_store(kind, request)
    store = next(stores)

    @settings(max_examples=40, deadline=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(st.data())
    def check(data):
        bulk = data.draw(_creations("b"))
        each = [WriteSet.build(attrs.evolve(w.case, id="o" + w.case.id[1:]),
                               [attrs.evolve(e, case_id="o" + e.case_id[1:]) for e in w.events],
                               0, {p: [attrs.evolve(t, case_id="o" + t.case_id[1:]) for t in g]
                                   for p, g in w.timers.items()} or None)
                for w in bulk]
        store.append_all(bulk)
        for w in each:
            store.append(w)
        for b, o in zip(bulk, each, strict=True):
            bid, oid = b.case.id, o.case.id
            assert attrs.evolve(store.load(bid), id=oid) == store.load(oid)
            assert [attrs.evolve(e, case_id=oid) for e in store.history(bid)] == \
                store.history(oid) == list(o.events)
            assert [attrs.evolve(t, case_id=oid) for t in store.timers(bid)] == \
                store.timers(oid)
        ids = {w.case.id for w in bulk}
        assert [(e.case_id, e.seq) for _, e in store.read_log() if e.case_id in ids] == \
            [(e.case_id, e.seq) for w in bulk for e in w.events]  # in log order

    try:
        check()
    finally:
        stores.close()  # drops the tables, closes the store
