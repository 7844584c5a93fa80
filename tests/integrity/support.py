"""A small process with every kind of permission, and the stores it runs on."""

from __future__ import annotations

from typing import Any

import pendulum

from servicewf import STAY, Actor, DefinitionBuilder, Engine, FrozenClock, Registry
from servicewf.definition import ProcessDefinition
from servicewf.storage import Store

T0 = pendulum.datetime(2026, 5, 4, 9, 0, tz="Asia/Shanghai")
AGENT = Actor("amy", "agent")
BOSS = Actor("bo", "supervisor")
ADMIN = Actor("ops", "admin")
CUSTOMER = Actor("cust-1", "customer")
ROLES = ("agent", "supervisor", "admin", "customer", "system")


def ticket(version: int = 1) -> ProcessDefinition:
    """A ticket whose fields are owned: ``approve`` (supervisors) decides the scope, ``work``
    may only add notes; agents record notes, supervisors extensions; admins migrate."""
    b = DefinitionBuilder("ticket", version)
    b.add_state("new", initial=True)
    b.add_state("approved")
    b.add_state("working")
    b.add_state("done", final=True)
    b.add_transition("approve", "new", "approved", required="scope", writes="approved_by",
                     roles="supervisor")
    b.add_transition("work", ("approved", "working"), "working", writes="note")
    b.add_transition("comment", "*", STAY, writes=("note", "tags"))
    b.add_transition("finish", "working", "done", roles=("agent", "supervisor"))
    if version >= 2:
        b.add_transition("escalate", ("approved", "working"), STAY, roles="supervisor")
    b.set_intake(("customer_ref",), writes=("priority", "contact"))
    b.own_fields()
    b.allow_record("note", "agent", "supervisor")
    b.allow_record("clock_extended", "supervisor")
    b.migrators = ("admin",)
    return b.build()


def registry() -> Registry:
    return Registry([ticket(1), ticket(2)])


def make_engine(store: Store, clock: FrozenClock | None = None) -> Engine:
    return Engine(store, clock or FrozenClock(T0), registry())


def snapshot(engine: Engine, case_id: str) -> tuple[Any, ...]:
    """Everything stored about a case: snapshot, history and timers."""
    return (engine.store.load(case_id), engine.store.history(case_id),
            engine.store.timers(case_id))
