"""State-log rows whose move the graph remembers (``_Graph.steps``: the first trigger from
the state to the row's state allowed for the log's role and the data's shape, from a state
that is not final) are taken at once: the same events, case and deviations as judging them
(the oracle of test_replay_fast), the step used exactly where the loop would have found the
same verdict."""

from __future__ import annotations

import uuid
from types import MappingProxyType
from typing import Any
from unittest import mock

import pendulum
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from servicewf import DefinitionBuilder, Engine, FrozenClock, MemoryStore
from servicewf.definition import guard
from servicewf.events import EventKind
from servicewf.interop import bpic2013 as bpic
from servicewf.interop.replay import CaseReplay, _Graph, replay_case
from servicewf.interop.source import ImportedEvent
from servicewf.plain import frozen_mapping

from .helpers import LATER, ticket
from .test_replay_fast import _old_replay_case

T = pendulum.datetime(2026, 3, 2, 9, tz="UTC")
BPIC = bpic.definition()
TICKET = ticket()
LABELS = ["Accepted-In Progress", "queued_awaiting_assignment", "accepted_wait",
          "Accepted-In Progress", "Completed-Resolved", "completed_closed",
          "Accepted-In Progress"]


def _rows(case_id: str, labels: list[str], data: Any, who: Any = "ann", role: Any = None
          ) -> list[ImportedEvent]:
    return [ImportedEvent(n, case_id, label, T.add(minutes=n), who, role, data)
            for n, label in enumerate(labels, start=1)]


def _fresh(definition: Any = BPIC) -> tuple[Engine, _Graph]:
    graph = _Graph(definition)
    return Engine(MemoryStore(), FrozenClock(LATER), [BPIC, TICKET]), graph


def test_a_remembered_step_is_taken_without_judging_and_gives_the_same_replay():
    engine, graph = _fresh()
    data = frozen_mapping({"impact": "Low", "tier": "L1"})
    with mock.patch.object(_Graph, "of", return_value=graph):
        first = replay_case(engine, BPIC, "c1", _rows("c1", LABELS, data), mode="state")
        # Every move from a state that is not final, under its first trigger, for no role
        # (the trigger's default) and this shape; none from the final state.
        number = graph.shape(data)
        assert graph.steps[("new", "accepted_in_progress", None, number)] == (
            "accepted_in_progress", "import")
        assert all(state not in graph.finals for state, _, _, _ in graph.steps)
        assert [d.kind for d in first.deviations] == ["after_final"]
        with mock.patch.object(Engine, "judge", autospec=True,
                               side_effect=Engine.judge) as judged, \
                mock.patch.object(_Graph, "pure", autospec=True,
                                  side_effect=_Graph.pure) as pure:
            again = replay_case(engine, BPIC, "c2", _rows("c2", LABELS, data, "bob"),
                                mode="state")
            # None judged again (the move after the final state has no trigger).
            assert judged.call_count == 0
            assert pure.call_count == 0
    oracle = _old_replay_case(engine, BPIC, "c2", _rows("c2", LABELS, data, "bob"),
                              mode="state")
    assert again == oracle
    moves = [e for e in again.events if e.kind is EventKind.TRANSITION]
    assert [e.actor_id for e in moves] == ["bob"] * len(LABELS)


def test_a_step_is_what_the_row_takes():
    # (Proof that steps are consulted: a planted step changes the move.)
    engine, graph = _fresh()
    data = frozen_mapping({"impact": "Low"})
    graph.steps[("new", "accepted_wait", None, graph.shape(data))] = ("planted", "who")
    with mock.patch.object(_Graph, "of", return_value=graph):
        replayed = replay_case(engine, BPIC, "c1", _rows("c1", ["accepted_wait"], data),
                               mode="state")
        assert [(e.trigger, e.role) for e in replayed.events[1:]] == [("planted", "who")]
        # Not for another shape, another role, nor in an activity log.
        other = frozen_mapping({"impact": "Low", "tier": "L1"})
        for rows, mode in ((_rows("c2", ["accepted_wait"], other), "state"),
                           (_rows("c3", ["accepted_wait"], data, role="agent"), "state"),
                           (_rows("c4", ["accepted_wait"], data), "activity")):
            replayed = replay_case(engine, BPIC, "c1", rows, mode=mode)
            assert replayed.events[1].trigger == "accepted_wait"
        # Nor for rows with plain dict data (no memo).
        replayed = replay_case(engine, BPIC, "c1", _rows("c1", ["accepted_wait"],
                                                         {"impact": "Low"}), mode="state")
        assert replayed.events[1].trigger == "accepted_wait"


def test_steps_go_when_the_verdicts_go():
    from servicewf.interop import replay

    engine, graph = _fresh()
    data = frozen_mapping({"impact": "Low"})
    with mock.patch.object(_Graph, "of", return_value=graph), \
            mock.patch.object(replay, "_MAX_SHAPES", 2):
        replay_case(engine, BPIC, "c1", _rows("c1", LABELS[:2], data), mode="state")
        assert graph.steps
        graph.shape(frozen_mapping({"k": "v"}))
        graph.shape(frozen_mapping({"k2": "v"}))  # the shapes numbered again
        assert not graph.steps and not graph.judged
    engine, graph = _fresh()
    with mock.patch.object(_Graph, "of", return_value=graph):
        replay_case(engine, BPIC, "c1", _rows("c1", LABELS[:2], data), mode="state")
        assert graph.steps
        graph.judged.update({("x", "y", str(n), 0): None for n in range(100_001)})  # type: ignore[misc]
        replay_case(engine, BPIC, "c2", _rows("c2", ["accepted_wait"], frozen_mapping(
            {"other": "shape"})), mode="state")
        assert len(graph.judged) == 1
        assert list(graph.steps) == [("new", "accepted_wait", None, 1)]


ROLES = [None, None, "agent", "lead", "nobody"]
TICKET_LABELS = ["new", "working", "waiting", "resolved", "closed", "limbo"]
DATA = [frozen_mapping(d) for d in (
    {}, {"priority": "high"}, {"priority": ""}, {"solution": "reboot"},
    {"priority": "low", "solution": "swap"}, {"solution": "swap", "priority": "low"})]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(st.tuples(st.sampled_from(TICKET_LABELS), st.sampled_from(ROLES),
                                   st.sampled_from(range(len(DATA)))),
                         min_size=1, max_size=8), min_size=1, max_size=4))
def test_cases_after_cases_replay_as_the_oracle(cases):
    # One graph for all cases: the later ones take the steps the earlier ones left.
    engine, graph = _fresh(TICKET)
    with mock.patch.object(_Graph, "of", return_value=graph):
        for n, steps in enumerate(cases):
            rows = [ImportedEvent(i, f"c{n}", label, T.add(minutes=i), "ann", role, DATA[d])
                    for i, (label, role, d) in enumerate(steps, start=1)]
            for in_flight in (False, True):
                got = replay_case(engine, TICKET, f"c{n}", rows, mode="state",
                                  in_flight=in_flight)
                assert type(got) is CaseReplay and got.fits == (not got.deviations)
                assert got == _old_replay_case(engine, TICKET, f"c{n}", rows, mode="state",
                                               in_flight=in_flight)
                assert list(got.case.data.items()) == list(_old_replay_case(
                    engine, TICKET, f"c{n}", rows, mode="state",
                    in_flight=in_flight).case.data.items())


def test_plan_history_writes_the_write_set_the_class_builds():
    from servicewf.storage.base import WriteSet

    engine = Engine(MemoryStore(), FrozenClock(LATER), [BPIC], processors=[bpic.sla()])
    bare = Engine(MemoryStore(), FrozenClock(LATER), [BPIC])
    data = frozen_mapping({"impact": "Low"})
    replayed = replay_case(engine, BPIC, "c1", _rows("c1", LABELS[:3], data), mode="state")
    for planner, owners in ((engine, ["sla:"]), (bare, [])):
        write = planner.plan_history(replayed.case, replayed.events)
        assert type(write) is WriteSet and write.checked
        assert list(write.timers) == owners
        built = WriteSet(write.case, write.events, 0, write.timers, checked=True)
        assert write == built
        assert [getattr(write, f) for f in ("expected_version", "outbox", "checked")] == \
            [0, (), True]
        planner.commit(write)


def test_a_shape_remembered_within_a_case_is_worked_out_again_once_shapes_are_renumbered():
    from servicewf.interop import replay

    engine, graph = _fresh(TICKET)
    one = frozen_mapping({"priority": "high"})
    other = frozen_mapping({"solution": "reboot", "priority": "low"})
    labels = ["working", "waiting", "waiting", "working", "waiting", "working"]
    datas = [one, one, other, one, frozen_mapping({"x": "1"}), one]
    rows = [ImportedEvent(i, "c1", label, T.add(minutes=i), "ann", "agent", d)
            for i, (label, d) in enumerate(zip(labels, datas, strict=True), start=1)]
    with mock.patch.object(_Graph, "of", return_value=graph), \
            mock.patch.object(replay, "_MAX_SHAPES", 2):
        for _ in range(3):  # the steps of the earlier rounds taken, shapes renumbered
            got = replay_case(engine, TICKET, "c1", rows, mode="state")
            assert got == _old_replay_case(engine, TICKET, "c1", rows, mode="state")
            assert graph.shape(one) in (0, 1)


def test_a_shape_names_the_keys_whose_values_the_engine_takes_as_absent():
    from servicewf._frozen import FrozenDict, FrozenList
    from servicewf.engine import _present

    values = [None, "", "x", 0, 0.0, False, True, [], [0], (), ("a",), {}, {"a": 1}, set(),
              {1}, FrozenList(), FrozenList([1]), FrozenDict(), FrozenDict({"a": 1}),
              frozenset(), b"", 0j]
    graph = _Graph(TICKET)
    for n, value in enumerate(values):
        data = MappingProxyType({"a": "1", f"k{n}": value})
        graph.shape(data)
        shape = next(s for s, number in graph._shape_ids.items()
                     if number == graph.shape(data))
        assert shape == (("a", f"k{n}"), () if _present(value) else (f"k{n}",)), value


def test_a_long_reason_is_cut_and_an_opening_without_its_intake_deviates():
    from servicewf.definition import DefinitionBuilder

    engine, _ = _fresh()
    data = frozen_mapping({"impact": "Low"})
    state = "s" * 600
    replayed = replay_case(engine, BPIC, "c1", _rows("c1", [state], data), mode="state")
    from servicewf.interop.replay import HISTORY_DEVIATION

    deviation = next(e for e in replayed.events if e.kind is HISTORY_DEVIATION)
    assert deviation.data["deviation"] == "unknown_state"
    assert len(deviation.data["reason"]) == 500
    assert deviation.data["reason"] == replayed.deviations[0].reason[:500]
    intake = (DefinitionBuilder("intake", 1).add_state("new", initial=True)
              .add_state("working", final=True).add_transition("start", "new", "working")
              .set_intake(["priority"]).build())
    engine = Engine(MemoryStore(), FrozenClock(LATER), [intake])
    rows = [ImportedEvent(1, "c1", "working", T, "ann", None, data)]
    replayed = replay_case(engine, intake, "c1", rows, mode="state", in_flight=True)
    assert [(d.kind, d.seq) for d in replayed.deviations] == [("data_missing", 1)]
    assert _old_replay_case(engine, intake, "c1", rows, mode="state", in_flight=True) == \
        replayed


def test_a_note_adopts_its_rows_mapping_or_merges_it():
    engine, graph = _fresh(TICKET)
    one = frozen_mapping({"a": "1", "b": "2"})
    again = frozen_mapping({"a": "3", "b": "4"})
    other = frozen_mapping({"c": "5"})
    empty = frozen_mapping({})

    def rows(*steps: tuple[str, Any]) -> list[ImportedEvent]:
        return [ImportedEvent(i, "c1", label, T.add(minutes=i), "ann", "agent", d)
                for i, (label, d) in enumerate(steps, start=1)]

    with mock.patch.object(_Graph, "of", return_value=graph):
        # A note on empty case data, and one of the data's shape: the note's own mapping.
        got = replay_case(engine, TICKET, "c1", rows(("working", empty), ("working", one)),
                          mode="state")
        assert got.case.data is one
        got = replay_case(engine, TICKET, "c1", rows(("working", one), ("working", again)),
                          mode="state")
        assert got.case.data is again
        # A note of another shape is merged; a later row of the first shape merges too.
        steps = rows(("working", one), ("working", other), ("waiting", again))
        got = replay_case(engine, TICKET, "c1", steps, mode="state")
        assert dict(got.case.data) == {"a": "3", "b": "4", "c": "5"}
        assert got == _old_replay_case(engine, TICKET, "c1", steps, mode="state")


def test_a_step_row_adopts_its_rows_mapping_or_merges_it_and_names_its_actor():
    from servicewf.interop import replay

    engine, graph = _fresh(TICKET)
    one = frozen_mapping({"a": "1", "b": "2"})
    again = frozen_mapping({"a": "3", "b": "4"})
    other = frozen_mapping({"c": "5"})

    def rows(who: str, *steps: tuple[str, Any]) -> list[ImportedEvent]:
        return [ImportedEvent(i, "c1", label, T.add(minutes=i), who, "agent", d)
                for i, (label, d) in enumerate(steps, start=1)]

    with mock.patch.object(_Graph, "of", return_value=graph), \
            mock.patch.dict(replay._ACTORS, clear=True):  # no actor known yet
        moves = [("working", one), ("waiting", again), ("working", other),
                 ("waiting", again)]
        first = replay_case(engine, TICKET, "c1", rows("ann", *moves), mode="state")
        replay._ACTORS.clear()
        got = replay_case(engine, TICKET, "c1", rows("zed", *moves), mode="state")
        assert [e.actor_id for e in got.events[1:] if e.kind is EventKind.TRANSITION] == \
            ["zed"] * 4
        assert dict(got.case.data) == {"a": "3", "b": "4", "c": "5"} == dict(first.case.data)
        # The steps taken: the data is the row's own mapping where it has the data's keys.
        got = replay_case(engine, TICKET, "c1", rows("zed", *moves[:2]), mode="state")
        assert got.case.data is again


def test_a_step_row_by_someone_not_seen_yet_is_theirs():
    # The mover of a step row is looked up among the actors made so far, and made when a
    # person is new in that role: the event names that person, not the import's stand-in.
    # (Opened in flight, the case's first actor has the import's role; the steps move with
    # the triggers' own role, agent: an actor made by the step row itself.)
    engine, graph = _fresh(TICKET)
    data = frozen_mapping({"priority": "high"})
    labels = ["working", "waiting", "working"]
    newcomer = f"new-{uuid.uuid4().hex[:12]}"  # in no cache of any earlier test
    with mock.patch.object(_Graph, "of", return_value=graph):
        replay_case(engine, TICKET, "c1", _rows("c1", labels, data), mode="state",
                    in_flight=True)
        assert set(graph.steps.values()) == {("wait", "agent"), ("resume", "agent")}
        again = replay_case(engine, TICKET, "c2", _rows("c2", labels, data, newcomer),
                            mode="state", in_flight=True)
    assert [(e.actor_id, e.role) for e in again.events] == [
        (newcomer, "import"), (newcomer, "agent"), (newcomer, "agent")]
    assert again == _old_replay_case(engine, TICKET, "c2", _rows("c2", labels, data, newcomer),
                                     mode="state", in_flight=True)


def test_a_verdict_remembered_by_an_activity_log_gives_a_state_log_its_step():
    # An activity log remembers verdicts (judged) but no steps; a state log then finds the
    # verdict in its loop, without an actor worked out, and records the step with the
    # actor it works out then: a person no cache holds yet.
    engine, graph = _fresh()
    data = frozen_mapping({"impact": "Low"})
    triggers = ["queued_awaiting_assignment", "accepted_in_progress"]
    newcomer = f"new-{uuid.uuid4().hex[:12]}"
    with mock.patch.object(_Graph, "of", return_value=graph):
        replay_case(engine, BPIC, "a1", _rows("a1", triggers, data), mode="activity")
        assert not graph.steps
        replayed = replay_case(engine, BPIC, "s1", _rows("s1", triggers, data, newcomer),
                               mode="state")
    number = graph.shape(data)
    assert graph.steps[("new", "queued_awaiting_assignment", None, number)] == (
        "queued_awaiting_assignment", "import")
    moves = [e for e in replayed.events if e.kind is EventKind.TRANSITION]
    assert [(e.trigger, e.actor_id) for e in moves] == [(t, newcomer) for t in triggers]
    assert replayed == _old_replay_case(engine, BPIC, "s1",
                                        _rows("s1", triggers, data, newcomer), mode="state")


@guard(rule="U1", explain="only an urgent ticket takes the fast lane")
def urgent(ctx: Any) -> bool:
    return ctx.value("prio") == "high"


def test_no_step_is_kept_for_a_later_trigger_than_the_first():
    # Two triggers lead from new to open; the first has a guard. A row its guard refuses
    # moves by the second, and that is no step: a later row the guard allows moves by the
    # first, as judging finds.
    lanes = (DefinitionBuilder("lanes", 1).add_state("new", initial=True).add_state("open")
             .add_state("done", final=True).add_guard(urgent)
             .add_transition("fast", "new", "open", conditions="urgent")
             .add_transition("slow", "new", "open")
             .add_transition("finish", "open", "done").build())
    engine = Engine(MemoryStore(), FrozenClock(LATER), [lanes])
    graph = _Graph(lanes)
    assert tuple(graph.moves[("new", "open")]) == ("fast", "slow")
    low, high = frozen_mapping({"prio": "low"}), frozen_mapping({"prio": "high"})
    with mock.patch.object(_Graph, "of", return_value=graph):
        first = replay_case(engine, lanes, "c1", _rows("c1", ["open"], low), mode="state")
        assert not graph.steps
        later = replay_case(engine, lanes, "c2", _rows("c2", ["open"], high), mode="state")
    assert [e.trigger for e in first.events[1:]] == ["slow"]
    assert [e.trigger for e in later.events[1:]] == ["fast"]
    assert later == _old_replay_case(engine, lanes, "c2", _rows("c2", ["open"], high),
                                     mode="state")
