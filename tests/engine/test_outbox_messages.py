"""Outbox messages planned by the engine's message rules: in the write-set, written with the
case or not at all; the built-in customer notices and staff alerts."""

from __future__ import annotations

import pytest

from servicewf import (
    Actor,
    Engine,
    FrozenClock,
    InvalidProcessor,
    MemoryStore,
    OutboxMessage,
    StaleVersion,
)
from servicewf.events import EventKind
from servicewf.processes import builtin_registry
from servicewf.processes.notices import (
    COMPLAINT_EXTENSION,
    INCIDENT_PROGRESS,
    Notice,
    Template,
    builtin_messages,
)
from servicewf.processes.presets import complaint_business_centre
from servicewf.sla import Sweeper
from tests.helpers import ticket_definition
from tests.processes.support import Harness
from tests.processes.test_complaint import to_acknowledged
from tests.sla.helpers import AGENT, complaint_definition, make_engine, run_at, sh


def harness() -> Harness:
    h = Harness()
    h.engine = Engine(MemoryStore(), h.clock, builtin_registry(), messages=builtin_messages())
    return h


def test_a_complaint_extension_writes_a_customer_notice_with_the_case() -> None:
    h = harness()
    case = to_acknowledged(h)
    assert h.engine.store.outbox() == []  # nothing matched so far
    case = h.fire(case, "extend", reason="parts from abroad",
                  customer_notification="SMS sent 10:02",
                  new_deadline="2026-03-09T18:00:00+08:00")
    [entry] = h.engine.store.outbox()
    m = entry.message
    assert (m.case_id, m.seq, m.topic, m.recipient) == (
        case.id, case.version, "complaint.deadline_extended", "customer")
    assert m.id == f"{case.id}/{case.version}/complaint.deadline_extended/customer"
    assert m.created_at == h.clock.now()
    assert m.payload["fields"]["reason"] == "parts from abroad"
    assert m.payload["fields"]["customer_ref"] == case.data["customer_ref"]
    assert "2026-03-09T18:00:00+08:00" in m.payload["body"]["zh"]
    assert "处理时限已延长" in m.payload["subject"]["zh"]
    assert "parts from abroad" in m.payload["body"]["en"]


def test_incident_progress_updates_go_to_customers() -> None:
    h = harness()
    case = h.run(h.open("incident", description="outage"),
                 ("classify", "manager", {"category": "自然災害", "level": "較大"}), "respond")
    case = h.fire(case, "update_customers", progress_update="电力已恢复 80%")
    case = h.fire(case, "update_customers", progress_update="all restored")
    entries = h.engine.store.outbox(case_id=case.id)
    assert [e.message.topic for e in entries] == ["incident.progress"] * 2
    assert "电力已恢复 80%" in entries[0].message.payload["body"]["zh"]
    assert "較大" in entries[0].message.payload["body"]["en"]
    assert len({e.message.id for e in entries}) == 2


def test_sla_warnings_breaches_and_escalations_alert_staff() -> None:
    engine, sla, clock = make_engine([complaint_business_centre()], sh(2026, 9, 25, 16, 30))
    engine.messages.extend(builtin_messages())
    case = engine.open("complaint", actor=AGENT, data={"channel": "phone"})
    clock.set(sh(2026, 9, 25, 17, 0))
    case = engine.fire(case, "record", actor=AGENT)
    case = engine.fire(case, "classify", actor=AGENT, data={"level": "一般"})
    case = engine.fire(case, "confirm_classification", actor=Actor("s1", "supervisor"))
    case = engine.fire(case, "acknowledge", actor=AGENT)
    report = run_at(Sweeper(engine, sla), sh(2026, 9, 30, 18, 0, 1))
    assert report.breaches == 1 and report.escalations == 1
    topics = [e.message.topic for e in engine.store.outbox(case_id=case.id)]
    assert "sla.breached" in topics and "sla.escalated" in topics
    assert all(e.message.recipient == "staff" for e in engine.store.outbox(case_id=case.id))
    breached = next(e.message for e in engine.store.outbox() if e.message.topic == "sla.breached")
    assert breached.payload["fields"]["clock"] == "resolve"
    assert "已于" in breached.payload["body"]["zh"] and "breached" in breached.payload["body"]["en"]
    history = engine.history(case.id)
    assert history[breached.seq - 1].kind is EventKind.CLOCK_BREACHED


def test_a_stale_command_writes_no_message() -> None:
    clock = FrozenClock(sh(2026, 3, 2, 9, 0))
    rule = Notice("t.moved", "staff", Template({"en": "{case_id}"}, {"en": "{state}"}),
                  lambda e: e.kind is EventKind.TRANSITION)
    engine = Engine(MemoryStore(), clock, [ticket_definition()], messages=[rule])
    agent = Actor("a1", "agent")
    case = engine.open("ticket", actor=agent)
    first = engine.plan_fire(case, "register", actor=agent, data={"request_type": "x"})
    second = engine.plan_fire(case, "register", actor=agent, data={"request_type": "x"})
    assert len(first.outbox) == 1 and first.outbox == second.outbox
    engine.commit(first)
    with pytest.raises(StaleVersion):
        engine.commit(second)
    assert engine.store.count_outbox() == 1


def test_a_rule_that_returns_something_else_aborts_the_command() -> None:
    clock = FrozenClock(sh(2026, 3, 2, 9, 0))
    engine = Engine(MemoryStore(), clock, [complaint_definition()],
                    messages=[lambda d, c, e: [{"not": "a message"}]])  # type: ignore[list-item]
    with pytest.raises(InvalidProcessor, match="OutboxMessage"):
        engine.open("complaint", actor=AGENT)
    assert engine.store.count() == 0 and engine.store.count_outbox() == 0


def test_a_template_field_without_a_value_renders_as_a_dash() -> None:
    h = harness()
    case = to_acknowledged(h)
    message = COMPLAINT_EXTENSION.message(case, h.engine.history(case.id)[-1])
    assert isinstance(message, OutboxMessage)
    assert "—" in message.payload["body"]["en"]
    assert INCIDENT_PROGRESS(h.engine.registry.get("complaint"), case,
                             h.engine.history(case.id)) == []
