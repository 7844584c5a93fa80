"""A binding without extension triggers has only recorded extensions (``clock_extended``
events) to check: the processor checks them wherever they stand among the events; a batch
without one is let through."""

from __future__ import annotations

import pytest

from servicewf import Event, EventKind
from servicewf.case import Case
from servicewf.errors import ExtensionConditionsUnmet
from servicewf.interop import bpic2013 as bpic
from servicewf.sla import ClockHours

from .test_fold_reference import T0

DEFINITION = bpic.definition()


def _events(*kinds: EventKind, data: dict | None = None) -> list[Event]:
    out = [Event("c", 1, T0, EventKind.OPENED, "a", "import", None, None, "new", {})]
    for n, kind in enumerate(kinds, start=2):
        if kind is EventKind.TRANSITION:
            out.append(Event("c", n, T0.add(minutes=n), kind, "a", "import",
                             "accepted_in_progress", "new", "accepted_in_progress", {}))
        else:
            out.append(Event("c", n, T0.add(minutes=n), kind, "a", "import", None,
                             "new", "new", data or {"clock": "nope"}))
    return out


@pytest.mark.parametrize("kinds", [
    (EventKind.CLOCK_EXTENDED,),
    (EventKind.TRANSITION, EventKind.CLOCK_EXTENDED),
    (EventKind.TRANSITION, EventKind.NOTE, EventKind.CLOCK_EXTENDED, EventKind.TRANSITION),
])
def test_a_recorded_extension_is_checked_wherever_it_stands(kinds):
    sla = bpic.sla()
    assert not sla.bind(DEFINITION).extend_triggers  # type: ignore[union-attr]
    events = _events(*kinds)
    case = Case("c", DEFINITION.name, 1, "new", len(events), T0, events[-1].at)
    with pytest.raises(ExtensionConditionsUnmet, match="a clock of the policy"):
        sla.process(DEFINITION, case, events)


def test_a_batch_without_a_recorded_extension_is_let_through():
    sla = bpic.sla()
    events = _events(EventKind.TRANSITION, EventKind.NOTE, EventKind.CLOCK_WARNING)
    case = Case("c", DEFINITION.name, 1, "accepted_in_progress", len(events), T0,
                events[-1].at)
    processed, _ = sla.process(DEFINITION, case, events)
    assert processed.extensions["sla"]["clocks"][0]["status"] == "running"
    # A valid recorded extension passes the same check and extends the clock.
    good = _events(EventKind.CLOCK_EXTENDED, data={
        "clock": "resolution", "by": ClockHours(2).to_dict(), "reason": "parts",
        "notice": "phoned", "customer_notified_at": T0.isoformat()})
    case = Case("c", DEFINITION.name, 1, "new", len(good), T0, good[-1].at)
    try:
        processed, _ = sla.process(DEFINITION, case, good)
    except ExtensionConditionsUnmet as refused:  # the policy's own conditions
        assert "a clock of the policy" not in str(refused)
    else:
        assert processed.extensions["sla"]["clocks"][0]["extensions"] == 1
