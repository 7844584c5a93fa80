"""P9 ``customer_data_change`` — 客戶資料變更 (002 §2.1, §7.3).

Customer data changes only at the request of the customer or an authorised agent, and only after
approval (002 §2.1); the change is a sensitive operation, audited with time, actor and operation
(002 §7.3) — the case history is that audit. The approver must not be the requester.
"""

from __future__ import annotations

import attrs

from servicewf.context import CommandContext
from servicewf.definition import DefinitionBuilder, Guard, ProcessDefinition
from servicewf.processes.approval import not_self_approval
from servicewf.processes.common import (
    MANAGER,
    REQUESTER_KIND,
    SUPERVISOR,
    ClockDoc,
    ProcessInfo,
    Vocabulary,
    guard_every_transition,
    lab,
    requester_kind_id,
    reserved_fields_guard,
    vocabulary_guard,
    with_intake,
)

__all__ = ["CLOCKS_DOC", "INFO", "INTAKE", "CustomerDataChangeData", "definition"]

NAME = "customer_data_change"
INTAKE = ("customer_ref", "requested_by", "requester_kind", "changes")
INTAKE_VOCABULARIES: dict[str, Vocabulary] = {"requester_kind": REQUESTER_KIND}
CLOCKS_DOC: tuple[ClockDoc, ...] = ()


@attrs.frozen
class CustomerDataChangeData:
    """Typed view of a data-change request (``case.data_as(CustomerDataChangeData)``)."""

    customer_ref: str | None = None
    requested_by: str | None = None
    requester_kind: str | None = attrs.field(
        default=None, converter=requester_kind_id)
    authorisation_ref: str | None = None
    changes: str | None = None
    approved_by: str | None = None
    applied_by: str | None = None
    reason: str | None = None


def _requester_authorised(ctx: CommandContext) -> bool:
    kind = REQUESTER_KIND.normalise(ctx.value("requester_kind"))
    if kind == "customer":
        return bool(ctx.value("requested_by"))
    if kind == "authorised_agent":
        return bool(ctx.value("requested_by")) and bool(ctx.value("authorisation_ref"))
    return False



WRITES: dict[str, tuple[str, ...]] = {"submit": ("authorisation_ref",)}
"""Optional fields a trigger may write besides its required ones (field ownership)."""
INTAKE_WRITES: tuple[str, ...] = ()
"""Optional fields an opening may supply besides the intake."""

GUARDS: tuple[Guard, ...] = (
    reserved_fields_guard({"requested_by": (), "requester_kind": (),
                           "authorisation_ref": ("submit",)}),
    vocabulary_guard("requester_kind", REQUESTER_KIND),
    Guard("requester_authorised", _requester_authorised, rule="002 §2.1",
          explain="the change must come from the customer (requester_kind=customer) or an "
                  "authorised agent with an authorisation_ref"),
    not_self_approval("requested_by", explain="the requester cannot approve their own "
                                              "change; ask another supervisor"),
)


def definition() -> ProcessDefinition:
    """The built-in ``customer_data_change`` definition (version 1)."""
    b = DefinitionBuilder(NAME, 1, description=(
        "A change to customer data: requested by the customer or an authorised agent, approved, "
        "applied (or rejected); every step audited."))
    b.labels = lab("Customer data change", "客戶資料變更", "客户资料变更")
    b.add_guard(*GUARDS)
    s = b.add_state
    s("requested", lab("Requested", "已申請", "已申请"), initial=True)
    s("pending_approval", lab("Pending approval", "待審批", "待审批"))
    s("approved", lab("Approved", "已審批", "已审批"))
    s("applied", lab("Applied", "已變更", "已变更"), final=True)
    s("rejected", lab("Rejected", "已駁回", "已驳回"), final=True)
    t = b.add_transition
    t("submit", "requested", "pending_approval", labels=lab("Submit", "提交審批", "提交审批"),
      conditions=("requester_kind_known", "requester_authorised"))
    t("approve", "pending_approval", "approved", labels=lab("Approve", "批准", "批准"),
      required=("approved_by",), roles=(SUPERVISOR, MANAGER), conditions=("not_self_approval",))
    t("apply", "approved", "applied", labels=lab("Apply", "執行變更", "执行变更"),
      required=("applied_by",))
    t("reject", ("requested", "pending_approval"), "rejected", labels=lab("Reject", "駁回",
                                                                          "驳回"),
      required=("reason",))
    guard_every_transition(b, "reserved_fields")
    return with_intake(b, INTAKE, INTAKE_VOCABULARIES, writes=WRITES,
                       intake_writes=INTAKE_WRITES).build()


EXAMPLE = '''\
import pendulum
from servicewf import Actor, Engine, FrozenClock, MemoryStore
from servicewf.processes import builtin_registry, open_case

engine = Engine(MemoryStore(), FrozenClock(pendulum.datetime(2026, 5, 4, 9, tz="UTC")),
                builtin_registry())
desk, boss = Actor("desk", "agent"), Actor("boss", "supervisor")
case = open_case(engine, "customer_data_change", actor=desk, data={
    "customer_ref": "C-8", "requested_by": "C-8", "requester_kind": "客戶本人",
    "changes": "phone → 139-0000-0000"})
case = engine.fire(case, "submit", actor=desk)
case = engine.fire(case, "approve", actor=boss, data={"approved_by": "boss"})
print(case.state)   # approved
'''

INFO = ProcessInfo("P9", NAME, definition, CustomerDataChangeData, INTAKE,
                   INTAKE_VOCABULARIES, CLOCKS_DOC, "002 §2.1, §7.3", EXAMPLE)
