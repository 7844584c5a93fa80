"""Every preset clock against the guidelines' numbers, written out by hand (docs/sla.md's
preset table and the seeds it cites): a changed number, target or switch fails here, not only
in a scenario that happens to cross it."""

from __future__ import annotations

import datetime as dt

import pytest

from servicewf.processes import presets
from servicewf.sla import ClockHours, DueField, GoalTable, WorkingDays

H24 = ClockHours(24)
D30 = ClockHours(days=30)

# clock -> (target, enabled, calendar, escalates)
COMPLAINT_COMMON = {
    "record": (H24, True, "office", False),            # 001 §7.2: registered within 24 h
    "acknowledge": (H24, True, "office", False),       # 001 §4.2: response notice in 24 h
    "feedback": (ClockHours(48), False, "office", False),  # 001 §4.2: 48 h, shipped off
    "follow_up": (D30, True, "office", False),         # 001 §7.4: follow-up within 30 days
}
REQUEST_COMMON = {
    "confirmation": (H24, True, "office", False),      # 000 §2.2
    "resolution": (DueField("due"), True, "office", False),  # the due time promised
    "feedback_processing": (H24, True, "office", False),     # 000 §3.2
    "post_service_contact": (H24, True, "office", False),    # 000 §4.1
    "second_follow_up": (D30, True, "office", False),        # 000 §4.1: day 15-30
}


def _table(policy):  # type: ignore[no-untyped-def]
    return {c.name: (c.target, c.enabled, c.calendar, c.escalate) for c in policy.clocks}


def test_complaint_presets() -> None:
    levels = {"緊急": WorkingDays(2), "一般": WorkingDays(3), "重要": WorkingDays(5)}
    centre = _table(presets.complaint_business_centre())
    resolve = centre.pop("resolve")
    assert centre == COMPLAINT_COMMON
    assert isinstance(resolve[0], GoalTable) and resolve[1:] == (True, "office", True)
    assert {k: resolve[0].find(k) for k in levels} == levels
    assert resolve[0].find("urgent") == WorkingDays(2)  # an alias
    telecom = _table(presets.complaint_telecom())
    assert telecom.pop("resolve") == (WorkingDays(3), True, "office", True)  # 003 §4.3.1
    assert telecom == COMPLAINT_COMMON
    assert presets.complaint_telecom(feedback_48h=True).clock("feedback").enabled


def test_complaint_warnings_and_extensions() -> None:
    policy = presets.complaint_business_centre()
    resolve = policy.clock("resolve")
    assert (resolve.warn.fraction, resolve.warn.business_hours_only) == (0.75, True)
    assert resolve.extension is not None
    assert (resolve.extension.require_reason, resolve.extension.require_notice) == (True, True)
    assert policy.clock("follow_up").warn.lead == dt.timedelta(days=3)
    assert policy.clock("record").warn.fraction == 0.75


def test_service_request_presets() -> None:
    default = _table(presets.service_request())
    assert default.pop("first_response") == (ClockHours(minutes=30), True, "office", True)
    assert default == REQUEST_COMMON
    follow = presets.service_request().clock("second_follow_up")
    assert follow.earliest == ClockHours(days=15) and follow.early == "ignore"
    crm = _table(presets.service_request_crm())
    first = crm.pop("first_response")
    assert crm == REQUEST_COMMON and first[1:] == (True, "office", True)
    assert first[0].find("緊急") == ClockHours(2)       # 002 §1.4
    assert first[0].find("重要") == ClockHours(24)
    assert first[0].find("普通") == ClockHours(24)
    assert first[0].when_missing == ClockHours(24)  # not known yet


def test_business_centre_service_times() -> None:
    assert dict(presets.BUSINESS_CENTRE_SERVICE_TIMES) == {
        "check_in": ClockHours(minutes=30), "printing": ClockHours(1)}  # 001 §6.1


def test_incident_preset() -> None:
    table = _table(presets.incident())
    response = table.pop("response")
    assert response[1:] == (True, "24x7", True)
    assert {k: response[0].find(k) for k in ("重大", "較大", "一般")} == {
        "重大": ClockHours(2), "較大": ClockHours(4), "一般": ClockHours(24)}   # 002 §7.4
    assert table == {"progress_update": (ClockHours(4), True, "24x7", False)}
    assert presets.incident().clock("response").warn.fraction == 0.5


@pytest.mark.parametrize("vocabulary,aliases", [
    ("COMPLAINT_LEVEL", presets.COMPLAINT_LEVEL_ALIASES),
    ("REQUEST_PRIORITY", presets.REQUEST_PRIORITY_ALIASES),
    ("INCIDENT_LEVEL", presets.INCIDENT_LEVEL_ALIASES),
])
def test_aliases_map_other_spellings_to_the_traditional_label(vocabulary, aliases) -> None:  # type: ignore[no-untyped-def]
    from servicewf.processes import common

    terms = getattr(common, vocabulary).terms
    keys = {t.labels.zh_hant for t in terms}
    assert set(aliases.values()) == keys and not keys & set(aliases)
    for t in terms:
        assert aliases[t.labels.en] == t.labels.zh_hant
        if t.labels.zh_hans != t.labels.zh_hant:
            assert aliases[t.labels.zh_hans] == t.labels.zh_hant
