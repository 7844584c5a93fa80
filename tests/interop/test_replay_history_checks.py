"""plan_history checks a whole history at once (``Engine._history_holds``: scans in C, each
distinct actor and data mapping once) and, when a rule does not hold, event by event
(``_check_history``): the same refusals (type and text) and write-sets as checking event by
event alone, on random histories with defects, cold and warm caches; a history that holds
is not checked again event by event."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from types import MappingProxyType
from typing import Any
from unittest import mock

import pendulum
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from servicewf import Engine, FrozenClock, MemoryStore
from servicewf.case import Case
from servicewf.errors import CommandRefused, HistoryMismatch
from servicewf.events import Event, EventKind
from servicewf.plain import frozen_mapping

from .helpers import LATER, ticket

T = pendulum.datetime(2026, 3, 2, 9, tz="UTC")
TICKET = ticket()
DEFECTS = ["none", "seq", "case", "opening_late", "no_opening", "time", "comment",
           "bad_comment", "actor", "role", "data", "same_data", "other_actor", "naive"]
SHARED = frozen_mapping({"n": 1})


def _planned(engine: Engine, case: Case, events: Sequence[Event], expected: int) -> Any:
    try:
        write = engine.plan_history(case, events, expected)
    except (CommandRefused, HistoryMismatch, TypeError) as refused:
        return type(refused), str(refused)
    return write.case, write.events, write.timers, write.checked


def _history(size: int, split: int, defects: list[tuple[str, int]]) -> list[Event]:
    events = [Event("c1", i, T.add(minutes=i), EventKind.OPENED if i == 1 else EventKind.NOTE,
                    "ann", "agent", None, None if i == 1 else "new", "new",
                    frozen_mapping({"n": i % 3}))
              for i in range(1, size + 1)]
    for defect, at in defects:
        i = split + at % (size - split)
        e = events[i]
        changed = {
            "none": {}, "seq": {"seq": e.seq + 1}, "case": {"case_id": "c2"},
            "opening_late": {"kind": EventKind.OPENED},
            "no_opening": {"kind": EventKind.NOTE}, "time": {"at": T.subtract(days=1)},
            "comment": {"comment": "called back"}, "bad_comment": {"comment": "a\x00b"},
            "actor": {"actor_id": " ann"}, "role": {"role": ""},
            "data": {"data": MappingProxyType({"x": float("nan")})},
            "same_data": {"data": SHARED}, "other_actor": {"actor_id": "bob"},
            "naive": {"at": T.naive()},
        }[defect]
        events[i] = Event(*(changed.get(f, getattr(e, f)) for f in (
            "case_id", "seq", "at", "kind", "actor_id", "role", "trigger", "source", "dest",
            "data", "comment")))
    return events


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(1, 8), st.integers(0, 7),
       st.lists(st.tuples(st.sampled_from(DEFECTS), st.integers(0, 7)), max_size=3),
       st.booleans())
@example(3, 0, [("actor", 2), ("data", 1)], False)  # a data refusal before an actor's
@example(3, 0, [("data", 2), ("actor", 1)], False)
@example(3, 0, [("data", 1), ("seq", 2)], False)
@example(3, 0, [("naive", 2)], False)
@example(3, 1, [("time", 0)], True)
def test_the_history_is_refused_as_event_by_event(size, split, defects, warm):
    events = _history(size, split % size, defects)
    split = split % size
    last = events[-1]
    case = Case("c1", "ticket", 1, "new", last.seq, T, last.at)
    results = []
    for at_once in (True, False):
        engine = Engine(MemoryStore(), FrozenClock(LATER), [TICKET])
        if split:
            stored = Case("c1", "ticket", 1, "new", split, T, events[split - 1].at)
            engine.commit(engine.plan_history(stored, events[:split]))
        # (Event by event only: the whole history is never found to hold.)
        with mock.patch.object(Engine, "_history_holds", return_value=False) \
                if not at_once else contextlib.nullcontext():
            results.append([_planned(engine, case, events[split:], split)
                            for _ in range(2 if warm else 1)])
    assert results[0] == results[1]



def test_a_history_that_holds_is_not_checked_event_by_event():
    engine = Engine(MemoryStore(), FrozenClock(LATER), [TICKET])
    events = _history(5, 0, [])
    case = Case("c1", "ticket", 1, "new", 5, T, events[-1].at)
    with mock.patch.object(Engine, "_check_history", autospec=True) as one_by_one:
        engine.plan_history(case, events)
        assert one_by_one.call_count == 0
        # A rule broken: event by event (which refuses it).
        engine.plan_history(case, _history(5, 0, [("seq", 2)]))
        assert one_by_one.call_count == 1
    # What passed is remembered: each actor and data mapping checked once.
    assert ("ann", "agent") in engine._checked_pairs
    assert {id(e.data) for e in events[1:]} <= set(engine._checked_data)
