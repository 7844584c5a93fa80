"""Invariants of the KPIs (hypothesis): the order histories are read in does not matter,
counts add up over disjoint periods, and a pause changes business time, not calendar time."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

import pendulum
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from servicewf.calendar import china_office
from servicewf.demo import TZ, run_demo
from servicewf.events import Event, EventKind
from servicewf.processes import builtin_registry
from servicewf.processes.policies import default_sla
from servicewf.reporting import Report, case_index, compute
from servicewf.storage.sql import SQLStore

REGISTRY = builtin_registry()
SLA = default_sla(registry=REGISTRY)


@pytest.fixture(scope="module")
def demo_log(tmp_path_factory: pytest.TempPathFactory
             ) -> tuple[list[Event], dict[str, tuple[str, int]], pendulum.DateTime]:
    """A small demo run's log (log order) and case index."""
    db = f"sqlite:///{tmp_path_factory.mktemp('props') / 'demo.db'}"
    summary = run_demo(cases=50, seed=11, days=6, db=db)
    store = SQLStore(db)
    try:
        return [entry.event for entry in store.read_log()], case_index(store), \
            summary.simulated_to
    finally:
        store.close()


def _counts(report: Report) -> dict[str, Any]:
    """The additive counts of a report, by row identity."""
    out: dict[str, Any] = {}
    for r in report.attainment:
        if r.by in ("all", "level", "tier", "period"):
            key = ("attainment", r.process, r.clock, r.by, r.key)
            out[str(key)] = (r.met, r.breached, r.too_early, r.cancelled, r.no_goal)
    for name, fields in (("reopen", ("resolved", "reopened", "first_contact")),
                         ("escalations", ("escalations", "handovers")),
                         ("csat", ("asked", "answered", "ratings", "satisfied")),
                         ("handling", ("received", "handled")),
                         ("within_deadline", ("closed", "within")),
                         ("obligations", ("met", "missed")),
                         ("durations", ("cycles", "reopened", "paused"))):
        for row in getattr(report, name):
            d = row.to_dict()
            ident = tuple(v for k, v in d.items() if isinstance(v, str))
            out[str((name, *ident))] = tuple(d[f] for f in fields)
    return out


def _add(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    out = dict(a)
    for k, v in b.items():
        out[k] = tuple(x + y for x, y in zip(out[k], v, strict=True)) if k in out else v
    return {k: v for k, v in out.items() if any(v)}


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32 - 1))
def test_kpis_do_not_depend_on_the_order_histories_are_read_in(demo_log: Any, seed: int) -> None:
    log, index, end = demo_log
    by_case: dict[str, list[Event]] = {}
    for e in log:
        by_case.setdefault(e.case_id, []).append(e)
    rng = random.Random(seed)
    # An arbitrary interleaving of the histories, each kept in its own order.
    queues = [list(h) for h in by_case.values()]
    rng.shuffle(queues)
    mixed: list[Event] = []
    while queues:
        q = rng.choice(queues)
        mixed.append(q.pop(0))
        if not q:
            queues.remove(q)
    a = compute(log, cases=index, sla=SLA, registry=REGISTRY, as_of=end, tz=TZ)
    b = compute(mixed, cases=index, sla=SLA, registry=REGISTRY, as_of=end, tz=TZ)
    assert {k: v for k, v in a.to_dict()["kpis"].items() if k != "cycles"} == \
        {k: v for k, v in b.to_dict()["kpis"].items() if k != "cycles"}
    key = lambda r: (r["case_id"], r["clock"], r["cycle"])  # noqa: E731
    assert sorted(a.cycles.to_list(), key=key) == sorted(b.cycles.to_list(), key=key)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(cut=st.integers(1, 6 * 24 * 4 - 1))
def test_counts_add_up_over_disjoint_periods(demo_log: Any, cut: int) -> None:
    log, index, end = demo_log
    lo = pendulum.datetime(2026, 9, 14, tz=TZ)
    mid = lo.add(minutes=15 * cut)

    def run(a: pendulum.DateTime, b: pendulum.DateTime) -> dict[str, Any]:
        return _counts(compute(log, cases=index, sla=SLA, registry=REGISTRY, as_of=end,
                               start=a, end=b, tz=TZ, granularity="day", cycles=False))

    whole = {k: v for k, v in run(lo, end).items() if any(v)}
    assert whole
    assert _add(run(lo, mid), run(mid, end)) == whole


def _history(case_id: str, t0: pendulum.DateTime, work: float, pause: tuple[float, float] | None
             ) -> list[Event]:
    """A service request opened at ``t0``, confirmed an hour later with a due time, started,
    optionally waiting for the customer from ``pause[0]`` for ``pause[1]`` hours, and
    delivered ``work`` hours after the start."""
    steps: list[tuple[float, str, str, str, dict[str, Any]]] = [
        (0.2, "register", "received", "registered", {}),
        (1.0, "confirm", "registered", "confirmed",
         {"priority": "普通", "due": t0.add(days=3).isoformat()}),
        (1.5, "start", "confirmed", "in_progress", {}),
    ]
    start = 1.5
    if pause is not None:
        steps.append((start + pause[0], "wait_customer", "in_progress", "waiting_customer", {}))
        steps.append((start + pause[0] + pause[1], "resume", "waiting_customer", "in_progress",
                      {}))
    steps.append((start + work, "deliver", "in_progress", "delivered", {}))
    events = [Event(case_id, 1, t0, EventKind.OPENED, "a", "agent", None, None, "received",
                    {"channel": "phone"})]
    for seq, (hours, trigger, source, dest, data) in enumerate(steps, start=2):
        events.append(Event(case_id, seq, t0.add(seconds=round(hours * 3600)),
                            EventKind.TRANSITION, "a", "agent", trigger, source, dest, data))
    return events


@settings(max_examples=40, deadline=None)
@given(start_minutes=st.integers(0, 7 * 24 * 60), work=st.floats(3, 60),
       pause_at=st.floats(0.1, 0.9), pause_share=st.floats(0.05, 0.9))
def test_a_pause_changes_business_time_not_calendar_time(
        start_minutes: int, work: float, pause_at: float, pause_share: float) -> None:
    t0 = pendulum.datetime(2026, 9, 14, tz=TZ).add(minutes=start_minutes)
    begin, length = work * pause_at, work * (1 - pause_at) * pause_share
    events = [*_history("plain", t0, work, None), *_history("paused", t0, work,
                                                            (begin, length))]
    end = t0.add(days=30)
    report = compute(events, cases={"plain": "service_request", "paused": "service_request"},
                     sla=SLA, registry=REGISTRY, as_of=end, tz=TZ)
    rows = {(r.case_id, r.clock): r for r in report.cycles}
    plain, paused = rows[("plain", "resolution")], rows[("paused", "resolution")]
    assert plain.calendar == paused.calendar
    office = china_office()
    a = t0.add(seconds=round((1.5 + begin) * 3600))
    b = t0.add(seconds=round((1.5 + begin + length) * 3600))
    worked = office.working_time(a, b) / dt.timedelta(seconds=1)
    assert plain.business is not None and paused.business is not None
    assert plain.business - paused.business == pytest.approx(worked, abs=1e-6)
    assert paused.paused_calendar == pytest.approx((b - a).total_seconds(), abs=1e-6)
    assert paused.paused_business == pytest.approx(worked, abs=1e-6)
    assert plain.paused_calendar == 0
    # the clocks a pause does not touch read the same
    for clock in ("first_response", "confirmation"):
        assert rows[("plain", clock)].business == rows[("paused", clock)].business


def _walk(process: str, case_id: str, rng: random.Random, steps: int) -> list[Event]:
    """A random walk over the transitions of a built-in definition (any trigger the state
    allows, guards and required data aside), 0-30 hours apart, levels drawn at random."""
    definition = REGISTRY.get(process)
    t = pendulum.datetime(2026, 9, 14, 8, tz=TZ).add(minutes=rng.randrange(7 * 24 * 60))
    state = definition.initial.id
    events = [Event(case_id, 1, t, EventKind.OPENED, "a", "agent", None, None, state, {})]
    for seq in range(2, steps + 2):
        options = [tr for tr in definition.transitions
                   if state in tr.sources or "*" in tr.sources]
        if not options:
            break
        tr = rng.choice(options)
        dest = tr.target(state)
        t = t.add(minutes=rng.randrange(1, 30 * 60))
        data = {"level": rng.choice(["一般", "重要", "緊急"]), "priority": "普通",
                "due": t.add(days=2).isoformat()} if rng.random() < 0.3 else {}
        events.append(Event(case_id, seq, t, EventKind.TRANSITION, "a", "agent", tr.trigger,
                            state, dest, data))
        state = dest
    return events


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), process=st.sampled_from(["complaint",
                                                                 "service_request"]))
def test_cycles_and_pauses_agree_with_the_sla_fold(seed: int, process: str) -> None:
    from servicewf.clock import epoch_us

    rng = random.Random(seed)
    events = _walk(process, "w", rng, rng.randrange(3, 40))
    as_of = events[-1].at.add(hours=1)
    report = compute(events, cases={"w": process}, sla=SLA, registry=REGISTRY, as_of=as_of,
                     tz=TZ)
    states = SLA.bind(REGISTRY.get(process)).fold(events)  # type: ignore[union-attr]
    ours = {(c.clock, c.cycle): c for c in report.cycles}
    for clock in states.clocks:
        cycles = [*clock.past] if clock.cycle == 0 else [*clock.past, None]
        assert {n for (name, n) in ours if name == clock.name} == {
            c.number if c is not None else clock.cycle for c in cycles}
        for past in clock.past:
            row = ours[(clock.name, past.number)]
            assert epoch_us(row.started) == past.started
            assert row.outcome == (past.outcome or "")
        if clock.cycle:
            row = ours[(clock.name, clock.cycle)]
            assert epoch_us(row.started) == clock.started
            if clock.status == "stopped":
                assert row.stopped is not None and epoch_us(row.stopped) == clock.stopped
                spec = SLA.policies[process].clock(clock.name)
                # the fold keeps the paused time of the current cycle in the clock's measure
                measured = row.paused_calendar if spec.absolute else row.paused_business
                assert measured is not None
                assert round(measured * 1e6) == clock.paused, clock.name
            else:
                assert row.stopped is None and row.outcome == "open"


def test_a_stop_repeated_while_stopped_keeps_the_gap_until_the_reopen() -> None:
    # A definition whose stop state can be entered again before the reopen (here built by
    # hand): the fold ignores the second stop, the pause runs from the first stop to the
    # reopen.
    from servicewf.clock import epoch_us

    t0 = pendulum.datetime(2026, 9, 14, 9, tz=TZ)
    path = [(1, "record", "received", "recorded", {"level": "一般"}),
            (2, "resolve", "recorded", "resolved", {}),
            (30, "give_feedback", "resolved", "feedback_given", {}),
            (50, "resolve", "feedback_given", "resolved", {}),
            (75, "reopen", "resolved", "investigating", {}),
            (80, "resolve", "investigating", "resolved", {})]
    events = [Event("x", 1, t0, EventKind.OPENED, "a", "agent", None, None, "received", {})]
    events += [Event("x", seq, t0.add(hours=h), EventKind.TRANSITION, "a", "agent", trig, s, d,
                     data) for seq, (h, trig, s, d, data) in enumerate(path, start=2)]
    report = compute(events, cases={"x": "complaint"}, sla=SLA, registry=REGISTRY,
                     as_of=t0.add(days=10), tz=TZ)
    row = next(c for c in report.cycles if c.clock == "resolve")
    state = SLA.bind(REGISTRY.get("complaint")).fold(events)["resolve"]  # type: ignore[union-attr]
    assert row.paused_business is not None and round(row.paused_business * 1e6) == state.paused
    assert row.paused_calendar == 73 * 3600  # from the first stop (2 h) to the reopen (75 h)
    assert row.reopens == 1 and epoch_us(row.stopped) == state.stopped
