"""P8 obligation: the recurring-obligation process, its refusals and its intake helpers."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pendulum
import pytest

from servicewf import (
    Actor,
    CommandRefused,
    DataMissing,
    EventKind,
    GuardFailed,
    TriggerNotAllowed,
    UnknownTrigger,
)
from servicewf.processes import PROCESSES, builtin_registry
from servicewf.processes.cadence import Cadence
from servicewf.processes.obligation import (
    CADENCE,
    OBLIGATION_KIND,
    NoCadence,
    ObligationData,
    ObligationError,
    complaint_report_obligation,
    contact_obligation,
    obligation_start,
    parse_start,
    survey_obligation,
    team_evaluation_obligation,
)
from tests.processes.support import START, Harness

TZ = "Asia/Shanghai"
AGENT = Actor("agent-1", "agent")
MIDNIGHT = pendulum.datetime(2026, 3, 2, tz=TZ)  # the start of vip()
SEEDS = "000 §4.1–4.2, §5.4, §7.2; 001 §5.1"


def vip() -> dict[str, Any]:
    return contact_obligation("C-1", "VIP", start=pendulum.date(2026, 3, 2), tz=TZ)


def test_registered_after_survey_campaign() -> None:
    names = list(PROCESSES)
    assert names.index("obligation") == names.index("survey_campaign") + 1
    assert PROCESSES["obligation"].code == "P8"
    assert builtin_registry().get("obligation").initial.id == "active"


def test_happy_path_and_audit_log() -> None:
    h = Harness()
    case = h.open("obligation", **vip())
    h.clock.advance(days=1)
    case = h.engine.fire(case, "fulfil", actor=AGENT, data={"ref": "call log 17"})
    h.clock.advance(days=2)
    back = START.add(days=2, hours=-1).isoformat()
    case = h.engine.fire(case, "fulfil", actor=Actor("agent-2", "agent"),
                         data={"fulfilled_at": back, "ref": "visit"}, comment="logged late")
    h.clock.advance(days=1)
    case = h.engine.fire(case, "end", actor=Actor("sup-1", "supervisor"),
                         data={"reason": "customer moved to the Beijing centre"})
    assert case.state == "ended"
    log = h.history(case)
    assert [(e.kind, e.trigger, e.source, e.dest) for e in log] == [
        (EventKind.OPENED, None, None, "active"),
        (EventKind.TRANSITION, "fulfil", "active", "active"),
        (EventKind.TRANSITION, "fulfil", "active", "active"),
        (EventKind.TRANSITION, "end", "active", "ended"),
    ]
    assert [e.at for e in log] == [START, START.add(days=1), START.add(days=3),
                                   START.add(days=4)]
    assert [(e.actor_id, e.role) for e in log] == [
        ("agent-1", "agent"), ("agent-1", "agent"), ("agent-2", "agent"), ("sup-1", "supervisor")]
    assert dict(log[0].data) == {"kind": "customer_contact", "cadence": "weekly",
                                 "start": "2026-03-02", "tz": TZ, "subject": "C-1"}
    assert dict(log[2].data) == {"fulfilled_at": back, "ref": "visit"}
    assert log[2].comment == "logged late"
    assert dict(log[3].data) == {"reason": "customer moved to the Beijing centre"}
    typed = case.data_as(ObligationData)
    assert (typed.kind, typed.cadence, typed.subject, typed.ref) == (
        "customer_contact", "weekly", "C-1", "visit")
    with pytest.raises(TriggerNotAllowed, match="final state"):
        h.engine.fire(case, "fulfil", actor=AGENT)


def _refused_at_intake(h: Harness, exc: type[CommandRefused], **data: Any) -> CommandRefused:
    with pytest.raises(exc) as err:
        h.open("obligation", **data)
    assert h.engine.store.count(process="obligation") == 0  # nothing stored
    return err.value


@pytest.mark.parametrize(("field", "value", "guard"), [
    ("kind", "lunch", "kind_known"),
    ("cadence", "every blue moon", "cadence_known"),
    ("cadence", "daily", "cadence_known"),
    ("tz", "Mars/Olympus", "tz_known"),
    ("tz", " Asia/Shanghai", "tz_known"),
    ("tz", 8, "tz_known"),
    ("start", "next week", "start_valid"),
    ("start", "2026-03-02T09:00", "start_valid"),  # naive: the zone would be a guess
    ("start", "2026-02-30", "start_valid"),
    ("subject", "   ", "subject_given"),
])
def test_intake_refusals_name_the_rule_and_seed(field: str, value: Any, guard: str) -> None:
    h = Harness()
    err = _refused_at_intake(h, GuardFailed, **{**vip(), field: value})
    assert isinstance(err, GuardFailed) and err.guard == guard
    assert err.rule is not None and ("001 §5.1" in err.rule or "000 §" in err.rule)
    assert f"[{err.rule}]" in str(err)


def test_intake_missing_fields_are_named() -> None:
    h = Harness()
    err = _refused_at_intake(h, DataMissing, kind="survey", subject="meeting rooms")
    assert isinstance(err, DataMissing) and err.missing == ("cadence", "start", "tz")


def test_intake_accepts_chinese_spellings_and_aware_start() -> None:
    h = Harness()
    case = h.open("obligation", kind="回訪", cadence="每月兩次", tz=TZ, subject="C-7",
                  start="2026-03-02T10:30:00+08:00")
    typed = case.data_as(ObligationData)
    assert (typed.kind, typed.cadence) == ("customer_contact", "twice_monthly")
    cadence, start, tz = obligation_start(case.data)
    assert cadence is Cadence.TWICE_MONTHLY and start == START.add(minutes=90) and tz == TZ


def _refused(h: Harness, case_id: str, trigger: str, exc: type[CommandRefused],
             data: dict[str, Any]) -> CommandRefused:
    before = h.engine.get(case_id)
    log = h.engine.history(case_id)
    with pytest.raises(exc) as err:
        h.engine.fire(before, trigger, actor=AGENT, data=data)
    assert h.engine.get(case_id) == before and h.engine.history(case_id) == log
    return err.value


def test_fulfil_refusals() -> None:
    h = Harness()
    case = h.open("obligation", **vip())
    h.clock.advance(days=3)
    now = h.clock.now()
    for bad in (now.add(minutes=1).isoformat(),               # in the future
                MIDNIGHT.subtract(seconds=1).isoformat(),     # before the start
                "2026-03-03T10:00",                           # naive
                "yesterday", 42):
        err = _refused(h, case.id, "fulfil", GuardFailed, {"fulfilled_at": bad})
        assert isinstance(err, GuardFailed) and err.guard == "completion_in_range"
        assert err.rule == "P8 completion (000 §4.1, 001 §5.1)" and "[P8 completion" in str(err)
    for field, value in (("cadence", "monthly"), ("start", "2026-01-01"), ("subject", "C-2"),
                         ("kind", "survey"), ("tz", "UTC")):
        err = _refused(h, case.id, "fulfil", GuardFailed, {field: value})
        assert isinstance(err, GuardFailed) and err.guard == "reserved_fields"
    err = _refused(h, case.id, "end", DataMissing, {})
    assert isinstance(err, DataMissing) and err.missing == ("reason",)
    err = _refused(h, case.id, "end", GuardFailed, {"reason": "  "})
    assert isinstance(err, GuardFailed) and err.guard == "reason_given" and SEEDS in str(err)
    _refused(h, case.id, "snooze", UnknownTrigger, {})
    # The boundaries themselves are accepted: exactly now, exactly the start.
    case = h.engine.fire(case, "fulfil", actor=AGENT, data={"fulfilled_at": now.isoformat()})
    case = h.engine.fire(case, "fulfil", actor=AGENT, data={"fulfilled_at": MIDNIGHT.isoformat()})
    assert h.triggers(case) == ["fulfil", "fulfil"]


def test_an_earlier_back_dated_completion_does_not_stick() -> None:
    """``fulfilled_at`` stays in the case data; the next fulfil without one is at its own
    instant, and is judged on it."""
    h = Harness()
    case = h.open("obligation", **team_evaluation_obligation(
        "front desk", start=START.add(days=10), tz=TZ))
    # Before the start, a completion (now) is refused...
    err = _refused(h, case.id, "fulfil", GuardFailed, {})
    assert isinstance(err, GuardFailed) and err.guard == "completion_in_range"
    h.clock.advance(days=12)
    case = h.engine.fire(case, "fulfil", actor=AGENT,
                         data={"fulfilled_at": START.add(days=11).isoformat()})
    h.clock.advance(days=1)
    case = h.engine.fire(case, "fulfil", actor=AGENT)  # now; the old fulfilled_at is ignored
    assert h.history(case)[-1].data == {}


def test_survey_helper() -> None:
    data = survey_obligation("meeting rooms", "high", start=pendulum.date(2026, 1, 1), tz=TZ)
    assert data == {"kind": "survey", "cadence": "quarterly", "start": "2026-01-01", "tz": TZ,
                    "subject": "meeting rooms"}
    low = survey_obligation("archive storage", "低頻", start=pendulum.date(2026, 1, 1), tz=TZ)
    assert low["cadence"] == "half_yearly"
    with pytest.raises(ObligationError, match="'high' or 'low'"):
        survey_obligation("x", "sometimes", start=pendulum.date(2026, 1, 1), tz=TZ)


def test_contact_helper_and_prospects() -> None:
    assert vip()["cadence"] == "weekly" and vip()["subject"] == "C-1"
    ordinary = contact_obligation("C-2", "普通", start=pendulum.date(2026, 1, 31), tz=TZ)
    assert ordinary["cadence"] == "twice_monthly" and ordinary["kind"] == "customer_contact"
    with pytest.raises(NoCadence, match=r"prospect.*001 §5\.1") as refused:
        contact_obligation("C-9", "潛在", start=pendulum.date(2026, 1, 1), tz=TZ)
    assert "C-9" not in str(refused.value)  # a customer reference is personal data
    with pytest.raises(ObligationError, match="customer tier"):
        contact_obligation("C-9", "platinum", start=pendulum.date(2026, 1, 1), tz=TZ)
    assert issubclass(NoCadence, ObligationError) and issubclass(NoCadence, ValueError)


def test_complaint_report_and_team_evaluation_helpers() -> None:
    monthly = complaint_report_obligation(start=pendulum.date(2026, 1, 1), tz=TZ)
    assert (monthly["kind"], monthly["cadence"], monthly["subject"]) == (
        "complaint_report", "monthly", "complaints")
    quarterly = complaint_report_obligation(start=pendulum.date(2026, 1, 1), tz=TZ,
                                            cadence="每季度")
    assert quarterly["cadence"] == "quarterly"
    with pytest.raises(ObligationError, match=r"000 §5\.4"):
        complaint_report_obligation(start=pendulum.date(2026, 1, 1), tz=TZ,
                                    cadence=Cadence.WEEKLY)
    team = team_evaluation_obligation("night shift", start=pendulum.date(2026, 1, 1), tz=TZ)
    assert (team["kind"], team["cadence"]) == ("team_evaluation", "monthly")
    aware = team_evaluation_obligation("a", start=START, tz=TZ)
    assert parse_start(aware["start"]) == START
    with pytest.raises(ObligationError, match="no zone"):
        team_evaluation_obligation("a", start=dt.datetime(2026, 1, 1, 9), tz=TZ)
    with pytest.raises(ObligationError, match="IANA"):
        team_evaluation_obligation("a", start=pendulum.date(2026, 1, 1), tz="Shanghai")
    with pytest.raises(ObligationError, match="blank"):
        team_evaluation_obligation(" ", start=pendulum.date(2026, 1, 1), tz=TZ)
    # every helper's intake opens a case as is
    h = Harness()
    for data in (monthly, quarterly, team, aware, vip(),
                 survey_obligation("rooms", "high", start=pendulum.date(2026, 1, 1), tz=TZ)):
        assert h.open("obligation", **data).state == "active"


def test_vocabularies() -> None:
    assert CADENCE.ids == tuple(c.value for c in Cadence)
    assert [CADENCE.normalise(s) for s in ("每週", "每周", "Twice a month", "半年一次",
                                           "semi-annual", "每季度", "fortnightly")] == [
        "weekly", "weekly", "twice_monthly", "half_yearly", "half_yearly", "quarterly", None]
    assert [OBLIGATION_KIND.normalise(s) for s in ("投訴報告", "投诉报告", "回访", "调查",
                                                   "團隊評估", "lunch")] == [
        "complaint_report", "complaint_report", "customer_contact", "survey", "team_evaluation",
        None]
    assert obligation_start({"cadence": "monthly", "start": "2026-01-31", "tz": "UTC"})[1] == \
        dt.date(2026, 1, 31)
    for bad in ({"cadence": "x", "start": "2026-01-01", "tz": "UTC"},
                {"cadence": "monthly", "start": "soon", "tz": "UTC"},
                {"cadence": "monthly", "start": "2026-01-01", "tz": "Nowhere/City"}):
        with pytest.raises(ObligationError):
            obligation_start(bad)


def test_start_and_zone_parsers_answer_for_every_kind_of_value() -> None:
    from servicewf.processes.obligation import parse_start, valid_zone

    aware = pendulum.datetime(2026, 1, 1, 9, tz="Asia/Shanghai")
    assert parse_start(aware) == aware
    assert parse_start(dt.datetime(2026, 1, 1, 1, tzinfo=dt.timezone.utc)) == aware
    assert parse_start(dt.date(2026, 1, 1)) == dt.date(2026, 1, 1)
    assert parse_start(" 2026-01-01 ") == dt.date(2026, 1, 1)
    assert parse_start("2026-13-01") is None and parse_start(" ") is None
    assert valid_zone("Asia/Shanghai") is True
    for bad in (None, 8, "", " UTC", "Mars/Olympus"):
        assert valid_zone(bad) is False, bad


class _NoOffset(dt.tzinfo):
    """A zone object that knows no offset: the datetime is as good as naive."""

    def utcoffset(self, d: dt.datetime | None) -> None:
        return None

    def dst(self, d: dt.datetime | None) -> None:
        return None


def test_an_intake_start_needs_a_zone_with_an_offset() -> None:
    from servicewf.processes.obligation import survey_obligation

    for start in (dt.datetime(2026, 1, 1), dt.datetime(2026, 1, 1, tzinfo=_NoOffset())):
        with pytest.raises(ObligationError, match="has no zone"):
            survey_obligation("broadband", "high", start=start, tz="UTC")
    data = survey_obligation("broadband", "high", start=pendulum.datetime(2026, 1, 1, tz="UTC"),
                             tz="UTC")
    assert data["start"] == "2026-01-01T00:00:00+00:00"
