"""Recurring obligations in the sweep: timers, due-soon reminders, met and missed periods."""

from __future__ import annotations

import datetime as dt
import io
import re
from collections import Counter
from collections.abc import Iterator
from contextlib import redirect_stdout
from itertools import pairwise
from pathlib import Path
from typing import Any

import pendulum
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from servicewf import Actor, Case, Engine, EventKind, FrozenClock, MemoryStore, Store, Timer
from servicewf.processes import builtin_registry
from servicewf.processes.cadence import Cadence, period_bounds, period_index, periods
from servicewf.processes.obligation import (
    complaint_report_obligation,
    contact_obligation,
    survey_obligation,
)
from servicewf.processes.policies import default_sla
from servicewf.processes.schedule import (
    DEFAULT_LEADS,
    TIMER_NAME,
    Obligations,
    ObligationState,
)
from servicewf.sla import ActionContext, Sweeper, SweepEvent, SweepReport
from servicewf.storage.sql import SQLStore
from tests.contract.backends import make_store

TZ = "Asia/Shanghai"
AGENT = Actor("li.na", "agent")
REGISTRY = builtin_registry()


def sh(*args: int) -> pendulum.DateTime:
    return pendulum.datetime(*args, tz=TZ)


class World:
    """An engine on a frozen clock with the obligations as processor and sweep handler."""

    def __init__(self, store: Store, start: pendulum.DateTime,
                 obligations: Obligations | None = None, *, sla: bool = False) -> None:
        self.clock = FrozenClock(start)
        self.ob = obligations or Obligations()
        self.sla = default_sla(registry=REGISTRY) if sla else None
        processors: list[Any] = [self.sla, self.ob] if self.sla else [self.ob]
        self.engine = Engine(store, self.clock, REGISTRY, processors=processors)
        self.heard: list[SweepEvent] = []
        self.sweeper = Sweeper(self.engine, self.sla, handlers=[self.ob],
                               listeners=[self.heard.append])

    def open(self, data: dict[str, Any]) -> str:
        return self.engine.open("obligation", actor=AGENT, data=data).id

    def fulfil(self, cid: str, **data: Any) -> Case:
        return self.engine.fire(cid, "fulfil", actor=AGENT, data=data)

    def sweep_at(self, when: pendulum.DateTime) -> dict[str, int]:
        self.clock.set(when)
        return self.sweeper.run().counts

    def outcomes(self, cid: str) -> list[tuple[int, str]]:
        return [(e.data["period"], e.data["status"]) for e in self.engine.history(cid)
                if e.kind is EventKind.OBLIGATION_DUE]

    def timers(self, cid: str) -> list[tuple[pendulum.DateTime, str, int]]:
        return [(t.due, t.payload["action"], t.payload["period"])
                for t in self.engine.store.timers(cid)]


@pytest.fixture(params=["memory", "sqlite",
                        pytest.param("postgresql", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest) -> Iterator[Store]:
    yield from make_store(request.param, request)


# --- scenarios -------------------------------------------------------------------------------


def test_weekly_vip_contact_across_weeks(store: Store) -> None:
    w = World(store, sh(2026, 3, 2, 9))
    cid = w.open(contact_obligation("C-1", "VIP", start=pendulum.date(2026, 3, 2), tz=TZ))
    # unmet: reminded a day before the week ends
    assert w.timers(cid) == [(sh(2026, 3, 8), "due_soon", 0)]
    w.clock.set(sh(2026, 3, 3, 10))
    w.fulfil(cid, ref="call 1")
    assert w.timers(cid) == [(sh(2026, 3, 9), "settle", 0)]
    assert w.sweep_at(sh(2026, 3, 8, 12)) == {}          # nothing due yet
    assert w.sweep_at(sh(2026, 3, 9)) == {"obligation_met": 1}
    assert w.timers(cid) == [(sh(2026, 3, 15), "due_soon", 1)]
    log = len(w.engine.history(cid))
    assert w.sweep_at(sh(2026, 3, 9)) == {} and len(w.engine.history(cid)) == log  # idempotent
    assert w.sweep_at(sh(2026, 3, 15, 6)) == {"obligation_due_soon": 1}
    assert w.sweep_at(sh(2026, 3, 15, 7)) == {}           # reminded once per period
    assert w.sweep_at(sh(2026, 3, 16)) == {"obligation_missed": 1}
    w.clock.set(sh(2026, 3, 18, 15))
    w.fulfil(cid, ref="visit")
    # two weeks without a sweep: both outcomes at once, no reminder for a past week
    assert w.sweep_at(sh(2026, 3, 30, 12)) == {"obligation_met": 1, "obligation_missed": 1}
    assert w.timers(cid) == [(sh(2026, 4, 5), "due_soon", 4)]
    assert w.sweep_at(sh(2026, 4, 5, 1)) == {"obligation_due_soon": 1}
    w.clock.set(sh(2026, 4, 5, 2))
    w.fulfil(cid, ref="call 2")
    assert w.sweep_at(sh(2026, 4, 6)) == {"obligation_met": 1}
    assert w.outcomes(cid) == [(0, "met"), (1, "due_soon"), (1, "missed"), (2, "met"),
                               (3, "missed"), (4, "due_soon"), (4, "met")]
    due = [e for e in w.engine.history(cid) if e.kind is EventKind.OBLIGATION_DUE]
    assert [e.data["due"] for e in due if e.data["status"] != "due_soon"] == [
        "2026-03-09T00:00:00+08:00", "2026-03-16T00:00:00+08:00", "2026-03-23T00:00:00+08:00",
        "2026-03-30T00:00:00+08:00", "2026-04-06T00:00:00+08:00"]
    assert all(e.actor_id == "servicewf" and e.role == "system" for e in due)
    assert due[2].comment == ("period 1 (2026-03-09T00:00:00+08:00 to "
                              "2026-03-16T00:00:00+08:00) missed")
    assert {h.clock for h in w.heard} == {"customer_contact"}
    assert [(h.kind, h.data["period"]) for h in w.heard] == [
        ("obligation_due_soon", 1), ("obligation_missed", 1), ("obligation_missed", 3),
        ("obligation_due_soon", 4)]
    case = w.engine.get(cid)
    state = w.ob.state(case)
    assert state == ObligationState(settled=4, met=(), reminded=4, met_count=3, missed_count=2,
                                    reminder_count=2)
    assert w.ob.recompute(w.engine, case) == state     # the state is the history, folded
    if isinstance(store, SQLStore):                    # ... and survives the database
        cases = store.tables.cases
        again = SQLStore(store.engine, schema=cases.schema,
                         prefix=cases.name.removesuffix("cases"))
        assert again.load(cid) == case
        assert again.timers(cid) == store.timers(cid)


@pytest.mark.parametrize(("year", "dues"), [
    (2026, ["02-15", "02-28", "03-15", "03-31", "04-15"]),
    (2028, ["02-15", "02-29", "03-15", "03-31", "04-15"]),   # leap year
])
def test_twice_monthly_from_a_month_end(store: Store, year: int, dues: list[str]) -> None:
    w = World(store, sh(year, 1, 31, 9))
    cid = w.open(contact_obligation("C-2", "ordinary", start=pendulum.date(year, 1, 31), tz=TZ))
    day = sh(year, 1, 31, 9)
    while day < sh(year, 4, 20):
        day = day.add(days=1)
        w.sweep_at(day)
    events = [e for e in w.engine.history(cid) if e.kind is EventKind.OBLIGATION_DUE]
    missed = [e for e in events if e.data["status"] == "missed"]
    assert [e.data["due"][5:10] for e in missed] == dues
    assert [e.at.in_timezone(TZ).format("MM-DD") for e in missed] == dues  # swept that day
    soon = [e for e in events if e.data["status"] == "due_soon"]
    # three days before each due date, at the first daily sweep after it
    assert [e.at for e in soon] == [
        pendulum.parse(f"{year}-{d}T09:00:00+08:00").subtract(days=3) for d in dues]
    assert [e.data["period"] for e in events] == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]


def test_quarterly_survey_with_back_dated_completions() -> None:
    w = World(MemoryStore(), sh(2026, 2, 10, 9))
    cid = w.open(survey_obligation("meeting rooms", "high", start=pendulum.date(2026, 1, 1),
                                   tz=TZ))
    assert w.timers(cid) == [(sh(2026, 3, 18), "due_soon", 0)]  # 14 days before 1 April
    assert w.sweep_at(sh(2026, 3, 18, 9)) == {"obligation_due_soon": 1}
    w.clock.set(sh(2026, 3, 20, 9))
    w.fulfil(cid, fulfilled_at=sh(2026, 3, 1, 15).isoformat(), ref="survey_campaign SC-1")
    assert w.sweep_at(sh(2026, 4, 1, 9)) == {"obligation_met": 1}
    assert w.sweep_at(sh(2026, 7, 2, 9)) == {"obligation_missed": 1}   # Q2: nothing done
    assert w.sweep_at(sh(2026, 9, 20, 9)) == {"obligation_due_soon": 1}
    # Q2's survey is logged late: recorded, but Q2 stays missed and Q3 is still open
    w.clock.set(sh(2026, 9, 21, 9))
    case = w.fulfil(cid, fulfilled_at=sh(2026, 6, 15, 9).isoformat(), ref="SC-2")
    assert w.ob.state(case).met == ()
    assert w.ob.status(case, w.clock.now()).current_met is False
    assert w.sweep_at(sh(2026, 10, 1, 9)) == {"obligation_missed": 1}
    assert w.outcomes(cid) == [(0, "due_soon"), (0, "met"), (1, "missed"), (2, "due_soon"),
                               (2, "missed")]


def test_periods_over_before_the_opening_are_not_owed() -> None:
    w = World(MemoryStore(), sh(2026, 3, 4, 9))
    cid = w.open(contact_obligation("C-3", "VIP", start=pendulum.date(2026, 1, 5), tz=TZ))
    assert w.ob.state(w.engine.get(cid)).settled == 7  # weeks 0–7 ended before 4 March
    assert w.sweep_at(sh(2026, 3, 20)) == {"obligation_missed": 2}
    assert w.outcomes(cid) == [(8, "missed"), (9, "missed")]


def test_ended_obligations_stop() -> None:
    w = World(MemoryStore(), sh(2026, 3, 2, 9))
    cid = w.open(contact_obligation("C-4", "VIP", start=pendulum.date(2026, 3, 2), tz=TZ))
    w.clock.set(sh(2026, 3, 18, 9))  # weeks 0 and 1 are over, unswept; week 2 in progress
    case = w.engine.fire(cid, "end", actor=AGENT, data={"reason": "customer left"})
    assert w.timers(cid) == [(sh(2026, 3, 9), "settle", 0)]  # what is owed is still settled
    assert w.sweep_at(sh(2026, 3, 18, 10)) == {"obligation_missed": 2}
    assert w.outcomes(cid) == [(0, "missed"), (1, "missed")]
    assert w.engine.store.timers(cid) == []
    assert w.sweep_at(sh(2026, 6, 1)) == {} and w.outcomes(cid) == [(0, "missed"), (1, "missed")]
    status = w.ob.status(w.engine.get(cid), sh(2026, 6, 1), w.engine.history(cid))
    assert (status.active, status.next_due, status.period, status.reminder_at) == (
        False, None, None, None)
    assert status.missed == (sh(2026, 3, 9), sh(2026, 3, 16)) and status.missed_count == 2
    # ended after everything owed was settled: no timer at all
    other = w.open(contact_obligation("C-5", "VIP", start=pendulum.date(2026, 6, 1), tz=TZ))
    case = w.engine.fire(other, "end", actor=AGENT, data={"reason": "duplicate"})
    assert case.state == "ended" and w.engine.store.timers(other) == []


# --- races, configuration, coexistence --------------------------------------------------------


def test_a_lost_race_is_retried_on_the_fresh_case() -> None:
    w = World(MemoryStore(), sh(2026, 3, 2, 9))
    cid = w.open(contact_obligation("C-1", "VIP", start=pendulum.date(2026, 3, 2), tz=TZ))
    original = w.engine.record
    raced: list[int] = []

    def racing_record(c, kind, **kw):  # type: ignore[no-untyped-def]
        if not raced:  # someone else writes to the case first, once
            raced.append(1)
            original(w.engine.get(c.id), EventKind.NOTE, actor=Actor("x", "agent"))
        return original(c, kind, **kw)

    w.engine.record = racing_record  # type: ignore[method-assign]
    w.clock.set(sh(2026, 3, 30, 12))
    report = w.sweeper.run()
    assert report.retries == 1 and report.counts == {"obligation_missed": 4}
    assert w.outcomes(cid) == [(0, "missed"), (1, "missed"), (2, "missed"), (3, "missed")]


def test_two_sweepers_racing_record_each_period_once() -> None:
    w = World(MemoryStore(), sh(2026, 3, 2, 9))
    cid = w.open(contact_obligation("C-1", "VIP", start=pendulum.date(2026, 3, 2), tz=TZ))
    now = sh(2026, 3, 29, 12)  # weeks 0–2 are over; week 3 is within its lead
    w.clock.set(now)
    original = w.engine.record
    other = SweepReport()
    raced: list[int] = []

    def racing_record(c, kind, **kw):  # type: ignore[no-untyped-def]
        if not raced:  # the other sweeper settles the whole case before this write lands
            raced.append(1)
            w.ob.settle(ActionContext(w.engine, None, now, other, []), w.engine.get(c.id))
        return original(c, kind, **kw)

    w.engine.record = racing_record  # type: ignore[method-assign]
    mine = w.sweeper.run()
    assert other.counts == {"obligation_missed": 3, "obligation_due_soon": 1}
    assert mine.retries == 1 and mine.counts == {}
    assert w.outcomes(cid) == [(0, "missed"), (1, "missed"), (2, "missed"), (3, "due_soon")]
    assert w.timers(cid) == [(sh(2026, 3, 30), "settle", 3)]


def test_leads_are_configurable() -> None:
    with pytest.raises(ValueError, match="negative"):
        Obligations({Cadence.WEEKLY: dt.timedelta(days=-1)})
    with pytest.raises(ValueError):
        Obligations({"fortnightly": dt.timedelta(days=1)})
    ob = Obligations({"weekly": dt.timedelta(0), Cadence.MONTHLY: dt.timedelta(days=40)})
    assert ob.leads[Cadence.QUARTERLY] == DEFAULT_LEADS[Cadence.QUARTERLY]
    w = World(MemoryStore(), sh(2026, 3, 2, 9), ob)
    weekly = w.open(contact_obligation("C-1", "VIP", start=pendulum.date(2026, 3, 2), tz=TZ))
    monthly = w.open(complaint_report_obligation(start=pendulum.date(2026, 3, 1), tz=TZ))
    assert w.timers(weekly) == [(sh(2026, 3, 9), "settle", 0)]      # no reminder
    assert w.timers(monthly) == [(sh(2026, 3, 1), "due_soon", 0)]   # lead > period: at start
    assert w.sweep_at(sh(2026, 4, 2)) == {"obligation_missed": 5, "obligation_due_soon": 1}
    assert w.outcomes(weekly) == [(k, "missed") for k in range(4)]
    assert w.outcomes(monthly) == [(0, "missed"), (1, "due_soon")]


def test_status_and_due_within() -> None:
    w = World(MemoryStore(), sh(2026, 3, 2, 9))
    a = w.open(contact_obligation("C-1", "VIP", start=pendulum.date(2026, 3, 2), tz=TZ))
    b = w.open(contact_obligation("C-2", "ordinary", start=pendulum.date(2026, 3, 1), tz=TZ))
    c = w.open(complaint_report_obligation(start=pendulum.date(2026, 3, 1), tz=TZ))
    w.clock.set(sh(2026, 3, 10, 9))
    w.fulfil(a)
    w.fulfil(b, fulfilled_at=sh(2026, 3, 3).isoformat())
    now = w.clock.now()
    status = w.ob.status(w.engine.get(a), now)   # not swept yet: week 0 judged here
    assert (status.period, status.next_due, status.current_met) == (1, sh(2026, 3, 16), True)
    # the counts are of periods that are over; the current one is met but not over
    assert status.missed == (sh(2026, 3, 9),) and (status.met_count, status.missed_count) == (0, 1)
    assert status.reminder_at == sh(2026, 3, 15) and status.kind == "customer_contact"
    assert status.subject == "C-1" and status.cadence is Cadence.WEEKLY and status.active
    before = w.ob.status(w.engine.get(b), sh(2026, 2, 1))
    assert (before.period, before.next_due) == (0, sh(2026, 3, 16))
    # from the timers: the next unmet period of each case (b's is met, c's is further away)
    soon = w.ob.due_within(w.engine.store, now, dt.timedelta(days=6))
    assert [(d.case_id, d.process, d.period, d.due) for d in soon] == [
        (a, "obligation", 0, sh(2026, 3, 9))]
    overdue_and_soon = w.ob.due_within(w.engine.store, now, dt.timedelta(days=22))
    assert [(d.case_id, d.period, d.due) for d in overdue_and_soon] == [
        (a, 0, sh(2026, 3, 9)), (c, 0, sh(2026, 4, 1))]
    w.sweep_at(now)
    after = w.ob.due_within(w.engine.store, now, dt.timedelta(days=22))
    assert [(d.case_id, d.period, d.due) for d in after] == [(c, 0, sh(2026, 4, 1))]


def test_other_processes_and_sla_timers_are_left_alone() -> None:
    w = World(MemoryStore(), sh(2026, 9, 15, 9), sla=True)
    complaint = w.engine.open("complaint", actor=AGENT, data={
        "channel": "phone", "customer_ref": "C-1", "content": "no hot water"})
    sla_timers = w.engine.store.timers(complaint.id)
    assert sla_timers and all(t.name.startswith("sla:") for t in sla_timers)
    assert "obligation" not in complaint.extensions
    cid = w.open(contact_obligation("C-1", "VIP", start=pendulum.date(2026, 9, 14), tz=TZ))
    assert [t.name for t in w.engine.store.timers(cid)] == [TIMER_NAME]
    w.clock.set(sh(2026, 10, 20, 9))
    report = w.sweeper.run()
    assert report.breaches > 0 and report.counts["obligation_missed"] == 5
    # a stray obligation timer on a complaint is dropped, the SLA's are kept
    sla_timers = w.engine.store.timers(complaint.id)
    stray = Timer(complaint.id, TIMER_NAME, sh(2026, 10, 1), "complaint")
    w.engine.store.set_timers(complaint.id, [*sla_timers, stray])
    ctx = ActionContext(w.engine, w.sla, w.clock.now(), SweepReport(), [])
    assert w.ob.settle(ctx, w.engine.get(complaint.id)) is False
    assert w.engine.store.timers(complaint.id) == sla_timers


def test_the_handler_needs_the_processor() -> None:
    ob = Obligations()
    engine = Engine(MemoryStore(), FrozenClock(sh(2026, 3, 2, 9)), REGISTRY)
    case = engine.open("obligation", actor=AGENT, data=contact_obligation(
        "C-1", "VIP", start=pendulum.date(2026, 3, 2), tz=TZ))
    ctx = ActionContext(engine, None, sh(2026, 4, 1), SweepReport(), [])
    with pytest.raises(ValueError, match="processor"):
        ob.settle(ctx, case)


def test_a_case_opened_before_the_processor_was_registered() -> None:
    store = MemoryStore()
    clock = FrozenClock(sh(2026, 3, 2, 9))
    plain = Engine(store, clock, REGISTRY)
    cid = plain.open("obligation", actor=AGENT, data=contact_obligation(
        "C-1", "VIP", start=pendulum.date(2026, 3, 2), tz=TZ)).id
    assert store.timers(cid) == []
    w = World(store, sh(2026, 3, 3, 9))
    w.fulfil(cid)
    assert w.timers(cid) == [(sh(2026, 3, 9), "settle", 0)]
    assert w.ob.state(w.engine.get(cid)) == ObligationState(settled=-1, met=(0,))


def test_the_documented_example_prints_what_it_says() -> None:
    page = (Path(__file__).resolve().parents[2] / "docs" / "obligations.md").read_text("utf-8")
    code = re.findall(r"```python\n(.*?)```", page, re.S)[-1]
    lines = code.splitlines()
    expected = [after[2:] for line, after in pairwise(lines)
                if line.startswith("print(") and after.startswith("# ")]
    out = io.StringIO()
    with redirect_stdout(out):
        exec(code, {})
    assert out.getvalue().splitlines() == expected and len(expected) == 4


# --- properties ------------------------------------------------------------------------------

ZONES = ("Asia/Shanghai", "America/New_York", "UTC")


@settings(max_examples=150, deadline=None)
@given(cadence=st.sampled_from(list(Cadence)), tz=st.sampled_from(ZONES),
       start=st.dates(min_value=dt.date(2024, 1, 1), max_value=dt.date(2028, 12, 31)),
       seconds=st.integers(-86400 * 40, 86400 * 800))
def test_period_index_and_bounds_agree_with_periods(cadence: Cadence, tz: str,
                                                     start: dt.date, seconds: int) -> None:
    origin = pendulum.datetime(start.year, start.month, start.day, tz=tz)
    at = origin.add(seconds=seconds)
    k = period_index(cadence, start, at, tz=tz)
    if at < origin:
        assert k == -1
        return
    last = periods(cadence, start, at, tz=tz)[-1]
    assert k == last.index and period_bounds(cadence, start, k, tz=tz) == (last.start, last.due)


# Hours; whole days often, so that sweeps and completions land exactly on period bounds.
hours = st.one_of(st.integers(0, 24 * 12), st.integers(0, 12).map(lambda d: 24 * d))
# An action: (hours after the previous one, "sweep" or "fulfil", hours the completion is
# back-dated by).
actions = st.lists(st.tuples(hours, st.sampled_from(("sweep", "fulfil")), hours), max_size=30)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cadence=st.sampled_from(list(Cadence)), tz=st.sampled_from(ZONES),
       start=st.sampled_from((dt.date(2026, 1, 31), dt.date(2026, 3, 2), dt.date(2028, 2, 29),
                              dt.date(2026, 8, 31))),
       steps=actions, tail=hours)
# on the bounds: the last sweep exactly at a due instant; a completion back-dated into a
# period that a sweep exactly at its due instant has settled
@example(cadence=Cadence.WEEKLY, tz="UTC", start=dt.date(2026, 3, 2), steps=[], tail=168)
@example(cadence=Cadence.WEEKLY, tz="UTC", start=dt.date(2026, 3, 2),
         steps=[(168, "sweep", 0), (1, "fulfil", 2)], tail=0)
def test_every_period_is_settled_once_as_cadence_says(
    cadence: Cadence, tz: str, start: dt.date, steps: list[tuple[int, str, int]], tail: int
) -> None:
    origin = pendulum.datetime(start.year, start.month, start.day, tz=tz)
    w = World(MemoryStore(), origin)
    cid = w.open({"kind": "other", "cadence": cadence.value, "start": start.isoformat(),
                  "tz": tz, "subject": "anything"})
    lead = DEFAULT_LEADS[cadence]
    counted: list[tuple[int, pendulum.DateTime]] = []   # (step, completion) that count
    sweeps: list[tuple[int, pendulum.DateTime]] = []    # (step, instant)
    last_sweep: pendulum.DateTime | None = None
    now = origin
    for i, (gap, kind, back) in enumerate(steps):
        now = now.add(hours=gap)
        w.clock.set(now)
        if kind == "sweep":
            w.sweeper.run()
            last_sweep = now
            sweeps.append((i, now))
            continue
        done = max(origin, now.subtract(hours=back))
        w.fulfil(cid, fulfilled_at=done.isoformat())
        due = periods(cadence, start, done, tz=tz)[-1].due
        # A completion counts unless its period was already settled by an earlier sweep.
        if last_sweep is None or due > last_sweep:
            counted.append((i, done))
    end = now.add(hours=tail)
    w.clock.set(end)
    w.sweeper.run()
    sweeps.append((len(steps), end))
    assert w.sweeper.run().counts == {}  # nothing left for the same now

    expected = [(p.index, "met" if p.met else "missed")
                for p in periods(cadence, start, end, tz=tz, done=[c for _, c in counted])
                if p.due <= end]
    events = [e for e in w.engine.history(cid) if e.kind is EventKind.OBLIGATION_DUE]
    assert [(e.data["period"], e.data["status"]) for e in events
            if e.data["status"] != "due_soon"] == expected
    missed = [k for k, s in expected if s == "missed"]
    assert w.ob.state(w.engine.get(cid)).missed_count == len(missed)

    # Reminders: at most one per period, at the first sweep within the lead while unmet.
    soon = Counter(e.data["period"] for e in events if e.data["status"] == "due_soon")
    assert all(n == 1 for n in soon.values())
    for k in range(0, periods(cadence, start, end, tz=tz)[-1].index + 1):
        begin, due = period_bounds(cadence, start, k, tz=tz)
        remind = max(begin, due - lead)
        met_at = [i for i, c in counted if begin <= c < due]
        first_met = min(met_at) if met_at else None
        should = [s for i, s in sweeps if remind <= s < due
                  and (first_met is None or i < first_met)]
        got = [e.at for e in events if e.data["status"] == "due_soon" and e.data["period"] == k]
        assert got == should[:1], (k, got, should)


def test_settle_says_whether_it_wrote() -> None:
    """``settle`` returns True exactly when it recorded something (surviving mutants: the
    return value was never checked)."""
    from servicewf.processes.schedule import ObligationState

    w = World(MemoryStore(), sh(2026, 3, 2, 9))
    cid = w.open(contact_obligation("C-1", "VIP", start=pendulum.date(2026, 3, 2), tz=TZ))
    early = ActionContext(w.engine, None, sh(2026, 3, 3, 9), SweepReport(), [])
    w.clock.set(sh(2026, 3, 3, 9))
    assert w.ob.settle(early, w.engine.get(cid)) is False   # nothing over, nothing due soon
    late = sh(2026, 3, 17, 9)  # two weeks over: both missed
    w.clock.set(late)
    report = SweepReport()
    assert w.ob.settle(ActionContext(w.engine, None, late, report, []),
                       w.engine.get(cid)) is True
    assert report.counts["obligation_missed"] == 2
    # a state written before the counters existed reads as zero counts
    old = ObligationState.from_dict({"settled": 1})
    assert (old.met_count, old.missed_count, old.reminder_count, old.reminded) == (0, 0, 0, -1)
