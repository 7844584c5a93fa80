"""Small definitions and strategies shared by the foundation tests."""

from __future__ import annotations

import pendulum

from servicewf import DefinitionBuilder, Guard, Labels, ProcessDefinition

START = pendulum.datetime(2026, 9, 25, 8, 30, tz="UTC")


def ticket_definition() -> ProcessDefinition:
    """A five-step process with a guard, required data, roles, a loop and a cancel."""
    approved = Guard(
        "plan_approved",
        lambda ctx: ctx.value("approved") is True,
        explain="the customer must approve the plan first",
        rule="C3 (000 §2.4)",
    )
    return (
        DefinitionBuilder("ticket", 1)
        .add_state("received", Labels("Received", "已接收", "已接收"), initial=True)
        .add_state("registered", Labels("Registered", "已登記", "已登记"))
        .add_state("planned", Labels("Planned", "方案已擬定", "方案已拟定"))
        .add_state("in_progress", Labels("In progress", "服務執行中", "服务执行中"))
        .add_state("done", Labels("Done", "已完成", "已完成"), final=True)
        .add_state("cancelled", Labels("Cancelled", "已取消", "已取消"), final=True)
        .add_guard(approved)
        .add_transition("register", "received", "registered", required=("request_type",))
        .add_transition("plan", "registered", "planned", required="plan")
        .add_transition("revise", "planned", "planned", required="plan")
        .add_transition("start", "planned", "in_progress", conditions="plan_approved",
                        roles=("agent", "supervisor"))
        .add_transition("finish", "in_progress", "done", roles="supervisor")
        .add_transition("note", ("registered", "planned", "in_progress"), "=")
        .add_transition("cancel", "*", "cancelled", required="reason")
        .build()
    )
