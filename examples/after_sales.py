"""An after-sales repair: remote first, then on site, waiting for parts with reason and ETA.

Run: python examples/after_sales.py
"""

from __future__ import annotations

import pendulum

from servicewf import Actor, CommandRefused, Engine, FrozenClock, Hooks, MemoryStore
from servicewf.processes import builtin_registry, open_case
from servicewf.processes.after_sales import AfterSalesData, knowledge_base_hook

TZ = "Asia/Shanghai"


def main() -> None:
    clock = FrozenClock(pendulum.datetime(2026, 3, 11, 9, 0, tz=TZ))
    hooks = Hooks()
    hooks.before_commit("resolve")(knowledge_base_hook(
        lambda case, text: print(f"   knowledge base += {text!r}")))
    engine = Engine(MemoryStore(), clock, builtin_registry(), hooks=hooks)
    desk, tech = Actor("desk", "agent"), Actor("zhou", "technician")

    def step(case, trigger, actor, **data):  # type: ignore[no-untyped-def]
        try:
            case = engine.fire(case, trigger, actor=actor, data=data)
            print(f"{clock.now().in_timezone(TZ):%m-%d %H:%M}  {trigger:<20} → {case.state}")
        except CommandRefused as refused:
            print(f"{clock.now().in_timezone(TZ):%m-%d %H:%M}  {trigger:<20} refused: {refused}")
        return case

    case = open_case(engine, "after_sales", actor=desk, data={
        "channel": "app", "customer_ref": "VIP-9", "customer_tier": "VIP",
        "description": "空調不製冷"})
    case = step(case, "classify", desk, problem_type="hardware")
    case = step(case, "prioritise", desk, priority="緊急")
    case = step(case, "assign", desk, technician="zhou")
    case = step(case, "support_remotely", tech, remote_method="video call")
    clock.advance(hours=2)
    case = step(case, "dispatch", tech, visit_time="2026-03-11T14:00:00+08:00",
                address="浦東新區")
    clock.set(pendulum.datetime(2026, 3, 11, 15, tz=TZ))
    case = step(case, "wait_parts", tech, reason="compressor")  # refused: no ETA (C15)
    case = step(case, "wait_parts", tech, reason="compressor to be replaced",
                eta="2026-03-13T10:00:00+08:00", customer_notification="phone 15:05")
    clock.set(pendulum.datetime(2026, 3, 13, 10, tz=TZ))
    case = step(case, "resume", tech, mode="上門")
    case = step(case, "resolve", tech, solution="replace compressor, recharge R32",
                new_solution=True)
    case = step(case, "notify_customer", desk, result="cooling restored",
                work_done="compressor replaced", next_steps="clean filters monthly",
                satisfaction="不滿意")
    case = step(case, "follow_up", desk, follow_up_result="noisy")
    case = step(case, "close", desk)  # refused: recorded dissatisfied (C11)
    case = step(case, "reopen", desk, reason="fan noise")
    case = step(case, "dispatch", tech, visit_time="2026-03-14T10:00:00+08:00",
                address="浦東新區")
    case = step(case, "resolve", tech, solution="fan bearing replaced")
    case = step(case, "notify_customer", desk, result="quiet now", work_done="bearing",
                next_steps="none", satisfaction="非常滿意")
    case = step(case, "follow_up", desk, follow_up_result="all good")
    case = step(case, "close", desk)
    data = case.data_as(AfterSalesData)
    print(f"priority={data.priority} satisfaction={data.satisfaction}")
    print(f"final state: {case.state}")


if __name__ == "__main__":
    main()
