"""replay_case's fast way (events and case snapshots built without the converters when
read_log froze the rows' data, the log's names worked out only for a deviation) gives what
the checked way gives for the same rows with plain dict data, and what replay_case gave
before (a copy of it below is the oracle): the same events (their data the very mappings
of the rows), case and deviations, on random histories that fit or deviate in every way
(guards, roles, required data, unknown triggers and states, moves after a final state,
repeated states, ties in time, in-flight openings, the caller's names)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import Any

import pendulum
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from servicewf import Engine, FrozenClock, MemoryStore
from servicewf.case import SYSTEM, Actor, Case
from servicewf.definition import DefinitionBuilder, ProcessDefinition
from servicewf.errors import CommandRefused, HistoryMismatch, RoleNotPermitted
from servicewf.events import Event, EventKind
from servicewf.interop import bpic2013 as bpic
from servicewf.interop.replay import (
    _EMPTY,
    HISTORY_DEVIATION,
    IMPORT_ACTOR,
    IMPORT_TRIGGER,
    CaseReplay,
    Deviation,
    _actor,
    _Graph,
    _kind_of,
    _role_for,
    replay_case,
)
from servicewf.interop.source import ImportedEvent
from servicewf.plain import frozen_mapping

from .helpers import LATER, ticket

T = pendulum.datetime(2026, 3, 2, 9, tz="UTC")


def _old_replay_case(
    engine: Engine,
    definition: ProcessDefinition,
    case_id: str,
    rows: Sequence[ImportedEvent],
    *,
    mode: str,
    in_flight: bool = False,
    names: Mapping[str, str] | None = None,
) -> CaseReplay:
    """replay_case as it was before its events and snapshots skipped the converters."""
    graph = _Graph.of(definition)
    resolved = graph.resolve(mode, names)
    original = {r.row: r.label for r in rows}  # deviations quote the log's own name
    # The definition's name of each row's label, beside the rows (not new rows: most
    # labels change, and a tuple per row was a tenth of the replay).
    labels = [resolved.get(r.label) or resolved.add(r.label) for r in rows]
    initial = definition.initial.id
    events: list[Event] = []
    deviations: list[Deviation] = []
    first = rows[0]
    data: Mapping[str, Any] = _EMPTY
    state = initial
    opened_at = first.at

    default_roles = graph.default_roles

    def actor_of(row: ImportedEvent, trigger: str | None, at_state: str) -> Actor:
        role = row.role
        if role is None:
            if trigger:
                role = default_roles.get((trigger, at_state))
                if role is None:
                    role = default_roles[(trigger, at_state)] = _role_for(
                        definition, trigger, at_state)
            else:
                role = IMPORT_ACTOR
        return _actor(row.actor or IMPORT_ACTOR, role)

    def deviate(row: ImportedEvent, kind: str, rule: str | None, at_state: str,
                reason: str) -> None:
        fact = events[-1]
        d = Deviation(case_id, fact.seq, row.row, kind, rule, at_state,
                      original.get(row.row, row.label), reason)
        deviations.append(d)
        events.append(Event(case_id, len(events) + 1, fact.at, HISTORY_DEVIATION, SYSTEM.id,
                            SYSTEM.role, fact.trigger, state, state,
                            {"deviation": kind, "rule": rule, "seq": fact.seq, "row": row.row,
                             "reason": reason[:500]}))

    def snapshot(at: pendulum.DateTime) -> Case:
        return Case(case_id, definition.name, definition.version, state, len(events),
                    opened_at, at, data)

    # --- the opening ---
    opening_state = initial
    start_label = labels[0] if mode == "state" else None
    if start_label is not None and start_label != initial and in_flight:
        opening_state = start_label
    first_actor = actor_of(first, None, initial)  # the log's role, else "import"
    open_data = first.data if opening_state == start_label else _EMPTY
    events.append(Event(case_id, 1, first.at, EventKind.OPENED, first_actor.id,
                        first_actor.role, None, None, opening_state, open_data))
    state = opening_state
    data = open_data
    if opening_state != initial and opening_state not in graph.states:
        deviate(first, "unknown_state", None, opening_state,
                f"the log opens the case in state {opening_state!r}, which "
                f"{definition.name} v{definition.version} does not have")
    elif opening_state == start_label and definition.intake:
        # A state log's first row opens the case with its data: the intake must be there.
        missing = [f for f in definition.intake if data.get(f) in (None, "", [], {})]
        if missing:
            deviate(first, "data_missing", None, state,
                    f"opening needs data the log does not give: {', '.join(missing)}")
    skip = 1 if opening_state == start_label else 0
    remaining: Iterable[tuple[ImportedEvent, str]] = zip(  # noqa: B905 - equal lengths
        rows[skip:], labels[skip:])
    # Rows with equal data share one mapping (read_log interns them): merging the mapping
    # merged last again would change nothing, so the case data is rebuilt only on a change.
    merged: Mapping[str, Any] | None = data if data else None

    for row, label in remaining:
        at = row.at
        if mode == "state" and label == state:
            # A row that repeats the state: a data update, recorded as a note.
            noted = _actor(row.actor or IMPORT_ACTOR, row.role or IMPORT_ACTOR)
            events.append(Event(case_id, len(events) + 1, at, EventKind.NOTE, noted.id,
                                noted.role, None, state, state, row.data))
            if row.data and row.data is not merged:
                data = MappingProxyType({**data, **row.data})
                merged = row.data
            if state in graph.finals:
                deviate(row, "after_final", None, state,
                        f"the case was already closed (final state {state!r})")
            continue
        was_final = state in graph.finals
        refusal: CommandRefused | None = None
        problem: tuple[str, str] | None = None
        actor: Actor | None = None  # of (row, trigger, state) once worked out
        if mode == "state":
            dest = label
            triggers = graph.moves.get((state, dest), ())
            trigger = triggers[0] if triggers else IMPORT_TRIGGER
            if dest not in graph.states:
                problem = ("unknown_state", f"{definition.name} v{definition.version} has no "
                           f"state {dest!r}")
            elif not triggers:
                problem = ("not_in_graph", f"no trigger leads from {state!r} to {dest!r}")
            else:
                current = snapshot(at)  # one value for every candidate: Case is frozen
                for candidate in triggers:
                    actor = actor_of(row, candidate, state)
                    moved, refused = engine.judge(current, candidate, actor=actor,
                                                  data=row.data, at=at)
                    if moved is not None:
                        trigger, refusal = candidate, None
                        break
                    refusal = refusal or refused
                    actor = None
        else:
            trigger = label
            actor = actor_of(row, trigger, state)
            moved, refusal = engine.judge(snapshot(at), trigger, actor=actor, data=row.data,
                                          at=at)
            if moved is not None:
                dest = moved.target(state)
            else:
                known = graph.dests.get(trigger, set())
                dest = next(iter(known)) if len(known) == 1 else state
        if actor is None:
            actor = actor_of(row, trigger, state)
        events.append(Event(case_id, len(events) + 1, at, EventKind.TRANSITION, actor.id,
                            actor.role, trigger, state, dest, row.data))
        source = state
        state = dest
        if row.data and row.data is not merged:
            data = MappingProxyType({**data, **row.data})
            merged = row.data
        if was_final:
            deviate(row, "after_final", None, source,
                    f"the case was already closed (final state {source!r})")
        elif problem is not None:
            deviate(row, problem[0], None, source, problem[1])
        elif refusal is not None:
            deviate(row, _kind_of(refusal), getattr(refusal, "rule", None), source,
                    str(refusal))
    last = events[-1]
    case = Case(case_id, definition.name, definition.version, state, last.seq, opened_at,
                last.at, data)
    return CaseReplay(case, tuple(events), tuple(deviations))



TICKET = ticket()
BPIC = bpic.definition()
# The ticket with fields each written by some commands only (a move writing another field
# deviates): the verdicts depend on which keys the data has.
OWNED = (DefinitionBuilder("owned_ticket", 1)
         .add_state("new", initial=True).add_state("working").add_state("waiting")
         .add_state("resolved").add_state("closed", final=True)
         .add_transition("start", "new", "working", writes=["priority", "impact"])
         .add_transition("wait", "working", "waiting", roles=["agent"], writes="impact")
         .add_transition("resume", "waiting", "working", roles=["agent"])
         .add_transition("resolve", "working", "resolved", required=["solution"],
                         writes=["solution", "priority"])
         .add_transition("close", "resolved", "closed", roles=["agent", "lead"])
         .own_fields().build())
ENGINE = Engine(MemoryStore(), FrozenClock(LATER), [TICKET, BPIC, OWNED])
LABELS = {
    ("ticket", "activity"): ["start", "wait", "resume", "resolve", "close", "fly", "Start"],
    ("ticket", "state"): ["new", "working", "waiting", "resolved", "closed", "limbo",
                          "Working"],
    ("owned", "activity"): ["start", "wait", "resume", "resolve", "close", "fly"],
    ("owned", "state"): ["new", "working", "waiting", "resolved", "closed", "limbo"],
    ("bpic", "state"): ["new", "Accepted-In Progress", "accepted_wait", "Accepted-Wait - User",
                        "queued_awaiting_assignment", "Completed-Resolved",
                        "completed_closed", "Completed-Cancelled", "Unmatched-Unmatched",
                        "Mystery-State"],
}
# Shared mappings, as read_log shares one between rows with equal data; some of one shape
# (keys in order, absent values), equal ones apart, the same keys in another order.
DATA = [frozen_mapping(d) for d in (
    {}, {"priority": "high"}, {"priority": ""}, {"solution": "reboot"},
    {"priority": "low", "solution": "swap"}, {"impact": "Medium", "tier": "L1"},
    {"impact": "High", "tier": "L2", "team": "V30"}, {"priority": "low"},
    {"priority": "high"}, {"solution": ""}, {"solution": "swap", "priority": "low"},
    {"tier": "L3", "impact": "Low"}, {"impact": "Low", "tier": "L3"},
    {"solution": None, "priority": "x"}, {"priority": "low", "solution": []},
    {"impact": "High"})]


@st.composite
def histories(draw: Any) -> tuple[ProcessDefinition, str, list[ImportedEvent], bool,
                                  Mapping[str, str] | None]:
    which, mode = draw(st.sampled_from(sorted(LABELS)))
    definition = {"ticket": TICKET, "bpic": BPIC, "owned": OWNED}[which]
    steps = draw(st.lists(st.tuples(
        st.sampled_from(LABELS[(which, mode)]),
        st.sampled_from([0, 0, 1, 3_600_000_000]),  # ties in time, as logs have
        st.sampled_from([None, "ann", "bob"]),
        st.sampled_from([None, None, "agent", "lead", "nobody"]),
        st.sampled_from(range(len(DATA)))), min_size=1, max_size=12))
    rows = []
    at = T
    for n, (label, gap, actor, role, data) in enumerate(steps, start=1):
        at = at.add(microseconds=gap)
        # Every third row repeats the first row's number (rows made by hand may): a
        # deviation quotes the log's name of the last row with its number.
        rows.append(ImportedEvent(n if n % 3 else 1, "c1", label, at, actor, role, DATA[data]))
    names = draw(st.sampled_from([None, {"limbo": "waiting", "Mystery-State": "new"}]))
    return definition, mode, rows, draw(st.booleans()), names


def _as_dicts(rows: Sequence[ImportedEvent]) -> list[ImportedEvent]:
    return [r._replace(data=dict(r.data)) for r in rows]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(histories())
def test_the_fast_replay_is_the_checked_and_the_old_replay(history):
    definition, mode, rows, in_flight, names = history
    kw = {"mode": mode, "in_flight": in_flight, "names": names}
    fast = replay_case(ENGINE, definition, "c1", rows, **kw)
    oracle = _old_replay_case(ENGINE, definition, "c1", rows, **kw)
    checked = replay_case(ENGINE, definition, "c1", _as_dicts(rows), **kw)
    old_checked = _old_replay_case(ENGINE, definition, "c1", _as_dicts(rows), **kw)
    assert fast == oracle
    assert checked == old_checked
    assert fast == checked
    # The case data's keys in the same order too (equal mappings may differ in it).
    assert list(fast.case.data.items()) == list(oracle.case.data.items()) == \
        list(checked.case.data.items())
    # Some rows frozen, some not: the checked way for the whole case.
    mixed = [r if i % 2 else r._replace(data=dict(r.data)) for i, r in enumerate(rows)]
    assert replay_case(ENGINE, definition, "c1", mixed, **kw) == \
        _old_replay_case(ENGINE, definition, "c1", mixed, **kw) == fast
    # The facts keep the rows' own mappings (the engine checks each distinct one once).
    facts = [e for e in fast.events if e.kind is not HISTORY_DEVIATION]
    old_facts = [e for e in oracle.events if e.kind is not HISTORY_DEVIATION]
    assert [id(e.data) for e in facts] == [id(e.data) for e in old_facts]
    for replayed in (fast, checked, replay_case(ENGINE, definition, "c1", mixed, **kw)):
        assert all(type(e) is Event and type(e.data) is MappingProxyType
                   for e in replayed.events)
        assert type(replayed.case) is Case and type(replayed.case.data) is MappingProxyType
        assert replayed.case.extensions == {}
    event(f"{definition.name} {mode}: " + (", ".join(sorted({d.kind for d in fast.deviations}))
                                          or "fits"))


# --- plan_history: an event's actor and data repeating the previous event's are not checked
# again; an import refuses exactly what checking each event on its own refuses.

ACTOR_IDS = ["ann", "bob", "", " ann", "a\nb", None]
ROLES = ["agent", "lead", "", "x\x00", None]
HAND_FROZEN = [MappingProxyType({"x": 1.5}), MappingProxyType({"x": float("nan")}),
               MappingProxyType({1: "key not text"}), frozen_mapping({"ok": "fine"}),
               MappingProxyType({})]


def _alone(case: Case, events: Sequence[Event]) -> tuple[type, str] | None:
    """The refusal of the first event whose actor, role or data fails on its own."""
    from servicewf.errors import InvalidData, InvalidIdentifier
    from servicewf.plain import check_identifier, check_stored
    try:
        for e in events:
            check_identifier(e.actor_id, "actor id")
            check_identifier(e.role, "role")
            if e.data:
                check_stored(e.data, "imported event data")
        check_stored(case.data, "imported case data")
    except (InvalidIdentifier, InvalidData) as refused:
        return type(refused), str(refused).split(";")[0]
    return None


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(range(len(ACTOR_IDS))),
                          st.sampled_from(range(len(ROLES))),
                          st.sampled_from(range(len(HAND_FROZEN)))), min_size=1, max_size=8),
       st.booleans())
def test_plan_history_refuses_what_each_event_alone_refuses(steps, warm):
    engine = Engine(MemoryStore(), FrozenClock(LATER), [TICKET])
    events = [Event("c1", i, T, EventKind.OPENED if i == 1 else EventKind.NOTE,
                    ACTOR_IDS[a], ROLES[r], None, None if i == 1 else "new", "new",
                    HAND_FROZEN[d])
              for i, (a, r, d) in enumerate(steps, start=1)]
    case = Case("c1", "ticket", 1, "new", len(events), T, T)
    expected = _alone(case, events)
    for _ in range(2 if warm else 1):  # warm: the engine's caches hold what passed before
        try:
            engine.plan_history(case, events)
            got = None
        except CommandRefused as refused:
            got = (type(refused), str(refused).split(";")[0])
        assert got == expected


# --- plan_history refuses a history exactly when one of its events breaks a rule of the
# import mode (sequence, case, opening, order in time, identifiers, plain data, comments), on
# a fresh case or appended to a stored one, with the engine's caches cold or warm.

DEFECTS = ["none", "seq", "case", "opening_late", "no_opening", "time", "comment",
           "bad_comment", "actor", "role", "data"]


def _planned(engine: Engine, case: Case, events: Sequence[Event], expected: int) -> Any:
    try:
        write = engine.plan_history(case, events, expected)
    except (CommandRefused, HistoryMismatch) as refused:
        return type(refused), str(refused)
    return write.case, write.events


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(1, 8), st.integers(0, 7),
       st.lists(st.tuples(st.sampled_from(DEFECTS), st.integers(0, 7)), max_size=3),
       st.booleans())
@example(3, 0, [("time", 1)], False)  # an event dated before the one before it
@example(4, 0, [("time", 2)], False)
@example(3, 1, [("time", 0)], False)  # the first new event before the stored last one
@example(3, 0, [("opening_late", 1)], False)  # a second opening, right after the first
@example(3, 0, [("opening_late", 2)], False)
@example(3, 1, [("no_opening", 0)], False)  # appended events: an opening is refused
@example(3, 1, [("opening_late", 0)], False)
@example(2, 0, [("seq", 1)], False)
@example(2, 0, [("case", 1)], False)
@example(3, 0, [("actor", 1), ("data", 2)], True)
def test_plan_history_refuses_a_history_exactly_when_an_event_breaks_a_rule(
        size, split, defects, warm):
    # ``split``: the first events are stored already (one import), the rest are appended to
    # the stored case (expected_version > 0: the stored last instant bounds the first new).
    events = [Event("c1", i, T.add(minutes=i), EventKind.OPENED if i == 1 else EventKind.NOTE,
                    "ann", "agent", None, None if i == 1 else "new", "new",
                    frozen_mapping({"n": i % 3}))
              for i in range(1, size + 1)]
    split = split % size
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
        }[defect]
        events[i] = Event(*(changed.get(f, getattr(e, f)) for f in (
            "case_id", "seq", "at", "kind", "actor_id", "role", "trigger", "source", "dest",
            "data", "comment")))
    last = events[-1]
    case = Case("c1", "ticket", 1, "new", last.seq, T, last.at)
    engine = Engine(MemoryStore(), FrozenClock(LATER), [TICKET])
    if split:
        stored = Case("c1", "ticket", 1, "new", split, T, events[split - 1].at)
        engine.commit(engine.plan_history(stored, events[:split]))
    new = events[split:]
    # warm: the engine's caches then hold what passed the first time.
    got = [_planned(engine, case, new, split) for _ in range(2 if warm else 1)]
    assert got[-1] == got[0]
    event("written" if isinstance(got[0][0], Case) else f"refused {got[0][0].__name__}")
    # Refused exactly when an event breaks a rule (an oracle written apart from the engine).
    broken = [
        e for i, e in enumerate(events) if i >= split and (
            e.case_id != "c1" or e.seq != i + 1 or (e.kind is EventKind.OPENED) != (i == 0)
            or (i > 0 and e.at < events[i - 1].at) or (e.comment or "").count("\x00")
            or e.actor_id != "ann" or e.role != "agent" or "x" in e.data)]
    assert isinstance(got[0][0], Case) == (not broken)


# --- the engine's verdict on a move without guards is remembered by (state, trigger, the
# log's role, the shape of the row's data): the equality above holds with it (the memo is
# shared by every example); here, that it is used, and only where it may be.


def _bpic_rows(case_id: str, data: Mapping[str, Any], who: str = "ann"
               ) -> list[ImportedEvent]:
    labels = ["Accepted-In Progress", "queued_awaiting_assignment", "Accepted-In Progress",
              "Completed-Resolved", "completed_closed"]
    return [ImportedEvent(n, case_id, label, T.add(minutes=n), who, None, data)
            for n, label in enumerate(labels, start=1)]


def test_a_move_without_guards_is_judged_once_for_its_role_and_data_shape():
    from unittest import mock

    engine = Engine(MemoryStore(), FrozenClock(LATER), [BPIC])
    # This test's own keys: no other test's verdicts are remembered for them.
    data = frozen_mapping({"impact_judged": "Low", "tier_judged": "L1"})
    first = replay_case(engine, BPIC, "c1", _bpic_rows("c1", data), mode="state")
    with mock.patch.object(Engine, "judge", autospec=True,
                           side_effect=Engine.judge) as judged:
        again = replay_case(engine, BPIC, "c2", _bpic_rows("c2", data), mode="state")
        assert judged.call_count == 0  # every move remembered from c1
        # Equal data in another mapping, other values of the same keys, another person of
        # the same role: the same verdicts.
        for n, (same, who) in enumerate((
                (frozen_mapping(dict(data)), "ann"),
                (frozen_mapping({"impact_judged": "High", "tier_judged": "L2"}), "ann"),
                (data, "bob")), start=3):
            replay_case(engine, BPIC, f"c{n}", _bpic_rows(f"c{n}", same, who), mode="state")
        assert judged.call_count == 0
        # Another shape: the keys in another order, a value absent, a key more.
        for n, other in enumerate((
                {"tier_judged": "L1", "impact_judged": "Low"},
                {"impact_judged": "Low", "tier_judged": ""},
                {"impact_judged": "Low", "tier_judged": "L1", "team": "V30"}), start=6):
            replay_case(engine, BPIC, f"c{n}", _bpic_rows(f"c{n}", frozen_mapping(other)),
                        mode="state")
            assert judged.call_count == 5 * (n - 5)  # each move judged once more
    assert [(e.trigger, e.dest) for e in again.events] == \
        [(e.trigger, e.dest) for e in first.events]
    assert again.deviations == first.deviations == ()


def test_a_remembered_verdict_is_not_used_for_data_missing_a_value_or_writing_a_field():
    engine = Engine(MemoryStore(), FrozenClock(LATER), [TICKET, OWNED])

    def rows(case_id: str, *data: dict[str, Any]) -> list[ImportedEvent]:
        return [ImportedEvent(n, case_id, label, T.add(minutes=n), "ann", "agent",
                              frozen_mapping(d))
                for n, (label, d) in enumerate(zip(
                    ["working", "resolved"], data, strict=True), start=1)]

    for definition in (TICKET, OWNED):
        fits = replay_case(engine, definition, "c1", rows(
            "c1", {"priority": "high"}, {"solution": "reboot"}), mode="state")
        assert [d.kind for d in fits.deviations] == [], definition.name
        for case_id, solved, kinds in (
                ("c2", {"solution": ""}, ["data_missing"]),
                ("c3", {"solution": None}, ["data_missing"]),
                ("c4", {"solution": []}, ["data_missing"]),
                ("c5", {"solution": "swap", "impact": "high"},
                 ["field_not_owned"] if definition is OWNED else [])):
            replayed = replay_case(engine, definition, case_id, rows(
                case_id, {"priority": "high"}, solved), mode="state")
            assert [d.kind for d in replayed.deviations] == kinds, (definition.name, solved)


def test_case_data_of_the_rows_keys_in_their_order_is_the_rows_mapping():
    ordered = frozen_mapping({"a": "1", "b": "2"})
    again = frozen_mapping({"a": "3", "b": "4"})
    turned = frozen_mapping({"b": "5", "a": "6"})
    rows = [ImportedEvent(n, "c1", label, T.add(minutes=n), "ann", "agent", d)
            for n, (label, d) in enumerate(zip(["working", "waiting", "working", "waiting"],
                                               [ordered, again, turned, ordered],
                                               strict=True), start=1)]
    replayed = replay_case(ENGINE, TICKET, "c1", rows[:2], mode="state")
    assert replayed.case.data is again  # no new mapping: the merge is the row's own
    replayed = replay_case(ENGINE, TICKET, "c1", rows[:3], mode="state")
    assert list(replayed.case.data.items()) == [("a", "6"), ("b", "5")]
    replayed = replay_case(ENGINE, TICKET, "c1", rows, mode="state")
    assert list(replayed.case.data.items()) == [("a", "1"), ("b", "2")]


def test_verdicts_go_with_the_shape_numbers_they_name():
    from unittest import mock

    from servicewf.interop import replay

    engine = Engine(MemoryStore(), FrozenClock(LATER), [TICKET])
    graph = _Graph(TICKET)
    solved = frozen_mapping({"solution": "reboot"})
    rows = [ImportedEvent(n, "c1", label, T, "ann", "agent", solved)
            for n, label in ((1, "working"), (2, "resolved"))]
    with mock.patch.object(_Graph, "of", return_value=graph), \
            mock.patch.object(replay, "_MAX_SHAPES", 3):
        # ("start" deviates: its guard wants a priority; "resolve" is allowed, remembered.)
        assert [d.row for d in replay_case(engine, TICKET, "c1", rows,
                                           mode="state").deviations] == [1]
        for n in range(2):  # shapes enough to number them all again
            graph.shape(frozen_mapping({f"k{n}": "v"}))
        # The first shape numbered now: the one "resolve" was allowed with before.
        missing = [rows[0], rows[1]._replace(data=frozen_mapping({"solution": ""}))]
        assert graph.shape(missing[1].data) == 0
        replayed = replay_case(engine, TICKET, "c1", missing, mode="state")
        assert [d.kind for d in replayed.deviations][-1:] == ["data_missing"]
        # The mappings numbered before are numbered again (not by their old numbers).
        replay_case(engine, TICKET, "c1", rows, mode="state")
        replayed = replay_case(engine, TICKET, "c1", missing, mode="state")
    assert [d.kind for d in replayed.deviations][-1:] == ["data_missing"]


def test_the_shapes_of_data_and_their_numbers():
    graph = _Graph(TICKET)
    a = frozen_mapping({"x": "1", "y": "2"})
    numbers = [graph.shape(m) for m in (
        a, frozen_mapping({"x": "3", "y": "4"}), frozen_mapping({"y": "2", "x": "1"}),
        frozen_mapping({"x": "1", "y": ""}), frozen_mapping({"x": "1", "y": []}),
        frozen_mapping({"x": "1"}), _EMPTY, MappingProxyType({"x": "1", "y": None}))]
    assert numbers == [0, 0, 1, 2, 2, 3, 4, 2]
    assert graph.shape(a) == 0  # remembered by identity


def test_an_engine_that_judges_in_its_own_way_is_asked_for_every_move():
    calls: list[str] = []

    class Strict(Engine):
        def judge(self, case, trigger, *, actor, data=None, at):  # type: ignore[no-untyped-def]
            calls.append(trigger)
            if trigger == "completed_resolved" and case.id == "c2":
                return None, RoleNotPermitted("not here", case_id=case.id, trigger=trigger,
                                              role=actor.role, allowed=[])
            return super().judge(case, trigger, actor=actor, data=data, at=at)

    data = frozen_mapping({"impact": "Low", "tier": "L2"})
    # The plain engine's verdicts on these very rows are remembered first...
    replay_case(Engine(MemoryStore(), FrozenClock(LATER), [BPIC]), BPIC, "c0",
                _bpic_rows("c0", data), mode="state")
    # ...and not used for an engine judging its own way.
    engine = Strict(MemoryStore(), FrozenClock(LATER), [BPIC])
    replay_case(engine, BPIC, "c1", _bpic_rows("c1", data), mode="state")
    second = replay_case(engine, BPIC, "c2", _bpic_rows("c2", data), mode="state")
    assert len(calls) == 10
    assert [d.kind for d in second.deviations] == ["role_not_permitted"]
    # The plain engine judging with another object of the same name and version (its
    # registry's) is asked too: the memo is the definition's.
    from unittest import mock

    other = Engine(MemoryStore(), FrozenClock(LATER), [bpic.definition()])
    with mock.patch.object(Engine, "judge", autospec=True,
                           side_effect=Engine.judge) as judged:
        for case_id in ("c1", "c2"):
            replay_case(other, BPIC, case_id, _bpic_rows(case_id, data), mode="state")
    assert judged.call_count == 10


def _ticket_rows(case_id: str, data: Mapping[str, Any], who: str = "ann",
                 role: str = "agent") -> list[ImportedEvent]:
    moves = [("start", "ann", "agent"), ("wait", who, role), ("resume", "ann", "agent")]
    return [ImportedEvent(n, case_id, trigger, T.add(minutes=n), actor, r, data)
            for n, (trigger, actor, r) in enumerate(moves, start=1)]


def test_an_activity_log_judges_a_guarded_move_every_time_and_the_others_once():
    from unittest import mock

    engine = Engine(MemoryStore(), FrozenClock(LATER), [TICKET])
    data = frozen_mapping({"priority": "high"})
    first = replay_case(engine, TICKET, "c1", _ticket_rows("c1", data), mode="activity")
    assert first.deviations == ()
    with mock.patch.object(Engine, "judge", autospec=True,
                           side_effect=Engine.judge) as judged:
        again = replay_case(engine, TICKET, "c2", _ticket_rows("c2", data), mode="activity")
    # "start" has a guard (it reads the case's data): judged again; "wait", "resume" not.
    assert [c.args[2] for c in judged.call_args_list] == ["start"]
    assert [(e.trigger, e.dest) for e in again.events] == \
        [(e.trigger, e.dest) for e in first.events]


def test_what_an_engine_judging_its_own_way_allowed_is_not_remembered_for_others():
    class Lenient(Engine):
        def judge(self, case, trigger, *, actor, data=None, at):  # type: ignore[no-untyped-def]
            moved, refused = super().judge(case, trigger, actor=actor, data=data, at=at)
            if refused is not None:  # whatever the roles say
                return TICKET.compiled.candidates(trigger, case.state)[0].transition, None
            return moved, refused

    data = frozen_mapping({"priority": "low"})
    rows = _ticket_rows("c1", data, who="bob", role="lead")  # "wait" is the agent's
    states = [r._replace(label=dest) for r, dest in zip(  # the same moves as a state log
        rows, ["working", "waiting", "working"], strict=True)]
    for mode, log in (("activity", rows), ("state", states)):
        lenient = replay_case(Lenient(MemoryStore(), FrozenClock(LATER), [TICKET]), TICKET,
                              "c1", log, mode=mode)
        assert lenient.deviations == ()
        plain = replay_case(Engine(MemoryStore(), FrozenClock(LATER), [TICKET]), TICKET, "c1",
                            log, mode=mode)
        assert [d.kind for d in plain.deviations] == ["role_not_permitted"], mode


def test_case_data_merged_from_rows_of_two_shapes_is_not_taken_for_a_rows_mapping():
    from unittest import mock

    graph = _Graph(TICKET)
    a, b, a2 = (frozen_mapping(d) for d in ({"a": "1"}, {"b": "2"}, {"a": "3"}))
    assert [graph.shape(m) for m in (a, b, a2)] == [0, 1, 0]
    rows = [ImportedEvent(n, "c1", label, T.add(minutes=n), "ann", "agent", d)
            for n, (label, d) in enumerate(zip(["working", "waiting", "working"], [a, b, a2],
                                               strict=True), start=1)]
    with mock.patch.object(_Graph, "of", return_value=graph):
        replayed = replay_case(ENGINE, TICKET, "c1", rows, mode="state")
    assert list(replayed.case.data.items()) == [("a", "3"), ("b", "2")]
