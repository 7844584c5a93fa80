"""History replay: imported events are facts, checked against a definition, every deviation
recorded, the case written through the engine's import mode.

Each imported case is rebuilt event by event. A fact that a live command would have been
refused for (a move the graph does not have, a role that may not fire it, missing required
data, a guard that does not hold, anything after a final state) is still applied (it
happened) and a :class:`Deviation` is recorded: in the result, and in the store as a
``history_deviation`` event (system kind) right after the fact, so the audit log says which
imported events did not fit. The case's write-set is planned by
:meth:`servicewf.engine.Engine.plan_history` (the only path that takes historical instants;
the SLA clocks are folded from them) and committed by the engine like any command.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from operator import attrgetter
from types import MappingProxyType
from typing import Any, ClassVar

import attrs

from servicewf._gc import collector_paused
from servicewf._trusted import trusted_constructor
from servicewf.case import SYSTEM, Actor, Case
from servicewf.definition import ProcessDefinition, Transition
from servicewf.engine import Engine
from servicewf.errors import CommandRefused
from servicewf.events import Event, EventKind, register_event_kind
from servicewf.interop.discover import slug
from servicewf.interop.source import ImportedEvent, Log, LossReport
from servicewf.plain import frozen_mapping
from servicewf.storage.base import WriteSet

__all__ = ["HISTORY_DEVIATION", "IMPORT_ACTOR", "IMPORT_TRIGGER", "CaseReplay", "Deviation",
           "ImportResult", "import_log", "replay_case"]

HISTORY_DEVIATION = register_event_kind("history_deviation", system=True)
"""The event kind that records a deviation of an imported fact (system actor only)."""

IMPORT_ACTOR = "import"
"""Actor id and role of imported events whose log names no actor or role."""

IMPORT_TRIGGER = "import"
"""The trigger recorded for an imported move the definition has no trigger for."""

_EMPTY: Mapping[str, Any] = MappingProxyType({})
_SNAKE = re.compile(r"(?<!^)(?=[A-Z])")
_NO_EXTENSIONS = frozen_mapping(None)  # what Case's converter makes of no extensions
_TRANSITION = EventKind.TRANSITION
_NOTE = EventKind.NOTE
_PROXY_ONLY = frozenset({MappingProxyType})
_DATA = attrgetter("data")
_MAX_SHAPES = 10_000
"""Shapes of data (see _Graph.shape) numbered before the numbers and verdicts start again."""


@attrs.frozen
class Deviation:
    """An imported fact that did not fit the definition.

    ``kind``: ``trigger_not_allowed``, ``unknown_trigger``, ``role_not_permitted``,
    ``data_missing``, ``guard_failed``, ``field_not_owned``, ``not_in_graph`` (no trigger
    leads from the state to the one the log names), ``unknown_state``, ``after_final``,
    ``unexpected_start`` (the first state is not the initial one and the case was not
    imported in flight). ``rule`` is the guard's rule id when a guard refused; ``seq`` the
    fact's event in the case, ``row`` its row in the log; ``reason`` says why (never a
    field's value).
    """

    case_id: str
    seq: int
    row: int
    kind: str
    rule: str | None
    state: str
    label: str
    reason: str

    def to_dict(self) -> dict[str, Any]:
        """Plain data."""
        return attrs.asdict(self)


@attrs.frozen
class CaseReplay:
    """One imported case: its events and case as planned, and its deviations."""

    case: Case
    events: tuple[Event, ...]
    deviations: tuple[Deviation, ...]

    @property
    def fits(self) -> bool:
        """True when no fact deviated."""
        return not self.deviations

    @property
    def first_divergence(self) -> Deviation | None:
        """The first deviation, if any."""
        return self.deviations[0] if self.deviations else None


# (CaseReplay's fields have no converter: built here from values made above.)
_case_replay = trusted_constructor(CaseReplay)


def _kind_of(refusal: CommandRefused) -> str:
    return _SNAKE.sub("_", type(refusal).__name__).lower()


# Events and case snapshots of a replay whose data read_log froze (read-only mappings, which
# the converters hand back as they are; the kinds are members): built without the converters,
# which would only confirm that (see servicewf._trusted). Other rows take the checked way.
_trusted_event = trusted_constructor(Event)
_trusted_case = trusted_constructor(Case)


class _Graph:
    """The definition's (source, dest) -> triggers index (state-snapshot logs)."""

    # By the definition object (two definitions may share a name and version: discovered
    # ones do), holding it so its id is not reused while cached.
    _cache: ClassVar[dict[int, tuple[ProcessDefinition, _Graph]]] = {}

    def __init__(self, definition: ProcessDefinition) -> None:
        moves: dict[tuple[str, str], list[str]] = {}
        dests: dict[str, set[str]] = {}
        compiled = definition.compiled
        states = [s.id for s in definition.states]
        for trigger in definition.triggers:
            for state in states:
                for t in compiled.options(trigger, state):
                    dest = t.target(state)
                    found = moves.setdefault((state, dest), [])
                    if trigger not in found:
                        found.append(trigger)
                    dests.setdefault(trigger, set()).add(dest)
        self.moves = moves
        self.dests = dests
        self.states = frozenset(states)
        # A log's names -> state ids and triggers: the id itself, its English label (what
        # discovery keeps of the log's name), and the snake_case form of either.
        self.state_names: dict[str, str] = {}
        for st in definition.states:
            for name in (st.id, st.label("en")):
                self.state_names.setdefault(name, st.id)
                self.state_names.setdefault(slug(name), st.id)
        self.trigger_names: dict[str, str] = {}
        for t in definition.transitions:
            for name in (t.trigger, t.label("en")):
                self.trigger_names.setdefault(name, t.trigger)
                self.trigger_names.setdefault(slug(name), t.trigger)
        self.finals = frozenset(s.id for s in definition.states if s.final)
        self.initial = definition.initial.id  # (a walk over the states: once, not per case)
        self._resolved: dict[tuple[str, int], _Names] = {}
        # (trigger, state) -> the role an imported move without one is recorded with.
        self.default_roles: dict[tuple[str, str], str] = {}
        # (the log's actor, the log's role, trigger, state) -> the Actor of the move.
        self.actors: dict[tuple[str | None, str | None, str | None, str], Actor] = {}
        # Moves the engine allowed, by (state, trigger, the log's role, the shape of the row's
        # read-only data): see replay_case.
        self.judged: dict[tuple[str, str, str | None, int], Transition] = {}
        # State-log rows whose move is remembered in ``judged`` for its first trigger, by
        # (state, the row's state, the log's role, the shape of its data) -> (that trigger,
        # the role its actor is recorded with): see replay_case. Cleared with ``judged``.
        self.steps: dict[tuple[str, str, str | None, int], tuple[str, str]] = {}
        # A read-only mapping's id -> (it, its shape's number); a shape -> its number.
        self._shapes: dict[int, tuple[Mapping[str, Any], int]] = {}
        self._shape_ids: dict[tuple[tuple[str, ...], tuple[str, ...]], int] = {}
        self._pure: dict[tuple[str, str], bool] = {}
        self._compiled = compiled

    def pure(self, state: str, trigger: str) -> bool:
        """Whether the engine's judgement of ``trigger`` in ``state`` depends on nothing but
        the actor's role and the command's data: none of its transitions has a guard (a guard
        may read the case, its data or the instant)."""
        found = self._pure.get((state, trigger))
        if found is None:
            found = self._pure[(state, trigger)] = not any(
                c.checks for c in self._compiled.candidates(trigger, state))
        return found

    def shape(self, data: Mapping[str, Any]) -> int:
        """The number of ``data``'s shape: its keys in order and those whose value is not
        present (``None``, empty text or container). A move without guards is judged on the
        shape of its data alone (required fields present, fields owned), so two mappings of
        one shape get one verdict; and merging a mapping into case data of the same keys,
        in the same order, gives that mapping. ``data`` is read-only (held by the cache, so
        its id stays its own)."""
        found = self._shapes.get(id(data))
        if found is not None:  # (the entry holds the mapping: the id is still its own)
            return found[1]
        # (not _present(v), written out: a call less per value)
        shape = (tuple(data), tuple(k for k, v in data.items() if v is None or (
            isinstance(v, (str, list, tuple, dict, set)) and not v)))
        number = self._shape_ids.get(shape)
        if number is None:
            if len(self._shape_ids) >= _MAX_SHAPES:  # the verdicts name the numbers: all go
                self._shape_ids.clear()
                self.judged.clear()
                self.steps.clear()
                self._shapes.clear()
            number = self._shape_ids[shape] = len(self._shape_ids)
        if len(self._shapes) >= 100_000:
            self._shapes.clear()
        self._shapes[id(data)] = (data, number)
        return number

    def resolve(self, mode: str, names: Mapping[str, str] | None) -> _Names:
        """The log's names -> state ids (``mode`` ``"state"``) or triggers, with ``names``
        (the caller's own) first; shared between the cases of an import when ``names`` is
        the same mapping."""
        key = (mode, id(names) if names else 0)
        found = self._resolved.get(key)
        if found is None or found.names is not names:
            if len(self._resolved) > 16:
                self._resolved.clear()
            found = self._resolved[key] = _Names(self, mode, names)
        return found

    @classmethod
    def of(cls, definition: ProcessDefinition) -> _Graph:
        entry = cls._cache.get(id(definition))
        if entry is not None and entry[0] is definition:
            return entry[1]
        if len(cls._cache) > 64:
            cls._cache.clear()
        graph = cls(definition)
        cls._cache[id(definition)] = (definition, graph)
        return graph


class _Names(dict[str, str]):
    """A log's name -> the definition's id, each name worked out once (see
    :meth:`_Graph.resolve`): in a state log a state id stands for itself, else the caller's
    ``names``, the id, the English label or their snake_case form; a name none of these
    matches stays as it is (and deviates)."""

    def __init__(self, graph: _Graph, mode: str, names: Mapping[str, str] | None) -> None:
        super().__init__()
        self.graph = graph
        self.mode = mode
        self.names = names  # held so that its id is not reused while cached
        table = graph.state_names if mode == "state" else graph.trigger_names
        self.table = {**table, **names} if names else table

    def add(self, label: str) -> str:
        """Resolve ``label`` and remember it (bounded)."""
        if label in self.graph.states and self.mode == "state":
            found = label
        else:
            found = self.table.get(label) or self.table.get(slug(label)) or label
        if len(self) < 100_000:
            self[label] = found
        return found


_ACTORS: dict[tuple[str, str], Actor] = {}


def _actor(actor_id: str, role: str) -> Actor:
    """One Actor value per (id, role): the engine recognises an actor it checked already by
    identity, and an import names the same people again and again."""
    found = _ACTORS.get((actor_id, role))
    if found is None:
        if len(_ACTORS) > 50_000:
            _ACTORS.clear()
        found = _ACTORS[(actor_id, role)] = Actor(actor_id, role)
    return found


def _merge(data: Mapping[str, Any], plain: dict[str, Any] | None, new: Mapping[str, Any]
           ) -> tuple[Mapping[str, Any], dict[str, Any]]:
    """``data`` updated with ``new`` (a new read-only mapping) and the dict behind it.
    ``plain``, the dict behind ``data`` when a merge built it, is copied in C; unpacking a
    read-only mapping goes key by key (four times the cost)."""
    merged = plain.copy() if plain is not None else {**data}
    merged.update(new)
    return MappingProxyType(merged), merged


def _adopt(data: Mapping[str, Any], plain: dict[str, Any] | None, data_shape: int,
           new: Mapping[str, Any], number: int | None
           ) -> tuple[Mapping[str, Any], dict[str, Any] | None, int]:
    """The case data with a row's data ``new`` merged in, the dict behind it (see _merge)
    and its shape: ``new`` itself when its shape ``number`` is the data's (``data_shape``:
    the same keys in the same order) or the data is empty, without a new mapping; else a
    merge, of shape -1 (none: not a row's own mapping). ``number`` is ``None`` for rows that
    are not read-only: always merged."""
    if number is not None and (number == data_shape or not data):
        return new, None, number
    merged, behind = _merge(data, plain, new)
    return merged, behind, -1


def _role_for(definition: ProcessDefinition, trigger: str, state: str) -> str:
    for c in definition.compiled.candidates(trigger, state):
        if c.roles:
            return min(c.roles)
    return IMPORT_ACTOR


def _actor_of(graph: _Graph, definition: ProcessDefinition, who: str | None,
              role: str | None, trigger: str | None, at_state: str) -> Actor:
    """The Actor of a row of the log's actor ``who`` and role ``role`` moving by ``trigger``
    from ``at_state``: the log's role, else the trigger's default there (``"import"`` for
    the opening), remembered per (who, role, trigger, state)."""
    actors = graph.actors
    key = (who, role, trigger, at_state)
    found = actors.get(key)
    if found is None:
        if role is None:
            if trigger:
                default_roles = graph.default_roles
                role = default_roles.get((trigger, at_state))
                if role is None:
                    role = default_roles[(trigger, at_state)] = _role_for(
                        definition, trigger, at_state)
            else:
                role = IMPORT_ACTOR
        found = _actor(who or IMPORT_ACTOR, role)
        if len(actors) > 50_000:
            actors.clear()
        actors[key] = found
    return found


def _deviate(events: list[Event], deviations: list[Deviation], original: dict[int, str],
             rows: Sequence[ImportedEvent], case_id: str, state: str, row: ImportedEvent,
             kind: str, rule: str | None, at_state: str, reason: str) -> None:
    """Record that ``row`` (the last event of ``events``) deviated: a Deviation, and a
    ``history_deviation`` event in ``state`` (the case's state after the fact)."""
    fact = events[-1]
    if not original:  # worked out for the first deviation only (most cases fit)
        original.update({r.row: r.label for r in rows})
    d = Deviation(case_id, fact.seq, row.row, kind, rule, at_state,
                  original.get(row.row, row.label), reason)
    deviations.append(d)
    events.append(Event(case_id, len(events) + 1, fact.at, HISTORY_DEVIATION, SYSTEM.id,
                        SYSTEM.role, fact.trigger, state, state,
                        {"deviation": kind, "rule": rule, "seq": fact.seq, "row": row.row,
                         "reason": reason[:500]}))


def replay_case(
    engine: Engine,
    definition: ProcessDefinition,
    case_id: str,
    rows: Sequence[ImportedEvent],
    *,
    mode: str,
    in_flight: bool = False,
    names: Mapping[str, str] | None = None,
) -> CaseReplay:
    """Rebuild one case from its imported rows (sorted by time), judging each fact.

    ``mode`` is ``"state"`` (each row names the state the case is in) or ``"activity"``
    (each row names a trigger). ``in_flight``: a case whose first state is not the initial
    one opens directly in it (tickets already under way), else it opens in the initial state
    and moves there, and that move is judged like any other.
    """
    graph = _Graph.of(definition)
    resolved = graph.resolve(mode, names)
    # The definition's name of each row's label, beside the rows (not new rows: most
    # labels change, and a tuple per row was a tenth of the replay).
    labels = [resolved.get(r.label) or resolved.add(r.label) for r in rows]
    initial = graph.initial
    events: list[Event] = []
    deviations: list[Deviation] = []
    first = rows[0]
    data: Mapping[str, Any] = _EMPTY
    state = initial
    opened_at = first.at
    name, version = definition.name, definition.version
    # Data as read_log gives it (read-only mappings): events and snapshots are built without
    # the converters, which would hand these mappings back as they are (the case data is then
    # a read-only mapping too: the opening's, or a merge of them).
    frozen_rows = _PROXY_ONLY.issuperset(map(type, map(_DATA, rows)))  # each type, in C
    new_event = _trusted_event if frozen_rows else Event
    original: dict[int, str] = {}  # the log's own name of each row, for deviations

    actors = graph.actors
    # The engine's verdict on a move without guards depends on the state, the trigger, the
    # actor's role (from the log's role, or the trigger's and state's default) and the data,
    # nothing else (see _Graph.pure; not the actor's id: a log names many people): an allowed
    # one is remembered by these, for rows of any case repeating them (most rows of a log
    # do). The data by its shape (_Graph.shape: its keys, and which values are absent).
    # Refusals are not
    # remembered (their text names the case). An engine that judges in its own way (a
    # subclass's judge or _decide), or with another object of this name and version, is
    # asked every time: the memo is this definition's.
    judged = graph.judged
    shape = graph.shape
    shaped = graph._shapes.get  # shape()'s first step, inline where every row takes it
    memo = frozen_rows and type(engine).judge is Engine.judge and \
        type(engine)._decide is Engine._decide and \
        (name, version) in engine.registry and engine.registry.get(name, version) is definition

    # --- the opening ---
    opening_state = initial
    start_label = labels[0] if mode == "state" else None
    if start_label is not None and start_label != initial and in_flight:
        opening_state = start_label
    # The log's role, else "import".
    first_actor = actors.get((first.actor, first.role, None, initial)) or \
        _actor_of(graph, definition, first.actor, first.role, None, initial)
    open_data = first.data if opening_state == start_label else _EMPTY
    events.append(new_event(case_id, 1, first.at, EventKind.OPENED, first_actor.id,
                            first_actor.role, None, None, opening_state, open_data, None))
    state = opening_state
    data = open_data
    if opening_state != initial and opening_state not in graph.states:
        _deviate(events, deviations, original, rows, case_id, state, first, "unknown_state",
                 None, opening_state,
                 f"the log opens the case in state {opening_state!r}, which "
                 f"{definition.name} v{definition.version} does not have")
    elif opening_state == start_label and definition.intake:
        # A state log's first row opens the case with its data: the intake must be there.
        missing = [f for f in definition.intake if data.get(f) in (None, "", [], {})]
        if missing:
            _deviate(events, deviations, original, rows, case_id, state, first,
                     "data_missing", None, state,
                     f"opening needs data the log does not give: {', '.join(missing)}")
    skip = 1 if opening_state == start_label else 0
    remaining: Iterable[tuple[ImportedEvent, str]] = zip(  # noqa: B905 - equal lengths
        rows[skip:], labels[skip:])
    # Rows with equal data share one mapping (read_log interns them): merging the mapping
    # merged last again would change nothing, so the case data is rebuilt only on a change.
    merged: Mapping[str, Any] | None = data if data else None
    plain: dict[str, Any] | None = None  # the dict behind ``data`` once a merge built it
    # The shape of ``data`` when it is a row's own mapping (read_log's), else -1. A row's
    # data merged in is the row's own mapping when the case data is empty or of its shape
    # (no new mapping), else a merge (_merge).
    data_shape = shape(data) if frozen_rows and data else -1

    by_state = mode == "state"
    finals, known_states, moves = graph.finals, graph.states, graph.moves
    # A state-log row whose move graph.steps remembers (its first trigger's verdict in
    # ``judged``, from a state that is not final) is the move the loop below would find:
    # taken at once, with its actor's role (see _Graph.steps).
    steps = graph.steps if by_state and memo else None
    known_actors = _ACTORS
    number = -1  # the shape of the row's data, once worked out for the row
    # The last step row's data and its shape, and the last mover: rows of a case mostly
    # repeat both. (A number goes stale when a new shape numbers them all again, which
    # clears the steps: a stale number then finds no step, and a row without a step works
    # its shape out again.)
    last_data: Mapping[str, Any] | None = None
    last_number = -1
    last_who: str | None = None
    last_role: str | None = None  # (a step's role is never None: no row matches it first)
    last_mover: Actor = first_actor
    for row, label in remaining:
        # The row's fields as locals, in one step (each read below was an attribute load).
        _, _, _, at, who, role, row_data, _, _ = row
        if by_state and label == state:
            # A row that repeats the state: a data update, recorded as a note.
            noted = _actor(who or IMPORT_ACTOR, role or IMPORT_ACTOR)
            events.append(new_event(case_id, len(events) + 1, at, _NOTE, noted.id,
                                    noted.role, None, state, state, row_data, None))
            if row_data and row_data is not merged:
                noted_shape = (numbered[1] if (numbered := shaped(id(row_data))) is not None
                               else shape(row_data)) if frozen_rows else None
                data, plain, data_shape = _adopt(data, plain, data_shape, row_data,
                                                 noted_shape)
                merged = row_data
            if state in finals:
                _deviate(events, deviations, original, rows, case_id, state, row,
                         "after_final", None, state,
                         f"the case was already closed (final state {state!r})")
            continue
        if steps is not None:
            if row_data is last_data:
                number = last_number
            else:
                number = numbered[1] if (numbered := shaped(id(row_data))) is not None \
                    else shape(row_data)
                last_data, last_number = row_data, number
            step = steps.get((state, label, role, number))
            if step is not None:
                trigger, actor_role = step
                if who is last_who and actor_role is last_role:
                    mover = last_mover
                else:
                    mover = known_actors.get((who or IMPORT_ACTOR, actor_role)) or \
                        _actor(who or IMPORT_ACTOR, actor_role)
                    last_who, last_role, last_mover = who, actor_role, mover
                events.append(new_event(case_id, len(events) + 1, at, _TRANSITION, mover.id,
                                        mover.role, trigger, state, label, row_data, None))
                state = label
                if row_data and row_data is not merged:
                    data, plain, data_shape = _adopt(data, plain, data_shape, row_data, number)
                    merged = row_data
                continue
        was_final = state in finals
        refusal: CommandRefused | None = None
        problem: tuple[str, str] | None = None
        actor: Actor | None = None  # of (row, trigger, state) once worked out
        if by_state:
            dest = label
            triggers = moves.get((state, dest), ())
            trigger = triggers[0] if triggers else IMPORT_TRIGGER
            if dest not in known_states:
                problem = ("unknown_state", f"{definition.name} v{definition.version} has no "
                           f"state {dest!r}")
            elif not triggers:
                problem = ("not_in_graph", f"no trigger leads from {state!r} to {dest!r}")
            else:
                current: Case | None = None  # one value for every candidate (Case is frozen)
                for candidate in triggers:
                    if memo and (state, candidate, role, (
                            numbered[1] if (numbered := shaped(id(row_data))) is not None
                            else shape(row_data))) in judged:
                        trigger, refusal = candidate, None
                        break
                    actor = actors.get((who, role, candidate, state)) or \
                        _actor_of(graph, definition, who, role, candidate, state)
                    if current is None:
                        current = _trusted_case(
                            case_id, name, version, state, len(events), opened_at, at, data,
                            _NO_EXTENSIONS) if frozen_rows else Case(
                            case_id, name, version, state, len(events), opened_at, at, data)
                    moved, refused = engine.judge(current, candidate, actor=actor,
                                                  data=row_data, at=at)
                    if moved is not None:
                        if memo and graph.pure(state, candidate):
                            if len(judged) > 100_000:
                                judged.clear()
                                graph.steps.clear()
                            judged[(state, candidate, role, shape(row_data))] = moved
                        trigger, refusal = candidate, None
                        break
                    refusal = refusal or refused
                    actor = None
                if steps is not None and refusal is None and not was_final and \
                        trigger == triggers[0] and \
                        (state, trigger, role, (number := shape(row_data))) in judged:
                    if actor is None:
                        actor = actors.get((who, role, trigger, state)) or \
                            _actor_of(graph, definition, who, role, trigger, state)
                    if len(steps) > 100_000:
                        steps.clear()
                    steps[(state, dest, role, number)] = (trigger, actor.role)
        else:
            trigger = label
            moved = judged.get((state, trigger, role, shape(row_data))) if memo \
                else None
            if moved is not None:
                refusal = None
            else:
                actor = actors.get((who, role, trigger, state)) or \
                    _actor_of(graph, definition, who, role, trigger, state)
                moved, refusal = engine.judge(
                    _trusted_case(case_id, name, version, state, len(events), opened_at, at,
                                  data, _NO_EXTENSIONS) if frozen_rows else
                    Case(case_id, name, version, state, len(events), opened_at, at, data),
                    trigger, actor=actor, data=row_data, at=at)
                if moved is not None and memo and graph.pure(state, trigger):
                    if len(judged) > 100_000:
                        judged.clear()
                        graph.steps.clear()
                    judged[(state, trigger, role, shape(row_data))] = moved
            if moved is not None:
                dest = moved.target(state)
            else:
                known = graph.dests.get(trigger, set())
                dest = next(iter(known)) if len(known) == 1 else state
        if actor is None:
            actor = actors.get((who, role, trigger, state)) or \
                _actor_of(graph, definition, who, role, trigger, state)
        events.append(new_event(case_id, len(events) + 1, at, _TRANSITION, actor.id,
                                actor.role, trigger, state, dest, row_data, None))
        source = state
        state = dest
        if row_data and row_data is not merged:
            data, plain, data_shape = _adopt(data, plain, data_shape, row_data,
                                             shape(row_data) if frozen_rows else None)
            merged = row_data
        if was_final:
            _deviate(events, deviations, original, rows, case_id, state, row, "after_final",
                     None, source, f"the case was already closed (final state {source!r})")
        elif problem is not None:
            _deviate(events, deviations, original, rows, case_id, state, row, problem[0],
                     None, source, problem[1])
        elif refusal is not None:
            _deviate(events, deviations, original, rows, case_id, state, row,
                     _kind_of(refusal), getattr(refusal, "rule", None), source, str(refusal))
    last = events[-1]
    if frozen_rows:
        case = _trusted_case(case_id, name, version, state, len(events), opened_at, last.at,
                             data, _NO_EXTENSIONS)
    else:
        case = Case(case_id, name, version, state, len(events), opened_at, last.at, data)
    return _case_replay(case, tuple(events), tuple(deviations))


@attrs.define
class ImportResult:
    """What an import did: the loss report, each case's replay summary (fits, deviations;
    its events are not kept), and how many events were written."""

    report: LossReport
    process: str
    cases: dict[str, tuple[Deviation, ...]] = attrs.field(factory=dict)
    events_written: int = 0

    @property
    def cases_fitting(self) -> int:
        """Cases without a deviation."""
        return sum(1 for d in self.cases.values() if not d)

    @property
    def deviations(self) -> list[Deviation]:
        """Every deviation, case by case."""
        return [d for ds in self.cases.values() for d in ds]


def _commit_batch(engine: Engine, writes: list[WriteSet]) -> None:
    """Commit ``writes`` through the engine in one store call: one transaction on a SQL
    store (all or nothing, so a failed batch leaves no half-imported case; multi-row
    inserts), one by one on the memory store (each write-set atomic on its own)."""
    engine.commit_many(writes)


def import_log(
    engine: Engine,
    log: Log,
    process: str,
    *,
    version: int | None = None,
    in_flight: bool = False,
    names: Mapping[str, str] | None = None,
    batch: int = 500,
    progress: Callable[[int, int], None] | None = None,
) -> ImportResult:
    """Replay every case of ``log`` against ``process`` and write it through the engine.

    Each case becomes one write-set (:meth:`Engine.plan_history`); ``batch`` write-sets go
    into one transaction on a SQL store. ``progress(done, total)`` is told the cases done.
    Cases that exist in the store already are refused by the store (``CaseAlreadyExists``).
    """
    with collector_paused(kept=True):  # acyclic objects, all kept: see servicewf._gc
        return _import_log(engine, log, process, version, in_flight, names, batch, progress)


def _import_log(engine: Engine, log: Log, process: str, version: int | None, in_flight: bool,
                names: Mapping[str, str] | None, batch: int,
                progress: Callable[[int, int], None] | None) -> ImportResult:
    definition = engine.registry.get(process, version)
    result = ImportResult(log.report, definition.name)
    pending: list[WriteSet] = []
    total = len(log.cases)
    mode = log.columns.mode
    for done, (case_id, rows) in enumerate(log.cases.items(), start=1):
        replayed = replay_case(engine, definition, case_id, rows, mode=mode,
                               in_flight=in_flight, names=names)
        pending.append(engine.plan_history(replayed.case, replayed.events))
        result.cases[case_id] = replayed.deviations
        result.events_written += len(replayed.events)
        if len(pending) >= batch:
            _commit_batch(engine, pending)
            pending = []
            if progress is not None:
                progress(done, total)
    if pending:
        _commit_batch(engine, pending)
    if progress is not None:
        progress(total, total)
    return result


