"""A small process with one escalating clock, for the production-sweep tests (importable by
spawned worker processes: everything is built from plain arguments)."""

from __future__ import annotations

import datetime as dt

from servicewf import STAY, Actor, DefinitionBuilder, Engine
from servicewf.clock import Clock
from servicewf.definition import ProcessDefinition
from servicewf.sla import SLA, ClockHours, ClockSpec, On, Policy
from servicewf.storage import Store

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.timezone.utc)
AGENT = Actor("a1", "agent")
LATE = T0 + dt.timedelta(hours=2)
"""After every job's one-hour deadline."""


def job_definition() -> ProcessDefinition:
    b = DefinitionBuilder("job", 1)
    b.add_state("received", initial=True)
    b.add_state("done", final=True)
    b.add_transition("finish", "received", "done")
    b.add_transition("note", "received", STAY)
    return b.build()


def job_sla() -> SLA:
    return SLA([Policy("job.sla", "job", [
        ClockSpec("resolve", start=On(enter="received"), stop=On(enter="done"),
                  target=ClockHours(1), warn=None, escalate=True)])])


def job_engine(store: Store, clock: Clock) -> tuple[Engine, SLA]:
    sla = job_sla()
    return Engine(store, clock, [job_definition()], processors=[sla]), sla
