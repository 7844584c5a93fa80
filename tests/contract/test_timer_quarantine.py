"""Quarantine of timers that cannot be processed, the same on every backend: set aside with a
back-off that doubles per attempt, listed, skipped by claims until the back-off ends, ended
by processing; and a row that does not decode is quarantined by key without failing the
claim of the others (SQL backends)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from servicewf.storage import Store
from servicewf.storage.base import QuarantinedTimer
from servicewf.storage.sql import SQLStore

from .backends import BACKENDS, SQL_BACKENDS, T0, make_store, open_case, timer

MINUTE = dt.timedelta(minutes=1)


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest) -> Iterator[Store]:
    yield from make_store(request.param, request)


def _names(timers) -> list[str]:  # type: ignore[no-untyped-def]
    return [t.case_id for t in timers]


def test_a_quarantined_timer_is_skipped_listed_and_retried_with_doubling_back_off(store):
    for cid in ("a", "b", "c"):
        open_case(store, cid, timers=(timer(cid, "sla:x", T0),))
    assert _names(store.claim_due_timers(T0, owner="w1", lease=MINUTE, limit=10)) == \
        ["a", "b", "c"]
    q = store.quarantine_timer("a", "sla:x", now=T0, reason="poison", backoff=MINUTE)
    assert q == QuarantinedTimer("a", "sla:x", 1, T0 + MINUTE, "poison")
    assert store.quarantined_timers() == [q]
    # Not claimed again before the back-off ends, by anyone, the quarantining owner too.
    later = T0 + dt.timedelta(seconds=59)
    assert store.claim_due_timers(later, owner="w1", lease=MINUTE, limit=10) != []
    assert "a" not in _names(store.claim_due_timers(later, owner="w2", lease=MINUTE,
                                                    limit=10))
    # After it, it is retried; failing again doubles the back-off and counts attempt 2.
    retry = T0 + MINUTE
    assert "a" in _names(store.claim_due_timers(retry, owner="w2", lease=MINUTE, limit=10))
    q2 = store.quarantine_timer("a", "sla:x", now=retry, reason="poison", backoff=MINUTE)
    assert q2 is not None and (q2.attempts, q2.until) == (2, retry + 2 * MINUTE)
    assert "a" not in _names(store.claim_due_timers(retry + 2 * MINUTE - dt.timedelta(
        seconds=1), owner="w3", lease=MINUTE, limit=10))
    # Processing it (the case's timers rewritten) ends the quarantine.
    store.set_timers("a", [timer("a", "sla:x", T0)], prefix="sla:")
    assert store.quarantined_timers() == []
    assert "a" in _names(store.claim_due_timers(retry, owner="w3", lease=MINUTE, limit=10))


def test_quarantining_a_timer_that_is_gone_says_so(store):
    open_case(store, "a")
    assert store.quarantine_timer("a", "sla:x", now=T0, reason="r", backoff=MINUTE) is None


def test_quarantined_timers_do_not_starve_the_ones_due_after_them(store):
    for i in range(6):
        cid = f"c{i}"
        open_case(store, cid, timers=(timer(cid, "sla:x", T0 + dt.timedelta(seconds=i)),))
    now = T0 + MINUTE
    first = store.claim_due_timers(now, owner="w1", lease=MINUTE, limit=3)
    assert _names(first) == ["c0", "c1", "c2"]
    for t in first:
        store.quarantine_timer(t.case_id, t.name, now=now, reason="poison", backoff=MINUTE)
    # The earliest due are quarantined: a full batch of them does not block the rest.
    again = store.claim_due_timers(now + dt.timedelta(seconds=1), owner="w2", lease=MINUTE,
                                   limit=3)
    assert _names(again) == ["c3", "c4", "c5"]


@pytest.mark.parametrize("store", SQL_BACKENDS, indirect=True)
def test_a_row_that_does_not_decode_is_quarantined_by_key_and_the_claim_goes_on(store):
    assert isinstance(store, SQLStore)
    for cid in ("a", "b", "c"):
        open_case(store, cid, timers=(timer(cid, "sla:x", T0),))
    tm = store.tables.timers
    with store.engine.begin() as conn:
        conn.execute(tm.update().where(tm.c.case_id == "b").values(payload='"not an object"'))
    heard: list[QuarantinedTimer] = []
    claimed = store.claim_due_timers(T0, owner="w1", lease=MINUTE, limit=10,
                                     on_corrupt=heard.append)
    assert _names(claimed) == ["a", "c"]
    assert [(q.case_id, q.name, q.attempts, q.until) for q in heard] == \
        [("b", "sla:x", 1, T0 + MINUTE)]
    assert "cannot be read" in heard[0].reason
    assert [(q.case_id, q.attempts) for q in store.quarantined_timers()] == [("b", 1)]
    # Still there, still corrupt: retried after the back-off, quarantined again for longer.
    heard.clear()
    assert _names(store.claim_due_timers(T0 + MINUTE, owner="w2", lease=MINUTE, limit=10,
                                         on_corrupt=heard.append)) == ["a", "c"]
    assert [(q.attempts, q.until) for q in heard] == [(2, T0 + 3 * MINUTE)]
    with store.engine.begin() as conn:  # the row is still readable as a row
        assert conn.execute(sa.select(sa.func.count()).select_from(tm)).scalar() == 3


def test_due_backlog_counts_due_timers_but_not_quarantined_ones_in_back_off(store):
    assert store.due_backlog(T0) == (0, None)
    open_case(store, "a", timers=(timer("a", "sla:x", T0 - MINUTE), timer("a", "obl:y", T0)))
    open_case(store, "b", timers=(timer("b", "sla:x", T0 - 3 * MINUTE),
                                  timer("b", "sla:z", T0 + MINUTE)))
    # Due means due <= now (the one at T0 counts; the one a minute later does not).
    assert store.due_backlog(T0) == (3, T0 - 3 * MINUTE)
    assert store.due_backlog(T0 - 2 * MINUTE) == (1, T0 - 3 * MINUTE)
    # A leased timer is still due (it is being settled).
    store.claim_due_timers(T0, owner="w1", lease=MINUTE, limit=1)
    assert store.due_backlog(T0) == (3, T0 - 3 * MINUTE)
    # A quarantined one is left out until its back-off ends.
    store.quarantine_timer("b", "sla:x", now=T0, reason="poison", backoff=MINUTE)
    assert store.due_backlog(T0) == (2, T0 - MINUTE)
    assert store.due_backlog(T0 + MINUTE) == (4, T0 - 3 * MINUTE)
