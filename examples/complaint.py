"""A complaint: escalated, reopened once because the customer was not satisfied, then closed.

Run: python examples/complaint.py
"""

from __future__ import annotations

import pendulum

from servicewf import Actor, CommandRefused, Engine, FrozenClock, MemoryStore
from servicewf.processes import builtin_registry, open_case
from servicewf.processes.complaint import ComplaintData, next_tier

TZ = "Asia/Shanghai"


def main() -> None:
    clock = FrozenClock(pendulum.datetime(2026, 3, 6, 16, 30, tz=TZ))  # Friday afternoon
    engine = Engine(MemoryStore(), clock, builtin_registry())
    agent, boss, manager = Actor("wang", "agent"), Actor("zhao", "supervisor"), \
        Actor("liu", "manager")

    def step(case, trigger, actor, **data):  # type: ignore[no-untyped-def]
        try:
            case = engine.fire(case, trigger, actor=actor, data=data)
            print(f"{clock.now().in_timezone(TZ):%a %m-%d %H:%M}  {trigger:<22} → {case.state}")
        except CommandRefused as refused:
            print(f"{clock.now().in_timezone(TZ):%a %m-%d %H:%M}  {trigger:<22} refused: "
                  f"{refused}")
        return case

    case = open_case(engine, "complaint", actor=agent, data={
        "channel": "熱線", "customer_ref": "VIP-88", "content": "空調故障導致會議取消"})
    case = step(case, "record", agent, tracker="wang", first_receiver="wang")
    case = step(case, "classify", agent, complaint_type="設施", level="重要", scope="外部")
    case = step(case, "acknowledge", agent, measures="x", expected_completion="x")  # refused
    case = step(case, "confirm_classification", boss, supervisor="zhao")
    case = step(case, "acknowledge", agent, measures="engineer Monday 9:00",
                expected_completion="2026-03-10T18:00:00+08:00")
    clock.set(pendulum.datetime(2026, 3, 9, 9, 15, tz=TZ))
    case = step(case, "escalate", boss, tier=next_tier(case), reason="VIP threatens to leave")
    case = step(case, "investigate", boss, handler="zhao")  # refused: tier is now manager
    case = step(case, "investigate", manager, handler="liu")
    case = step(case, "resolve", manager, remedy="維修更換", result="compressor replaced")
    case = step(case, "give_feedback", agent, feedback="fixed", feedback_channel="phone")
    case = step(case, "close", agent, satisfaction="不滿意")  # refused (C11)
    case = step(case, "reopen", agent, reason="wants compensation", satisfaction="不滿意")
    case = step(case, "resolve", manager, remedy="道歉賠償", result="room fee refunded")
    case = step(case, "give_feedback", agent, feedback="refund confirmed",
                feedback_channel="email")
    case = step(case, "close", agent, satisfaction="滿意")
    clock.set(pendulum.datetime(2026, 3, 25, 10, tz=TZ))
    case = step(case, "follow_up", agent, follow_up_result="renewed the contract")
    case = step(case, "archive", agent, archive_key="CMP-0088")
    data = case.data_as(ComplaintData)
    print(f"level={data.level} tier={data.tier} satisfaction={data.satisfaction}")
    print(f"final state: {case.state}")


if __name__ == "__main__":
    main()
