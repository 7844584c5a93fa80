"""A policy's own ``on_warning`` / ``on_breach`` run for every warning and breach the sweep
records, with the clock's view; ``Policy``'s own do nothing on a clock that does not
escalate (the sweep skips building their view), and escalate on one that does."""

from __future__ import annotations

import datetime as dt

import pytest

from servicewf import EventKind, FrozenClock, MemoryStore
from servicewf.engine import Engine
from servicewf.sla import SLA, ClockHours, ClockSpec, On, Policy, Sweeper, Warn

from .sweep_setup import AGENT, T0, job_definition


def _clock(escalate: bool) -> ClockSpec:
    return ClockSpec("resolve", start=On(enter="received"), stop=On(enter="done"),
                     target=ClockHours(1), warn=Warn(fraction=0.5), escalate=escalate)


def hooked(heard: list[tuple[str, str, int, dt.datetime | None]]) -> type[Policy]:
    """A policy class that writes down what the sweep hands to its hooks (policies are
    frozen: the list lives outside)."""

    class Hooked(Policy):
        def on_warning(self, ctx, case, clock):  # type: ignore[no-untyped-def]
            heard.append(("warning", clock.name, clock.cycle, clock.deadline))
            return case

        def on_breach(self, ctx, case, clock):  # type: ignore[no-untyped-def]
            heard.append(("breach", clock.name, clock.cycle, clock.deadline))
            return super().on_breach(ctx, case, clock)

    return Hooked


@pytest.mark.parametrize("escalate", [False, True])
def test_a_policy_hears_every_warning_and_breach_with_the_clock_view(escalate: bool) -> None:
    heard: list[tuple[str, str, int, dt.datetime | None]] = []
    policy = hooked(heard)("job.sla", "job", [_clock(escalate)])
    clock = FrozenClock(T0)
    store = MemoryStore()
    sla = SLA([policy])
    engine = Engine(store, clock, [job_definition()], processors=[sla])
    case = engine.open("job", actor=AGENT)
    deadline = T0 + dt.timedelta(hours=1)
    clock.set(T0 + dt.timedelta(minutes=40))
    Sweeper(engine, sla).run()
    clock.set(T0 + dt.timedelta(minutes=70))
    report = Sweeper(engine, sla).run()
    assert heard == [("warning", "resolve", 1, deadline), ("breach", "resolve", 1, deadline)]
    assert report.escalations == (1 if escalate else 0)
    kinds = [e.kind for e in store.history(case.id)]
    assert kinds.count(EventKind.CLOCK_BREACHED) == 1
    assert [t.name for t in store.timers(case.id)] == []  # the pending breach action is gone


@pytest.mark.parametrize("escalate", [False, True])
def test_policy_own_hooks_escalate_only_a_clock_that_says_so(escalate: bool) -> None:
    sla = SLA([Policy("job.sla", "job", [_clock(escalate)])])
    clock = FrozenClock(T0)
    store = MemoryStore()
    engine = Engine(store, clock, [job_definition()], processors=[sla])
    case = engine.open("job", actor=AGENT)
    clock.set(T0 + dt.timedelta(minutes=70))
    report = Sweeper(engine, sla).run()
    assert (report.breaches, report.escalations) == (1, 1 if escalate else 0)
    assert [t.name for t in store.timers(case.id)] == []
