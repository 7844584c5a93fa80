"""P1 ``service_request`` — 服務請求 (000 ch.2–4, 001 ch.2–3, 002 ch.3).

Register first, handle after (先接後辦, 001 §2.1); confirm against the service standards and tell
the customer the time limit (000 §2.1–2.2); propose a plan the customer agrees before any work
starts (000 §2.4); deliver, have it accepted and signed with a satisfaction score (001 §3.3),
follow up (000 §4.1) and archive (001 §3.4, §4.4).
"""

from __future__ import annotations

import attrs

from servicewf.context import CommandContext
from servicewf.definition import ANY_STATE, STAY, DefinitionBuilder, Guard, ProcessDefinition
from servicewf.processes.common import (
    ALERT_KIND,
    CHANNELS,
    REQUEST_PRIORITY,
    SATISFACTION,
    ClockDoc,
    ProcessInfo,
    Vocabulary,
    alert_kind_id,
    channels_id,
    fields_guard,
    guard_every_transition,
    instant_guard,
    lab,
    request_priority_id,
    reserved_fields_guard,
    retention_guard,
    satisfaction_id,
    vocabulary_guard,
    with_intake,
)

__all__ = ["CLOCKS_DOC", "INFO", "INTAKE", "ServiceRequestData", "definition"]

NAME = "service_request"
INTAKE = ("channel", "customer_ref", "description")
INTAKE_VOCABULARIES: dict[str, Vocabulary] = {"channel": CHANNELS}
PLAN_FIELDS = ("plan_content", "plan_schedule", "plan_method", "plan_staff", "plan_fee",
               "plan_guarantees")
CONFIRMATION_FIELDS = ("confirmed_by", "confirmed_at", "confirmation_medium")
DELIVERY_FIELDS = ("delivery_content", "delivery_method", "delivered_at", "delivered_by")

CLOCKS_DOC: tuple[ClockDoc, ...] = (
    ClockDoc("first_response", "30", "min", "000 §6.1, §7.1",
             "received → confirmed or first customer contact; CRM preset 24 h normal / 2 h "
             "major (002 §1.4)"),
    ClockDoc("confirmation", "24", "h", "002 §3.1", "received → confirmed"),
    ClockDoc("resolution", "due", "instant", "000 §2.1–2.2",
             "confirmed → delivered, by the due time promised at confirmation; "
             "waiting_customer pauses it"),
    ClockDoc("feedback_processing", "24", "h", "000 §3.2",
             "after delivery: accepted or rework started"),
    ClockDoc("post_service_contact", "24", "h", "000 §4.1", "after delivery"),
    ClockDoc("second_follow_up", "day 15 – day 30", "days", "000 §4.1",
             "a window after delivery: contact before day 15 does not satisfy it"),
    ClockDoc("service_time", "check-in 30 min; printing 1 h", "min / h", "001 §6.1",
             "business_centre preset, by request_type; room bookings: confirmation 24 h"),
)


@attrs.frozen
class ServiceRequestData:
    """Typed view of a service request's data (``case.data_as(ServiceRequestData)``).

    Vocabulary fields are normalised to their English ids (``priority`` is ``"urgent"``,
    ``"important"`` or ``"normal"``); instants stay ISO-8601 text as supplied.
    """

    channel: str | None = attrs.field(default=None, converter=channels_id)
    customer_ref: str | None = None
    description: str | None = None
    request_type: str | None = None
    need: str | None = None
    contact: str | None = None
    priority: str | None = attrs.field(
        default=None, converter=request_priority_id)
    owner: str | None = None
    due: str | None = None
    time_limit_notice: str | None = None
    plan_content: str | None = None
    plan_schedule: str | None = None
    plan_method: str | None = None
    plan_staff: str | None = None
    plan_fee: str | None = None
    plan_guarantees: str | None = None
    confirmed_by: str | None = None
    confirmed_at: str | None = None
    confirmation_medium: str | None = None
    task_content: str | None = None
    task_owner: str | None = None
    task_due: str | None = None
    expected_outcome: str | None = None
    alert_kind: str | None = attrs.field(default=None, converter=alert_kind_id)
    delivery_content: str | None = None
    delivery_method: str | None = None
    delivered_at: str | None = None
    delivered_by: str | None = None
    signer: str | None = None
    satisfaction: str | None = attrs.field(
        default=None, converter=satisfaction_id)
    contact_channel: str | None = attrs.field(
        default=None, converter=channels_id)
    follow_up_result: str | None = None
    archive_key: str | None = None
    retain_until: str | None = None
    reason: str | None = None
    customer_notification: str | None = None

    @property
    def escalated(self) -> bool:
        """True once a delay or resource alert was raised (002 §3.3)."""
        return self.alert_kind is not None


def _plan_agreed(ctx: CommandContext) -> bool:
    # The state machine only offers `start` from plan_agreed, and every propose/revise leads
    # back to planned; the guard re-checks it so a derived definition cannot lose C3.
    return ctx.case.state == "plan_agreed" and all(
        ctx.case.data.get(f) for f in CONFIRMATION_FIELDS)



WRITES: dict[str, tuple[str, ...]] = {"request_info": ("missing",)}
"""Optional fields a trigger may write besides its required ones (field ownership)."""
INTAKE_WRITES: tuple[str, ...] = ()
"""Optional fields an opening may supply besides the intake."""

GUARDS: tuple[Guard, ...] = (
    reserved_fields_guard({f: ("agree_plan",) for f in CONFIRMATION_FIELDS}
                          | {f: ("deliver",) for f in DELIVERY_FIELDS}),
    fields_guard("intake_complete", INTAKE, rule="C1 (001 §2.1)",
                 explain="register the request with channel, customer_ref and description "
                         "before handling it"),
    vocabulary_guard("channel", CHANNELS),
    vocabulary_guard("priority", REQUEST_PRIORITY),
    vocabulary_guard("alert_kind", ALERT_KIND),
    vocabulary_guard("contact_channel", CHANNELS),
    vocabulary_guard("satisfaction", SATISFACTION, rule="C5 (000 §3.4, 001 §3.3)"),
    instant_guard("due"),
    instant_guard("task_due"),
    instant_guard("confirmed_at"),
    instant_guard("delivered_at"),
    fields_guard("task_defined", ("request_type", "priority", "owner", "due"),
                 rule="C2 (000 §2.1, 001 §2.2)",
                 explain="the request needs type, priority, owner and due time (register and "
                         "confirm it) before work starts"),
    Guard("plan_agreed", _plan_agreed, rule="C3 (000 §2.4)",
          explain="the customer must agree the latest plan (agree_plan, with who, when and "
                  "medium) before execution starts"),
    fields_guard("delivery_recorded", DELIVERY_FIELDS, rule="C4 (001 §3.3)",
                 explain="record the delivery (content, method, time, staff) with deliver, and "
                         "have the customer or a representative sign, before acceptance"),
    retention_guard(),
)


def definition() -> ProcessDefinition:
    """The built-in ``service_request`` definition (version 1)."""
    b = DefinitionBuilder(NAME, 1, description=(
        "A customer's service request from intake to archive: register first, confirm the "
        "standard and time limit, agree a plan, deliver, accept with a satisfaction score, "
        "follow up, archive."))
    b.labels = lab("Service request", "服務請求", "服务请求")
    b.add_guard(*GUARDS)
    s = b.add_state
    s("received", lab("Received", "已接收", "已接收"), initial=True)
    s("registered", lab("Registered", "已登記", "已登记"))
    s("confirmed", lab("Confirmed", "已確認", "已确认"))
    s("planned", lab("Plan proposed", "方案已擬定", "方案已拟定"))
    s("plan_agreed", lab("Plan agreed", "方案已確認", "方案已确认"))
    s("in_progress", lab("In progress", "服務執行中", "服务执行中"))
    s("waiting_customer", lab("Waiting for customer", "等待客戶", "等待客户"))
    s("delivered", lab("Delivered", "已交付", "已交付"))
    s("accepted", lab("Accepted", "已驗收", "已验收"))
    s("followed_up", lab("Followed up", "已回訪", "已回访"))
    s("archived", lab("Archived", "已歸檔", "已归档"), final=True)
    s("cancelled", lab("Cancelled", "已取消", "已取消"), final=True)
    s("rejected", lab("Rejected", "已拒絕", "已拒绝"), final=True)

    t = b.add_transition
    t("register", "received", "registered", labels=lab("Register", "登記", "登记"),
      required=("request_type", "need", "contact"), conditions=("intake_complete", "channel_known"),
      description="先接後辦: register first, handle after (001 §2.1)")
    t("request_info", "registered", STAY, labels=lab("Request information", "補充資料請求",
                                                     "补充资料请求"),
      required=("missing_info",), description="missing information (000 §2.3)")
    t("supply_info", "registered", STAY, labels=lab("Supply information", "補充資料", "补充资料"),
      required=("info",))
    t("confirm", "registered", "confirmed", labels=lab("Confirm", "確認", "确认"),
      required=("priority", "owner", "due", "time_limit_notice"),
      conditions=("priority_known", "due_is_instant"),
      description="verified against service standards; customer told the time limit "
                  "(000 §2.1–2.2)")
    t("propose_plan", "confirmed", "planned", labels=lab("Propose plan", "擬定方案", "拟定方案"),
      required=PLAN_FIELDS, description="000 §2.4")
    t("revise_plan", ("planned", "plan_agreed"), "planned",
      labels=lab("Revise plan", "修改方案", "修改方案"),
      required=("plan_content", "revision_reason"))
    t("agree_plan", "planned", "plan_agreed", labels=lab("Agree plan", "客戶確認方案",
                                                         "客户确认方案"),
      required=CONFIRMATION_FIELDS, conditions=("confirmed_at_is_instant",))
    t("start", "plan_agreed", "in_progress", labels=lab("Start", "開始執行", "开始执行"),
      required=("task_content", "task_owner", "task_due", "expected_outcome"),
      conditions=("plan_agreed", "task_defined", "task_due_is_instant"),
      description="task assignment confirmed in writing or electronically (001 §2.2)")
    t("wait_customer", "in_progress", "waiting_customer",
      labels=lab("Wait for customer", "等待客戶", "等待客户"), required=("reason",))
    t("resume", "waiting_customer", "in_progress", labels=lab("Resume", "恢復處理", "恢复处理"))
    t("escalate", ("in_progress", "waiting_customer"), STAY,
      labels=lab("Raise alert", "預警升級", "预警升级"), required=("alert_kind", "reason"),
      conditions=("alert_kind_known",),
      description="a delay or resource alert brings in the support team (002 §3.3)")
    t("deliver", "in_progress", "delivered", labels=lab("Deliver", "交付", "交付"),
      required=DELIVERY_FIELDS, conditions=("delivered_at_is_instant",),
      description="000 §3.4, 001 §3.3")
    t("rework", "delivered", "in_progress", labels=lab("Rework", "返工", "返工"),
      required=("reason",), description="acceptance failed (001 §3.1)")
    t("accept", "delivered", "accepted", labels=lab("Accept", "驗收", "验收"),
      required=("signer", "satisfaction"), conditions=("delivery_recorded", "satisfaction_known"),
      description="by the customer or a representative, signed (001 §3.3)")
    t("follow_up", "accepted", "followed_up", labels=lab("Follow up", "回訪", "回访"),
      required=("contact_channel", "follow_up_result"), conditions=("contact_channel_known",),
      description="000 §4.1")
    t("follow_up", "followed_up", STAY, labels=lab("Follow up again", "再次回訪", "再次回访"),
      required=("contact_channel", "follow_up_result"), conditions=("contact_channel_known",),
      description="the second follow-up (day 15 to 30 after delivery, 000 §4.1)")
    t("archive", "followed_up", "archived", labels=lab("Archive", "歸檔", "归档"),
      required=("archive_key", "retain_until"), conditions=("retention_at_least_3_years",),
      description="001 §3.4, §4.4")
    t("cancel", ANY_STATE, "cancelled", labels=lab("Cancel", "取消", "取消"),
      required=("reason",), description="the customer withdraws")
    t("reject", ("received", "registered"), "rejected", labels=lab("Reject", "拒絕", "拒绝"),
      required=("reason", "customer_notification"), description="not serviceable")
    guard_every_transition(b, "reserved_fields")
    return with_intake(b, INTAKE, INTAKE_VOCABULARIES, writes=WRITES,
                       intake_writes=INTAKE_WRITES).build()


EXAMPLE = '''\
import pendulum
from servicewf import Actor, Engine, FrozenClock, MemoryStore
from servicewf.processes import builtin_registry, open_case
from servicewf.processes.service_request import ServiceRequestData

clock = FrozenClock(pendulum.datetime(2026, 3, 2, 9, 0, tz="Asia/Shanghai"))
engine = Engine(MemoryStore(), clock, builtin_registry())
agent = Actor("li.na", "agent")
case = open_case(engine, "service_request", actor=agent, data={
    "channel": "電話", "customer_ref": "C-1001", "description": "會議室投影儀故障"})
case = engine.fire(case, "register", actor=agent, data={
    "request_type": "repair", "need": "projector works by 14:00", "contact": "138-0000-0000"})
case = engine.fire(case, "confirm", actor=agent, data={
    "priority": "緊急", "owner": "li.na", "due": "2026-03-02T14:00:00+08:00",
    "time_limit_notice": "told by phone: fixed by 14:00"})
print(case.state, case.data_as(ServiceRequestData).priority)   # confirmed urgent
'''

INFO = ProcessInfo(
    "P1", NAME, definition, ServiceRequestData, INTAKE, INTAKE_VOCABULARIES, CLOCKS_DOC,
    "000 ch.2–4, 001 ch.2–3, 002 ch.3", EXAMPLE,
)
