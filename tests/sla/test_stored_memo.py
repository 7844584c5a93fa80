"""The processor's fast path equals its slow path.

The SLA extension value a command stores carries its own decoding (``FrozenDict._memo``), so
the next command reuses the clocks, their plain data and their timers that the event did not
touch. These properties drive random commands through an engine, with refused writes (the
store refuses, a stale case is handed in) and reloads from the store mixed in, and check
after every step that what is stored equals what the slow path builds from the history
alone: ``recompute(...).to_dict()`` for the plain data and ``timers_of`` on states decoded
from plain data (no memo) for the timers.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import tempfile
from collections.abc import Iterator

import pendulum
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from servicewf import Case, Engine, FrozenClock, MemoryStore
from servicewf._frozen import FrozenDict, FrozenList
from servicewf.errors import CommandRefused, StaleVersion
from servicewf.processes.presets import complaint_business_centre
from servicewf.sla import SLA, BoundPolicy, ClockStates, WorkingDays, recompute
from servicewf.sla.processor import TIMER_PREFIX
from servicewf.storage import Store
from servicewf.storage._codec import dumps, dumps_extensions
from servicewf.storage.base import WriteSet
from servicewf.storage.sql import SQLStore

from .helpers import AGENT, CALENDARS, complaint_definition, sh
from .test_properties import LEVELS, WEIGHTS, _extendable

COMPLAINT = complaint_definition()
POLICY = _extendable(complaint_business_centre())
_prefixes = itertools.count()

SETTINGS = settings(max_examples=25, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow,
                                           HealthCheck.function_scoped_fixture])


class Refusing:
    """A store that refuses the writes it is told to (after the processors ran)."""

    def __init__(self, inner: Store) -> None:
        self.inner = inner
        self.refuse_next = False

    def append(self, write: WriteSet, *args: object, **kwargs: object) -> None:
        if self.refuse_next:
            self.refuse_next = False
            raise StaleVersion.for_case(write.case.id, write.expected_version,
                                        write.expected_version + 1)
        self.inner.append(write, *args, **kwargs)  # type: ignore[arg-type]

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgresql",
                                                          marks=pytest.mark.postgres)])
def make_store(request: pytest.FixtureRequest) -> Iterator[object]:
    stores: list[SQLStore] = []
    tmp = tempfile.TemporaryDirectory(prefix="slamemo")

    def make() -> Store:
        if request.param == "memory":
            return MemoryStore()
        if request.param == "sqlite":
            store = SQLStore.sqlite(f"{tmp.name}/s{next(_prefixes)}.db")
        else:
            engine = request.getfixturevalue("pg_engine")
            schema = request.getfixturevalue("pg_schema")[1]
            store = SQLStore(engine, schema=schema, prefix=f"memo{next(_prefixes)}_")
        stores.append(store)
        return store

    yield make
    for s in stores:
        if request.param == "postgresql":
            s.drop_tables()
        s.close()
    tmp.cleanup()


def _check(engine: Engine, sla: SLA, bound: BoundPolicy, case_id: str) -> None:
    stored = engine.store.load(case_id)
    for case in {id(stored): stored, id(engine.get(case_id)): engine.get(case_id)}.values():
        plain = case.extensions["sla"]
        fresh = recompute(bound, None, engine.history(case_id))
        # The plain data: equal, and equal as JSON text (same keys in the same order).
        assert plain == fresh.to_dict()
        assert json.dumps(plain) == json.dumps(fresh.to_dict())
        assert type(plain) is FrozenDict and type(plain["clocks"]) is FrozenList
        # What the processor reads back (the memo where there is one) is the decoding.
        assert sla.states(case) == ClockStates.from_dict(json.loads(json.dumps(plain)))
    slow = sla.timers_of(bound, case_id, ClockStates.from_dict(json.loads(json.dumps(plain))))
    held = [t for t in engine.store.timers(case_id) if t.name.startswith(TIMER_PREFIX)]
    assert sorted(held, key=lambda t: t.name) == sorted(slow, key=lambda t: t.name)


def _same_text(case: Case) -> None:
    """The snapshot text a SQL store writes for the case a command returned (its clocks'
    memo encodes the clocks it kept from their earlier texts) is the plain encoding, the
    first time and again (the texts then all cached)."""
    expected = dumps(case.extensions)
    assert dumps_extensions(case.extensions) == expected
    assert dumps_extensions(case.extensions) == expected


step = st.tuples(st.sampled_from(["fire", "fire", "fire", "extend", "refused", "stale",
                                  "reload", "sweep"]),
                 st.integers(0, 50), st.integers(0, 2 * 24 * 60), st.sampled_from(LEVELS))


@SETTINGS
@given(start_minute=st.integers(0, 365 * 24 * 60), steps=st.lists(step, min_size=5,
                                                                  max_size=30))
def test_stored_clocks_and_timers_equal_the_slow_path(make_store, start_minute,  # type: ignore[no-untyped-def]
                                                      steps) -> None:
    from servicewf.sla import Sweeper

    store = Refusing(make_store())
    clock = FrozenClock(sh(2026, 1, 1).add(minutes=start_minute))
    sla = SLA([POLICY], CALENDARS)
    engine = Engine(store, clock, [COMPLAINT], processors=[sla])  # type: ignore[arg-type]
    bound = sla.bind(COMPLAINT)
    assert bound is not None
    case = engine.open("complaint", actor=AGENT)
    cid = case.id
    old = case
    for kind, pick, gap, level in steps:
        clock.advance(minutes=gap)
        current = engine.get(cid)
        if kind in ("fire", "refused", "stale"):
            allowed = [o.trigger for o in engine.available(current, AGENT) if o.allowed]
            if not allowed:
                break
            pool = [t for t in allowed for _ in range(WEIGHTS.get(t, 8))]
            trig = pool[pick % len(pool)]
            data: dict[str, object] = {"level": level} if trig == "classify" else {}
            if trig == "extend":
                data = {"reason": "r", "customer_notification": "n",
                        "new_deadline": clock.now().add(hours=gap % 97).isoformat()}
            store.refuse_next = kind == "refused"
            target = old if kind == "stale" and old.version != current.version else current
            try:
                _same_text(engine.fire(target, trig, actor=AGENT, data=data))
            except StaleVersion:
                assert kind in ("refused", "stale")
            except CommandRefused:
                assert trig == "extend"
            store.refuse_next = False
        elif kind == "extend":
            with contextlib.suppress(CommandRefused):
                _same_text(sla.extend(engine, current, clock="resolve", by=WorkingDays(1),
                                      actor=AGENT, reason="r", notice="n"))
        elif kind == "reload":
            # A second engine and SLA over the same store: nothing cached in the first.
            sla = SLA([POLICY], CALENDARS)
            engine = Engine(store, clock, [COMPLAINT], processors=[sla])  # type: ignore[arg-type]
            bound = sla.bind(COMPLAINT)
            assert bound is not None
        else:
            Sweeper(engine, sla, owner="w").run(clock.now())
        old = current
        _check(engine, sla, bound, cid)


def test_a_refused_write_leaves_nothing_for_the_next_command() -> None:
    """The value a refused command built (with its memo) is never what the next command
    starts from: it starts from the stored case."""
    store = Refusing(MemoryStore())
    clock = FrozenClock(pendulum.datetime(2026, 3, 2, 1, tz="UTC"))
    sla = SLA([POLICY], CALENDARS)
    engine = Engine(store, clock, [COMPLAINT], processors=[sla])  # type: ignore[arg-type]
    case = engine.open("complaint", actor=AGENT)
    clock.advance(hours=1)
    store.refuse_next = True
    with pytest.raises(StaleVersion):
        engine.fire(case, "record", actor=AGENT)
    clock.advance(hours=1)
    after = engine.fire(case, "reject_invalid", actor=AGENT)
    bound = sla.bind(COMPLAINT)
    assert bound is not None
    assert after.extensions["sla"] == recompute(bound, None, engine.history(case.id)).to_dict()
    assert [e.trigger for e in engine.history(case.id)] == [None, "reject_invalid"]
    _check(engine, sla, bound, case.id)


def test_the_memo_encodes_only_the_clocks_a_command_changed() -> None:
    """A stored value's memo writes the text of the clocks its prior value had as the same
    objects from the prior's texts (once a store encoded the prior); a value whose prior was
    never encoded (an in-memory store writes no text) encodes every clock."""
    clock = FrozenClock(pendulum.datetime(2026, 3, 2, 1, tz="UTC"))
    sla = SLA([POLICY], CALENDARS)
    engine = Engine(MemoryStore(), clock, [COMPLAINT], processors=[sla])
    first = engine.open("complaint", actor=AGENT)
    clock.advance(hours=1)
    second = engine.fire(first, "record", actor=AGENT)
    encoded: list[object] = []

    def counting(value: object) -> str:
        encoded.append(value)
        return dumps(value)

    def clocks_encoded(case: Case) -> list[object]:
        encoded.clear()
        value = case.extensions["sla"]
        assert value._memo.json_text(value, counting) == dumps(value)
        return [v for v in encoded if any(v is c for c in value["clocks"])]

    # The first value's text was never made: the second's memo encodes all its clocks.
    clocks = second.extensions["sla"]["clocks"]
    assert len(clocks_encoded(second)) == len(clocks)
    clock.advance(hours=1)  # (a store writes a case before the next command is planned)
    third = engine.fire(second, "classify", actor=AGENT, data={"level": LEVELS[0]})
    # Then only those the third command did not keep as the same objects.
    kept = [c for c, old in zip(third.extensions["sla"]["clocks"], clocks, strict=True)
            if c is old]
    assert 0 < len(kept) < len(clocks)
    changed = clocks_encoded(third)
    assert len(changed) == len(clocks) - len(kept)
    assert not any(c is k for c in changed for k in kept)
    # Asked again, the text is the same and nothing is encoded again but the other items.
    assert clocks_encoded(third) == []


@pytest.mark.parametrize(("items", "at"), [
    ({"v": 1, "policy": "p", "state": "s", "tier": None, "fields": {"level": "高"}}, 4),
    ({"v": 1, "policy": "p", "fields": {"level": "high"}, "z": [1]}, 2),
    ({"fields": {"level": "high"}}, 0),
    ({"v": 1}, 1),
    ({}, 0),
])
def test_the_memo_text_keeps_the_items_around_the_clocks_in_order(
        items: dict[str, object], at: int) -> None:
    """The items before and after ``clocks`` (the ``fields`` of data conditions come after)
    are written where the value has them."""
    from servicewf.sla.processor import _Stored

    clocks = FrozenList([FrozenDict({"name": "a", "n": 1}), FrozenDict({"name": "b"})])
    keys = list(items)
    value = FrozenDict({**{k: items[k] for k in keys[:at]}, "clocks": clocks,
                        **{k: items[k] for k in keys[at:]}})
    memo = _Stored(ClockStates("p"), clocks, None)
    assert memo.json_text(value, dumps) == dumps(value)
