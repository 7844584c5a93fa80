"""P8 ``obligation`` — 週期性義務 (000 §4.1–4.2, §5.4, §7.2; 001 §5.1).

One case is one recurring obligation: survey a service line at least quarterly, contact VIP
customer C-1 every week, write the complaint report every month, evaluate a team every month.
The case is ``active`` until it is ended; every ``fulfil`` records one completion (its instant,
or a back-dated ``fulfilled_at``, and a ``ref`` such as the survey campaign's case id or the
contact record). The periods, their due instants and whether each was met follow the
obligation's cadence, counted from ``start`` in the zone ``tz``
(:mod:`servicewf.processes.cadence`). Register :class:`~servicewf.processes.schedule.Obligations`
as an engine processor and a sweep handler to turn them into timers: the sweep records a
reminder before each unmet period ends and the outcome (met or missed) of every period.
"""

from __future__ import annotations

import datetime as _dt
import zoneinfo
from collections.abc import Mapping
from typing import Any

import attrs
import pendulum

from servicewf.clock import as_utc
from servicewf.context import CommandContext
from servicewf.definition import STAY, DefinitionBuilder, Guard, ProcessDefinition
from servicewf.errors import NoCadence, ObligationError  # re-exported here
from servicewf.processes.cadence import (
    COMPLAINT_REPORT,
    TEAM_EVALUATION,
    Cadence,
    contact_cadence,
    survey_cadence,
)
from servicewf.processes.common import (
    CUSTOMER_TIER,
    ClockDoc,
    ProcessInfo,
    Term,
    Vocabulary,
    fields_guard,
    guard_every_transition,
    lab,
    parse_instant,
    reserved_fields_guard,
    with_intake,
)
from servicewf.processes.explanations import translate_guards

__all__ = [
    "CADENCE",
    "CLOCKS_DOC",
    "INFO",
    "INTAKE",
    "INTAKE_VOCABULARIES",
    "OBLIGATION_KIND",
    "NoCadence",
    "ObligationData",
    "ObligationError",
    "complaint_report_obligation",
    "contact_obligation",
    "definition",
    "obligation_start",
    "survey_obligation",
    "team_evaluation_obligation",
]

NAME = "obligation"
SOURCES = "000 §4.1–4.2, §5.4, §7.2; 001 §5.1"


def _term(id: str, en: str, hant: str, hans: str, *aliases: str) -> Term:
    return Term(id, lab(en, hant, hans), aliases)


OBLIGATION_KIND = Vocabulary("obligation kind", (
    _term("survey", "Satisfaction survey", "滿意度調查", "满意度调查",
          "satisfaction survey", "調查", "调查"),
    _term("team_evaluation", "Team evaluation", "團隊滿意度評估", "团队满意度评估",
          "team satisfaction evaluation", "團隊評估", "团队评估"),
    _term("customer_contact", "Customer contact", "客戶聯繫", "客户联系",
          "contact", "customer visit", "回訪", "回访", "聯繫", "联系"),
    _term("complaint_report", "Complaint report", "投訴報告", "投诉报告",
          "complaints report", "投訴分析報告", "投诉分析报告"),
    _term("other", "Other", "其他", "其他"),
), SOURCES)
"""What a recurring obligation is about."""

CADENCE = Vocabulary("cadence", (
    _term(Cadence.WEEKLY.value, "Weekly", "每週", "每周",
          "every week", "once a week", "每星期", "一週一次", "一周一次"),
    _term(Cadence.TWICE_MONTHLY.value, "Twice a month", "每月兩次", "每月两次",
          "twice monthly", "semi-monthly", "semimonthly", "每半月", "半月一次"),
    _term(Cadence.MONTHLY.value, "Monthly", "每月", "每月",
          "every month", "once a month", "每月一次"),
    _term(Cadence.QUARTERLY.value, "Quarterly", "每季度", "每季度",
          "every quarter", "每季", "每季一次"),
    _term(Cadence.HALF_YEARLY.value, "Every six months", "每半年", "每半年",
          "half yearly", "semi-annual", "semiannual", "six-monthly", "半年一次"),
), SOURCES)
"""The cadences of :class:`~servicewf.processes.cadence.Cadence`, with Chinese spellings."""

INTAKE = ("kind", "cadence", "start", "tz", "subject")
INTAKE_VOCABULARIES: dict[str, Vocabulary] = {"kind": OBLIGATION_KIND, "cadence": CADENCE}

CLOCKS_DOC: tuple[ClockDoc, ...] = (
    ClockDoc("survey (high-frequency line)", "quarterly", "cadence", "000 §4.2",
             "high-value or high-frequency service lines; reminder 14 days before"),
    ClockDoc("survey (low-frequency line)", "every 6 months", "cadence", "000 §4.2",
             "reminder 30 days before"),
    ClockDoc("team evaluation", "monthly", "cadence", "000 §7.2", "reminder 5 days before"),
    ClockDoc("customer contact (VIP)", "weekly", "cadence", "001 §5.1",
             "reminder 1 day before"),
    ClockDoc("customer contact (ordinary)", "twice a month", "cadence", "001 §5.1",
             "reminder 3 days before; prospects have no contact cadence"),
    ClockDoc("complaint report", "monthly (quarterly allowed)", "cadence", "000 §5.4",
             "reminder 5 or 14 days before"),
)


# --- data ----------------------------------------------------------------------------------


def parse_start(value: Any) -> _dt.date | pendulum.DateTime | None:
    """The obligation's start: an ISO date (``"2026-01-01"``, midnight in ``tz``) or an aware
    instant (ISO-8601 with offset, or an aware ``datetime``); ``None`` for anything else."""
    if isinstance(value, _dt.datetime):
        return parse_instant(value)
    if isinstance(value, _dt.date):
        return value
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    if len(text) == 10:
        try:
            return _dt.date.fromisoformat(text)
        except ValueError:
            return None
    return parse_instant(text)


def valid_zone(value: Any) -> bool:
    """True when ``value`` names an IANA time zone (``"Asia/Shanghai"``, ``"UTC"``...)."""
    if not isinstance(value, str) or not value.strip() or value != value.strip():
        return False
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return False
    return True


def _cadence_id(value: Any) -> str | None:
    return CADENCE.optional_id(value)


def _kind_id(value: Any) -> str | None:
    return OBLIGATION_KIND.optional_id(value)


@attrs.frozen
class ObligationData:
    """Typed view of an obligation's data (``case.data_as(ObligationData)``).

    ``fulfilled_at`` and ``ref`` are those of the latest ``fulfil``; every completion is in
    the history.
    """

    kind: str | None = attrs.field(default=None, converter=_kind_id)
    cadence: str | None = attrs.field(default=None, converter=_cadence_id)
    start: str | None = None
    tz: str | None = None
    subject: str | None = None
    fulfilled_at: str | None = None
    ref: str | None = None
    reason: str | None = None


def obligation_start(data: Mapping[str, Any]) -> tuple[Cadence, _dt.date | pendulum.DateTime, str]:
    """``(cadence, start, tz)`` of an obligation's data (a case's ``data`` mapping), as the
    functions of :mod:`~servicewf.processes.cadence` take them. Raises
    :class:`ObligationError` naming the field when one is missing or not valid."""
    cadence = CADENCE.normalise(data.get("cadence"))
    start = parse_start(data.get("start"))
    tz = data.get("tz")
    if cadence is None:
        raise ObligationError(f"obligation cadence {data.get('cadence')!r} is not known; use "
                              f"one of {CADENCE.choices()}")
    if start is None:
        raise ObligationError(f"obligation start {data.get('start')!r} is neither an ISO date "
                              "nor an instant with its zone, e.g. '2026-01-01'")
    if not valid_zone(tz):
        raise ObligationError(f"obligation tz {tz!r} is not an IANA time zone, e.g. "
                              "'Asia/Shanghai'")
    return Cadence(cadence), start, str(tz)


def start_instant(start: _dt.date | pendulum.DateTime, tz: str) -> pendulum.DateTime:
    """The first instant of the obligation (a date means midnight in ``tz``), in UTC."""
    if isinstance(start, _dt.datetime):
        return as_utc(start)
    return as_utc(pendulum.datetime(start.year, start.month, start.day, tz=tz))


# --- guards --------------------------------------------------------------------------------


def _tz_known(ctx: CommandContext) -> bool:
    value = ctx.value("tz")
    return value is None or valid_zone(value)


def _start_valid(ctx: CommandContext) -> bool:
    value = ctx.value("start")
    return value is None or parse_start(value) is not None


def _completion_in_range(ctx: CommandContext) -> bool:
    # Only what this command supplied: an earlier fulfil's fulfilled_at stays in the case data
    # and must not back-date this completion.
    given = ctx.data.get("fulfilled_at")
    when = ctx.now if given is None else parse_instant(given)
    if when is None or when > ctx.now:
        return False
    try:
        _cadence, start, tz = obligation_start(ctx.case.data)
    except ObligationError:
        return False
    return when >= start_instant(start, tz)



WRITES: dict[str, tuple[str, ...]] = {"fulfil": ("fulfilled_at", "ref")}
"""Optional fields a trigger may write besides its required ones (field ownership)."""
INTAKE_WRITES: tuple[str, ...] = ()
"""Optional fields an opening may supply besides the intake."""

GUARDS: tuple[Guard, ...] = (
    Guard("tz_known", _tz_known, rule=f"P8 cadence in the obligation's zone ({SOURCES})",
          explain="tz must be an IANA time zone such as 'Asia/Shanghai' (periods and due "
                  "instants are counted on its wall clock)"),
    Guard("start_valid", _start_valid, rule=f"P8 cadence start ({SOURCES})",
          explain="start must be an ISO date such as '2026-01-01' (midnight in tz) or an "
                  "instant with its zone such as '2026-01-01T09:00:00+08:00'"),
    fields_guard("subject_given", ("subject",), absent_ok=True,
                 rule=f"P8 obligation subject ({SOURCES})",
                 explain="subject must name what the obligation is about (a service line, a "
                         "customer ref, a team), not be blank"),
    Guard("completion_in_range", _completion_in_range, rule="P8 completion (000 §4.1, 001 §5.1)",
          explain="the completion (fulfilled_at, else now) must be an instant with its zone, "
                  "not in the future and not before the obligation's start"),
    fields_guard("reason_given", ("reason",), absent_ok=True,
                 rule=f"P8 ending an obligation ({SOURCES})",
                 explain="ending a recurring obligation needs a reason that is not blank (why "
                         "it is no longer owed: customer left, service line closed...)"),
    reserved_fields_guard({f: () for f in INTAKE}),
)


def definition() -> ProcessDefinition:
    """The built-in ``obligation`` definition (version 1)."""
    b = DefinitionBuilder(NAME, 1, description=(
        "A recurring obligation (survey, team evaluation, customer contact, complaint report): "
        "active with completions recorded against its cadence, until ended."))
    b.labels = lab("Recurring obligation", "週期性義務", "周期性义务")
    b.add_guard(*GUARDS)
    s = b.add_state
    s("active", lab("Active", "執行中", "执行中"), initial=True,
      description="periods are counted from start; each fulfil is a completion")
    s("ended", lab("Ended", "已終止", "已终止"), final=True,
      description="no longer owed: no reminders, no further periods")
    t = b.add_transition
    t("fulfil", "active", STAY, labels=lab("Fulfil", "完成一次", "完成一次"),
      conditions=("completion_in_range",),
      description="one completion: now, or fulfilled_at (back-dated); ref names the record")
    t("end", "active", "ended", labels=lab("End", "終止", "终止"), required=("reason",),
      conditions=("reason_given",))
    guard_every_transition(b, "reserved_fields")
    with_intake(b, INTAKE, INTAKE_VOCABULARIES, writes=WRITES, intake_writes=INTAKE_WRITES)
    b.set_intake(INTAKE, guards=(*b.intake_guards, "tz_known", "start_valid", "subject_given"))
    return translate_guards(b).build()


# --- intake helpers for the guideline cases ------------------------------------------------


def _start_text(start: _dt.date | _dt.datetime) -> str:
    if isinstance(start, _dt.datetime):
        if start.tzinfo is None or start.utcoffset() is None:
            raise ObligationError(f"start {start.isoformat()} has no zone; give a date or an "
                                  "aware datetime")
        return start.isoformat()
    return start.isoformat()


def _intake(kind: str, cadence: Cadence, subject: str, start: _dt.date | _dt.datetime,
            tz: str) -> dict[str, Any]:
    if not valid_zone(tz):
        raise ObligationError(f"tz {tz!r} is not an IANA time zone, e.g. 'Asia/Shanghai'")
    if not subject.strip():
        raise ObligationError("subject is blank; name the service line, customer or team")
    return {"kind": kind, "cadence": cadence.value, "start": _start_text(start), "tz": tz,
            "subject": subject}


def survey_obligation(service_line: str, frequency: str, *, start: _dt.date | _dt.datetime,
                      tz: str) -> dict[str, Any]:
    """Intake of a satisfaction-survey obligation for a service line (000 §4.2): frequency
    ``"high"`` (high-value or high-frequency lines) → quarterly, ``"low"`` → every six
    months."""
    try:
        cadence = survey_cadence(frequency)
    except ValueError as exc:
        raise ObligationError(str(exc)) from None
    return _intake("survey", cadence, service_line, start, tz)


def contact_obligation(customer_ref: str, tier: str, *, start: _dt.date | _dt.datetime,
                       tz: str) -> dict[str, Any]:
    """Intake of a customer-contact obligation (001 §5.1): VIP weekly, ordinary twice a month.

    Raises :class:`NoCadence` for a prospect (the guidelines set no contact cadence for one)
    and :class:`ObligationError` for a tier the customer-tier vocabulary does not know.
    """
    try:
        cadence = contact_cadence(tier)
    except ValueError as exc:
        raise ObligationError(str(exc)) from None
    if cadence is None:
        raise NoCadence(
            f"the customer is a {CUSTOMER_TIER.canonical(tier)}: the guidelines "
            "set a contact cadence for VIP (weekly) and ordinary (twice a month) customers "
            "only (001 §5.1); open the obligation when the customer's tier changes"
        )
    return _intake("customer_contact", cadence, customer_ref, start, tz)


def complaint_report_obligation(*, start: _dt.date | _dt.datetime, tz: str,
                                cadence: Cadence | str = COMPLAINT_REPORT,
                                subject: str = "complaints") -> dict[str, Any]:
    """Intake of the complaint-report obligation (000 §5.4): monthly by default, quarterly
    allowed; any other cadence raises :class:`ObligationError`."""
    found = CADENCE.normalise(cadence.value if isinstance(cadence, Cadence) else cadence)
    if found not in (Cadence.MONTHLY.value, Cadence.QUARTERLY.value):
        raise ObligationError(f"a complaint report is monthly or quarterly (000 §5.4), not "
                              f"{cadence!r}")
    return _intake("complaint_report", Cadence(found), subject, start, tz)


def team_evaluation_obligation(team: str, *, start: _dt.date | _dt.datetime,
                               tz: str) -> dict[str, Any]:
    """Intake of a team's monthly satisfaction evaluation (000 §7.2)."""
    return _intake("team_evaluation", TEAM_EVALUATION, team, start, tz)


EXAMPLE = '''\
import pendulum
from servicewf import Actor, Engine, FrozenClock, MemoryStore
from servicewf.processes import builtin_registry
from servicewf.processes.obligation import contact_obligation
from servicewf.processes.schedule import Obligations
from servicewf.sla import Sweeper

clock = FrozenClock(pendulum.datetime(2026, 3, 2, 9, 0, tz="Asia/Shanghai"))
obligations = Obligations()
engine = Engine(MemoryStore(), clock, builtin_registry(), processors=[obligations])
am = Actor("li.na", "agent")
case = engine.open("obligation", actor=am, data=contact_obligation(
    "C-1", "VIP", start=pendulum.date(2026, 3, 2), tz="Asia/Shanghai"))
clock.advance(days=2)
case = engine.fire(case, "fulfil", actor=am, data={"ref": "call 2026-03-04"})
clock.advance(days=12)                        # the second week passes without a contact
report = Sweeper(engine, None, handlers=[obligations]).run()
print(case.state, report.counts)  # active {'obligation_met': 1, 'obligation_missed': 1}
'''

INFO = ProcessInfo("P8", NAME, definition, ObligationData, INTAKE, INTAKE_VOCABULARIES,
                   CLOCKS_DOC, SOURCES, EXAMPLE)
