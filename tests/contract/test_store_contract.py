"""The storage contract: every backend behaves like the in-memory reference.

Each test runs against the in-memory store, a SQLite file and PostgreSQL (marked
``postgres``; skipped when no server answers, failed instead under SERVICEWF_REQUIRE_PG=1).
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator

import attrs
import pendulum
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from servicewf.case import Case
from servicewf.clock import as_utc
from servicewf.errors import CaseAlreadyExists, CaseNotFound, StaleVersion
from servicewf.events import Event, EventKind
from servicewf.storage import Store, Timer

from .backends import BACKENDS, T0, case, make_store, moved, open_case, opened, timer

MINUTE = dt.timedelta(minutes=1)


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest) -> Iterator[Store]:
    yield from make_store(request.param, request)


def backend(request: pytest.FixtureRequest) -> str:
    return str(request.node.callspec.params["store"])


# --- create / load --------------------------------------------------------------------------


def test_create_then_load_round_trips_rich_values(store):
    data = {"客户": "张三", "问题": "宽带断线，已重启路由器", "nested": {"list": [1, 2.5, None,
            True, "字"], "deep": {"k": [{"a": []}]}}, "n": -(2**40)}
    ext = {"sla": {"resolve": {"started": "2026-03-01T09:00:00Z", "paused": False}}}
    at = pendulum.datetime(2026, 3, 1, 9, 0, 0, 1, tz="UTC")
    c = case("案件-1", data=data, extensions=ext, at=at.add(microseconds=998_998))
    e = opened("案件-1", at=at, data=data)
    store.create(c, [e])
    loaded = store.load("案件-1")
    assert loaded == c
    assert loaded.updated_at.microsecond == 998_999
    assert loaded.updated_at.tzinfo is not None and loaded.updated_at.utcoffset() == dt.timedelta()
    assert dict(loaded.extensions) == ext
    assert store.history("案件-1") == [e]


def test_instants_in_other_zones_are_stored_as_the_same_instant(store):
    local = pendulum.datetime(2026, 3, 1, 17, 30, 0, 250, tz="Asia/Shanghai")
    c = case("z", at=local, opened_at=local)
    store.create(c, [opened("z", at=local)])
    loaded = store.load("z")
    # The instant is kept; the zone is not part of the contract (SQL backends return UTC).
    assert loaded.updated_at == local
    assert store.history("z")[0].at == as_utc(local)


def test_create_refuses_a_taken_id_and_keeps_the_original(store):
    first = open_case(store, "c1", state="new")
    other = case("c1", state="other")
    with pytest.raises(CaseAlreadyExists, match="c1"):
        store.create(other, [opened("c1", state="other")], [timer("c1", "t", T0)])
    assert store.load("c1") == first
    assert len(store.history("c1")) == 1
    assert store.timers("c1") == []


def test_create_checks_versions_and_sequence(store):
    with pytest.raises(ValueError):
        store.create(case("c1", version=2), [opened("c1")])
    with pytest.raises(ValueError):
        store.create(case("c1"), [])
    with pytest.raises(CaseNotFound):
        store.load("c1")


def test_missing_cases_raise_case_not_found(store):
    with pytest.raises(CaseNotFound, match="nope"):
        store.load("nope")
    with pytest.raises(CaseNotFound):
        store.history("nope")
    with pytest.raises(CaseNotFound):
        store.append(case("nope", version=2, state="b"), [moved("nope", 2, "new", "b")],
                     expected_version=1)
    with pytest.raises(CaseNotFound):
        store.set_timers("nope", [])
    assert store.timers("nope") == []


def test_every_backend_words_its_errors_alike(store):
    """The messages come from the error classes, so no backend can word them its own way."""
    first = open_case(store, "c1")
    with pytest.raises(CaseAlreadyExists) as taken:
        store.create(case("c1"), [opened("c1")])
    assert str(taken.value) == "case 'c1' exists already; choose another id"
    assert str(taken.value) == str(CaseAlreadyExists.for_id("c1"))
    assert taken.value.case_id == "c1"
    for look in (lambda: store.load("nope"), lambda: store.history("nope"),
                 lambda: store.append(case("nope", version=2, state="b"),
                                      [moved("nope", 2, "new", "b")], expected_version=1)):
        with pytest.raises(CaseNotFound) as missing:
            look()
        assert str(missing.value) == "no case 'nope' in this store"
        assert missing.value.case_id == "nope"
    store.append(case("c1", version=2, state="b"), [moved("c1", 2, "new", "b")],
                 expected_version=1)
    with pytest.raises(StaleVersion) as stale:
        store.append(case("c1", version=2, state="c"), [moved("c1", 2, "new", "c")],
                     expected_version=first.version)
    assert str(stale.value) == ("case 'c1' is at version 2, not 1: someone else changed it; "
                                "reload it and retry")
    assert str(stale.value) == str(StaleVersion.for_case("c1", 1, 2, trigger="to_c"))
    assert (stale.value.expected, stale.value.actual, stale.value.trigger) == (1, 2, "to_c")


# --- append ---------------------------------------------------------------------------------


def test_append_moves_the_snapshot_and_extends_history(store):
    open_case(store, "c1")
    later = T0.add(minutes=5)
    c2 = case("c1", state="b", version=2, at=later, data={"x": 1})
    e2 = moved("c1", 2, "new", "b", at=later, data={"x": 1}, comment="备注")
    store.append(c2, [e2], expected_version=1)
    assert store.load("c1") == c2
    c4 = case("c1", state="d", version=4, at=later)
    e3, e4 = moved("c1", 3, "b", "c", at=later), moved("c1", 4, "c", "d", at=later)
    store.append(c4, [e3, e4], expected_version=2)
    history = store.history("c1")
    assert [e.seq for e in history] == [1, 2, 3, 4]
    assert history[1] == e2 and history[1].comment == "备注"
    assert store.load("c1").version == 4


def test_append_refuses_non_contiguous_events(store):
    open_case(store, "c1")
    with pytest.raises(ValueError):
        store.append(case("c1", version=3, state="b"), [moved("c1", 3, "new", "b")],
                     expected_version=1)
    with pytest.raises(ValueError):
        store.append(case("c1", version=2, state="b"), [moved("other", 2, "new", "b")],
                     expected_version=1)
    assert store.load("c1").version == 1


def test_stale_append_writes_nothing(store):
    open_case(store, "c1", timers=(timer("c1", "t1", T0),))
    winner = case("c1", state="b", version=2)
    store.append(winner, [moved("c1", 2, "new", "b")], expected_version=1,
                 timers=[timer("c1", "t2", T0.add(hours=1))])
    snapshot, events, timers = store.load("c1"), store.history("c1"), store.timers("c1")
    with pytest.raises(StaleVersion) as err:
        store.append(case("c1", state="x", version=2), [moved("c1", 2, "new", "x")],
                     expected_version=1, timers=[])
    assert err.value.case_id == "c1" and err.value.expected == 1 and err.value.actual == 2
    assert err.value.trigger == "to_x"
    assert "reload" in str(err.value)
    assert store.load("c1") == snapshot
    assert store.history("c1") == events
    assert store.timers("c1") == timers


def test_append_replaces_timers_atomically(store):
    t1, t2 = timer("c1", "a", T0), timer("c1", "b", T0.add(hours=1))
    open_case(store, "c1", timers=(t1, t2))
    store.append(case("c1", version=2, state="b"), [moved("c1", 2, "new", "b")],
                 expected_version=1)
    assert store.timers("c1") == [t1, t2]  # None leaves them
    t3 = timer("c1", "c", T0.add(hours=2), payload={"级别": 2})
    store.append(case("c1", version=3, state="c"), [moved("c1", 3, "b", "c")],
                 expected_version=2, timers=[t3])
    assert store.timers("c1") == [t3]
    store.append(case("c1", version=4, state="d"), [moved("c1", 4, "c", "d")],
                 expected_version=3, timers=[])
    assert store.timers("c1") == []


def test_invalid_timers_are_refused_before_anything_is_written(store):
    open_case(store, "c1")
    dup = [timer("c1", "a", T0), timer("c1", "a", T0)]
    with pytest.raises(ValueError, match="unique"):
        store.append(case("c1", version=2, state="b"), [moved("c1", 2, "new", "b")],
                     expected_version=1, timers=dup)
    with pytest.raises(ValueError):
        store.create(case("c2"), [opened("c2")], [timer("other", "a", T0)])
    assert store.load("c1").version == 1
    assert len(store.history("c1")) == 1
    with pytest.raises(CaseNotFound):
        store.load("c2")


def test_history_after(store):
    open_case(store, "c1")
    store.append(case("c1", version=3, state="c"),
                 [moved("c1", 2, "new", "b"), moved("c1", 3, "b", "c")], expected_version=1)
    assert [e.seq for e in store.history("c1", after=0)] == [1, 2, 3]
    assert [e.seq for e in store.history("c1", after=1)] == [2, 3]
    assert [e.seq for e in store.history("c1", after=2)] == [3]
    assert store.history("c1", after=3) == []


# --- find / count ---------------------------------------------------------------------------


def test_find_and_count_by_process_and_state(store):
    for cid, process, state in [("b2", "ticket", "open"), ("a1", "ticket", "open"),
                                ("c3", "ticket", "closed"), ("d4", "complaint", "open"),
                                ("e5", "complaint", "待处理")]:
        open_case(store, cid, process=process, state=state)
    ids = lambda cases: [c.id for c in cases]  # noqa: E731
    assert ids(store.find()) == ["a1", "b2", "c3", "d4", "e5"]
    assert ids(store.find(process="ticket")) == ["a1", "b2", "c3"]
    assert ids(store.find(state="open")) == ["a1", "b2", "d4"]
    assert ids(store.find(process="ticket", state="open")) == ["a1", "b2"]
    assert ids(store.find(state=["closed", "待处理"])) == ["c3", "e5"]
    assert ids(store.find(state=iter(("closed",)))) == ["c3"]
    assert ids(store.find(state=[])) == []
    assert ids(store.find(limit=2)) == ["a1", "b2"]
    assert ids(store.find(state="open", limit=0)) == []
    assert ids(store.find(process="nope")) == []
    assert store.count() == 5
    assert store.count(process="ticket") == 3
    assert store.count(state="open") == 3
    assert store.count(process="complaint", state=("open", "待处理")) == 2
    assert store.count(state=[]) == 0
    assert store.find(state="closed")[0] == store.load("c3")


# --- timers ---------------------------------------------------------------------------------


def test_timers_are_ordered_by_due_then_name(store):
    ts = [timer("c1", "z", T0), timer("c1", "b", T0.add(minutes=1)), timer("c1", "a", T0)]
    open_case(store, "c1", timers=tuple(ts))
    assert [t.name for t in store.timers("c1")] == ["a", "z", "b"]


def test_set_timers_replaces_every_timer(store):
    open_case(store, "c1", timers=(timer("c1", "a", T0),))
    new = [timer("c1", "b", T0.add(hours=1), payload={"x": [1]}), timer("c1", "c", T0)]
    store.set_timers("c1", new)
    assert store.timers("c1") == [new[1], new[0]]
    store.set_timers("c1", [])
    assert store.timers("c1") == []
    with pytest.raises(ValueError):
        store.set_timers("c1", [timer("c2", "a", T0)])


def test_due_timers(store):
    open_case(store, "c1", timers=(timer("c1", "late", T0.add(hours=2)),
                                   timer("c1", "now", T0)))
    open_case(store, "c2", process="complaint",
              timers=(timer("c2", "early", T0.subtract(hours=1), process="complaint"),
                      timer("c2", "now", T0, process="complaint")))
    open_case(store, "c0", timers=(timer("c0", "now", T0),))
    due = store.due_timers(T0)
    assert [(t.case_id, t.name) for t in due] == [("c2", "early"), ("c0", "now"),
                                                  ("c1", "now"), ("c2", "now")]
    assert [t.name for t in store.due_timers(T0, limit=1)] == ["early"]
    assert [(t.case_id, t.name) for t in store.due_timers(T0, process="ticket")] == [
        ("c0", "now"), ("c1", "now")]
    assert store.due_timers(T0.subtract(hours=2)) == []
    assert store.due_timers(T0.subtract(microseconds=1), limit=10)[0].name == "early"
    assert len(store.due_timers(T0.add(hours=3))) == 5
    # A zoned "now" is the same instant.
    assert len(store.due_timers(T0.in_timezone("Asia/Shanghai"))) == 4
    # Leases do not hide timers from due_timers.
    store.claim_due_timers(T0, owner="w1", lease=MINUTE, limit=10)
    assert len(store.due_timers(T0)) == 4


def test_claimed_timers_are_skipped_by_others_until_the_lease_expires(store):
    open_case(store, "c1", timers=(timer("c1", "a", T0), timer("c1", "b", T0.add(seconds=1))))
    open_case(store, "c2", timers=(timer("c2", "a", T0.add(seconds=2)),))
    now = T0.add(minutes=1)
    first = store.claim_due_timers(now, owner="w1", lease=MINUTE, limit=2)
    assert [(t.case_id, t.name) for t in first] == [("c1", "a"), ("c1", "b")]
    rest = store.claim_due_timers(now, owner="w2", lease=MINUTE, limit=10)
    assert [(t.case_id, t.name) for t in rest] == [("c2", "a")]
    assert store.claim_due_timers(now.add(seconds=59), owner="w3", lease=MINUTE, limit=10) == []
    # The same owner may claim its timers again (its lease is renewed).
    again = store.claim_due_timers(now.add(seconds=30), owner="w1", lease=MINUTE, limit=10)
    assert [(t.case_id, t.name) for t in again] == [("c1", "a"), ("c1", "b")]
    # w1's renewed lease runs to now + 90 s; w2's ended at now + 60 s.
    late = store.claim_due_timers(now.add(seconds=60), owner="w3", lease=MINUTE, limit=10)
    assert [(t.case_id, t.name) for t in late] == [("c2", "a")]
    expired = store.claim_due_timers(now.add(seconds=90), owner="w4", lease=MINUTE, limit=10)
    assert [(t.case_id, t.name) for t in expired] == [("c1", "a"), ("c1", "b")]


def test_replacing_timers_ends_the_lease(store):
    open_case(store, "c1", timers=(timer("c1", "a", T0),))
    assert len(store.claim_due_timers(T0, owner="w1", lease=MINUTE, limit=5)) == 1
    assert store.claim_due_timers(T0, owner="w2", lease=MINUTE, limit=5) == []
    # Processing the timer rewrites the case's timers: the same name comes back unleased.
    store.append(case("c1", version=2, state="b"), [moved("c1", 2, "new", "b")],
                 expected_version=1, timers=[timer("c1", "a", T0)])
    assert [t.name for t in store.claim_due_timers(T0, owner="w2", lease=MINUTE, limit=5)] == [
        "a"]
    store.set_timers("c1", [timer("c1", "a", T0)])
    assert len(store.claim_due_timers(T0, owner="w3", lease=MINUTE, limit=5)) == 1


def test_replacing_an_owners_timers_keeps_the_other_leases(store):
    # The leases of timers a write keeps (another owner's, another case's) stay; those of
    # the replaced owner's timers end, including a timer given back unchanged.
    open_case(store, "c1", timers=(timer("c1", "obl:a", T0), timer("c1", "sla:b", T0),
                                   timer("c1", "sla:c", T0)))
    open_case(store, "c2", timers=(timer("c2", "sla:b", T0),))
    assert len(store.claim_due_timers(T0, owner="w1", lease=MINUTE, limit=9)) == 4
    store.set_timers("c1", [timer("c1", "sla:b", T0)], prefix="sla:")
    assert [(t.case_id, t.name) for t in store.claim_due_timers(
        T0, owner="w2", lease=MINUTE, limit=9)] == [("c1", "sla:b")]
    assert sorted(t.name for t in store.timers("c1")) == ["obl:a", "sla:b"]
    # A case without another owner's timers, while no other lease is held.
    store.set_timers("c2", [timer("c2", "sla:b", T0)], prefix="sla:")
    store.set_timers("c1", [timer("c1", "sla:b", T0)], prefix="sla:")
    later = T0.add(seconds=90)  # every lease above expired
    assert len(store.claim_due_timers(later, owner="w3", lease=MINUTE, limit=9)) == 3
    store.set_timers("c2", [timer("c2", "sla:b", T0)], prefix="sla:")
    assert [(t.case_id, t.name) for t in store.claim_due_timers(
        later, owner="w4", lease=MINUTE, limit=9)] == [("c2", "sla:b")]


def test_claim_respects_limit_and_process(store):
    open_case(store, "c1", timers=(timer("c1", "a", T0), timer("c1", "b", T0)))
    open_case(store, "c2", process="complaint",
              timers=(timer("c2", "a", T0, process="complaint"),))
    got = store.claim_due_timers(T0, owner="w", lease=MINUTE, limit=1, process="complaint")
    assert [(t.case_id, t.name) for t in got] == [("c2", "a")]
    got = store.claim_due_timers(T0, owner="w", lease=MINUTE, limit=1)
    assert [(t.case_id, t.name) for t in got] == [("c1", "a")]
    assert store.claim_due_timers(T0, owner="x", lease=MINUTE, limit=0) == []
    assert store.claim_due_timers(T0.subtract(seconds=1), owner="x", lease=MINUTE,
                                  limit=9) == []


# --- through the engine ---------------------------------------------------------------------


def test_the_engine_runs_on_the_store(store):
    from servicewf import Actor, Engine, FrozenClock
    from tests.helpers import ticket_definition

    clock = FrozenClock(T0)
    engine = Engine(store, clock, [ticket_definition()])
    agent = Actor("u1", "agent")
    c = engine.open("ticket", actor=agent, case_id="t1", data={"渠道": "电话"})
    clock.advance(minutes=3)
    c = engine.fire(c, "register", actor=agent, data={"request_type": "宽带"})
    stale = c
    c = engine.fire("t1", "plan", actor=agent, data={"plan": "上门"})
    with pytest.raises(StaleVersion):
        engine.fire(stale, "cancel", actor=agent, data={"reason": "dup"})
    assert engine.get("t1") == c
    assert [e.seq for e in engine.history("t1")] == [1, 2, 3]
    assert engine.history("t1")[1].at == T0.add(minutes=3)


# --- property: random values round-trip ------------------------------------------------------

_text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
                max_size=12)
# Identifiers follow the one identifier rule (servicewf.plain.check_identifier): printable,
# no surrounding whitespace.
_name = st.text(st.characters(whitelist_categories=("L", "N", "P", "S"),
                              whitelist_characters=" "),
                min_size=1, max_size=20).filter(lambda s: s == s.strip() and s.isprintable())
_json = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53)
    | st.floats(allow_nan=False, allow_infinity=False) | _text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_text, inner, max_size=3),
    max_leaves=8,
)
_data = st.dictionaries(_text, _json, max_size=4)
_instants = st.datetimes(min_value=dt.datetime(1901, 1, 1), max_value=dt.datetime(2199, 1, 1),
                         timezones=st.just(dt.timezone.utc)).map(as_utc)
_ids = itertools.count()


@st.composite
def histories(draw: st.DrawFn) -> tuple[Case, list[Event], list[Timer]]:
    cid = f"h{next(_ids)}-{draw(_name)}"
    n = draw(st.integers(1, 4))
    states = draw(st.lists(_name, min_size=n, max_size=n))
    events = [Event(cid, 1, draw(_instants), EventKind.OPENED, draw(_name), draw(_name), None,
                    None, states[0], draw(_data), draw(st.none() | _text))]
    for seq in range(2, n + 1):
        events.append(Event(cid, seq, draw(_instants), draw(st.sampled_from(list(EventKind))),
                            draw(_name), draw(_name), draw(st.none() | _name), states[seq - 2],
                            states[seq - 1], draw(_data), draw(st.none() | _text)))
    final = Case(cid, draw(_name), draw(st.integers(1, 10_000)), states[-1], n,
                 events[0].at, events[-1].at, draw(_data), draw(_data))
    names = draw(st.lists(_name, max_size=3, unique=True))
    timers = [Timer(cid, name, draw(_instants), draw(_name), draw(_data)) for name in names]
    return final, events, timers


def test_random_cases_and_events_round_trip(store, request):
    examples = {"memory": 100, "sqlite": 50}.get(backend(request), 25)

    @settings(max_examples=examples, deadline=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    @given(histories(), st.integers(1, 4))
    def check(history: tuple[Case, list[Event], list[Timer]], split: int) -> None:
        final, events, timers = history
        split = min(split, len(events))
        first = attrs.evolve(final, version=split, updated_at=events[split - 1].at)
        store.create(attrs.evolve(first, version=1), events[:1])
        if split > 1:
            store.append(first, events[1:split], expected_version=1)
        if split < len(events):
            store.append(final, events[split:], expected_version=split, timers=timers)
        else:
            store.set_timers(final.id, timers)
        assert store.load(final.id) == final
        assert store.history(final.id) == events
        assert store.timers(final.id) == sorted(timers, key=lambda t: (t.due, t.name))
        assert final in store.find(process=final.process, state=final.state)

    check()
