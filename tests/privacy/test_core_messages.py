"""Refusals of the core and the built-in processes never echo a field's value (each of these
echoed it before)."""

from __future__ import annotations

import pytest

from servicewf import GoalUndefined
from servicewf.errors import NoCadence
from servicewf.processes.obligation import contact_obligation
from servicewf.sla import GoalTable, Policy
from servicewf.sla.spec import ClockHours, ClockSpec, DueField, On

from .support import T0

PHONE = "13812345678"


def _policy(target):  # type: ignore[no-untyped-def]
    return Policy("p", "ticket", [ClockSpec("resolve", start=On(enter="new"),
                                            stop=On(enter="done"), target=target)])


def test_a_due_field_that_is_no_instant_is_refused_without_echoing_it():
    # (the built-in service request's own guard refuses such a due first, also value-free)
    policy = _policy(DueField("due"))
    with pytest.raises(GoalUndefined) as refused:
        policy.select_target(policy.clocks[0], {"due": f"call {PHONE}"})
    assert PHONE not in str(refused.value)
    assert "'due'" in str(refused.value)  # it still names the field


def test_a_value_outside_a_goal_table_is_refused_without_echoing_it():
    table = GoalTable("level", {"high": ClockHours(2), "low": ClockHours(8)})
    policy = _policy(table)
    with pytest.raises(GoalUndefined) as refused:
        policy.select_target(policy.clocks[0], {"level": PHONE})
    assert PHONE not in str(refused.value) and "level" in str(refused.value)
    assert "'high'" in str(refused.value)  # the accepted values are still listed


def test_a_prospect_has_no_contact_cadence_and_the_refusal_does_not_name_the_customer():
    with pytest.raises(NoCadence) as refused:
        contact_obligation("陈小明-13812345678", "潛在", start=T0.date(), tz="Asia/Shanghai")
    assert "陈小明" not in str(refused.value) and PHONE not in str(refused.value)
