"""Hypothesis strategies for testing service processes (needs ``hypothesis``; the payload
strategies need ``hypothesis-jsonschema``: ``pip install 'servicewf[testing]'``).

- :func:`command_sequences`: legal sequences of triggers through a definition's graph;
- :func:`histories`: histories made by a real engine (so they pass every guard), optionally
  mutated to break a chosen rule (:func:`~servicewf.testing.mutate.break_rule`);
- :func:`calendars`: business calendars (weekly hours on a 15-minute grid, holidays);
- :func:`payloads`: command data generated from a JSON Schema (:func:`payload_schema` gives
  the one a transition's required fields imply).
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable, Mapping
from typing import Any

import pendulum
from hypothesis import strategies as st

from servicewf.calendar import BusinessCalendar
from servicewf.clock import FrozenClock
from servicewf.compliance.rules import Rule
from servicewf.definition import ProcessDefinition
from servicewf.engine import Engine
from servicewf.errors import CommandRefused
from servicewf.events import Event
from servicewf.storage.memory import MemoryStore
from servicewf.testing import Paths, _actors, open_case, sample_data
from servicewf.testing.mutate import break_rule

__all__ = ["calendars", "command_sequences", "histories", "payload_schema", "payloads"]

_START = pendulum.datetime(2026, 3, 2, 9, 0, tz="Asia/Shanghai")


@st.composite
def command_sequences(draw: st.DrawFn, definition: ProcessDefinition, *,
                      max_length: int = 20, start: str | None = None) -> list[str]:
    """A sequence of triggers the graph allows from ``start`` (the initial state), each fired
    from the state the previous one reached (guards are not evaluated: a graph walk)."""
    graph = Paths(definition)
    state = start or definition.initial.id
    out: list[str] = []
    for _ in range(draw(st.integers(0, max_length))):
        edges = graph.edges(state)
        if not edges:
            break
        trigger, state = draw(st.sampled_from(edges))
        out.append(trigger)
    return out


def _engine(definition: ProcessDefinition, registry: Any, clock: FrozenClock) -> Engine:
    if registry is not None:
        from servicewf.processes.policies import default_sla

        try:
            sla = default_sla(registry=registry)
        except Exception:  # a registry the default policies do not fit: no clocks
            return Engine(MemoryStore(), clock, registry)
        return Engine(MemoryStore(), clock, registry, processors=[sla])
    return Engine(MemoryStore(), clock, [definition])


@st.composite
def histories(draw: st.DrawFn, definition: ProcessDefinition, *, registry: Any = None,
              max_steps: int = 15, through: Iterable[str] = (),
              violate: Rule | None = None, finish: bool = True, to: str | None = None,
              minutes: tuple[int, int] = (1, 4)) -> list[Event]:
    """A history of ``definition`` made by a real engine (every guard passed): a random walk
    of up to ``max_steps`` commands with valid sample data and permitted actors, preferring
    the triggers in ``through`` when they are allowed, then (``finish``) the shortest path to
    the final state ``to`` (a random one by default) when it can still be reached. Between
    commands the clock moves ``minutes`` (inclusive range).

    With ``violate``, the history is mutated to break that rule (histories the rule does not
    activate are filtered out); :func:`~servicewf.testing.mutate.break_rule` gives the
    mutation with the sequence numbers that must be reported.
    """
    from servicewf.processes import builtin_registry

    reg = registry
    if reg is None:
        try:
            reg = builtin_registry()
            if reg.get(definition.name, definition.version) != definition:
                reg = None
        except Exception:
            reg = None
    clock = FrozenClock(_START)
    engine = _engine(definition, reg, clock)
    case = open_case(engine, definition.name)
    preferred = set(through)
    graph = Paths(definition)

    def step(trigger: str) -> bool:
        nonlocal case
        now = clock.now()
        options = definition.compiled.options(trigger, case.state)
        required = tuple(f for o in options for f in o.required)
        data = sample_data(definition, trigger, now, required)
        for who in _actors(definition, trigger, case.state):
            try:
                write = engine.plan_fire(case, trigger, actor=who, data=data)
            except CommandRefused:
                continue
            case = engine.commit(write)
            return True
        return False

    def tick() -> None:
        clock.advance(minutes=draw(st.integers(*minutes)))

    for _ in range(draw(st.integers(0, max_steps))):
        # With a goal, the walk never ends early in another final state (a cancellation).
        edges = [t for t, dest in graph.edges(case.state)
                 if to is None or dest == to or not definition.is_final(dest)]
        if not edges:
            break
        wanted = [t for t in edges if t in preferred]
        prefer = bool(wanted) and draw(st.booleans())
        trigger = draw(st.sampled_from(wanted if prefer else edges))
        tick()
        step(trigger)
    if finish and not definition.is_final(case.state):
        finals = [s.id for s in definition.states if s.final]
        goal = to if to is not None and graph.exists(case.state, to) else draw(
            st.sampled_from(finals))
        for _ in range(40):
            route = graph.shortest(case.state, goal)
            if not route:
                break
            tick()
            if not step(route[0][0]):
                break
    events = engine.history(case.id)
    if violate is None:
        return events
    mutation = break_rule(events, violate)
    from hypothesis import assume

    assume(mutation is not None and bool(mutation.seqs))
    assert mutation is not None
    return list(mutation.events)


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


@st.composite
def calendars(draw: st.DrawFn, *, zones: Iterable[str] = ("Asia/Shanghai", "UTC",
                                                          "Europe/London")) -> BusinessCalendar:
    """A business calendar: a zone, 1–2 intervals per weekday on a 15-minute grid (some days
    closed, at least one open), and a few holidays in 2026."""
    zone = draw(st.sampled_from(list(zones)))
    weekly: dict[str, list[list[str]]] = {}
    for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun"):
        if draw(st.integers(0, 4)) == 0:
            continue
        a = draw(st.integers(6 * 4, 11 * 4)) * 15
        b = draw(st.integers(a // 15 + 1, 14 * 4)) * 15
        spans = [[_hhmm(a), _hhmm(b)]]
        if draw(st.booleans()):
            c = draw(st.integers(b // 15 + 1, 17 * 4)) * 15
            d = draw(st.integers(c // 15 + 1, 21 * 4)) * 15
            spans.append([_hhmm(c), _hhmm(d)])
        weekly[day] = spans
    if not weekly:
        weekly["mon"] = [["09:00", "17:00"]]
    days = draw(st.lists(st.dates(_dt.date(2026, 1, 1), _dt.date(2026, 12, 31)), max_size=5,
                         unique=True))
    data: dict[str, Any] = {"timezone": zone, "weekly": weekly}
    if days:
        data["holidays"] = [d.isoformat() for d in sorted(days)]
    return BusinessCalendar.from_dict(data)


def payload_schema(definition: ProcessDefinition, trigger: str,
                   fields: Mapping[str, Mapping[str, Any]] | None = None) -> dict[str, Any]:
    """The JSON Schema of the data a transition needs: every required field of ``trigger``
    (any of its transitions) is a non-blank text unless ``fields`` gives its schema."""
    required = sorted({f for t in definition.transitions if t.trigger == trigger
                       for f in t.required})
    given = dict(fields or {})
    props = {f: dict(given.get(f, {"type": "string", "pattern": r"\S"})) for f in required}
    for f, schema in given.items():
        props.setdefault(f, dict(schema))
    return {"type": "object", "required": required, "properties": props,
            "additionalProperties": False}


def payloads(schema: Mapping[str, Any]) -> st.SearchStrategy[Any]:
    """Values valid against the JSON Schema ``schema`` (hypothesis-jsonschema).

    An object schema with listed ``properties`` is drawn field by field
    (``st.fixed_dictionaries``; optional properties sometimes): hypothesis-jsonschema 0.23's own
    object strategy uses a hypothesis internal that hypothesis 6.1xx removed
    (``AttributeError: 'many' object has no attribute 'more'``), while its leaf schemas work.
    """
    from hypothesis_jsonschema import from_schema

    if schema.get("type") == "object" and "properties" in schema and \
            schema.get("additionalProperties") is False and not schema.get("patternProperties"):
        props: Mapping[str, Any] = schema["properties"]
        required = set(schema.get("required", ()))
        return st.fixed_dictionaries(
            {k: payloads(v) for k, v in props.items() if k in required},
            optional={k: payloads(v) for k, v in props.items() if k not in required})
    return from_schema(dict(schema))
