"""Story (000 ch.2–4, 001 ch.2–3): a service request with a revised plan, a rework after a
failed acceptance, acceptance, two follow-ups and archive."""

from __future__ import annotations

import pendulum
import pytest

from servicewf import Actor, TriggerNotAllowed
from servicewf.processes import open_case
from servicewf.processes.service_request import ServiceRequestData
from tests.processes.support import Harness

TZ = "Asia/Shanghai"
T0 = pendulum.datetime(2026, 3, 2, 9, 0, tz=TZ)


def test_revised_plan_rework_acceptance_follow_up_archive() -> None:
    h = Harness(T0)
    e = h.engine
    li, ops, client = Actor("li", "agent"), Actor("ops", "technician"), Actor("c-1", "customer")
    case = open_case(e, "service_request", actor=li, data={
        "channel": "walk-in", "customer_ref": "C-1001", "description": "office repainting"})
    h.clock.advance(minutes=10)
    case = e.fire(case, "register", actor=li, data={
        "request_type": "renovation", "need": "repaint 3 rooms", "contact": "138-0000-0000"})
    h.clock.advance(minutes=15)
    case = e.fire(case, "confirm", actor=li, data={
        "priority": "普通", "owner": "li", "due": "2026-03-20T18:00:00+08:00",
        "time_limit_notice": "told at the desk: done by 20 March"})
    h.clock.advance(hours=3)
    plan = {"plan_content": "repaint rooms 1–3, white", "plan_schedule": "9–13 March",
            "plan_method": "evenings", "plan_staff": "ops team", "plan_fee": "¥6,000, on delivery",
            "plan_guarantees": "1-year warranty"}
    case = e.fire(case, "propose_plan", actor=li, data=plan)
    h.clock.advance(days=1)
    case = e.fire(case, "revise_plan", actor=li, data={
        "plan_content": "repaint rooms 1–3, light grey", "revision_reason": "customer's colour"})
    # no start before the customer agrees the revised plan (C3)
    with pytest.raises(TriggerNotAllowed):
        e.fire(case, "start", actor=ops, data={})
    case = e.fire(case, "agree_plan", actor=client, data={
        "confirmed_by": "Ms Chen", "confirmed_at": h.clock.now().isoformat(),
        "confirmation_medium": "email"})
    h.clock.set(pendulum.datetime(2026, 3, 9, 18, tz=TZ))
    case = e.fire(case, "start", actor=ops, data={
        "task_content": "repaint rooms 1–3 light grey", "task_owner": "ops",
        "task_due": "2026-03-13T22:00:00+08:00", "expected_outcome": "even coat, no smell"})
    h.clock.set(pendulum.datetime(2026, 3, 13, 21, tz=TZ))
    delivery = {"delivery_content": "3 rooms repainted", "delivery_method": "walk-through",
                "delivered_at": h.clock.now().isoformat(), "delivered_by": "ops"}
    case = e.fire(case, "deliver", actor=ops, data=delivery)
    h.clock.advance(hours=12)
    case = e.fire(case, "rework", actor=li, data={"reason": "streaks in room 2"})
    h.clock.advance(days=1)
    case = e.fire(case, "deliver", actor=ops, data={**delivery,
                                                   "delivered_at": h.clock.now().isoformat()})
    case = e.fire(case, "accept", actor=client, data={"signer": "Ms Chen", "satisfaction": "滿意"})
    h.clock.advance(hours=20)
    case = e.fire(case, "follow_up", actor=li, data={"contact_channel": "phone",
                                                     "follow_up_result": "happy"})
    h.clock.set(pendulum.datetime(2026, 4, 3, 10, tz=TZ))  # day 20 after delivery
    case = e.fire(case, "follow_up", actor=li, data={"contact_channel": "微信",
                                                     "follow_up_result": "no issues"})
    case = e.fire(case, "archive", actor=li, data={"archive_key": "SR-2026-1001",
                                                   "retain_until": "2029-04-03"})

    events = e.history(case.id)
    assert [(ev.trigger, ev.dest, ev.actor_id) for ev in events] == [
        (None, "received", "li"),
        ("register", "registered", "li"),
        ("confirm", "confirmed", "li"),
        ("propose_plan", "planned", "li"),
        ("revise_plan", "planned", "li"),
        ("agree_plan", "plan_agreed", "c-1"),
        ("start", "in_progress", "ops"),
        ("deliver", "delivered", "ops"),
        ("rework", "in_progress", "li"),
        ("deliver", "delivered", "ops"),
        ("accept", "accepted", "c-1"),
        ("follow_up", "followed_up", "li"),
        ("follow_up", "followed_up", "li"),
        ("archive", "archived", "li"),
    ]
    local = [ev.at.in_timezone(TZ).format("MM-DD HH:mm") for ev in events]
    assert local == ["03-02 09:00", "03-02 09:10", "03-02 09:25", "03-02 12:25", "03-03 12:25",
                     "03-03 12:25", "03-09 18:00", "03-13 21:00", "03-14 09:00", "03-15 09:00",
                     "03-15 09:00", "03-16 05:00", "04-03 10:00", "04-03 10:00"]
    typed = case.data_as(ServiceRequestData)
    assert typed.plan_content == "repaint rooms 1–3, light grey"
    assert typed.plan_fee == "¥6,000, on delivery"  # kept from the first proposal
    assert (typed.priority, typed.satisfaction, typed.contact_channel) == (
        "normal", "satisfied", "social_media")
    assert case.state == "archived"
