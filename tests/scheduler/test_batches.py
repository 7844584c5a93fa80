"""Settling a claim's cases in one batch: the same outcome as one case at a time, on every
store; a case refused in the batch is settled alone without costing the others; merged
write-sets replace timers exactly as their parts applied in turn."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from servicewf import EventKind, FrozenClock
from servicewf.scheduler import Scheduler, SweepContext, merge_owned_timers, merge_writes
from servicewf.sla import Sweeper
from servicewf.storage import Store, Timer
from servicewf.storage.base import WriteSet

from ..contract.backends import BACKENDS, make_store, moved
from ..contract.backends import T0 as C0
from ..contract.backends import case as a_case
from ..sla.sweep_setup import AGENT, LATE, T0, job_engine


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest) -> Iterator[Store]:
    yield from make_store(request.param, request)


def _fill(store: Store, n: int):  # type: ignore[no-untyped-def]
    clock = FrozenClock(T0)
    engine, sla = job_engine(store, clock)
    ids = [engine.open("job", actor=AGENT, case_id=f"j{i:03d}").id for i in range(n)]
    clock.set(LATE)
    return clock, engine, sla, ids


def _outcome(store: Store, ids: list[str]) -> list[object]:
    return [([(e.seq, e.kind, dict(e.data)) for e in store.history(cid)],
             [(t.name, t.due) for t in store.timers(cid)], store.load(cid).extensions)
            for cid in ids]


def test_a_batch_ends_as_one_case_at_a_time_does(store: Store, request) -> None:  # type: ignore[no-untyped-def]
    _, engine, sla, ids = _fill(store, 7)
    heard: list[tuple[str, str]] = []
    report = Sweeper(engine, sla, batch=4,
                     listeners=[lambda e: heard.append((e.kind, e.case.id))]).run()
    assert (report.timers, report.cases, report.breaches, report.escalations) == (7, 7, 7, 7)
    # Listeners hear each case once its batch is written, breach before escalation.
    assert sorted(heard) == sorted([("breach", c) for c in ids] + [("escalated", c) for c in ids])
    batched = _outcome(store, ids)
    from servicewf import MemoryStore

    alone_store = MemoryStore()
    _, engine2, sla2, _ = _fill(alone_store, 7)
    Sweeper(engine2, sla2, batch=4, settle_in_batches=False).run()
    assert batched == _outcome(alone_store, ids)


def test_a_case_moved_during_the_batch_is_settled_alone_and_the_others_keep_their_work(
        store: Store) -> None:
    clock, engine, sla, ids = _fill(store, 4)
    other_engine, _ = job_engine(store, clock)  # another worker's engine on the same data
    moved_once: list[str] = []

    class Meddler:
        """Settles a few timers of its own; on j001, another worker moves the case first."""

        timer_prefix = "meddle:"

        def settle(self, ctx: SweepContext, case):  # type: ignore[no-untyped-def]
            if case.id == "j001" and not moved_once:
                moved_once.append(case.id)
                other_engine.record(other_engine.get(case.id), EventKind.NOTE,
                                    actor=AGENT, data={}, comment="meanwhile")
            write = ctx.engine.plan_record(case, EventKind.NOTE, actor=ctx.actor,
                                           data={"by": "meddler"})
            ctx.commit(attrs.evolve(write, timers={**write.timers, "meddle:": ()}))
            return True

    for cid in ids:
        store.set_timers(cid, [Timer(cid, "meddle:x", T0, "job")], prefix="meddle:")
    report = Sweeper(engine, sla, handlers=[Meddler()]).run()
    assert report.retries == 1 and report.cases == 4
    assert (report.breaches, report.escalations) == (4, 4)
    for cid in ids:
        kinds = [e.kind for e in store.history(cid)]
        assert kinds.count(EventKind.CLOCK_BREACHED) == 1 and kinds.count(
            EventKind.ESCALATED) == 1, cid
        assert [e.comment for e in store.history(cid)].count("meanwhile") == \
            (1 if cid == "j001" else 0)
        assert [e.data.get("by") for e in store.history(cid)].count("meddler") == 1
        assert [t.name for t in store.timers(cid)] == []


def test_a_handler_reading_around_held_writes_is_settled_alone(store: Store) -> None:
    _, engine, sla, ids = _fill(store, 3)

    class Reader:
        """Records, then reads the history: what the batch holds back is not in it."""

        timer_prefix = "read:"
        def __init__(self) -> None:
            self.saw: list[int] = []

        def settle(self, ctx: SweepContext, case):  # type: ignore[no-untyped-def]
            case = ctx.record(case, EventKind.NOTE, {"n": 1})
            self.saw.append(len(ctx.engine.history(case.id)))
            return True

    for cid in ids:
        store.set_timers(cid, [Timer(cid, "read:x", T0, "job")], prefix="read:")
    reader = Reader()
    report = Scheduler(engine, [reader]).run()
    assert report.cases == 3
    # Each read happened on a store holding the record: settled alone (2 events each).
    assert reader.saw[-3:] == [2, 2, 2]
    assert all(len(store.history(cid)) == 2 for cid in ids)
    _ = sla


# --- merging write-sets ---------------------------------------------------------------------

PREFIXES = st.sampled_from(["", "a", "ab", "abc", "b", "ba"])
NAMES = ["a1", "ab1", "abc1", "abc2", "b1", "ba1", "c1"]


def _groups(draw, prefixes):  # type: ignore[no-untyped-def]
    chosen: list[str] = []
    for p in prefixes:
        if all(not p.startswith(q) and not q.startswith(p) for q in chosen):
            chosen.append(p)
    return {p: tuple(Timer("c1", n, C0) for n in sorted(set(draw(st.lists(
        st.sampled_from([n for n in NAMES if n.startswith(p)]), max_size=3))))) for p in chosen}


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_merged_owners_replace_as_applying_both_in_turn(data) -> None:  # type: ignore[no-untyped-def]
    current = [Timer("c1", n, C0) for n in data.draw(st.sets(st.sampled_from(NAMES)))]
    first = _groups(data.draw, data.draw(st.lists(PREFIXES, max_size=3)))
    then = _groups(data.draw, data.draw(st.lists(PREFIXES, max_size=3)))

    def apply(owned, timers):  # type: ignore[no-untyped-def]
        # The oracle: drop every timer an owner owns, add the owners' timers.
        kept = [t for t in timers if not any(t.name.startswith(p) for p in owned)]
        return kept + [t for g in owned.values() for t in g]

    merged = merge_owned_timers(first, then)
    assert sorted(t.name for t in apply(merged, current)) == \
        sorted(t.name for t in apply(then, apply(first, current)))
    keys = sorted(merged)
    assert all(not b.startswith(a) for a, b in itertools.pairwise(keys))


def test_merge_writes_keeps_the_first_version_and_both_events_and_outboxes() -> None:
    first = WriteSet.build(a_case("c1", version=2), [moved("c1", 2, "new", "a")], 1,
                           {"sla:": [Timer("c1", "sla:x", C0)]})
    then = WriteSet.build(a_case("c1", version=3, state="b"), [moved("c1", 3, "a", "b")], 2,
                          {"sla:": []})
    merged = merge_writes(first, then)
    assert (merged.case, merged.expected_version) == (then.case, 1)
    assert [e.seq for e in merged.events] == [2, 3]
    assert dict(merged.timers) == {"sla:": ()}


def test_timers_set_on_a_case_with_held_writes_join_its_write_and_end_as_alone(
        store: Store) -> None:
    # A breach action that writes nothing drops its pending timer with set_timers: the case
    # stays in the batch (one write, no second settling) and ends as settled alone.
    _, engine, _, ids = _fill(store, 4)
    settles: list[str] = []

    class Planner:
        """Records a note, then sets its timers directly: a new one, or none."""

        timer_prefix = "plan:"

        def settle(self, ctx: SweepContext, case):  # type: ignore[no-untyped-def]
            settles.append(case.id)
            case = ctx.record(case, EventKind.NOTE, {"n": 1})
            later = [Timer(case.id, "plan:next", LATE + dt.timedelta(days=1), "job", {"k": 1})] \
                if case.id in ("j000", "j002") else []
            ctx.engine.store.set_timers(case.id, later, prefix="plan:")
            ctx.engine.store.set_timers(case.id, [], prefix="plan:gone")
            return True

    def run(on: Store, batches: bool) -> list[object]:
        for cid in ids:
            on.set_timers(cid, [Timer(cid, "plan:x", T0, "job"),
                                Timer(cid, "plan:gone1", T0 + dt.timedelta(days=9), "job")],
                          prefix="plan:")
        eng, _ = job_engine(on, engine.clock)
        report = Scheduler(eng, [Planner()], settle_in_batches=batches).run()
        assert (report.cases, report.retries) == (4, 0)
        return [([(e.seq, e.kind, dict(e.data)) for e in on.history(cid)],
                 [(t.name, t.due, dict(t.payload)) for t in on.timers(cid)]) for cid in ids]

    batched = run(store, True)
    assert sorted(settles) == ids  # each settled once: none fell back to alone
    from servicewf import MemoryStore

    alone_store = MemoryStore()
    _fill(alone_store, 4)
    assert batched == run(alone_store, False)
    assert [[n for n, *_ in timers if n.startswith("plan:")] for _, timers in batched] == \
        [["plan:next"], [], ["plan:next"], []]


def test_bad_timers_set_in_a_batch_are_refused_as_the_store_refuses_them(store: Store) -> None:
    _, engine, _, ids = _fill(store, 1)

    class Wrong:
        timer_prefix = "wrong:"

        def settle(self, ctx: SweepContext, case):  # type: ignore[no-untyped-def]
            case = ctx.record(case, EventKind.NOTE, {})
            ctx.engine.store.set_timers(case.id, [Timer(case.id, "other:x", T0, "job")],
                                        prefix="wrong:")
            return True

    store.set_timers(ids[0], [Timer(ids[0], "wrong:x", T0, "job")], prefix="wrong:")
    report = Scheduler(engine, [Wrong()]).run()
    # Refused in the batch, then alone (where the store refuses it too): quarantined.
    [wrong] = [q for q in report.quarantined if q.name.startswith("wrong:")]
    assert wrong.name == "wrong:x" and "does not start with 'wrong:'" in wrong.reason
