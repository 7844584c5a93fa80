"""P9 ``access_grant`` — 權限授予 (002 §7.2–7.3).

Access by role and least privilege (002 §7.2): the approved scope may not exceed the requested
one; permission changes are audited (002 §7.3). Requested, approved, active, optionally audited,
revoked.
"""

from __future__ import annotations

from typing import Any

import attrs

from servicewf.context import CommandContext
from servicewf.definition import ANY_STATE, DefinitionBuilder, Guard, ProcessDefinition
from servicewf.processes.approval import not_self_approval
from servicewf.processes.common import (
    MANAGER,
    SUPERVISOR,
    ClockDoc,
    ProcessInfo,
    Vocabulary,
    guard_every_transition,
    lab,
    reserved_fields_guard,
    text_list,
    with_intake,
)

__all__ = ["CLOCKS_DOC", "INFO", "INTAKE", "AccessGrantData", "definition"]

NAME = "access_grant"
INTAKE = ("grantee", "requested_scope", "purpose")
INTAKE_VOCABULARIES: dict[str, Vocabulary] = {}
CLOCKS_DOC: tuple[ClockDoc, ...] = ()


@attrs.frozen
class AccessGrantData:
    """Typed view of an access grant (``case.data_as(AccessGrantData)``); scopes are lists."""

    grantee: str | None = None
    # Typed Any for cattrs (which would split a text into characters); the converter makes a
    # tuple of scope names from a list or a comma-separated text.
    requested_scope: Any = attrs.field(default=(), converter=text_list)
    purpose: str | None = None
    approved_scope: Any = attrs.field(default=(), converter=text_list)
    approved_by: str | None = None
    audit_result: str | None = None
    reason: str | None = None


def _least_privilege(ctx: CommandContext) -> bool:
    approved = ctx.data.get("approved_scope")
    if approved is None:
        return True
    wanted = set(text_list(approved))
    return bool(wanted) and wanted <= set(text_list(ctx.case.data.get("requested_scope")))


GUARDS: tuple[Guard, ...] = (
    reserved_fields_guard({"grantee": (), "requested_scope": ()}),
    Guard("least_privilege", _least_privilege, rule="002 §7.2",
          explain="least privilege: approved_scope must be a non-empty subset of "
                  "requested_scope"),
    not_self_approval("grantee", explain="the grantee cannot approve their own access; ask "
                                         "another supervisor"),
)


def definition() -> ProcessDefinition:
    """The built-in ``access_grant`` definition (version 1)."""
    b = DefinitionBuilder(NAME, 1, description=(
        "Access to customer data: requested with a purpose, approved with least privilege, "
        "active, audited, revoked."))
    b.labels = lab("Access grant", "權限授予", "权限授予")
    b.add_guard(*GUARDS)
    s = b.add_state
    s("requested", lab("Requested", "已申請", "已申请"), initial=True)
    s("approved", lab("Approved", "已批准", "已批准"))
    s("active", lab("Active", "已生效", "已生效"))
    s("audited", lab("Audited", "已審計", "已审计"))
    s("revoked", lab("Revoked", "已撤銷", "已撤销"), final=True)
    t = b.add_transition
    t("approve", "requested", "approved", labels=lab("Approve", "批准", "批准"),
      required=("approved_scope", "approved_by"), roles=(SUPERVISOR, MANAGER),
      conditions=("least_privilege", "not_self_approval"))
    t("activate", "approved", "active", labels=lab("Activate", "開通", "开通"))
    t("audit", ("active", "audited"), "audited", labels=lab("Audit", "審計", "审计"),
      required=("audit_result",))
    t("revoke", ANY_STATE, "revoked", labels=lab("Revoke", "撤銷", "撤销"), required=("reason",))
    guard_every_transition(b, "reserved_fields")
    return with_intake(b, INTAKE, INTAKE_VOCABULARIES).build()


EXAMPLE = '''\
import pendulum
from servicewf import Actor, Engine, FrozenClock, MemoryStore
from servicewf.processes import builtin_registry, open_case

engine = Engine(MemoryStore(), FrozenClock(pendulum.datetime(2026, 5, 4, 9, tz="UTC")),
                builtin_registry())
boss = Actor("boss", "manager")
case = open_case(engine, "access_grant", actor=Actor("amy", "agent"), data={
    "grantee": "amy", "requested_scope": ["basic_profile", "contact"],
    "purpose": "account management"})
case = engine.fire(case, "approve", actor=boss, data={"approved_scope": ["basic_profile"],
                                                      "approved_by": "boss"})
print(case.state)   # approved
'''

INFO = ProcessInfo("P9", NAME, definition, AccessGrantData, INTAKE, INTAKE_VOCABULARIES, CLOCKS_DOC,
                   "002 §7.2–7.3", EXAMPLE)
