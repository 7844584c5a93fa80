"""A complaint with its default clocks: escalated by the sweep when the resolution clock
breaches, extended with the customer told, reopened once because the customer was not
satisfied, then closed, followed up and archived.

Run: python examples/complaint.py
"""

from __future__ import annotations

import pendulum

from servicewf import Actor, CommandRefused, Engine, FrozenClock, MemoryStore
from servicewf.processes import builtin_registry, open_case
from servicewf.processes.complaint import ComplaintData, current_tier
from servicewf.processes.policies import default_sla
from servicewf.sla import Sweeper, WorkingDays

TZ = "Asia/Shanghai"


def main() -> None:
    clock = FrozenClock(pendulum.datetime(2026, 3, 6, 16, 30, tz=TZ))  # Friday afternoon
    sla = default_sla()  # business-centre complaint clocks on the China office calendar
    engine = Engine(MemoryStore(), clock, builtin_registry(), processors=[sla])
    sweeper = Sweeper(engine, sla, owner="example",
                      listeners=[lambda ev: print(f"{'':13}sweep: {ev.kind} {ev.clock}")])
    agent, boss, manager = Actor("wang", "agent"), Actor("zhao", "supervisor"), \
        Actor("liu", "manager")

    def resolve_deadline(case) -> str:  # type: ignore[no-untyped-def]
        deadline = sla.view(engine, case, "resolve", clock.now()).deadline
        return "none" if deadline is None else f"{deadline.in_timezone(TZ):%a %m-%d %H:%M}"

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
    print(f"{'':13}resolve deadline (重要 = 5 WD from receipt): {resolve_deadline(case)}")
    clock.set(pendulum.datetime(2026, 3, 9, 9, 15, tz=TZ))
    case = step(case, "investigate", boss, handler="zhao")
    # Nobody resolves it in time: the sweep records the breach and escalates one tier.
    clock.set(pendulum.datetime(2026, 3, 13, 18, 5, tz=TZ))
    sweeper.run()
    case = engine.get(case.id)
    print(f"{'':13}tier after the breach: {current_tier(case)}")
    case = sla.extend(engine, case, clock="resolve", by=WorkingDays(2), actor=manager,
                      reason="compressor on order", notice="phoned the customer 18:10")
    print(f"{'':13}extended (C14): resolve deadline now {resolve_deadline(case)}")
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
    kinds = [e.kind.value if e.trigger is None else e.trigger for e in engine.history(case.id)]
    print("history:", ", ".join(kinds))
    print(f"final state: {case.state}")


if __name__ == "__main__":
    main()
