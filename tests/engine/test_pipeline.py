"""The command pipeline: plan → write-set → store (atomic) → after-commit observers."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import attrs
import pendulum
import pytest

from servicewf import (
    STAY,
    Actor,
    Case,
    DefinitionBuilder,
    Engine,
    Event,
    EventKind,
    FrozenClock,
    Hooks,
    InvalidProcessor,
    ObserverFailed,
    StaleVersion,
    Timer,
    WriteSet,
)
from servicewf.definition import ProcessDefinition
from servicewf.storage import Store

from ..contract.backends import BACKENDS, make_store

T0 = pendulum.datetime(2026, 6, 1, 9, tz="UTC")
AGENT = Actor("amy", "agent")


def definition() -> ProcessDefinition:
    b = DefinitionBuilder("job")
    b.add_state("new", initial=True)
    b.add_state("busy")
    b.add_state("done", final=True)
    b.add_transition("start", "new", "busy")
    b.add_transition("poke", ("new", "busy"), STAY, writes="n")
    b.add_transition("finish", "busy", "done")
    return b.build()


class Every:
    """Keeps one timer, rewritten by every command."""

    timer_prefix = "every:"

    def process(self, definition: ProcessDefinition, case: Case, events: Sequence[Event]
                ) -> tuple[Case, Sequence[Timer] | None]:
        due = case.updated_at.add(hours=1)
        return case, [Timer(case.id, "every:tick", due, case.process, {"v": case.version})]


class Sometimes:
    """Sets its timer when a case starts and leaves it alone otherwise (returns ``None``)."""

    timer_prefix = "some:"

    def process(self, definition: ProcessDefinition, case: Case, events: Sequence[Event]
                ) -> tuple[Case, Sequence[Timer] | None]:
        if any(e.trigger == "start" for e in events):
            return case, [Timer(case.id, "some:deadline", case.updated_at.add(days=2), "job")]
        if any(e.trigger == "finish" for e in events):
            return case, []
        return case, None


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest) -> Iterator[Store]:
    yield from make_store(request.param, request)


def test_each_processor_keeps_its_own_timers(store: Store) -> None:
    clock = FrozenClock(T0)
    engine = Engine(store, clock, [definition()], processors=[Every(), Sometimes()])
    case = engine.open("job", actor=AGENT)
    case = engine.fire(case, "start", actor=AGENT)
    clock.advance(minutes=5)
    # Sometimes returns None here, Every a list: Sometimes's deadline must survive.
    case = engine.fire(case, "poke", actor=AGENT, data={"n": 1})
    case = engine.record(case, EventKind.NOTE, actor=AGENT, data={"text": "still going"})
    names = {t.name: t for t in store.timers(case.id)}
    assert set(names) == {"every:tick", "some:deadline"}
    assert names["every:tick"].payload["v"] == case.version
    assert names["some:deadline"].due == T0.add(days=2)
    case = engine.fire(case, "finish", actor=AGENT)
    assert [t.name for t in store.timers(case.id)] == ["every:tick"]


def test_a_write_set_replaces_only_the_owners_it_names(store: Store) -> None:
    engine = Engine(store, FrozenClock(T0), [definition()], processors=[Every(), Sometimes()])
    case = engine.fire(engine.open("job", actor=AGENT), "start", actor=AGENT)
    write = engine.plan_fire(case, "poke", actor=AGENT, data={"n": 2})
    assert set(write.timers) == {"every:"}
    write = attrs.evolve(write, timers={**write.timers, "other:": (
        Timer(case.id, "other:x", T0, "job"),)})
    engine.commit(write)
    assert {t.name for t in store.timers(case.id)} == {"every:tick", "some:deadline",
                                                      "other:x"}
    store.set_timers(case.id, [], prefix="other:")
    assert {t.name for t in store.timers(case.id)} == {"every:tick", "some:deadline"}


def test_planning_writes_nothing(store: Store) -> None:
    engine = Engine(store, FrozenClock(T0), [definition()])
    case = engine.open("job", actor=AGENT)
    write = engine.plan_fire(case, "start", actor=AGENT)
    assert isinstance(write, WriteSet) and write.expected_version == 1
    assert write.case.state == "busy" and [e.trigger for e in write.events] == ["start"]
    assert store.load(case.id) == case and len(store.history(case.id)) == 1


def test_observers_see_only_what_was_committed(store: Store) -> None:
    seen: list[tuple[str, int]] = []
    checked: list[str] = []
    hooks = Hooks()
    hooks.after_commit()(lambda w: seen.append((w.events[0].kind.value, w.case.version)))
    hooks.before_commit("start")(lambda ctx: checked.append(ctx.command.trigger))
    clock = FrozenClock(T0)
    engine = Engine(store, clock, [definition()], hooks=hooks)
    other = Engine(store, clock, [definition()])
    case = engine.open("job", actor=AGENT)
    other.fire(case.id, "poke", actor=AGENT, data={"n": 1})  # moves the case on elsewhere
    with pytest.raises(StaleVersion):
        engine.fire(case, "start", actor=AGENT)
    assert checked == ["start"]  # the before-commit hook ran; the write was refused
    assert seen == [("opened", 1)]
    engine.fire(case.id, "start", actor=AGENT)
    assert seen == [("opened", 1), ("transition", 3)]


def test_observers_run_in_order_each_on_its_own_triggers(store: Store) -> None:
    # One observer of every command takes the hooks' short path; with a second, restricted
    # one, each still sees exactly the commands it asked for, in registration order.
    seen: list[str] = []
    hooks = Hooks()
    hooks.after_commit()(lambda w: seen.append(f"all:{w.events[0].trigger}"))
    hooks.after_commit("start")(lambda w: seen.append(f"start:{w.events[0].trigger}"))
    engine = Engine(store, FrozenClock(T0), [definition()], hooks=hooks)
    case = engine.open("job", actor=AGENT)
    case = engine.fire(case, "poke", actor=AGENT, data={"n": 1})
    engine.fire(case, "start", actor=AGENT)
    assert seen == ["all:None", "all:poke", "all:start", "start:start"]


def test_a_failing_observer_does_not_undo_the_command(store: Store) -> None:
    hooks = Hooks()

    @hooks.after_commit("start")
    def mail(write: WriteSet) -> None:
        raise ConnectionError("smtp down")

    engine = Engine(store, FrozenClock(T0), [definition()], hooks=hooks)
    case = engine.open("job", actor=AGENT)
    with pytest.raises(ObserverFailed) as failed:
        engine.fire(case, "start", actor=AGENT)
    assert isinstance(failed.value.__cause__, ConnectionError)
    assert failed.value.case == store.load(case.id)
    assert store.load(case.id).state == "busy"


def test_processors_must_declare_what_they_own() -> None:
    class NoPrefix:
        def process(self, definition: ProcessDefinition, case: Case, events: Sequence[Event]
                    ) -> tuple[Case, Sequence[Timer] | None]:
            return case, [Timer(case.id, "x", T0, "job")]

    engine = Engine(make_memory(), FrozenClock(T0), [definition()],
                    processors=[NoPrefix()])  # type: ignore[list-item]
    with pytest.raises(InvalidProcessor):
        engine.open("job", actor=AGENT)
    assert engine.store.count() == 0

    class Overlapping(Every):
        timer_prefix = "every:x"

    with pytest.raises(InvalidProcessor):
        Engine(make_memory(), FrozenClock(T0), [definition()],
               processors=[Every(), Overlapping()])

    class Trespassing(Every):
        timer_prefix = "mine:"

    engine = Engine(make_memory(), FrozenClock(T0), [definition()], processors=[Trespassing()])
    with pytest.raises(ValueError, match="does not start with 'mine:'"):
        engine.open("job", actor=AGENT)
    assert engine.store.count() == 0


def make_memory() -> Store:
    from servicewf import MemoryStore

    return MemoryStore()


def test_the_knowledge_base_observer_publishes_only_committed_resolutions() -> None:
    from servicewf import MemoryStore
    from servicewf.processes import builtin_registry
    from servicewf.processes.after_sales import knowledge_base_hook
    from tests.processes.support import Harness
    from tests.processes.test_after_sales import INTAKE, TO_ASSIGNED

    published: list[str] = []
    h = Harness()
    hooks = Hooks()
    hooks.after_commit("resolve")(knowledge_base_hook(lambda case, text: published.append(text)))
    h.engine = Engine(MemoryStore(), h.clock, builtin_registry(), hooks=hooks)
    case = h.run(h.open("after_sales", **INTAKE), *TO_ASSIGNED, "support_remotely")
    rival = Engine(h.engine.store, h.clock, builtin_registry())
    rival.fire(case.id, "wait_customer", actor=Actor("desk", "agent"),
               data={"reason": "customer away"})
    with pytest.raises(StaleVersion):
        h.fire(case, "resolve", solution="reset the inverter", new_solution=True)
    assert published == []
