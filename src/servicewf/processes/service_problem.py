"""P4 ``service_problem`` — 服務問題 (000 §3.3, 001 §4.2).

A problem found in service is reported to the responsible person within 24 h (000 §3.3.1),
analysed (symptom, cause, impact), resolved, verified, archived (description, how it was solved,
owner, time) and reviewed in a 復盤 chaired by the service-team lead (001 §4.2). No archive before
verification (C12). A problem of type "complaint" is linked to a complaint case (P2).
"""

from __future__ import annotations

import attrs

from servicewf.context import CommandContext
from servicewf.definition import DefinitionBuilder, Guard, ProcessDefinition
from servicewf.processes.common import (
    MANAGER,
    PROBLEM_TYPE,
    SUPERVISOR,
    ClockDoc,
    ProcessInfo,
    Vocabulary,
    fields_guard,
    lab,
    problem_type_id,
    retention_guard,
    vocabulary_guard,
    with_intake,
)

__all__ = ["CLOCKS_DOC", "INFO", "INTAKE", "ServiceProblemData", "definition"]

NAME = "service_problem"
INTAKE = ("problem_type", "description")
INTAKE_VOCABULARIES: dict[str, Vocabulary] = {"problem_type": PROBLEM_TYPE}

CLOCKS_DOC: tuple[ClockDoc, ...] = (
    ClockDoc("report", "24", "h", "000 §3.3.1", "identified → reported to the responsible person"),
)


@attrs.frozen
class ServiceProblemData:
    """Typed view of a service problem's data (``case.data_as(ServiceProblemData)``)."""

    problem_type: str | None = attrs.field(
        default=None, converter=problem_type_id)
    description: str | None = None
    reported_to: str | None = None
    linked_case_id: str | None = None
    symptom: str | None = None
    cause: str | None = None
    impact: str | None = None
    solution: str | None = None
    verified_by: str | None = None
    verification: str | None = None
    owner: str | None = None
    archive_key: str | None = None
    review_report: str | None = None
    chaired_by: str | None = None
    reason: str | None = None


def _complaint_linked(ctx: CommandContext) -> bool:
    if PROBLEM_TYPE.normalise(ctx.value("problem_type")) != "complaint":
        return True
    return bool(ctx.value("linked_case_id"))


def _verified(ctx: CommandContext) -> bool:
    return ctx.case.state == "verified" and bool(ctx.case.data.get("verified_by"))



WRITES: dict[str, tuple[str, ...]] = {"archive": ("retain_until",), "report": ("linked_case_id",)}
"""Optional fields a trigger may write besides its required ones (field ownership)."""
INTAKE_WRITES: tuple[str, ...] = ("linked_case_id",)
"""Optional fields an opening may supply besides the intake."""

GUARDS: tuple[Guard, ...] = (
    vocabulary_guard("problem_type", PROBLEM_TYPE),
    Guard("complaint_linked", _complaint_linked, rule="problem types (000 §3.3)",
          explain="a problem of type complaint opens a linked complaint case: give its id in "
                  "linked_case_id"),
    fields_guard("analysis_complete", ("symptom", "cause", "impact"), rule="000 §3.3",
                 explain="analyse the problem (symptom, cause, impact) before resolving it"),
    Guard("problem_verified", _verified, rule="C12 (000 §3.3)",
          explain="verify the solution (verify, with verified_by) before archiving the problem"),
    retention_guard(),
)


def definition() -> ProcessDefinition:
    """The built-in ``service_problem`` definition (version 1)."""
    b = DefinitionBuilder(NAME, 1, description=(
        "A problem found in service: reported within 24 h, analysed, resolved, verified, "
        "archived, reviewed (復盤)."))
    b.labels = lab("Service problem", "服務問題", "服务问题")
    b.add_guard(*GUARDS)
    s = b.add_state
    s("identified", lab("Identified", "已發現", "已发现"), initial=True)
    s("reported", lab("Reported", "已上報", "已上报"))
    s("analysed", lab("Analysed", "已分析", "已分析"))
    s("resolved", lab("Resolved", "已解決", "已解决"))
    s("verified", lab("Verified", "已驗證", "已验证"))
    s("archived", lab("Archived", "已歸檔", "已归档"))
    s("reviewed", lab("Reviewed", "已復盤", "已复盘"), final=True)
    t = b.add_transition
    t("report", "identified", "reported", labels=lab("Report", "上報", "上报"),
      required=("reported_to",), conditions=("problem_type_known", "complaint_linked"),
      description="to the responsible person within 24 h (000 §3.3.1)")
    t("analyse", "reported", "analysed", labels=lab("Analyse", "分析", "分析"),
      required=("symptom", "cause", "impact"))
    t("resolve", "analysed", "resolved", labels=lab("Resolve", "解決", "解决"),
      required=("solution",), conditions=("analysis_complete",))
    t("reanalyse", "resolved", "analysed", labels=lab("Reanalyse", "重新分析", "重新分析"),
      required=("reason",), description="verification failed")
    t("verify", "resolved", "verified", labels=lab("Verify", "驗證", "验证"),
      required=("verified_by", "verification"))
    t("archive", "verified", "archived", labels=lab("Archive", "歸檔", "归档"),
      required=("archive_key", "owner"),
      conditions=("problem_verified", "retention_at_least_3_years"),
      description="description, how it was solved, owner, time (000 §3.3)")
    t("review", "archived", "reviewed", labels=lab("Review", "復盤", "复盘"),
      required=("review_report", "chaired_by"), roles=(SUPERVISOR, MANAGER),
      description="復盤 report chaired by the service-team lead (001 §4.2)")
    return with_intake(b, INTAKE, INTAKE_VOCABULARIES, writes=WRITES,
                       intake_writes=INTAKE_WRITES).build()


EXAMPLE = '''\
import pendulum
from servicewf import Actor, Engine, FrozenClock, MemoryStore
from servicewf.processes import builtin_registry, open_case

clock = FrozenClock(pendulum.datetime(2026, 3, 9, 10, 0, tz="Asia/Shanghai"))
engine = Engine(MemoryStore(), clock, builtin_registry())
agent = Actor("chen", "agent")
case = open_case(engine, "service_problem", actor=agent, data={
    "problem_type": "系統故障", "description": "工單系統無法提交"})
case = engine.fire(case, "report", actor=agent, data={"reported_to": "it.lead"})
print(case.state)   # reported
'''

INFO = ProcessInfo(
    "P4", NAME, definition, ServiceProblemData, INTAKE, INTAKE_VOCABULARIES,
    CLOCKS_DOC, "000 §3.3, 001 §4.2", EXAMPLE,
)
