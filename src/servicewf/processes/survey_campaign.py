"""P8 ``survey_campaign`` — 滿意度調查 (000 §4.1–4.2, §4.4; 001 §4.1, §5.1).

A survey campaign is a small process: designed, dispatched, collecting, analysed, reported
(discussed at an internal meeting, 001 §4.1), actions raised (they open P7 improvement actions).
The recurring obligations around it (survey quarterly or half-yearly per service line, customer
contact weekly or twice a month, complaint report monthly or quarterly) are ``obligation``
cases (:mod:`servicewf.processes.obligation`) whose periods the sweep settles
(:class:`servicewf.processes.schedule.Obligations`); fulfil the survey obligation with the
campaign's id as ``ref`` when a campaign is reported.
"""

from __future__ import annotations

from typing import Any

import attrs

from servicewf.definition import DefinitionBuilder, Guard, ProcessDefinition
from servicewf.processes.common import (
    CHANNELS,
    ClockDoc,
    ProcessInfo,
    Vocabulary,
    channels_id,
    lab,
    text_list,
    vocabulary_guard,
    with_intake,
)

__all__ = ["CLOCKS_DOC", "INFO", "INTAKE", "SurveyCampaignData", "definition"]

NAME = "survey_campaign"
INTAKE = ("service_line", "questionnaire")
INTAKE_VOCABULARIES: dict[str, Vocabulary] = {}

CLOCKS_DOC: tuple[ClockDoc, ...] = (
    ClockDoc("survey (high-frequency line)", "quarterly", "cadence", "000 §4.2",
             "high-value or high-frequency service lines"),
    ClockDoc("survey (low-frequency line)", "every 6 months", "cadence", "000 §4.2", ""),
    ClockDoc("team evaluation", "monthly", "cadence", "000 §7.2", ""),
    ClockDoc("customer contact (VIP)", "weekly", "cadence", "001 §5.1", ""),
    ClockDoc("customer contact (ordinary)", "twice a month", "cadence", "001 §5.1", ""),
    ClockDoc("complaint report", "monthly or quarterly", "cadence", "000 §5.4", ""),
)


@attrs.frozen
class SurveyCampaignData:
    """Typed view of a survey campaign's data (``case.data_as(SurveyCampaignData)``)."""

    service_line: str | None = None
    questionnaire: str | None = None
    audience: str | None = None
    channel: str | None = attrs.field(default=None, converter=channels_id)
    responses: str | None = None
    findings: str | None = None
    report: str | None = None
    meeting: str | None = None
    # Typed Any for cattrs (see AccessGrantData); a list or a comma-separated text.
    actions: Any = attrs.field(default=(), converter=text_list)


GUARDS: tuple[Guard, ...] = (vocabulary_guard("channel", CHANNELS),)


def definition() -> ProcessDefinition:
    """The built-in ``survey_campaign`` definition (version 1)."""
    b = DefinitionBuilder(NAME, 1, description=(
        "A satisfaction survey campaign: designed, dispatched, collected, analysed, reported at "
        "an internal meeting, improvement actions raised."))
    b.labels = lab("Survey campaign", "滿意度調查", "满意度调查")
    b.add_guard(*GUARDS)
    s = b.add_state
    s("designed", lab("Designed", "已設計", "已设计"), initial=True)
    s("dispatched", lab("Dispatched", "已發放", "已发放"))
    s("collecting", lab("Collecting", "回收中", "回收中"))
    s("analysed", lab("Analysed", "已分析", "已分析"))
    s("reported", lab("Reported", "已通報", "已通报"))
    s("actions_raised", lab("Actions raised", "已提出改進", "已提出改进"), final=True)
    t = b.add_transition
    t("dispatch", "designed", "dispatched", labels=lab("Dispatch", "發放", "发放"),
      required=("audience", "channel"), conditions=("channel_known",))
    t("collect", "dispatched", "collecting", labels=lab("Collect", "回收", "回收"))
    t("analyse", "collecting", "analysed", labels=lab("Analyse", "分析", "分析"),
      required=("responses", "findings"))
    t("report", "analysed", "reported", labels=lab("Report", "通報", "通报"),
      required=("report", "meeting"), description="discussed at an internal meeting (001 §4.1)")
    t("raise_actions", "reported", "actions_raised",
      labels=lab("Raise actions", "提出改進措施", "提出改进措施"), required=("actions",),
      description="ids of the improvement actions (P7) opened from the findings")
    return with_intake(b, INTAKE, INTAKE_VOCABULARIES).build()


EXAMPLE = '''\
import pendulum
from servicewf import Actor, Engine, FrozenClock, MemoryStore
from servicewf.processes import builtin_registry, open_case
from servicewf.processes.cadence import Cadence, next_due

clock = FrozenClock(pendulum.datetime(2026, 4, 1, 9, 0, tz="Asia/Shanghai"))
engine = Engine(MemoryStore(), clock, builtin_registry())
qa = Actor("qa", "supervisor")
case = open_case(engine, "survey_campaign", actor=qa, data={
    "service_line": "meeting rooms", "questionnaire": "Q2-2026"})
case = engine.fire(case, "dispatch", actor=qa, data={"audience": "all tenants",
                                                     "channel": "email"})
status = next_due(Cadence.QUARTERLY, pendulum.date(2026, 1, 1), clock, tz="Asia/Shanghai")
print(case.state, status.next_due.in_timezone("Asia/Shanghai").date())  # dispatched 2026-07-01
'''

INFO = ProcessInfo(
    "P8", NAME, definition, SurveyCampaignData, INTAKE, INTAKE_VOCABULARIES, CLOCKS_DOC,
    "000 §4.1–4.2, §4.4; 001 §4.1, §5.1", EXAMPLE,
)
