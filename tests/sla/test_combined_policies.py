"""Several policies per process (``combine``): each extension point is answered by the policy
that owns the clock; what cannot be combined is refused with the reason."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from servicewf.errors import InvalidPolicy
from servicewf.sla import (
    BusinessHours,
    CaseCalendar,
    ClockHours,
    ClockSpec,
    ExtensionRule,
    On,
    Policy,
    Target,
)
from servicewf.sla.combined import CombinedPolicy, combine


def _clock(name: str, **kw: Any) -> ClockSpec:
    return ClockSpec(name, On(enter="new"), On(enter="done"), ClockHours(2), **kw)


class Fixed(Policy):
    """A part with its own goal rule: every clock of it gets 7 business hours."""

    def select_target(self, clock: ClockSpec, data: Mapping[str, Any]) -> Target | None:
        return BusinessHours(7)

    def on_warning(self, ctx: Any, case: Any, clock: Any) -> Any:
        return ("warned by", self.name, clock)

    def on_breach(self, ctx: Any, case: Any, clock: Any) -> Any:
        return ("breached by", self.name, clock)


class View:
    def __init__(self, name: str) -> None:
        self.name = name


def test_one_policy_is_returned_as_it_is_and_none_is_refused() -> None:
    p = Policy("a", "desk", [_clock("x")])
    assert combine([p]) is p
    with pytest.raises(InvalidPolicy, match="at least one"):
        combine([])


def test_each_clock_is_answered_by_its_own_policy() -> None:
    customer = Policy("customer", "desk", [_clock("resolve")], ladder=("agent", "boss"))
    ola = Fixed("ola", "desk", [_clock("l2", calendar="case")],
                case_calendar=CaseCalendar("region", {"eu": "paris"}, "office"))
    both = combine([customer, ola])
    assert isinstance(both, CombinedPolicy) and both.name == "customer+ola"
    assert both.ladder == ("agent", "boss") and both.owner("l2") is ola
    assert both.owner("resolve") is customer
    resolve, l2 = both.clocks
    assert both.select_target(resolve, {}) == ClockHours(2)  # the customer's table
    assert both.select_target(l2, {}) == BusinessHours(7)  # the OLA's own rule
    assert both.calendar_for(l2, {"region": "eu"}) == "paris"
    assert both.calendar_for(resolve, {"region": "eu"}) == "24x7"
    assert both.case_calendar_of(l2) is ola.case_calendar
    assert both.target_keys(l2) == frozenset()
    view = View("l2")
    assert both.on_warning(None, "case", view) == ("warned by", "ola", view)
    assert both.on_warning(None, "case", View("resolve")) == "case"  # the plain policy's
    assert both.on_breach(None, "case", View("l2"))[0:2] == ("breached by", "ola")


def test_extensions_go_to_the_policy_that_claims_the_trigger() -> None:
    customer = Policy("customer", "desk", [_clock("resolve", extension=ExtensionRule())],
                      extend_triggers={"postpone": "resolve"})
    ola = Policy("ola", "desk", [_clock("l2", extension=ExtensionRule())],
                 extend_triggers={"ola_extend": "l2"})
    both = combine([customer, ola])
    assert both.extension_from("ola_extend", {"by": ClockHours(1).to_dict()}) == (
        "l2", ClockHours(1))
    assert both.extension_from("postpone", {"by": ClockHours(3).to_dict()}) == (
        "resolve", ClockHours(3))
    assert both.extension_from("note", {}) is None


def test_what_cannot_be_combined_is_refused_with_the_reason() -> None:
    a = Policy("a", "desk", [_clock("x", extension=ExtensionRule())],
               extend_triggers={"postpone": "x"})
    with pytest.raises(InvalidPolicy, match="is for process 'other'"):
        combine([a, Policy("b", "other", [_clock("y")])])
    with pytest.raises(InvalidPolicy, match="name the clocks of each policy apart"):
        combine([a, Policy("b", "desk", [_clock("x")])])
    with pytest.raises(InvalidPolicy, match="'postpone' is claimed by policies 'a' and 'b'"):
        combine([a, Policy("b", "desk", [_clock("y", extension=ExtensionRule())],
                           extend_triggers={"postpone": "y"})])
