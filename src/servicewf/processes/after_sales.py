"""P6 ``after_sales`` — 售後服務 (004 §1–§6).

A ticket is classified, prioritised (緊急/重要/一般; high-value customers get priority, 004 §1,
§3), assigned to a qualified technician, worked remotely or on site, possibly paused waiting for
parts or for the customer, resolved, and the customer is told the result, what was done and what
they can do next (opinion asked). It is reopened "until the customer is satisfied" (004 §6) and
cannot close while the customer is recorded dissatisfied (C11). A case that cannot be solved soon
gives the customer a reason and an ETA (C15): entering ``waiting_parts`` requires both.

Escalation ladder (004 §2): agent → emergency response team → R&D → supplier; ``escalate``
records the new tier in ``tier``. A resolve with ``new_solution`` set is the integrator's cue
for a knowledge-base entry (see :func:`knowledge_base_hook`).
"""

from __future__ import annotations

from collections.abc import Callable

import attrs

from servicewf.case import Case
from servicewf.context import CommandContext, TransitionContext
from servicewf.definition import STAY, DefinitionBuilder, Guard, ProcessDefinition
from servicewf.processes.common import (
    AFTER_SALES_PRIORITY,
    AFTER_SALES_TIERS,
    CHANNELS,
    CUSTOMER_TIER,
    SATISFACTION,
    SUPPORT_MODE,
    ClockDoc,
    ProcessInfo,
    Vocabulary,
    after_sales_priority_id,
    channels_id,
    customer_tier_id,
    fields_guard,
    guard_every_transition,
    instant_guard,
    is_dissatisfied,
    lab,
    reserved_fields_guard,
    satisfaction_id,
    support_mode_id,
    vocabulary_guard,
    with_intake,
)

__all__ = [
    "CLOCKS_DOC", "INFO", "INTAKE", "AfterSalesData", "definition", "knowledge_base_hook",
    "next_tier",
]

NAME = "after_sales"
INTAKE = ("channel", "customer_ref", "description")
INTAKE_VOCABULARIES: dict[str, Vocabulary] = {"channel": CHANNELS, "customer_tier": CUSTOMER_TIER}
WORK = ("remote_support", "on_site")
PAUSED = ("waiting_parts", "waiting_customer")

CLOCKS_DOC: tuple[ClockDoc, ...] = (
    ClockDoc("response", "24", "h", "004", "服務響應時間不超過24小時: the only figure in the seed"),
)


@attrs.frozen
class AfterSalesData:
    """Typed view of an after-sales ticket's data (``case.data_as(AfterSalesData)``)."""

    channel: str | None = attrs.field(default=None, converter=channels_id)
    customer_ref: str | None = None
    description: str | None = None
    customer_tier: str | None = attrs.field(
        default=None, converter=customer_tier_id)
    product: str | None = None
    problem_type: str | None = None
    priority: str | None = attrs.field(
        default=None, converter=after_sales_priority_id)
    technician: str | None = None
    remote_method: str | None = None
    visit_time: str | None = None
    address: str | None = None
    mode: str | None = attrs.field(default=None, converter=support_mode_id)
    reason: str | None = None
    eta: str | None = None
    customer_notification: str | None = None
    tier: str | None = None
    solution: str | None = None
    new_solution: bool = False
    result: str | None = None
    work_done: str | None = None
    next_steps: str | None = None
    satisfaction: str | None = attrs.field(
        default=None, converter=satisfaction_id)
    follow_up_result: str | None = None


def next_tier(case: Case) -> str | None:
    """The tier an ``escalate`` of ``case`` must record next, ``None`` at the top."""
    tier = case.data.get("tier") or AFTER_SALES_TIERS[0]
    if tier not in AFTER_SALES_TIERS:
        return None
    i = AFTER_SALES_TIERS.index(tier)
    return AFTER_SALES_TIERS[i + 1] if i + 1 < len(AFTER_SALES_TIERS) else None


def _one_tier_up(ctx: CommandContext) -> bool:
    wanted = next_tier(ctx.case)
    supplied = ctx.data.get("tier")
    return wanted is not None and (supplied is None or supplied == wanted)


def _mode_is(mode: str, *, or_absent: bool = False) -> Callable[[CommandContext], bool]:
    # The on-site variant also passes when mode is absent, so a resume without mode is
    # refused as missing data (naming the field) rather than as a failed guard.
    def check(ctx: CommandContext) -> bool:
        value = ctx.data.get("mode")
        if value is None:
            return or_absent
        return SUPPORT_MODE.normalise(value) == mode

    return check


def _not_dissatisfied(ctx: CommandContext) -> bool:
    # Both the recorded rating and any rating supplied with the command count: a closer may
    # not overwrite a recorded "dissatisfied" in passing (record_satisfaction does that).
    return not (is_dissatisfied(ctx.case.data.get("satisfaction"))
                or is_dissatisfied(ctx.data.get("satisfaction")))



WRITES: dict[str, tuple[str, ...]] = {
    "notify_customer": ("satisfaction",),
    "resolve": ("new_solution",),
}
"""Optional fields a trigger may write besides its required ones (field ownership)."""
INTAKE_WRITES: tuple[str, ...] = ("customer_tier", "product")
"""Optional fields an opening may supply besides the intake."""

GUARDS: tuple[Guard, ...] = (
    reserved_fields_guard({"tier": ("escalate",)}),
    fields_guard("intake_complete", INTAKE, rule="intake (004 §1)",
                 explain="a ticket is opened with channel, customer_ref and description"),
    vocabulary_guard("channel", CHANNELS),
    vocabulary_guard("customer_tier", CUSTOMER_TIER),
    vocabulary_guard("priority", AFTER_SALES_PRIORITY),
    vocabulary_guard("satisfaction", SATISFACTION),
    fields_guard("reason_and_eta", ("reason", "eta", "customer_notification"),
                 rule="C15 (004 §6)",
                 absent_ok=True,
                 explain="a case that cannot be solved soon gives the customer the reason and "
                         "an estimated time (eta), and records that they were told"),
    instant_guard("eta", not_before_now=True, name="eta_in_future", rule="C15 (004 §6)"),
    Guard("resume_remote", _mode_is("remote"), rule="004 §2",
          explain="say how work resumes: mode=remote (遠程) or mode=on_site (上門)"),
    Guard("resume_on_site", _mode_is("on_site", or_absent=True), rule="004 §2",
          explain="say how work resumes: mode=remote (遠程) or mode=on_site (上門)"),
    Guard("one_tier_up", _one_tier_up, rule="escalation ladder (004 §2)",
          explain="escalate one step up the ladder agent → emergency_team → rnd → supplier "
                  "and record it in 'tier'; a supplier-tier case cannot go higher"),
    Guard("customer_not_dissatisfied", _not_dissatisfied, rule="C11 (004 §6)",
          explain="the customer is recorded dissatisfied (不滿意): reopen the ticket and work "
                  "on it until the customer is satisfied; it cannot be closed now"),
)


def definition() -> ProcessDefinition:
    """The built-in ``after_sales`` definition (version 1)."""
    b = DefinitionBuilder(NAME, 1, description=(
        "An after-sales ticket: classified, prioritised, assigned, worked remotely or on site, "
        "paused for parts (with reason and ETA) or the customer, resolved, customer notified "
        "and asked, reopened until satisfied, followed up, closed."))
    b.labels = lab("After-sales service", "售後服務", "售后服务")
    b.add_guard(*GUARDS)
    s = b.add_state
    s("new", lab("New", "新建", "新建"), initial=True)
    s("classified", lab("Classified", "已分類", "已分类"))
    s("prioritised", lab("Prioritised", "已定級", "已定级"))
    s("assigned", lab("Assigned", "已派單", "已派单"))
    s("remote_support", lab("Remote support", "遠程支持", "远程支持"))
    s("on_site", lab("On site", "上門服務", "上门服务"))
    s("waiting_parts", lab("Waiting for parts", "等待配件", "等待配件"))
    s("waiting_customer", lab("Waiting for customer", "等待客戶", "等待客户"))
    s("resolved", lab("Resolved", "已解決", "已解决"))
    s("customer_notified", lab("Customer notified", "已告知客戶", "已告知客户"))
    s("followed_up", lab("Followed up", "已回訪", "已回访"))
    s("closed", lab("Closed", "已關閉", "已关闭"), final=True)
    t = b.add_transition
    t("classify", "new", "classified", labels=lab("Classify", "分類", "分类"),
      required=("problem_type",), conditions=("intake_complete", "channel_known"))
    t("prioritise", "classified", "prioritised", labels=lab("Prioritise", "定級", "定级"),
      required=("priority",), conditions=("priority_known", "customer_tier_known"),
      description="by severity, scope and customer urgency; high-value customers first "
                  "(004 §1, §3)")
    t("assign", "prioritised", "assigned", labels=lab("Assign", "派單", "派单"),
      required=("technician",), description="a qualified technician")
    t("support_remotely", "assigned", "remote_support",
      labels=lab("Support remotely", "遠程支持", "远程支持"), required=("remote_method",))
    t("dispatch", ("assigned", "remote_support"), "on_site",
      labels=lab("Dispatch on site", "派員上門", "派员上门"), required=("visit_time", "address"),
      description="remote support did not solve it, or the case needs a visit")
    t("wait_parts", WORK, "waiting_parts", labels=lab("Wait for parts", "等待配件", "等待配件"),
      required=("reason", "eta", "customer_notification"),
      conditions=("reason_and_eta", "eta_in_future"),
      description="cannot be solved soon: reason and ETA to the customer (004 §6 五)")
    t("wait_customer", WORK, "waiting_customer",
      labels=lab("Wait for customer", "等待客戶", "等待客户"), required=("reason",))
    t("resume", PAUSED, "remote_support", labels=lab("Resume", "恢復處理", "恢复处理"),
      required=("mode",), conditions=("resume_remote",))
    t("resume", PAUSED, "on_site", labels=lab("Resume", "恢復處理", "恢复处理"),
      required=("mode",), conditions=("resume_on_site",))
    t("escalate", ("assigned", *WORK, *PAUSED), STAY, labels=lab("Escalate", "升級", "升级"),
      required=("tier", "reason"), conditions=("one_tier_up",),
      description="agent → emergency response team → R&D → supplier (004 §2)")
    t("resolve", WORK, "resolved", labels=lab("Resolve", "解決", "解决"),
      required=("solution",),
      description="a new solution (new_solution=True) becomes a knowledge-base entry")
    t("notify_customer", "resolved", "customer_notified",
      labels=lab("Notify customer", "告知客戶", "告知客户"),
      required=("result", "work_done", "next_steps"), conditions=("satisfaction_known",),
      description="result, what was done, what the customer can do next; opinion asked "
                  "(004 §6)")
    t("record_satisfaction", ("customer_notified", "followed_up"), STAY,
      labels=lab("Record satisfaction", "記錄滿意度", "记录满意度"), required=("satisfaction",),
      conditions=("satisfaction_known",))
    t("reopen", ("customer_notified", "followed_up"), "assigned",
      labels=lab("Reopen", "重新處理", "重新处理"), required=("reason",),
      conditions=("satisfaction_known",),
      description="the customer is not satisfied: until satisfied (004 §6)")
    t("follow_up", "customer_notified", "followed_up", labels=lab("Follow up", "回訪", "回访"),
      required=("follow_up_result",), conditions=("satisfaction_known",))
    t("close", "followed_up", "closed", labels=lab("Close", "關閉", "关闭"),
      conditions=("satisfaction_known", "customer_not_dissatisfied"),
      description="never while the customer is recorded dissatisfied (C11)")
    guard_every_transition(b, "reserved_fields")
    return with_intake(b, INTAKE, INTAKE_VOCABULARIES, writes=WRITES,
                       intake_writes=INTAKE_WRITES).build()


def knowledge_base_hook(
    publish: Callable[[Case, str], None],
) -> Callable[[TransitionContext], None]:
    """A hook for ``Hooks.before_commit("resolve")``: calls ``publish(case, solution)`` when a
    ticket is resolved with ``new_solution`` true (004: a new solution becomes a knowledge-base
    entry).

    >>> hooks.before_commit("resolve")(knowledge_base_hook(lambda case, text: kb.add(text)))
    """

    def hook(context: TransitionContext) -> None:
        if context.after.process != NAME:
            return
        if context.command.data.get("new_solution") is True:
            publish(context.after, str(context.command.data.get("solution", "")))

    return hook


EXAMPLE = '''\
import pendulum
from servicewf import Actor, Engine, FrozenClock, MemoryStore
from servicewf.processes import builtin_registry, open_case

clock = FrozenClock(pendulum.datetime(2026, 3, 11, 9, 0, tz="Asia/Shanghai"))
engine = Engine(MemoryStore(), clock, builtin_registry())
desk, tech = Actor("desk", "agent"), Actor("zhou", "technician")
case = open_case(engine, "after_sales", actor=desk, data={
    "channel": "app", "customer_ref": "VIP-9", "customer_tier": "VIP",
    "description": "空調不製冷"})
case = engine.fire(case, "classify", actor=desk, data={"problem_type": "hardware"})
case = engine.fire(case, "prioritise", actor=desk, data={"priority": "緊急"})
case = engine.fire(case, "assign", actor=desk, data={"technician": "zhou"})
case = engine.fire(case, "dispatch", actor=tech, data={
    "visit_time": "2026-03-11T14:00:00+08:00", "address": "上海市浦東新區"})
case = engine.fire(case, "wait_parts", actor=tech, data={
    "reason": "壓縮機需更換", "eta": "2026-03-13T10:00:00+08:00",
    "customer_notification": "phone, 11:40"})
print(case.state)   # waiting_parts
'''

INFO = ProcessInfo(
    "P6", NAME, definition, AfterSalesData, INTAKE, INTAKE_VOCABULARIES, CLOCKS_DOC,
    "004 §1–§6", EXAMPLE,
)
