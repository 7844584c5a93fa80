"""P5 incident."""

from __future__ import annotations

import pytest

from servicewf import DataMissing, GuardFailed, TriggerNotAllowed
from servicewf.processes.incident import IncidentData
from tests.processes.support import Harness


def test_general_incident_path_with_updates() -> None:
    h = Harness()
    case = h.run(h.open("incident", description="flood in the hall"),
                 ("classify", "manager", {"category": "自然災害", "level": "較大"}),
                 "respond", "update_customers", "update_customers", "recover",
                 "notify_customers", "review", "close")
    assert [t for t, _, _ in h.trail(case)][1:] == [
        "classify", "respond", "update_customers", "update_customers", "recover",
        "notify_customers", "review", "close"]
    typed = case.data_as(IncidentData)
    assert typed.level == "serious" and not typed.information_security


def test_information_security_must_report_before_review() -> None:
    h = Harness()
    case = h.run(h.open("incident", description="data leak"),
                 ("classify", "manager", {"category": "信息安全", "level": "重大"}),
                 "respond", "recover", "notify_customers")
    with pytest.raises(GuardFailed) as err:
        h.fire(case, "review")
    assert err.value.guard == "information_security"
    with pytest.raises(GuardFailed) as partial:
        h.fire(case, "report", reported_to=["regulator"])
    assert (partial.value.guard, partial.value.rule) == ("reported_to_all", "002 §7.4")
    case = h.run(case, "report", "review", "close")
    assert [d for _, _, d in h.trail(case)][-3:] == ["reported", "reviewed", "closed"]
    assert case.data_as(IncidentData).information_security is True


def test_report_only_for_information_security() -> None:
    h = Harness()
    case = h.run(h.open("incident", description="x"), "classify", "respond", "recover",
                 "notify_customers")
    with pytest.raises(GuardFailed) as err:
        h.fire(case, "report")
    assert (err.value.guard, err.value.rule) == ("information_security", "002 §7.4")


def test_one_public_wording_and_level_vocabulary() -> None:
    h = Harness()
    case = h.open("incident", description="outage")
    with pytest.raises(GuardFailed) as err:
        h.fire(case, "classify", level="meh")
    assert (err.value.guard, err.value.rule) == ("level_known", "vocabulary (002 §7.4)")
    with pytest.raises(DataMissing):
        h.fire(case, "classify", category=None)
    case = h.run(case, "classify", ("issue_statement", "manager",
                                    {"public_statement": "Service restored by 18:00"}))
    with pytest.raises(GuardFailed) as err:
        h.fire(case, "issue_statement", public_statement="All fine, nothing happened")
    assert (err.value.guard, err.value.rule) == ("one_wording", "003 §10.3(2)")
    case = h.fire(case, "issue_statement", public_statement="Service restored by 18:00")
    with pytest.raises(TriggerNotAllowed):
        h.fire(case, "update_customers")
