"""A service request from intake to archive, with a revised plan and a rework.

Run: python examples/service_request.py
"""

from __future__ import annotations

import pendulum

from servicewf import Actor, CommandRefused, Engine, FrozenClock, MemoryStore
from servicewf.processes import builtin_registry, open_case
from servicewf.processes.service_request import ServiceRequestData

TZ = "Asia/Shanghai"


def main() -> None:
    clock = FrozenClock(pendulum.datetime(2026, 3, 2, 9, 0, tz=TZ))
    engine = Engine(MemoryStore(), clock, builtin_registry())
    agent, tech, customer = Actor("li", "agent"), Actor("ops", "technician"), Actor("c", "customer")

    def step(case, trigger, actor, **data):  # type: ignore[no-untyped-def]
        try:
            case = engine.fire(case, trigger, actor=actor, data=data)
            print(f"{clock.now().in_timezone(TZ):%m-%d %H:%M}  {trigger:<13} → {case.state}")
        except CommandRefused as refused:
            print(f"{clock.now().in_timezone(TZ):%m-%d %H:%M}  {trigger:<13} refused: {refused}")
        return case

    case = open_case(engine, "service_request", actor=agent, data={
        "channel": "到店", "customer_ref": "C-1001", "description": "會議室重新粉刷"})
    print(f"opened {case.id[:8]} in {case.state}")
    case = step(case, "register", agent, request_type="renovation", need="repaint 3 rooms",
                contact="138-0000-0000")
    case = step(case, "confirm", agent, priority="普通", owner="li",
                due="2026-03-20T18:00:00+08:00", time_limit_notice="told: done by 20 March")
    case = step(case, "propose_plan", agent, plan_content="white paint",
                plan_schedule="9–13 March", plan_method="evenings", plan_staff="ops",
                plan_fee="¥6,000 on delivery", plan_guarantees="1-year warranty")
    clock.advance(days=1)
    case = step(case, "revise_plan", agent, plan_content="light grey paint",
                revision_reason="customer's colour choice")
    case = step(case, "start", tech)  # refused: the customer has not agreed the revised plan
    case = step(case, "agree_plan", customer, confirmed_by="Ms Chen",
                confirmed_at=clock.now().isoformat(), confirmation_medium="email")
    clock.advance(days=6)
    case = step(case, "start", tech, task_content="repaint", task_owner="ops",
                task_due="2026-03-13T22:00:00+08:00", expected_outcome="even coat")
    delivery = {"delivery_content": "3 rooms", "delivery_method": "walk-through",
                "delivered_at": clock.now().isoformat(), "delivered_by": "ops"}
    case = step(case, "deliver", tech, **delivery)
    case = step(case, "rework", agent, reason="streaks in room 2")
    clock.advance(days=1)
    case = step(case, "deliver", tech, **{**delivery, "delivered_at": clock.now().isoformat()})
    case = step(case, "accept", customer, signer="Ms Chen", satisfaction="滿意")
    case = step(case, "follow_up", agent, contact_channel="phone", follow_up_result="happy")
    case = step(case, "archive", agent, archive_key="SR-1001", retain_until="2030-01-01")
    data = case.data_as(ServiceRequestData)
    print(f"priority={data.priority} satisfaction={data.satisfaction} "
          f"events={len(engine.history(case.id))}")
    print(f"final state: {case.state}")


if __name__ == "__main__":
    main()
