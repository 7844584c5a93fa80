"""Registered event kinds in every store, and a kind this process does not know read back
from a SQL store: reported as UnknownEventKind (naming case, seq and kind), not as damage."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from servicewf import events as events_module
from servicewf.errors import CorruptRecord, UnknownEventKind
from servicewf.events import Event, register_event_kind
from servicewf.storage import Store
from servicewf.storage.sql import SQLStore

from .backends import BACKENDS, SQL_BACKENDS, T0, case, make_store, open_case

SURVEYED = register_event_kind("test_survey_sent", recordable=True)



@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest) -> Iterator[Store]:
    yield from make_store(request.param, request)


@pytest.fixture(params=SQL_BACKENDS)
def sql_store(request: pytest.FixtureRequest) -> Iterator[SQLStore]:
    for s in make_store(request.param, request):
        assert isinstance(s, SQLStore)
        yield s


def surveyed(cid: str, seq: int) -> Event:
    return Event(cid, seq, T0, SURVEYED, "sys", "system", None, "new", "new", {"n": 1})


def test_a_registered_kind_round_trips(store):
    open_case(store, "c")
    store.append(case("c", version=2), [surveyed("c", 2)], expected_version=1)
    assert store.history("c")[-1].kind is SURVEYED
    assert store.read_log()[-1].event.kind is SURVEYED


def _forget(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    """This process, from now on, is one that never imported the subsystem of ``name``."""
    monkeypatch.delitem(events_module._REGISTERED, name)


def test_an_unknown_kind_is_reported_naming_case_seq_and_kind(sql_store, monkeypatch):
    open_case(sql_store, "c")
    sql_store.append(case("c", version=2), [surveyed("c", 2)], expected_version=1)
    open_case(sql_store, "other")
    _forget(monkeypatch, "test_survey_sent")
    with pytest.raises(UnknownEventKind) as err:
        sql_store.history("c")
    assert (err.value.case_id, err.value.seq, err.value.kind) == ("c", 2, "test_survey_sent")
    assert "register_event_kind" in str(err.value) and "upgrade servicewf" in str(err.value)
    assert isinstance(err.value, CorruptRecord)  # skipped wherever unreadable rows are
    with pytest.raises(UnknownEventKind):
        sql_store.read_log()
    assert [e.kind.value for e in sql_store.history("other")] == ["opened"]
    assert sql_store.load("c").version == 2  # the snapshot itself reads fine
    assert [c.id for c in sql_store.iter_cases()] == ["c", "other"]


def test_a_damaged_event_row_is_still_corrupt_not_unknown(sql_store):
    open_case(sql_store, "c")
    ev = sql_store.tables.events
    with sql_store.engine.begin() as conn:
        conn.execute(ev.update().where(ev.c.case_id == "c").values(data="[1]"))  # not an object
    with pytest.raises(CorruptRecord) as err:
        sql_store.history("c")
    assert not isinstance(err.value, UnknownEventKind)
    with sql_store.engine.begin() as conn:
        conn.execute(ev.update().where(ev.c.case_id == "c")
                     .values(data=json.dumps({}), kind=sa.literal("no such kind!")))
    with pytest.raises(UnknownEventKind, match="'no such kind!'"):
        sql_store.history("c")
