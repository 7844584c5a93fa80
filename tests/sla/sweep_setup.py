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


class RunningClock:
    """Real time shifted to start at ``start`` when the wall clock read ``wall0``: shared by
    processes (leases lapse as time passes), and late enough for every deadline."""

    def __init__(self, start: dt.datetime, wall0: float) -> None:
        self.start = start
        self.wall0 = wall0

    def now(self):  # type: ignore[no-untyped-def]
        import time

        from servicewf.clock import as_utc

        return as_utc(self.start + dt.timedelta(seconds=time.time() - self.wall0))


def pg_sweep_worker(dsn: str, schema: str, prefix: str, owner: str, wall0: float) -> None:
    """A worker process: sweep for ever with a 2 s lease (killed by the test)."""
    import time

    from servicewf.sla import Sweeper
    from servicewf.sla.sweep import ActionContext
    from servicewf.storage.sql import SQLStore

    real = ActionContext.escalate

    def slow_escalate(self, case, **kw):  # type: ignore[no-untyped-def]
        # A slow network between the breach's commit and the escalation's: widens the
        # window a kill must hit to lose an escalation (the defect this test guards).
        time.sleep(0.02)
        return real(self, case, **kw)

    ActionContext.escalate = slow_escalate  # type: ignore[method-assign]
    store = SQLStore(dsn, schema=schema, prefix=prefix)
    engine, sla = job_engine(store, RunningClock(LATE, wall0))
    sweeper = Sweeper(engine, sla, owner=owner, lease=dt.timedelta(seconds=2), batch=10)
    while True:
        if not sweeper.run().timers:
            time.sleep(0.05)


def sqlite_claimer(path: str, owner: str, now: dt.datetime, barrier) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    """Claim (never settle) in small batches on a SQLite engine made by the caller, until
    nothing is left; return what this process claimed."""
    import sqlalchemy as sa

    from servicewf.storage.sql import SQLStore

    store = SQLStore(sa.create_engine(f"sqlite:///{path}"), create=False)
    import time

    got: list[tuple[str, str]] = []
    empty = 0
    barrier.wait(60)
    for k in range(100_000):
        # A new owner name per claim: an owner re-claims its own leases.
        batch = store.claim_due_timers(now, owner=f"{owner}.{k}", lease=dt.timedelta(hours=1),
                                       limit=5)
        if not batch:
            empty += 1
            if empty > 3:  # an empty batch may be one lost to the others: look again
                break
            time.sleep(0.01)
            continue
        empty = 0
        got += [(t.case_id, t.name) for t in batch]
    store.close()
    return got
