"""The engine's own checks: who is acting, what ``available`` answers, what processors may do.

Each test names a behaviour a command must keep: a refusal that changes nothing, or the value
a caller can rely on.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs
import pytest

from servicewf import Actor, Engine, EventKind, FrozenClock, MemoryStore, Registry
from servicewf.case import Case
from servicewf.definition import ProcessDefinition
from servicewf.engine import TriggerOption, replay
from servicewf.errors import InvalidIdentifier, InvalidProcessor
from servicewf.events import Event
from servicewf.storage.base import Timer
from tests.helpers import START, ticket_definition

AGENT = Actor("a1", "agent")
BOSS = Actor("b1", "supervisor")


def make_engine(**kwargs: object) -> tuple[Engine, FrozenClock]:
    clock = FrozenClock(START)
    v1 = ticket_definition()
    b2 = v1.derive()
    b2.migrators = ("supervisor",)
    engine = Engine(MemoryStore(), clock, Registry([v1, b2.build()]), **kwargs)  # type: ignore[arg-type]
    return engine, clock


def stored(engine: Engine, case_id: str) -> tuple[object, ...]:
    return engine.get(case_id), engine.history(case_id), engine.store.timers(case_id)


# --- the actor --------------------------------------------------------------------------------

BAD_ACTORS = [Actor("a1\n", "agent"), Actor("a1", ""), Actor(" a1", "agent"), "a1",
              ("a1", "agent")]


@pytest.mark.parametrize("bad", BAD_ACTORS, ids=repr)
def test_every_command_checks_the_actor(bad: object) -> None:
    engine, _ = make_engine()
    case = engine.open("ticket", actor=AGENT, version=1)
    before = stored(engine, case.id)
    commands = {
        "open": lambda: engine.open("ticket", actor=bad),
        "fire": lambda: engine.fire(case.id, "cancel", actor=bad, data={"reason": "x"}),
        "record": lambda: engine.record(case.id, EventKind.NOTE, actor=bad),
        "migrate": lambda: engine.migrate(case.id, 2, actor=bad),
        "available": lambda: engine.available(case.id, bad),  # type: ignore[arg-type]
    }
    for name, command in commands.items():
        with pytest.raises(InvalidIdentifier) as refused:
            command()
        assert refused.value.what in ("actor", "actor id", "role"), name
    assert stored(engine, case.id) == before
    assert engine.store.count() == 1


def test_an_actor_checked_once_is_still_checked_on_every_command_kind() -> None:
    # A valid actor is remembered; a bad one never is, whichever command saw it first.
    engine, _ = make_engine()
    case = engine.open("ticket", actor=AGENT, version=1)
    bad = Actor("b1", "super\tvisor")
    for _ in range(2):
        with pytest.raises(InvalidIdentifier):
            engine.fire(case.id, "cancel", actor=bad, data={"reason": "x"})
        with pytest.raises(InvalidIdentifier):
            engine.migrate(case.id, 2, actor=bad)
    assert engine.migrate(case.id, 2, actor=BOSS).definition_version == 2


# --- available() ------------------------------------------------------------------------------


def test_available_is_a_value_equal_whatever_the_refusal_objects() -> None:
    engine, _ = make_engine()
    case = engine.open("ticket", actor=AGENT)
    first, second = engine.available(case, AGENT), engine.available(case, AGENT)
    assert first == second  # two answers to the same question compare equal
    options = {o.trigger: o for o in first}
    assert options["finish"].refusal is not None
    # the refusal is an explanation, not part of the value
    assert options["finish"] == TriggerOption("finish", None, False)
    assert options["cancel"] == TriggerOption("cancel", "cancelled", True, ("reason",))


# --- processors -------------------------------------------------------------------------------


@attrs.define
class Stamp:
    """A processor that keeps one timer per case under its prefix and counts its events."""

    timer_prefix: str | None = "stamp:"
    produce: bool = True

    def process(self, definition: ProcessDefinition, case: Case,
                events: Sequence[Event]) -> tuple[Case, Sequence[Timer] | None]:
        seen = int(case.extensions.get("stamp", 0)) + len(events)
        case = attrs.evolve(case, extensions={**case.extensions, "stamp": seen})
        if not self.produce:
            return case, None
        name = f"{self.timer_prefix or ''}due"
        return case, [Timer(case.id, name, events[-1].at.add(hours=1), case.process)]


@pytest.mark.parametrize("prefix", ["", 7, b"x:"], ids=repr)
def test_a_processor_must_declare_a_usable_timer_prefix(prefix: object) -> None:
    with pytest.raises(InvalidProcessor):
        make_engine(processors=[Stamp(timer_prefix=prefix)])  # type: ignore[arg-type]


def test_processors_may_not_share_a_timer_prefix() -> None:
    with pytest.raises(InvalidProcessor):
        make_engine(processors=[Stamp("sla:"), Stamp("sla:x")])
    engine, _ = make_engine(processors=[Stamp("a:"), Stamp("b:")])
    # added after construction: the command refuses instead of losing one's timers
    engine.processors.append(Stamp("a:b"))
    with pytest.raises(InvalidProcessor, match="overlapping"):
        engine.open("ticket", actor=AGENT)
    assert engine.store.count() == 0


def test_a_processor_returning_timers_without_a_prefix_is_refused() -> None:
    engine, _ = make_engine(processors=[Stamp(timer_prefix=None)])
    with pytest.raises(InvalidProcessor, match="timer_prefix"):
        engine.open("ticket", actor=AGENT)
    assert engine.store.count() == 0
    quiet, _ = make_engine(processors=[Stamp(timer_prefix=None, produce=False)])
    assert quiet.open("ticket", actor=AGENT).extensions == {"stamp": 1}


def test_processors_derive_state_and_own_only_their_timers() -> None:
    engine, clock = make_engine(processors=[Stamp("a:"), Stamp("b:", produce=False)])
    case = engine.open("ticket", actor=AGENT)
    assert case.extensions == {"stamp": 2}  # both saw the opening
    assert [t.name for t in engine.store.timers(case.id)] == ["a:due"]
    engine.store.set_timers(case.id, [*engine.store.timers(case.id),
                                      Timer(case.id, "b:kept", START.add(days=1), "ticket")])
    clock.advance(minutes=10)
    case = engine.fire(case, "register", actor=AGENT, data={"request_type": "x"})
    assert case.extensions == {"stamp": 4} and engine.get(case.id) == case
    timers = {t.name: t.due for t in engine.store.timers(case.id)}
    # "a:" replaced its timer; "b:" returned None, so its timer stays as it was
    assert timers == {"a:due": START.add(minutes=10, hours=1), "b:kept": START.add(days=1)}


# --- field ownership --------------------------------------------------------------------------


def test_an_ownership_refusal_says_what_the_command_may_write() -> None:
    from servicewf import DefinitionBuilder
    from servicewf.errors import FieldNotOwned

    b = DefinitionBuilder("owned", 1)
    b.add_state("new", initial=True)
    b.add_state("done", final=True)
    b.add_transition("note", "new", "=", writes=("note", "tags"))
    b.add_transition("close", "new", "done")
    b.own_fields()
    engine = Engine(MemoryStore(), FrozenClock(START), [b.build()])
    case = engine.open("owned", actor=AGENT)
    with pytest.raises(FieldNotOwned) as refused:
        engine.fire(case, "note", actor=AGENT, data={"note": "n", "scope": "all"})
    assert refused.value.fields == ("scope",)
    assert "writes: note, tags" in str(refused.value)
    with pytest.raises(FieldNotOwned) as nothing:
        engine.fire(case, "close", actor=AGENT, data={"note": "n"})
    assert "writes: no data" in str(nothing.value)


# --- replay -----------------------------------------------------------------------------------


def test_replay_refuses_a_history_that_opens_elsewhere_or_migrates_into_nowhere() -> None:
    from servicewf import DefinitionBuilder
    from servicewf.errors import HistoryMismatch

    engine, _ = make_engine()
    case = engine.open("ticket", actor=AGENT, version=1)
    case = engine.fire(case, "register", actor=AGENT, data={"request_type": "x"})
    case = engine.migrate(case, 2, actor=BOSS)
    events = engine.history(case.id)
    assert replay_ok(engine, events) == case

    moved = [attrs.evolve(events[0], dest="registered"), *events[1:]]
    with pytest.raises(HistoryMismatch, match="opens in 'registered'") as opened:
        replay(ticket_definition(), moved)
    assert (opened.value.case_id, opened.value.seq) == (case.id, 1)

    b = DefinitionBuilder("ticket", 2)  # a v2 without the state the case is in
    b.add_state("received", initial=True)
    b.add_state("done", final=True)
    b.add_transition("finish", "received", "done")
    narrow = Registry([ticket_definition(), b.build()])
    with pytest.raises(HistoryMismatch, match="v2 has no 'registered'") as missing:
        replay(ticket_definition(), events, registry=narrow)
    assert missing.value.seq == 3


def replay_ok(engine: Engine, events: Sequence[Event]) -> Case:
    return replay(ticket_definition(), events, registry=engine.registry)
