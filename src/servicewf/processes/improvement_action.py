"""P7 ``improvement_action`` — 改進措施 (000 §4.3, 001 §4.3, 003 §9.3, 004 §7 PDCA).

Identified from a survey, a complaint or a problem review; planned with a measurable goal, an
owner, a deadline and acceptance criteria (C13, all required); implemented; checked (驗收);
closed, or judged not effective and re-planned. Re-planning an action whose deadline has passed
needs a cause analysis first (C13, 001 §4.3).
"""

from __future__ import annotations

import attrs

from servicewf.context import CommandContext
from servicewf.definition import DefinitionBuilder, Guard, ProcessDefinition
from servicewf.processes.common import (
    IMPROVEMENT_ORIGIN,
    ClockDoc,
    ProcessInfo,
    Vocabulary,
    fields_guard,
    guard_every_transition,
    improvement_origin_id,
    instant_guard,
    lab,
    parse_instant,
    reserved_fields_guard,
    vocabulary_guard,
    with_intake,
)

__all__ = ["CLOCKS_DOC", "INFO", "INTAKE", "PLAN_FIELDS", "ImprovementActionData", "definition",
           "is_overdue"]

NAME = "improvement_action"
INTAKE = ("origin", "description")
INTAKE_VOCABULARIES: dict[str, Vocabulary] = {"origin": IMPROVEMENT_ORIGIN}
PLAN_FIELDS = ("goal", "owner", "deadline", "acceptance_criteria")

CLOCKS_DOC: tuple[ClockDoc, ...] = (
    ClockDoc("deadline", "as planned", "—", "001 §4.3",
             "the plan's own deadline; overdue → cause analysis before re-planning"),
)


@attrs.frozen
class ImprovementActionData:
    """Typed view of an improvement action's data (``case.data_as(ImprovementActionData)``)."""

    origin: str | None = attrs.field(
        default=None, converter=improvement_origin_id)
    description: str | None = None
    source_case_id: str | None = None
    goal: str | None = None
    owner: str | None = None
    deadline: str | None = None
    acceptance_criteria: str | None = None
    checked_by: str | None = None
    check_result: str | None = None
    reason: str | None = None
    cause_analysis: str | None = None


def is_overdue(deadline: object, now: object) -> bool:
    """True when ``deadline`` (an instant, ISO text) lies before ``now``."""
    when = parse_instant(deadline)
    at = parse_instant(now)
    return when is not None and at is not None and when < at


def _cause_analysis_if_overdue(ctx: CommandContext) -> bool:
    # The deadline that counts is the one being replaced (the case's), not the new one.
    if not is_overdue(ctx.case.data.get("deadline"), ctx.now):
        return True
    value = ctx.data.get("cause_analysis")
    return isinstance(value, str) and bool(value.strip())



WRITES: dict[str, tuple[str, ...]] = {"re_plan": ("cause_analysis",)}
"""Optional fields a trigger may write besides its required ones (field ownership)."""
INTAKE_WRITES: tuple[str, ...] = ("source_case_id",)
"""Optional fields an opening may supply besides the intake."""

GUARDS: tuple[Guard, ...] = (
    reserved_fields_guard({"deadline": ("plan", "re_plan")}),
    vocabulary_guard("origin", IMPROVEMENT_ORIGIN),
    fields_guard("plan_complete", PLAN_FIELDS, rule="C13 (001 §4.3)",
                 explain="an improvement action needs a measurable goal, an owner, a deadline "
                         "and acceptance criteria"),
    fields_guard("plan_not_blank", PLAN_FIELDS, rule="C13 (001 §4.3)", absent_ok=True,
                 explain="goal, owner, deadline and acceptance criteria must not be blank"),
    instant_guard("deadline", not_before_now=True, name="deadline_in_future",
                  rule="C13 (001 §4.3)"),
    Guard("cause_analysis_if_overdue", _cause_analysis_if_overdue, rule="C13 (001 §4.3)",
          explain="the action is overdue: supply a cause_analysis of why the deadline was "
                  "missed before re-planning it"),
)


def definition() -> ProcessDefinition:
    """The built-in ``improvement_action`` definition (version 1)."""
    b = DefinitionBuilder(NAME, 1, description=(
        "A PDCA improvement action: planned with goal, owner, deadline and acceptance criteria, "
        "implemented, checked, closed or re-planned."))
    b.labels = lab("Improvement action", "改進措施", "改进措施")
    b.add_guard(*GUARDS)
    s = b.add_state
    s("identified", lab("Identified", "已識別", "已识别"), initial=True)
    s("planned", lab("Planned", "已計劃", "已计划"))
    s("implementing", lab("Implementing", "實施中", "实施中"))
    s("checked", lab("Checked", "已驗收", "已验收"))
    s("not_effective", lab("Not effective", "未見成效", "未见成效"))
    s("closed", lab("Closed", "已關閉", "已关闭"), final=True)
    t = b.add_transition
    t("plan", "identified", "planned", labels=lab("Plan", "制定計劃", "制定计划"),
      required=PLAN_FIELDS, conditions=("origin_known", "plan_not_blank", "deadline_in_future"))
    t("start", "planned", "implementing", labels=lab("Implement", "實施", "实施"),
      conditions=("plan_complete",))
    t("check", "implementing", "checked", labels=lab("Check", "驗收", "验收"),
      required=("checked_by", "check_result"))
    t("close", "checked", "closed", labels=lab("Close", "關閉", "关闭"))
    t("mark_not_effective", "checked", "not_effective",
      labels=lab("Not effective", "判定無效", "判定无效"), required=("reason",))
    t("re_plan", "not_effective", "planned", labels=lab("Re-plan", "重新計劃", "重新计划"),
      required=PLAN_FIELDS,
      conditions=("cause_analysis_if_overdue", "plan_not_blank", "deadline_in_future"),
      description="overdue → cause analysis first (001 §4.3)")
    guard_every_transition(b, "reserved_fields")
    return with_intake(b, INTAKE, INTAKE_VOCABULARIES, writes=WRITES,
                       intake_writes=INTAKE_WRITES).build()


EXAMPLE = '''\
import pendulum
from servicewf import Actor, Engine, FrozenClock, MemoryStore
from servicewf.processes import builtin_registry, open_case

clock = FrozenClock(pendulum.datetime(2026, 4, 1, 9, 0, tz="Asia/Shanghai"))
engine = Engine(MemoryStore(), clock, builtin_registry())
lead = Actor("team.lead", "supervisor")
case = open_case(engine, "improvement_action", actor=lead, data={
    "origin": "投訴", "description": "回訪不及時"})
case = engine.fire(case, "plan", actor=lead, data={
    "goal": "回訪及時率 ≥ 95%", "owner": "team.lead",
    "deadline": "2026-06-30T18:00:00+08:00", "acceptance_criteria": "Q2 報表"})
print(case.state)   # planned
'''

INFO = ProcessInfo(
    "P7", NAME, definition, ImprovementActionData, INTAKE, INTAKE_VOCABULARIES,
    CLOCKS_DOC, "000 §4.3, 001 §4.3, 003 §9.3, 004 §7", EXAMPLE,
)
