"""The fold merges the case data only when something reads it (a goal or calendar chosen by
data, a retarget, an escalation's first tier): every such read must see exactly what updating
a dict event by event gave, on walks through the complaint process whose goals follow the
reclassified level. A policy that records each read (and so has no static goal: every start
asks it) is folded over whole histories and, as the processor does, over a history's tail
from the clocks and data its head left."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import attrs
from hypothesis import event, given

from servicewf import Event, EventKind
from servicewf.processes.presets import complaint_business_centre
from servicewf.sla import BoundPolicy, ClockSpec, Policy, Target

from .helpers import CALENDARS
from .test_properties import COMPLAINT, SETTINGS, _extendable, _run, walks

READS: list[tuple[str, int, dict[str, Any]]] = []
AT = [0]  # the index of the event being folded


@attrs.frozen
class _Recording(Policy):
    def select_target(self, clock: ClockSpec, data: Mapping[str, Any]) -> Target | None:
        READS.append(("goal", AT[0], dict(data)))
        return super().select_target(clock, data)

    def initial_tier(self, data: Mapping[str, Any]) -> str:
        READS.append(("tier", AT[0], dict(data)))
        return super().initial_tier(data)


def _recording(policy: Policy) -> _Recording:
    return _Recording(**{f.alias or f.name: getattr(policy, f.name)
                         for f in attrs.fields(Policy) if f.init})


def _tracked(events: Iterable[Event], offset: int = 0) -> Iterator[Event]:
    for i, e in enumerate(events, start=offset):
        AT[0] = i
        yield e


def _eager(base: Mapping[str, Any], events: Iterable[Event]) -> dict[str, Any]:
    """The data as a dict updated event by event (what the fold did before)."""
    data = dict(base)
    for e in events:
        if e.kind in (EventKind.OPENED, EventKind.TRANSITION) and e.data:
            data.update(e.data)
    return data


@SETTINGS
@given(walks())
def test_each_read_of_the_data_sees_every_event_before_it_merged(walk) -> None:  # type: ignore[no-untyped-def]
    policy = _extendable(complaint_business_centre())
    engine, _, case_id = _run(policy, *walk)
    history = engine.history(case_id)
    recording = BoundPolicy(_recording(policy), COMPLAINT, CALENDARS)
    plain = BoundPolicy(policy, COMPLAINT, CALENDARS)

    READS.clear()
    whole = recording.fold(_tracked(history))
    assert whole == plain.fold(history)
    for _, i, seen in READS:
        assert seen == _eager({}, history[:i + 1])
    reads = len(READS)

    # The processor's way: the tail folded onto the head's clocks, from the data before it.
    cut = len(history) // 2
    head = recording.fold(history[:cut])
    before = _eager({}, history[:cut])
    READS.clear()
    tail = recording.fold(_tracked(history[cut:], cut), head, data=before)
    assert tail == whole
    for _, i, seen in READS:
        assert seen == _eager(before, history[cut:i + 1])
    # ... and from a later state of the data (the processor passes the data after a command).
    after = _eager({}, history)
    READS.clear()
    recording.fold(_tracked(history[cut:], cut), head, data=after)
    for _, i, seen in READS:
        assert seen == _eager(after, history[cut:i + 1])
    event(f"reads of the data: {min(reads, 5)}+, kinds {sorted({k for k, _, _ in READS})}")
