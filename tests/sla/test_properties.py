"""Hypothesis properties of the clocks: the fold is a pure function of the history."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import attrs
import pendulum
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from servicewf import Actor, Engine, Event, EventKind, FrozenClock, MemoryStore
from servicewf.clock import epoch_us
from servicewf.errors import CommandRefused
from servicewf.processes.presets import (
    complaint_business_centre,
)
from servicewf.sla import (
    SLA,
    BoundPolicy,
    BusinessHours,
    ClockHours,
    ClockSpec,
    ExtensionConditionsUnmet,
    On,
    Policy,
    Sweeper,
    Warn,
    WorkingDays,
    recompute,
)

from .helpers import (
    AGENT,
    CALENDARS,
    complaint_definition,
    request_definition,
    run_at,
    sh,
)

SETTINGS = settings(max_examples=40, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])

COMPLAINT = complaint_definition()
REQUEST = request_definition()
LEVELS = ["一般", "重要", "緊急", "urgent"]


def _extendable(policy: Policy) -> Policy:
    policy = policy.replace_clock(
        "resolve", warn=Warn(fraction=0.5, business_hours_only=True))
    # A recurring clock: every `note` meets the current cycle and starts the next.
    recurring = ClockSpec("update", start=On(enter="acknowledged", trigger="note"),
                          stop=On(trigger="note"), cancel=On(enter="closed"),
                          target=ClockHours(4), calendar="office")
    return attrs.evolve(policy, clocks=(*policy.clocks, recurring))


step = st.one_of(
    st.tuples(st.just("fire"), st.integers(0, 20)),
    st.tuples(st.just("fire"), st.integers(0, 20)),
    st.tuples(st.just("sweep"), st.none()),
    st.tuples(st.just("extend"), st.none()),
)


@st.composite
def walks(draw: st.DrawFn) -> tuple[pendulum.DateTime, list[tuple[str, object, int, str]]]:
    start = sh(2026, 1, 1).add(minutes=draw(st.integers(0, 365 * 24 * 60)))
    steps = draw(st.lists(
        st.tuples(step, st.integers(0, 3 * 24 * 60), st.sampled_from(LEVELS)),
        min_size=10, max_size=40))
    return start, [(kind, trig, gap, level) for (kind, trig), gap, level in steps]


ORDER = ["received", "recorded", "classified", "confirmed", "acknowledged", "investigating",
         "resolved", "feedback_given", "closed", "followed_up", "archived"]
# Steering: leaving the main path (invalid) is rare, so walks get past 'acknowledged'.
WEIGHTS = {"reject_invalid": 1, "note": 2, "escalate": 2, "extend": 3}


def _refusal_is_expected(sla: SLA, engine: Engine, case_id: str, refused: CommandRefused,
                         clock: str = "resolve") -> None:
    """A refused extension must be refused for a reason the clock's state explains."""
    assert isinstance(refused, ExtensionConditionsUnmet), refused
    state = sla.states(engine.get(case_id))[clock]
    rule = _extendable(complaint_business_centre()).clock(clock).extension
    reasons = []
    if not state.running:
        reasons.append("is not running")
    if rule is not None and rule.max_count is not None and state.extensions >= rule.max_count:
        reasons.append("at most")
    if state.deadline is None:
        reasons.append("a deadline to extend")
    assert reasons, f"refused though the clock allows it: {refused.missing}"
    assert any(r in m for r in reasons for m in refused.missing), (reasons, refused.missing)


def _run(policy: Policy, start: pendulum.DateTime, steps,  # type: ignore[no-untyped-def]
         record_depth: bool = False) -> tuple[Engine, SLA, str]:
    sla = SLA([policy], CALENDARS)
    clock = FrozenClock(start)
    engine = Engine(MemoryStore(), clock, [COMPLAINT], processors=[sla])
    case = engine.open("complaint", actor=AGENT)
    sweeper = Sweeper(engine, sla, owner="w")
    for kind, trig, gap, level in steps:
        clock.advance(minutes=gap)
        current = engine.get(case.id)
        if kind == "fire":
            allowed = [o.trigger for o in engine.available(current, AGENT) if o.allowed]
            if not allowed:
                break  # a final state
            pool = [t for t in allowed for _ in range(WEIGHTS.get(t, 8))]
            trig = pool[int(trig) % len(pool)]  # type: ignore[call-overload]
            data: dict[str, object] = {"level": level} if trig == "classify" else {}
            if trig == "extend":  # the process's own extension: a new deadline
                data = {"reason": "r", "customer_notification": "n",
                        "new_deadline": clock.now().add(hours=gap % 97).isoformat()}
            try:
                engine.fire(current, trig, actor=AGENT, data=data)
            except CommandRefused as refused:
                assert trig == "extend", f"{trig} was offered but refused: {refused}"
                _refusal_is_expected(sla, engine, case.id, refused)
        elif kind == "sweep":
            sweeper.run(clock.now())
        else:
            try:
                sla.extend(engine, current, clock="resolve", by=WorkingDays(1), actor=AGENT,
                           reason="r", notice="n")
            except CommandRefused as refused:
                _refusal_is_expected(sla, engine, case.id, refused)
    if record_depth:
        seen = {e.dest for e in engine.history(case.id)}
        event(f"furthest state: {max(ORDER.index(s) for s in seen if s in ORDER)}")
    return engine, sla, case.id


@SETTINGS
@given(walks())
def test_incremental_equals_recompute(walk) -> None:  # type: ignore[no-untyped-def]
    """The clocks the processor stored command by command (through the plain-data round
    trip in ``case.extensions``) equal one fold of the whole history. Both run the same
    fold, so this checks the incremental path and the storage, not the clock rules: those
    are checked against an independent model in ``test_oracle.py``."""
    start, steps = walk
    policy = _extendable(complaint_business_centre())
    engine, sla, case_id = _run(policy, start, steps, record_depth=True)
    history = engine.history(case_id)
    stored = sla.states(engine.get(case_id))
    assert recompute(policy, CALENDARS, history, definition=COMPLAINT) == stored
    # ...and as of any earlier instant, it equals the fold of the prefix.
    cut = history[len(history) // 2]
    bound = BoundPolicy(policy, COMPLAINT, CALENDARS)
    prefix = [e for e in history if e.at <= cut.at]
    assert recompute(bound, None, history, cut.at) == bound.fold(prefix)


def test_the_walks_get_past_acknowledged() -> None:
    """The walks above are steered: a fixed sample of them goes deep into the process."""
    import random

    rng = random.Random(7)
    furthest = []
    for _ in range(30):
        start = sh(2026, 1, 1).add(minutes=rng.randint(0, 365 * 24 * 60))
        steps = [(rng.choice(["fire", "fire", "fire", "sweep", "extend"]), rng.randint(0, 20),
                  rng.randint(0, 3 * 24 * 60), rng.choice(LEVELS)) for _ in range(30)]
        engine, _, case_id = _run(_extendable(complaint_business_centre()), start, steps)
        seen = {e.dest for e in engine.history(case_id)}
        furthest.append(max(ORDER.index(s) for s in seen if s in ORDER))
    assert sum(f > ORDER.index("acknowledged") for f in furthest) >= 15, furthest
    assert max(furthest) >= ORDER.index("closed"), furthest


@SETTINGS
@given(walks())
def test_warnings_and_breaches_never_duplicated_and_sweep_idempotent(walk) -> None:  # type: ignore[no-untyped-def]
    start, steps = walk
    engine, sla, case_id = _run(_extendable(complaint_business_centre()), start, steps)
    per_cycle = Counter(
        (e.kind, e.data["clock"], e.data["cycle"]) for e in engine.history(case_id)
        if e.kind in (EventKind.CLOCK_WARNING, EventKind.CLOCK_BREACHED)
    )
    assert all(n == 1 for n in per_cycle.values()), per_cycle
    now = engine.clock.now().add(days=40)
    run_at(Sweeper(engine, sla, owner="a"), now)
    before = engine.history(case_id)
    timers = engine.store.timers(case_id)
    report = run_at(Sweeper(engine, sla, owner="b"), now)
    assert (report.warnings, report.breaches, report.escalations) == (0, 0, 0)
    assert engine.history(case_id) == before
    assert engine.store.timers(case_id) == timers
    assert all(t.due > now for t in timers)


def _events(case_id: str, steps: list[tuple[str, str, str, pendulum.DateTime]]) -> list[Event]:
    out = [Event(case_id, 1, steps[0][3], EventKind.OPENED, "a", "agent", None, None,
                 "received")]
    for seq, (trig, source, dest, at) in enumerate(steps[1:], start=2):
        out.append(Event(case_id, seq, at, EventKind.TRANSITION, "a", "agent", trig, source,
                         dest))
    return out


instants = st.integers(0, 2 * 365 * 24 * 3600).map(
    lambda s: pendulum.datetime(2026, 1, 1, tz="UTC").add(seconds=s))


@SETTINGS
@given(
    target=st.one_of(st.integers(1, 60).map(lambda h: BusinessHours(h)),
                     st.integers(1, 10).map(WorkingDays)),
    start=instants,
    gaps=st.tuples(st.integers(0, 20 * 24 * 3600), st.integers(1, 20 * 24 * 3600)),
)
def test_pausing_shifts_the_deadline_by_the_paused_business_time(target, start, gaps) -> None:  # type: ignore[no-untyped-def]
    policy = Policy("p", "service_request", [
        ClockSpec("resolve", start=On(enter="received"), stop=On(enter="delivered"),
                  target=target, calendar="office", pause_in=("waiting_customer",))])
    bound = BoundPolicy(policy, REQUEST, CALENDARS)
    p = start.add(seconds=gaps[0])
    q = p.add(seconds=gaps[1])
    plain = bound.fold(_events("c", [("", "", "received", start)]))["resolve"]
    paused = bound.fold(_events("c", [
        ("", "", "received", start),
        ("register", "received", "registered", start),
        ("confirm", "registered", "confirmed", start),
        ("start", "confirmed", "in_progress", start),
        ("wait_customer", "in_progress", "waiting_customer", p),
        ("resume", "waiting_customer", "in_progress", q),
    ]))["resolve"]
    cal = CALENDARS["office"]
    assert plain.deadline is not None and paused.deadline is not None
    shift = cal.working_time(pendulum.from_timestamp(plain.deadline / 1e6),
                             pendulum.from_timestamp(paused.deadline / 1e6))
    paused_time = cal.working_time(p, q)
    assert abs(shift - paused_time) <= dt.timedelta(microseconds=1)
    assert paused.paused == paused_time // dt.timedelta(microseconds=1)
    if paused_time == dt.timedelta(0):
        assert paused.deadline == plain.deadline


@SETTINGS
@given(start=instants, level=st.sampled_from(["一般", "重要", "緊急"]),
       later=st.sampled_from(["一般", "重要", "緊急"]), gap=st.integers(0, 10 * 86400))
def test_reclassification_equals_classifying_at_receipt(start, level, later, gap) -> None:  # type: ignore[no-untyped-def]
    bound = BoundPolicy(complaint_business_centre(), COMPLAINT, CALENDARS)
    t = start.add(seconds=gap)
    opened = Event("c", 1, start, EventKind.OPENED, "a", "agent", None, None, "received")
    rec = Event("c", 2, t, EventKind.TRANSITION, "a", "agent", "record", "received", "recorded")
    cls1 = Event("c", 3, t, EventKind.TRANSITION, "a", "agent", "classify", "recorded",
                 "classified", {"level": level})
    cls2 = attrs.evolve(cls1, seq=4, source="classified", data={"level": later})
    changed = bound.fold([opened, rec, cls1, cls2])["resolve"]
    direct = bound.fold([attrs.evolve(opened, data={"level": later})])["resolve"]
    assert changed.deadline == direct.deadline
    assert changed.started == epoch_us(start)


def test_two_workers_share_the_store_without_duplicates() -> None:
    policy = complaint_business_centre()
    sla = SLA([policy], CALENDARS)
    clock = FrozenClock(sh(2026, 9, 15, 9, 0))
    engine = Engine(MemoryStore(), clock, [COMPLAINT], processors=[sla])
    ids = [engine.open("complaint", actor=AGENT, data={"level": "一般"}).id for _ in range(30)]
    now = sh(2026, 9, 30, 9, 0)
    clock.set(now)
    a = Sweeper(engine, sla, owner="a", batch=7)
    b = Sweeper(engine, sla, owner="b", batch=7)
    ra = a.run(now, limit=20)
    rb = run_at(b, now)
    assert ra.timers == 20 and rb.timers > 0
    for cid in ids:
        kinds = Counter((e.kind, e.data.get("clock")) for e in engine.history(cid)
                        if e.kind is EventKind.CLOCK_BREACHED)
        assert kinds == Counter({(EventKind.CLOCK_BREACHED, "record"): 1,
                                 (EventKind.CLOCK_BREACHED, "acknowledge"): 1,
                                 (EventKind.CLOCK_BREACHED, "resolve"): 1})


def test_stale_version_is_retried_on_the_reloaded_case() -> None:
    sla = SLA([complaint_business_centre()], CALENDARS)
    clock = FrozenClock(sh(2026, 9, 15, 9, 0))
    engine = Engine(MemoryStore(), clock, [COMPLAINT], processors=[sla])
    case = engine.open("complaint", actor=AGENT, data={"level": "一般"})
    original = engine.plan_record
    raced = []

    def racing_plan(c, kind, **kw):  # type: ignore[no-untyped-def]
        if not raced:  # someone else writes first, once (between reading and writing)
            raced.append(1)
            engine.record(engine.get(c.id), EventKind.NOTE, actor=Actor("x", "agent"))
        return original(c, kind, **kw)

    engine.plan_record = racing_plan  # type: ignore[method-assign]
    report = run_at(Sweeper(engine, sla), sh(2026, 9, 30, 9, 0))
    assert report.retries == 1
    assert sum(e.kind is EventKind.CLOCK_BREACHED for e in engine.history(case.id)) == 3


@SETTINGS
@given(a=instants, b=instants, d=st.integers(-30 * 86400, 30 * 86400),
       n=st.integers(1, 12))
def test_calendar_measure_matches_the_public_calendar_api(a, b, d, n) -> None:  # type: ignore[no-untyped-def]
    from servicewf.clock import from_epoch_us
    from servicewf.sla.measure import CalendarMeasure

    cal = CALENDARS["office"]
    m = CalendarMeasure(cal)
    ta, tb = epoch_us(a), epoch_us(b)
    assert m.add(ta, d * 1_000_000) == epoch_us(cal.add(a, dt.timedelta(seconds=d)))
    assert m.working(ta, tb) == cal.working_time(a, b) // dt.timedelta(microseconds=1)
    assert m.add_working_days(ta, n, None) == epoch_us(cal.add_working_days(a, n))
    # The memo (per local date) answers like a cold measure, for any instant of that day.
    day_start = epoch_us(a.in_timezone(cal.timezone).start_of("day"))
    day_end = epoch_us(a.in_timezone(cal.timezone).end_of("day"))
    fresh = CalendarMeasure(cal).add_working_days(ta, n, None)
    assert m.add_working_days(ta, n, None) == fresh
    assert m.add_working_days(day_start, n, None) == fresh
    assert m.add_working_days(day_end, n, None) == fresh
    assert m.add_working_days(day_end + 1, n, None) == epoch_us(
        cal.add_working_days(from_epoch_us(day_end + 1), n))
    assert from_epoch_us(ta) == a
