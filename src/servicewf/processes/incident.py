"""P5 ``incident`` — 突發事件 / 安全事件 (002 §5.3, §7.4; 003 §10).

Detected, classified (category 003 §10.1, level 重大/較大/一般 002 §7.4), response started,
progress updates to customers while responding (003 §10.3), recovered, customers notified,
reviewed (root cause, rectification) and closed. Information-security incidents are also
reported to the regulator, customers and internal audit before review (002 §7.4). A public
statement uses one agreed wording (003 §10.3(2)): once issued, ``issue_statement`` refuses a
different wording.
"""

from __future__ import annotations

import attrs

from servicewf.context import CommandContext
from servicewf.definition import STAY, DefinitionBuilder, Guard, ProcessDefinition
from servicewf.processes.common import (
    INCIDENT_CATEGORY,
    INCIDENT_LEVEL,
    ClockDoc,
    ProcessInfo,
    Vocabulary,
    guard_every_transition,
    incident_category_id,
    incident_level_id,
    lab,
    reserved_fields_guard,
    text_list,
    vocabulary_guard,
    with_intake,
)

__all__ = ["CLOCKS_DOC", "INFO", "INTAKE", "IncidentData", "definition"]

NAME = "incident"
INTAKE = ("description",)
INTAKE_VOCABULARIES: dict[str, Vocabulary] = {}

CLOCKS_DOC: tuple[ClockDoc, ...] = (
    ClockDoc("response", "重大 2 / 較大 4 / 一般 24", "h", "002 §7.4",
             "detected → responding, by level; a breach escalates"),
    ClockDoc("progress_update", "4 (ours; the seed gives no interval)", "h", "003 §10.3",
             "recurring while responding: each update_customers starts the next interval; a "
             "missed update is a breach"),
)


@attrs.frozen
class IncidentData:
    """Typed view of an incident's data (``case.data_as(IncidentData)``)."""

    description: str | None = None
    category: str | None = attrs.field(
        default=None, converter=incident_category_id)
    level: str | None = attrs.field(default=None, converter=incident_level_id)
    response_lead: str | None = None
    progress_update: str | None = None
    recovery: str | None = None
    notice: str | None = None
    public_statement: str | None = None
    reported_to: str | None = None
    root_cause: str | None = None
    rectification: str | None = None

    @property
    def information_security(self) -> bool:
        """True for information-security incidents (they must be reported, 002 §7.4)."""
        return self.category == "information_security"


def _is_infosec(ctx: CommandContext) -> bool:
    return INCIDENT_CATEGORY.normalise(ctx.value("category")) == "information_security"


def _one_wording(ctx: CommandContext) -> bool:
    issued = ctx.case.data.get("public_statement")
    supplied = ctx.data.get("public_statement")
    return issued is None or supplied is None or supplied == issued


def _all_reported(ctx: CommandContext) -> bool:
    # 002 §7.4: regulator, customers and internal audit are all told.
    value = ctx.data.get("reported_to")
    if value is None:
        return True
    wanted = {"regulator", "customers", "internal_audit"}
    return wanted <= {v.lower().replace(" ", "_") for v in text_list(value)}



WRITES: dict[str, tuple[str, ...]] = {"notify_customers": ("public_statement",)}
"""Optional fields a trigger may write besides its required ones (field ownership)."""
INTAKE_WRITES: tuple[str, ...] = ()
"""Optional fields an opening may supply besides the intake."""

GUARDS: tuple[Guard, ...] = (
    reserved_fields_guard({"public_statement": ("issue_statement", "notify_customers")}),
    vocabulary_guard("category", INCIDENT_CATEGORY),
    vocabulary_guard("level", INCIDENT_LEVEL),
    Guard("information_security", _is_infosec, rule="002 §7.4",
          explain="only information-security incidents are reported to the regulator, "
                  "customers and internal audit"),
    Guard("one_wording", _one_wording, rule="003 §10.3(2)",
          explain="the public statement was agreed already; repeat the same wording"),
    Guard("reported_to_all", _all_reported, rule="002 §7.4",
          explain="report to regulator, customers and internal_audit (all three)"),
)


def definition() -> ProcessDefinition:
    """The built-in ``incident`` definition (version 1)."""
    b = DefinitionBuilder(NAME, 1, description=(
        "An emergency or security incident: classified by category and level, response "
        "started within 2/4/24 h, customers kept informed, recovered, reviewed and closed."))
    b.labels = lab("Incident", "突發事件", "突发事件")
    b.add_guard(*GUARDS)
    s = b.add_state
    s("detected", lab("Detected", "已發現", "已发现"), initial=True)
    s("classified", lab("Classified", "已分級", "已分级"))
    s("responding", lab("Responding", "響應中", "响应中"))
    s("recovered", lab("Recovered", "已恢復", "已恢复"))
    s("customers_notified", lab("Customers notified", "已通知客戶", "已通知客户"))
    s("reported", lab("Reported", "已報告", "已报告"))
    s("reviewed", lab("Reviewed", "已復盤", "已复盘"))
    s("closed", lab("Closed", "已關閉", "已关闭"), final=True)
    t = b.add_transition
    t("classify", "detected", "classified", labels=lab("Classify", "分類分級", "分类分级"),
      required=("category", "level"), conditions=("category_known", "level_known"),
      description="category (003 §10.1) and level 重大/較大/一般 (002 §7.4)")
    t("respond", "classified", "responding", labels=lab("Start response", "啟動響應", "启动响应"),
      required=("response_lead",))
    t("update_customers", "responding", STAY,
      labels=lab("Progress update", "進展通報", "进展通报"), required=("progress_update",),
      description="customers get progress updates while responding (003 §10.3)")
    t("issue_statement", ("classified", "responding", "recovered", "customers_notified"), STAY,
      labels=lab("Public statement", "對外口徑", "对外口径"), required=("public_statement",),
      description="one agreed wording (003 §10.3(2))")
    t("recover", "responding", "recovered", labels=lab("Recover", "恢復", "恢复"),
      required=("recovery",))
    t("notify_customers", "recovered", "customers_notified",
      labels=lab("Notify customers", "通知客戶", "通知客户"), required=("notice",))
    t("report", "customers_notified", "reported", labels=lab("Report", "報告", "报告"),
      required=("reported_to",), conditions=("information_security", "reported_to_all"),
      description="regulator, customers, internal audit (002 §7.4)")
    t("review", "customers_notified", "reviewed", labels=lab("Review", "復盤", "复盘"),
      required=("root_cause", "rectification"), unless=("information_security",))
    t("review", "reported", "reviewed", labels=lab("Review", "復盤", "复盘"),
      required=("root_cause", "rectification"))
    t("close", "reviewed", "closed", labels=lab("Close", "關閉", "关闭"))
    guard_every_transition(b, "reserved_fields", "one_wording")
    return with_intake(b, INTAKE, INTAKE_VOCABULARIES, writes=WRITES,
                       intake_writes=INTAKE_WRITES).build()


EXAMPLE = '''\
import pendulum
from servicewf import Actor, Engine, FrozenClock, MemoryStore
from servicewf.processes import builtin_registry, open_case

clock = FrozenClock(pendulum.datetime(2026, 3, 10, 2, 0, tz="Asia/Shanghai"))
engine = Engine(MemoryStore(), clock, builtin_registry())
duty = Actor("duty.manager", "manager")
case = open_case(engine, "incident", actor=duty, data={"description": "客戶數據疑似外洩"})
case = engine.fire(case, "classify", actor=duty, data={"category": "信息安全", "level": "重大"})
case = engine.fire(case, "respond", actor=duty, data={"response_lead": "duty.manager"})
print(case.state)   # responding
'''

INFO = ProcessInfo(
    "P5", NAME, definition, IncidentData, INTAKE, INTAKE_VOCABULARIES, CLOCKS_DOC,
    "002 §5.3, §7.4; 003 §10", EXAMPLE,
)
