"""A custom SLA policy: VIP customers get one working day, and a breach pages the manager.

Run it: ``python examples/custom_policy.py``. It shows the two extension points most
integrators need — ``select_target`` (goal selection) and ``on_breach`` (actions) — on top of
the built-in ``complaint_business_centre`` preset, with a frozen clock and the China office
calendar.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs
import pendulum

from servicewf import Actor, Case, Engine, FrozenClock, MemoryStore
from servicewf.calendar import china_office
from servicewf.processes import complaint
from servicewf.processes.presets import (
    complaint_business_centre,
)
from servicewf.sla import (
    SLA,
    ActionContext,
    ClockSpec,
    ClockView,
    Policy,
    Sweeper,
    Target,
    WorkingDays,
)

PAGED: list[str] = []


@attrs.frozen
class VipComplaintPolicy(Policy):
    """The business-centre complaint policy, with a 1 WD resolution for VIP customers."""

    def target_keys(self, clock: ClockSpec) -> frozenset[str] | None:
        keys = super().target_keys(clock)
        # The tier is part of the goal selection too: re-select when it changes.
        return None if keys is None else keys | {"customer_tier"}

    def select_target(self, clock: ClockSpec, data: Mapping[str, Any]) -> Target | None:
        if clock.name == "resolve" and data.get("customer_tier") == "VIP":
            return WorkingDays(1)
        return super().select_target(clock, data)

    def on_breach(self, ctx: ActionContext, case: Case, clock: ClockView) -> Case:
        case = super().on_breach(ctx, case, clock)  # escalate one tier, as the preset does
        if clock.name == "resolve":
            PAGED.append(f"page the duty manager: case {case.id} breached {clock.name} "
                         f"(deadline {clock.deadline})")
        return case


def main() -> None:
    base = complaint_business_centre()
    policy = VipComplaintPolicy(name="complaint.vip", process=base.process, clocks=base.clocks,
                                ladder=base.ladder, tier_from=base.tier_from)
    sla = SLA([policy], {"office": china_office()})
    clock = FrozenClock(pendulum.datetime(2026, 9, 15, 10, 0, tz="Asia/Shanghai"))
    engine = Engine(MemoryStore(), clock, [complaint.definition()], processors=[sla])
    sla.validate(engine.registry)  # names checked against the definition at start-up

    agent = Actor("a1", "agent")
    case = engine.open("complaint", actor=agent, data={
        "channel": "phone", "customer_ref": "C-1", "content": "late delivery",
        "customer_tier": "VIP"})
    resolve = sla.view(engine, case, "resolve", clock.now())
    print(f"VIP complaint received {clock.now().in_timezone('Asia/Shanghai')}: "
          f"resolve by {resolve.deadline} ({resolve.target})")

    report = Sweeper(engine, sla).run(pendulum.datetime(2026, 9, 16, 18, 0, 1,
                                                        tz="Asia/Shanghai"))
    print(f"sweep: {report.warnings} warning(s), {report.breaches} breach(es), "
          f"{report.escalations} escalation(s)")
    for line in PAGED:
        print(line)
    print("tier now:", sla.states(engine.get(case.id)).tier)
    assert resolve.deadline == pendulum.datetime(2026, 9, 16, 18, 0, tz="Asia/Shanghai")
    assert PAGED, "the breach should have paged the manager"


if __name__ == "__main__":
    main()
