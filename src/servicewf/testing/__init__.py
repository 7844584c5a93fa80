"""The testing kit: prove in your own tests that your service process complies.

Installed with servicewf, it registers a pytest plugin (the ``pytest11`` entry point
``servicewf``) with the fixtures ``swf_clock`` (a frozen clock) and ``swf_engine`` (the built-in
processes with their default SLA clocks on a memory store; ``@pytest.mark.swf_backends("memory",
"sqlite", "postgresql")`` or ``--swf-backend`` runs a test on other stores). Beside them:

- :func:`open_case` and :func:`drive`: open a case with valid data and fire the shortest legal
  path to a state, with valid generated data and permitted actors;
- :func:`assert_refused`: a context manager that checks a command is refused with an error
  type and the rule it cites (``rule="C11"``);
- :func:`assert_complies`: a history (or a case) satisfies the compliance rules;
- :func:`paths`: queries over a definition's graph (``exists``, ``must_pass``, ``shortest``,
  ``all_paths``) to prove a property of every path, not one;
- :mod:`servicewf.testing.strategies`: hypothesis strategies (command sequences, histories
  valid or mutated to break a chosen rule, calendars, payloads from JSON Schemas).
"""

from __future__ import annotations

import collections
import contextlib
import datetime as _dt
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import attrs

from servicewf.case import Actor, Case
from servicewf.compliance import (
    Environment,
    Report,
    Rule,
    Verdict,
    check,
    guideline_rules,
)
from servicewf.compliance.checker import History
from servicewf.definition import ProcessDefinition, Registry
from servicewf.engine import Engine
from servicewf.errors import CommandRefused, GuardFailed, RoleNotPermitted
from servicewf.events import Event
from servicewf.testing.samples import SAMPLES

__all__ = [
    "ROLES",
    "Paths",
    "Refusal",
    "assert_complies",
    "assert_refused",
    "drive",
    "open_case",
    "paths",
    "sample_data",
    "sample_intake",
]

ROLES: tuple[str, ...] = ("agent", "supervisor", "manager", "executive", "customer")
"""Roles :func:`drive` tries, after the ones a step names, until one is permitted."""


# --- sample data -------------------------------------------------------------------------------


def _fill(value: Any, now: _dt.datetime) -> Any:
    if isinstance(value, str) and value.startswith("{") and value.endswith("}"):
        import pendulum

        at = pendulum.instance(now).in_timezone("Asia/Shanghai")
        found = {"{now}": at.isoformat(), "{soon}": at.add(days=7).isoformat(),
                 "{later}": at.add(days=60).isoformat(),
                 "{retain}": at.add(years=5).date().isoformat(),
                 "{last_week}": at.subtract(days=7).date().isoformat()}.get(value)
        return value if found is None else found
    if isinstance(value, list):
        return [_fill(v, now) for v in value]
    if isinstance(value, Mapping):
        return {k: _fill(v, now) for k, v in value.items()}
    return value


def sample_intake(definition: ProcessDefinition, now: _dt.datetime) -> dict[str, Any]:
    """Valid data to open a case of ``definition``: the built-in samples for a built-in
    process, else a text per intake field."""
    known = SAMPLES.get(definition.name)
    if known is not None:
        return dict(_fill(known["intake"], now))
    return {f: f"{f} (sample)" for f in definition.intake}


def sample_data(definition: ProcessDefinition, trigger: str, now: _dt.datetime,
                required: Sequence[str] = ()) -> dict[str, Any]:
    """Valid data for ``trigger``: the built-in sample for a built-in process, completed with
    a text for each ``required`` field it lacks."""
    step = SAMPLES.get(definition.name, {}).get("steps", {}).get(trigger)
    data: dict[str, Any] = dict(_fill(step["data"], now)) if step else {}
    for f in required:
        data.setdefault(f, f"{f} (sample)")
    return data


def open_case(engine: Engine, process: str, *, data: Mapping[str, Any] | None = None,
              actor: Actor | None = None, case_id: str | None = None) -> Case:
    """Open a case of ``process`` with valid sample intake data (``data`` overrides)."""
    definition = engine.registry.get(process)
    intake = {**sample_intake(definition, engine.clock.now()), **(data or {})}
    return engine.open(process, actor=actor or Actor("swf-agent", "agent"), data=intake,
                       case_id=case_id)


# --- graph queries ------------------------------------------------------------------------------


@attrs.frozen
class Paths:
    """Queries over the graph of a definition: states are nodes, transitions edges labelled
    by their trigger. ``avoiding`` and ``through`` name states or triggers."""

    definition: ProcessDefinition

    def edges(self, state: str) -> list[tuple[str, str]]:
        """``(trigger, destination)`` of every transition out of ``state``."""
        d = self.definition
        compiled = d.compiled
        return [(trigger, t.target(state)) for trigger in d.triggers
                for t in compiled.options(trigger, state)]

    def shortest(self, source: str, dest: str, *,
                 avoiding: Iterable[str] = ()) -> list[tuple[str, str]] | None:
        """The shortest path as ``[(trigger, state reached), ...]`` (``[]`` when ``source``
        is ``dest``), or ``None`` when there is none."""
        avoid = set(avoiding)
        if source in avoid:
            return None
        prev: dict[str, tuple[str, str] | None] = {source: None}
        queue = collections.deque([source])
        while queue:
            s = queue.popleft()
            if s == dest:
                path: list[tuple[str, str]] = []
                while prev[s] is not None:
                    p, trig = prev[s]  # type: ignore[misc]
                    path.append((trig, s))
                    s = p
                return path[::-1]
            for trig, nxt in self.edges(s):
                if nxt in prev or nxt in avoid or trig in avoid:
                    continue
                prev[nxt] = (s, trig)
                queue.append(nxt)
        return None

    def exists(self, source: str, dest: str, *, avoiding: Iterable[str] = ()) -> bool:
        """Whether some path leads from ``source`` to ``dest`` without the states or
        triggers in ``avoiding``."""
        return self.shortest(source, dest, avoiding=avoiding) is not None

    def must_pass(self, source: str, dest: str, through: str | Iterable[str]) -> bool:
        """Whether every path from ``source`` to ``dest`` passes ``through`` (a state or a
        trigger, or any of several): no path avoids it. ``False`` when no path exists at all
        (nothing to prove is not proof)."""
        names = {through} if isinstance(through, str) else set(through)
        if not self.exists(source, dest):
            return False
        return not self.exists(source, dest, avoiding=names)

    def all_paths(self, source: str, dest: str, *, max_length: int = 20,
                  max_visits: int = 1) -> Iterator[list[tuple[str, str]]]:
        """Every path from ``source`` to ``dest`` of at most ``max_length`` steps, visiting a
        state at most ``max_visits`` times (loops unrolled that often)."""
        visits: collections.Counter[str] = collections.Counter({source: 1})
        path: list[tuple[str, str]] = []

        def walk(s: str) -> Iterator[list[tuple[str, str]]]:
            if s == dest and path:
                yield list(path)
            if len(path) >= max_length:
                return
            for trig, nxt in self.edges(s):
                if visits[nxt] >= max_visits + (1 if nxt == dest and s != dest else 0):
                    continue
                visits[nxt] += 1
                path.append((trig, nxt))
                yield from walk(nxt)
                path.pop()
                visits[nxt] -= 1

        if source == dest:
            yield []
        yield from walk(source)


def paths(definition: ProcessDefinition) -> Paths:
    """Graph queries over ``definition`` (:class:`Paths`)."""
    return Paths(definition)


# --- driving a case ---------------------------------------------------------------------------


def _actors(definition: ProcessDefinition, trigger: str, state: str) -> list[Actor]:
    step = SAMPLES.get(definition.name, {}).get("steps", {}).get(trigger, {})
    roles: list[str] = []
    if step.get("role"):
        roles.append(step["role"])
    for c in definition.compiled.options(trigger, state):
        roles += list(c.roles or ())
    roles += list(ROLES)
    out: list[Actor] = []
    for r in dict.fromkeys(roles):
        out.append(Actor(step.get("by") or f"swf-{r}", r))
        if step.get("by"):
            out.append(Actor(f"swf-{r}", r))
    return list(dict.fromkeys(out))


def drive(engine: Engine, case: Case | str, to: str, *,
          data: Mapping[str, Mapping[str, Any]] | None = None,
          actor: Actor | None = None, max_steps: int = 50) -> Case:
    """Fire the shortest legal path from the case's state to the state ``to`` and return the
    case there.

    Each step gets valid data (the built-in samples, or a text per required field; ``data``
    maps a trigger to data that overrides it) and a permitted actor (``actor``, else the
    first of the step's roles, the transition's roles and :data:`ROLES` the engine accepts:
    each try is planned, never written, until one passes). Raises ``AssertionError`` when no
    path leads there or a step is refused for every actor.
    """
    current = engine.get(case) if isinstance(case, str) else case
    definition = engine.registry.get(current.process, current.definition_version)
    graph = paths(definition)
    overrides = data or {}
    for _ in range(max_steps):
        if current.state == to:
            return current
        route = graph.shortest(current.state, to)
        if route is None:
            raise AssertionError(f"no path from {current.state!r} to {to!r} in "
                                 f"{definition.name}")
        trigger, _dest = route[0]
        now = engine.clock.now()
        options = definition.compiled.options(trigger, current.state)
        required = tuple(f for o in options for f in o.required)
        payload = {**sample_data(definition, trigger, now, required),
                   **overrides.get(trigger, {})}
        last: CommandRefused | None = None
        write = None
        for who in ([actor] if actor is not None else _actors(definition, trigger,
                                                                 current.state)):
            try:
                write = engine.plan_fire(current, trigger, actor=who, data=payload)
            except (RoleNotPermitted, GuardFailed) as refusal:
                last = refusal
                continue
            break
        if write is None:
            raise AssertionError(f"drive: {trigger!r} from {current.state!r} was refused for "
                                 f"every actor tried: {last}")
        current = engine.commit(write)
    raise AssertionError(f"drive: {to!r} not reached in {max_steps} steps")


# --- assertions ---------------------------------------------------------------------------------


@attrs.define
class Refusal:
    """What :func:`assert_refused` caught (``error`` is set once the block raised)."""

    error: BaseException | None = None


def _cites(error: BaseException, rule: str) -> bool:
    cited = getattr(error, "rule", None)
    if not isinstance(cited, str):
        return False
    return cited == rule or cited.startswith(rule + " ") or cited.startswith(rule + "(")


@contextlib.contextmanager
def assert_refused(error: type[BaseException] = CommandRefused, *, rule: str | None = None,
                   guard: str | None = None) -> Iterator[Refusal]:
    """Check that the block raises ``error`` citing ``rule`` (``"C11"`` matches the
    guard's ``"C11 (004 §6)"``) and, if given, from ``guard``."""
    caught = Refusal()
    try:
        yield caught
    except error as exc:
        caught.error = exc
        if rule is not None and not _cites(exc, rule):
            raise AssertionError(f"refused with {type(exc).__name__} citing "
                                 f"{getattr(exc, 'rule', None)!r}, not {rule!r}: {exc}") from exc
        if guard is not None and getattr(exc, "guard", None) != guard:
            raise AssertionError(f"refused by guard {getattr(exc, 'guard', None)!r}, not "
                                 f"{guard!r}: {exc}") from exc
    except BaseException as exc:
        raise AssertionError(f"expected {error.__name__}, got {type(exc).__name__}: "
                             f"{exc}") from exc
    else:
        raise AssertionError(f"expected {error.__name__}" + (f" citing {rule}" if rule else "")
                             + ", but nothing was refused")


def assert_complies(history: Case | Sequence[Event], rules: Iterable[Rule] | None = None, *,
                    engine: Engine | None = None, env: Environment | None = None,
                    as_of: _dt.datetime | None = None, allow_pending: bool = True) -> Report:
    """Check a history (or a case, read through ``engine``) against ``rules`` (default: the
    guideline rules C1–C15 and retention); raise ``AssertionError`` listing every violated
    rule with its events and reason. ``allow_pending=False`` also fails on "possibly
    violated" (an open case that does not comply yet). Returns the report."""
    if isinstance(history, Case):
        if engine is None:
            raise TypeError("assert_complies(case) needs engine= to read its history")
        events: Sequence[Event] = engine.history(history.id)
        process: str | None = history.process
        registry: Registry | None = engine.registry
    else:
        events = list(history)
        process = None
        registry = env.registry if env is not None else (
            engine.registry if engine is not None else None)
    chosen = list(rules) if rules is not None else guideline_rules()
    case_id = events[0].case_id if events else ""
    report = check([History(case_id, process, events)], chosen, as_of=as_of,
                   registry=registry, env=env)
    bad = [o for o in report.outcomes if o.verdict is Verdict.VIOLATED
           or (not allow_pending and o.verdict is Verdict.POSSIBLY_VIOLATED)]
    if bad:
        lines = [f"  {o.rule}: {o.verdict.value} at "
                 f"#{','.join(map(str, o.violations or o.pending))} — {o.reason}" for o in bad]
        raise AssertionError(f"case {case_id} does not comply:\n" + "\n".join(lines))
    return report
