"""Small definitions, engines and policies shared by the SLA tests."""

from __future__ import annotations

import datetime as dt

import pendulum

from servicewf import STAY, Actor, DefinitionBuilder, Engine, FrozenClock, MemoryStore
from servicewf.calendar import china_office
from servicewf.definition import ProcessDefinition
from servicewf.sla import SLA, Policy

SH = "Asia/Shanghai"
AGENT = Actor("a1", "agent")
CALENDARS = {"office": china_office()}


def sh(*args: int) -> pendulum.DateTime:
    """An instant on the Shanghai wall clock."""
    return pendulum.datetime(*args, tz=SH)


def complaint_definition() -> ProcessDefinition:
    """The complaint path of the catalogue without guards (the clocks only need names)."""
    b = DefinitionBuilder("complaint", 1)
    for s in ("recorded", "classified", "confirmed", "acknowledged", "investigating",
              "resolved", "feedback_given", "closed", "followed_up"):
        b.add_state(s)
    b.add_state("received", initial=True)
    b.add_state("invalid", final=True)
    b.add_state("archived", final=True)
    t = b.add_transition
    t("record", "received", "recorded")
    t("reject_invalid", ("received", "recorded"), "invalid")
    t("classify", ("recorded", "classified"), "classified", required="level")
    t("confirm_classification", "classified", "confirmed")
    t("acknowledge", "confirmed", "acknowledged")
    t("investigate", "acknowledged", "investigating")
    t("escalate", ("confirmed", "acknowledged", "investigating"), STAY)
    t("extend", ("recorded", "classified", "confirmed", "acknowledged", "investigating"), STAY)
    t("resolve", "investigating", "resolved")
    t("give_feedback", "resolved", "feedback_given")
    t("reopen", "feedback_given", "investigating")
    t("close", "feedback_given", "closed")
    t("follow_up", "closed", "followed_up")
    t("follow_up", "followed_up", STAY)
    t("archive", "followed_up", "archived")
    t("note", "*", STAY)
    b.allow_record("clock_extended")  # SLA.extend records extensions, by any role here
    return b.build()


def request_definition() -> ProcessDefinition:
    """The service-request path of the catalogue, trimmed, without guards."""
    b = DefinitionBuilder("service_request", 1)
    b.add_state("received", initial=True)
    for s in ("registered", "confirmed", "in_progress", "waiting_customer", "delivered",
              "accepted", "followed_up"):
        b.add_state(s)
    b.add_state("cancelled", final=True)
    b.add_state("rejected", final=True)
    t = b.add_transition
    t("register", "received", "registered")
    t("request_info", "registered", STAY)
    t("confirm", "registered", "confirmed")
    t("start", "confirmed", "in_progress")
    t("wait_customer", "in_progress", "waiting_customer")
    t("resume", "waiting_customer", "in_progress")
    t("deliver", "in_progress", "delivered")
    t("rework", "delivered", "in_progress")
    t("accept", "delivered", "accepted")
    t("follow_up", "accepted", "followed_up")
    t("follow_up", "followed_up", STAY)
    t("cancel", "*", "cancelled")
    t("reject", ("received", "registered"), "rejected")
    b.allow_record("clock_extended")
    return b.build()


def make_engine(
    policies: list[Policy], start: dt.datetime, *defs: ProcessDefinition
) -> tuple[Engine, SLA, FrozenClock]:
    """An in-memory engine with the SLA processor, on a frozen clock at ``start``."""
    sla = SLA(policies, CALENDARS)
    clock = FrozenClock(start)
    definitions = defs or (complaint_definition(), request_definition())
    engine = Engine(MemoryStore(), clock, list(definitions), processors=[sla])
    return engine, sla, clock


def run_at(sweeper, when):
    """Run ``sweeper`` as of ``when``, with the engine's frozen clock moved there first (a
    sweep never acts ahead of the engine clock: its events are stamped by that clock)."""
    sweeper.engine.clock.set(when)
    return sweeper.run()
