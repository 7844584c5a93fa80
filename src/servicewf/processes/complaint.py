"""P2 ``complaint`` — 投訴 (000 ch.5, 001 ch.7, 003 §4.2–4.3, 004 §6).

The five-step method 接訴-分類-響應-解決-反饋 (000 §5.2), with validity screening (003 §4.2.2),
supervisor confirmation of the complaint ticket (000 §5.2-2), the customer feedback loop "until
the customer is satisfied" (004 §6), follow-up and archive (001 §7.4).

Handler tier: the level gives the default tier (一般 → ``agent``, 重要 → ``supervisor``,
緊急 → ``manager``; 001 §7.2); each ``escalate`` raises it one step (above the manager, top
management — ``executive`` — coordinates, 000 §5.1) and records the new tier in ``tier``.
``investigate`` and ``resolve`` must be fired by an actor whose role is the current tier (C9).
An escalation by the SLA sweep fires ``escalate`` when the state offers it; where it does not,
the tier the SLA recorded counts as well (:func:`current_tier`).
"""

from __future__ import annotations

from typing import Any

import attrs

from servicewf.case import Case
from servicewf.context import CommandContext
from servicewf.definition import STAY, DefinitionBuilder, Guard, ProcessDefinition
from servicewf.processes.common import (
    CHANNELS,
    COMPLAINT_LEVEL,
    COMPLAINT_SCOPE,
    COMPLAINT_TIERS,
    COMPLAINT_TYPE,
    EXECUTIVE,
    LEVEL_TIER,
    MANAGER,
    REMEDY,
    SATISFACTION,
    SUPERVISOR,
    ClockDoc,
    ProcessInfo,
    Vocabulary,
    channels_id,
    complaint_level_id,
    complaint_scope_id,
    complaint_type_id,
    fields_guard,
    guard_every_transition,
    instant_guard,
    is_dissatisfied,
    lab,
    remedy_id,
    reserved_fields_guard,
    retention_guard,
    satisfaction_id,
    vocabulary_guard,
    with_intake,
)
from servicewf.sla.processor import escalated_tier

__all__ = [
    "CLOCKS_DOC", "INFO", "INTAKE", "ComplaintData", "current_tier", "definition", "next_tier",
    "required_tier",
]

NAME = "complaint"
INTAKE = ("channel", "customer_ref", "content")
INTAKE_VOCABULARIES: dict[str, Vocabulary] = {"channel": CHANNELS}
ACTIVE = ("confirmed", "acknowledged", "investigating")

CLOCKS_DOC: tuple[ClockDoc, ...] = (
    ClockDoc("record", "24", "h", "001 §7.2", "from receipt"),
    ClockDoc("acknowledge", "24", "h", "001 §4.2", "response notice, from receipt"),
    ClockDoc("resolve (business_centre)", "緊急 2 / 一般 3 / 重要 5", "WD", "001 §7.2",
             "by level, from receipt; a table, not a formula; a breach escalates one tier; "
             "the extend transition extends it (C14)"),
    ClockDoc("resolve (telecom)", "3", "WD", "003 §4.3.1",
             "every valid complaint, extendable with customer notice (C14)"),
    ClockDoc("feedback", "48", "h", "001 §4.2", "optional goal, off by default"),
    ClockDoc("follow_up", "30", "days", "001 §7.4", "at least one follow-up after closed"),
    ClockDoc("archive_retention", "≥ 3", "years", "001 §4.4", ""),
)


@attrs.frozen
class ComplaintData:
    """Typed view of a complaint's data (``case.data_as(ComplaintData)``); vocabulary fields
    hold their English ids (``level`` is ``"general"``, ``"important"`` or ``"urgent"``)."""

    channel: str | None = attrs.field(default=None, converter=channels_id)
    customer_ref: str | None = None
    content: str | None = None
    tracker: str | None = None
    first_receiver: str | None = None
    owner: str | None = None
    explanation: str | None = None
    redirect: str | None = None
    complaint_type: str | None = attrs.field(
        default=None, converter=complaint_type_id)
    level: str | None = attrs.field(default=None, converter=complaint_level_id)
    scope: str | None = attrs.field(default=None, converter=complaint_scope_id)
    supervisor: str | None = None
    measures: str | None = None
    expected_completion: str | None = None
    handler: str | None = None
    tier: str | None = None
    remedy: str | None = attrs.field(default=None, converter=remedy_id)
    result: str | None = None
    feedback: str | None = None
    feedback_channel: str | None = attrs.field(
        default=None, converter=channels_id)
    satisfaction: str | None = attrs.field(
        default=None, converter=satisfaction_id)
    follow_up_result: str | None = None
    archive_key: str | None = None
    retain_until: str | None = None
    reason: str | None = None
    customer_notification: str | None = None
    new_deadline: str | None = None

    @property
    def responsible(self) -> str | None:
        """Who owns the complaint: the formal hand-over owner, else the first receiver
        (首問負責制, 001 §7.1–7.2)."""
        return self.owner or self.first_receiver


def required_tier(data: Any, escalated: str | None = None) -> str | None:
    """The handler tier a case's data calls for: the highest of the level's default tier, the
    ``tier`` recorded by ``escalate`` and ``escalated`` (a tier the SLA recorded, see
    :func:`~servicewf.sla.escalated_tier`); ``None`` while none of them is known."""
    get = data.get if hasattr(data, "get") else (lambda k: getattr(data, k, None))
    level = COMPLAINT_LEVEL.normalise(get("level"))
    known = [t for t in (LEVEL_TIER.get(level) if level else None, get("tier"), escalated)
             if t in COMPLAINT_TIERS]
    return max(known, key=COMPLAINT_TIERS.index) if known else None


def current_tier(case: Case) -> str | None:
    """The handler tier of ``case`` now: one source of truth for C9 and ``escalate``,
    whether the complaint was escalated by hand, by the SLA through the ``escalate`` trigger,
    or by an ``escalated`` event the SLA recorded where the trigger was not offered."""
    return required_tier(case.data, escalated_tier(case))


def next_tier(case: Case) -> str | None:
    """The tier an ``escalate`` of ``case`` must record, or ``None`` at the top (``manager``).
    An automatic escalation policy passes it as ``data={"tier": next_tier(case), ...}``."""
    tier = current_tier(case)
    if tier is None:
        return None
    i = COMPLAINT_TIERS.index(tier)
    return COMPLAINT_TIERS[i + 1] if i + 1 < len(COMPLAINT_TIERS) else None


def _handler_matches_level(ctx: CommandContext) -> bool:
    tier = current_tier(ctx.case)
    return tier is not None and ctx.actor.role == tier


def _one_tier_up(ctx: CommandContext) -> bool:
    wanted = next_tier(ctx.case)
    supplied = ctx.data.get("tier")
    return wanted is not None and (supplied is None or supplied == wanted)


def _classification_confirmed(ctx: CommandContext) -> bool:
    # The state machine only offers acknowledge from `confirmed`; re-checked for derivations.
    return ctx.case.state == "confirmed" and bool(ctx.case.data.get("supervisor"))


def _not_dissatisfied(ctx: CommandContext) -> bool:
    return not is_dissatisfied(ctx.value("satisfaction"))



WRITES: dict[str, tuple[str, ...]] = {
    "archive": ("retain_until",),
    "give_feedback": ("satisfaction",),
    "reopen": ("satisfaction",),
}
"""Optional fields a trigger may write besides its required ones (field ownership)."""
INTAKE_WRITES: tuple[str, ...] = ("customer_tier", "linked_case_id")
"""Optional fields an opening may supply besides the intake."""

GUARDS: tuple[Guard, ...] = (
    reserved_fields_guard({"tier": ("escalate",), "level": ("classify",),
                           "supervisor": ("confirm_classification",)}),
    fields_guard("intake_complete", INTAKE, rule="intake (000 §5.2-1, 003 §4.2.2)",
                 explain="a complaint is recorded with channel, customer_ref and content"),
    vocabulary_guard("channel", CHANNELS),
    vocabulary_guard("complaint_type", COMPLAINT_TYPE),
    vocabulary_guard("level", COMPLAINT_LEVEL),
    vocabulary_guard("scope", COMPLAINT_SCOPE),
    vocabulary_guard("remedy", REMEDY),
    vocabulary_guard("feedback_channel", CHANNELS),
    vocabulary_guard("satisfaction", SATISFACTION, rule="C8 (001 §7.3)"),
    fields_guard("has_tracker", ("tracker", "first_receiver"), rule="C10 (001 §7.1–7.2)",
                 explain="the complaint needs a named tracker and its first receiver (record it) "
                         "before it is classified"),
    Guard("classification_confirmed", _classification_confirmed, rule="C6 (000 §5.2)",
          explain="a supervisor must confirm the classification (confirm_classification) "
                  "before the response notice is sent"),
    instant_guard("expected_completion", name="expected_completion_is_instant",
                  rule="C7 (000 §5.2)"),
    fields_guard("acknowledged_with_time", ("measures", "expected_completion"),
                 rule="C7 (000 §5.2)",
                 explain="acknowledge the complaint to the customer with measures and an "
                         "expected completion time before resolving it"),
    Guard("handler_matches_level", _handler_matches_level, rule="C9 (000 §5.1, 001 §7.2)",
          explain="the handler's role must match the complaint's tier: 一般 general → agent, "
                  "重要 important → supervisor, 緊急 urgent → manager (one step up per "
                  "escalation); hand it to someone in that role"),
    Guard("one_tier_up", _one_tier_up, rule="escalation (000 §5.1, 001 §7.2)",
          explain="escalate moves one tier up (agent → supervisor → manager → executive) and "
                  "records it in 'tier'; an executive-tier complaint cannot go higher"),
    fields_guard("written_feedback", ("feedback",), rule="C8 (001 §7.3)",
                 explain="give the customer written feedback (give_feedback) and get a "
                         "satisfaction evaluation before closing"),
    Guard("customer_not_dissatisfied", _not_dissatisfied, rule="C11 (004 §6)",
          explain="the customer is recorded dissatisfied (不滿意): reopen the complaint and "
                  "handle it until the customer is satisfied; it cannot be closed now"),
    fields_guard("extension_noticed", ("reason", "customer_notification"),
                 rule="C14 (003 §4.3.1)",
                 absent_ok=True,
                 explain="an extension needs a reason and a recorded notification to the "
                         "customer"),
    instant_guard("new_deadline", not_before_now=True, name="new_deadline_in_future",
                  rule="C14 (003 §4.3.1)"),
    retention_guard(),
)


def definition() -> ProcessDefinition:
    """The built-in ``complaint`` definition (version 1)."""
    b = DefinitionBuilder(NAME, 1, description=(
        "A customer complaint by the five-step method 接訴-分類-響應-解決-反饋: record with a "
        "tracker, screen validity, classify, supervisor confirmation, response notice, "
        "investigation by the right tier, resolution, feedback until the customer is "
        "satisfied, close, follow up, archive."))
    b.labels = lab("Complaint", "投訴", "投诉")
    b.add_guard(*GUARDS)
    s = b.add_state
    s("received", lab("Received", "已接訴", "已接诉"), initial=True)
    s("recorded", lab("Recorded", "已登記", "已登记"))
    s("invalid", lab("Invalid complaint", "無效投訴", "无效投诉"), final=True)
    s("classified", lab("Classified", "已分類", "已分类"))
    s("confirmed", lab("Supervisor confirmed", "主管已確認", "主管已确认"))
    s("acknowledged", lab("Acknowledged", "已響應", "已响应"))
    s("investigating", lab("Investigating", "處理中", "处理中"))
    s("resolved", lab("Resolved", "已解決", "已解决"))
    s("feedback_given", lab("Feedback given", "已反饋", "已反馈"))
    s("closed", lab("Closed", "已結案", "已结案"))
    s("followed_up", lab("Followed up", "已回訪", "已回访"))
    s("archived", lab("Archived", "已歸檔", "已归档"), final=True)

    t = b.add_transition
    t("record", "received", "recorded", labels=lab("Record", "登記", "登记"),
      required=("tracker", "first_receiver"), conditions=("intake_complete", "channel_known"),
      description="detailed record; customer told how it will be handled (003 §4.2.2); named "
                  "tracker (001 §7.2); 首問負責制")
    t("reject_invalid", ("received", "recorded"), "invalid",
      labels=lab("Reject as invalid", "判定無效", "判定无效"),
      required=("explanation", "redirect"),
      description="reason explained and another route offered (003 §4.2.2)")
    t("hand_over", ("recorded", "classified", *ACTIVE, "resolved", "feedback_given"), STAY,
      labels=lab("Hand over", "正式移交", "正式移交"), required=("owner", "reason"),
      description="formal hand-over: the first receiver stays owner unless handed over "
                  "(001 §7.1)")
    t("classify", ("recorded", "classified"), "classified", labels=lab("Classify", "分類", "分类"),
      required=("complaint_type", "level", "scope"),
      conditions=("has_tracker", "complaint_type_known", "level_known", "scope_known"),
      description="type, level and scope (000 §5.1); re-classifying is allowed until confirmed")
    t("confirm_classification", "classified", "confirmed",
      labels=lab("Supervisor confirms", "主管確認", "主管确认"), required=("supervisor",),
      roles=(SUPERVISOR, MANAGER, EXECUTIVE),
      description="the complaint ticket 投訴處理單 is confirmed by a supervisor (000 §5.2-2)")
    t("acknowledge", "confirmed", "acknowledged", labels=lab("Acknowledge", "響應", "响应"),
      required=("measures", "expected_completion"),
      conditions=("classification_confirmed", "expected_completion_is_instant"),
      description="formal notice to the customer (000 §5.2-3)")
    t("investigate", "acknowledged", "investigating", labels=lab("Investigate", "處理", "处理"),
      required=("handler",), conditions=("handler_matches_level",),
      description="the department investigates at once (003 §4.2.3)")
    t("escalate", ACTIVE, STAY, labels=lab("Escalate", "升級", "升级"),
      required=("tier", "reason"), conditions=("one_tier_up",),
      description="ownership one tier up (agent → supervisor → manager → executive); by "
                  "hand or by the SLA sweep when the resolution clock breaches")
    t("extend", ("recorded", "classified", *ACTIVE), STAY,
      labels=lab("Extend deadline", "延長時限", "延长时限"),
      required=("reason", "customer_notification", "new_deadline"),
      conditions=("extension_noticed", "new_deadline_in_future"),
      description="extension of the resolution clock with reason and customer notice "
                  "(003 §4.3.1)")
    t("resolve", "investigating", "resolved", labels=lab("Resolve", "解決", "解决"),
      required=("remedy", "result"),
      conditions=("acknowledged_with_time", "handler_matches_level", "remedy_known"),
      description="000 §5.2-4")
    t("give_feedback", "resolved", "feedback_given", labels=lab("Give feedback", "反饋", "反馈"),
      required=("feedback", "feedback_channel"),
      conditions=("feedback_channel_known", "satisfaction_known"),
      description="result, time, owner, follow-up measures; opinion asked (000 §5.2-5)")
    t("record_satisfaction", "feedback_given", STAY,
      labels=lab("Record satisfaction", "記錄滿意度", "记录满意度"), required=("satisfaction",),
      conditions=("satisfaction_known",))
    t("reopen", "feedback_given", "investigating", labels=lab("Reopen", "重新處理", "重新处理"),
      required=("reason",), conditions=("satisfaction_known",),
      description="the customer is not satisfied: 直到客戶滿意為止 (004 §6)")
    t("close", "feedback_given", "closed", labels=lab("Close", "結案", "结案"),
      required=("satisfaction",),
      conditions=("written_feedback", "satisfaction_known", "customer_not_dissatisfied"),
      description="customer satisfied, satisfaction recorded (001 §7.3)")
    t("follow_up", "closed", "followed_up", labels=lab("Follow up", "回訪", "回访"),
      required=("follow_up_result",), description="within 30 days (001 §7.4)")
    t("follow_up", "followed_up", STAY, labels=lab("Follow up again", "再次回訪", "再次回访"),
      required=("follow_up_result",))
    t("archive", "followed_up", "archived", labels=lab("Archive", "歸檔", "归档"),
      required=("archive_key",), conditions=("retention_at_least_3_years",),
      description="content, process, result, customer feedback (000 §5.3, 001 §7.4)")
    guard_every_transition(b, "reserved_fields")
    return with_intake(b, INTAKE, INTAKE_VOCABULARIES, writes=WRITES,
                       intake_writes=INTAKE_WRITES).build()


EXAMPLE = '''\
import pendulum
from servicewf import Actor, Engine, FrozenClock, MemoryStore
from servicewf.processes import builtin_registry, open_case
from servicewf.processes.complaint import ComplaintData

clock = FrozenClock(pendulum.datetime(2026, 3, 6, 16, 0, tz="Asia/Shanghai"))
engine = Engine(MemoryStore(), clock, builtin_registry())
agent, boss = Actor("wang", "agent"), Actor("zhao", "supervisor")
case = open_case(engine, "complaint", actor=agent, data={
    "channel": "網上", "customer_ref": "C-2002", "content": "維修人員態度差"})
case = engine.fire(case, "record", actor=agent, data={"tracker": "wang",
                                                      "first_receiver": "wang"})
case = engine.fire(case, "classify", actor=agent, data={
    "complaint_type": "服務態度", "level": "一般", "scope": "external"})
case = engine.fire(case, "confirm_classification", actor=boss, data={"supervisor": "zhao"})
print(case.state, case.data_as(ComplaintData).level)   # confirmed general
'''

INFO = ProcessInfo(
    "P2", NAME, definition, ComplaintData, INTAKE, INTAKE_VOCABULARIES, CLOCKS_DOC,
    "000 ch.5, 001 ch.7, 003 §4.2–4.3, 004 §6", EXAMPLE,
)
