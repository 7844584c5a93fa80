from __future__ import annotations

import attrs
import pytest

from servicewf import (
    Actor,
    Case,
    DataMissing,
    Engine,
    EventKind,
    FrozenClock,
    GuardFailed,
    HookFailed,
    MemoryStore,
    RoleNotPermitted,
    StaleVersion,
    TriggerNotAllowed,
    UnknownTrigger,
    replay,
)
from servicewf.errors import CaseNotFound
from tests.helpers import START, ticket_definition

AGENT = Actor("a1", "agent")
BOSS = Actor("b1", "supervisor")


@pytest.fixture
def clock():
    return FrozenClock(START)


@pytest.fixture
def engine(clock):
    return Engine(MemoryStore(), clock, [ticket_definition()], id_factory=iter(
        f"c{i}" for i in range(1000)).__next__)


def snapshot(engine, case_id):
    return engine.get(case_id), engine.history(case_id), engine.store.timers(case_id)


def to_in_progress(engine, clock):
    case = engine.open("ticket", actor=AGENT, data={"channel": "phone"})
    clock.advance(minutes=5)
    case = engine.fire(case, "register", actor=AGENT, data={"request_type": "repair"})
    case = engine.fire(case, "plan", actor=AGENT, data={"plan": "replace part"})
    return engine.fire(case, "start", actor=AGENT, data={"approved": True})


def test_happy_path_audit_log(engine, clock):
    case = to_in_progress(engine, clock)
    clock.advance(hours=1)
    case = engine.fire(case, "finish", actor=BOSS, comment="all good")
    assert case.state == "done" and case.version == 5
    events = engine.history(case.id)
    assert [e.seq for e in events] == [1, 2, 3, 4, 5]
    assert [e.kind for e in events] == [EventKind.OPENED] + [EventKind.TRANSITION] * 4
    assert [(e.source, e.dest) for e in events] == [
        (None, "received"), ("received", "registered"), ("registered", "planned"),
        ("planned", "in_progress"), ("in_progress", "done")]
    last = events[-1]
    assert (last.actor_id, last.role, last.trigger, last.comment) == (
        "b1", "supervisor", "finish", "all good")
    assert last.at == START.add(minutes=5, hours=1) and last.at.tzinfo is not None
    assert events[1].data == {"request_type": "repair"}
    assert case.data == {"channel": "phone", "request_type": "repair", "plan": "replace part",
                         "approved": True}
    assert replay(ticket_definition(), events) == case


@pytest.mark.parametrize(
    ("trigger", "actor", "data", "error", "attr", "value"),
    [
        ("fly", AGENT, {}, UnknownTrigger, "trigger", "fly"),
        ("finish", BOSS, {}, TriggerNotAllowed, "state", "planned"),
        ("start", Actor("x", "guest"), {"approved": True}, RoleNotPermitted, "allowed",
         ("agent", "supervisor")),
        ("start", AGENT, {"approved": False}, GuardFailed, "rule", "C3 (000 §2.4)"),
        ("revise", AGENT, {"plan": ""}, DataMissing, "missing", ("plan",)),
        ("cancel", AGENT, {}, DataMissing, "missing", ("reason",)),
    ],
)
def test_refusals_change_nothing(engine, clock, trigger, actor, data, error, attr, value):
    case = engine.open("ticket", actor=AGENT)
    case = engine.fire(case, "register", actor=AGENT, data={"request_type": "x"})
    case = engine.fire(case, "plan", actor=AGENT, data={"plan": "p"})
    before = snapshot(engine, case.id)
    with pytest.raises(error) as info:
        engine.fire(case, trigger, actor=actor, data=data)
    assert getattr(info.value, attr) == value
    assert info.value.case_id == case.id
    assert snapshot(engine, case.id) == before


def test_guard_refusal_explains_the_rule(engine, clock):
    case = to_in_progress(engine, clock)
    case = engine.open("ticket", actor=AGENT)
    case = engine.fire(case, "register", actor=AGENT, data={"request_type": "x"})
    case = engine.fire(case, "plan", actor=AGENT, data={"plan": "p"})
    with pytest.raises(GuardFailed, match=r"\[C3 \(000 §2.4\)\]: the customer must approve"):
        engine.fire(case, "start", actor=AGENT)


def test_stale_version_is_refused_and_changes_nothing(engine, clock):
    case = engine.open("ticket", actor=AGENT)
    engine.fire(case, "register", actor=AGENT, data={"request_type": "x"})
    before = snapshot(engine, case.id)
    with pytest.raises(StaleVersion) as info:
        engine.fire(case, "cancel", actor=AGENT, data={"reason": "dup"})
    assert (info.value.expected, info.value.actual) == (1, 2)
    assert snapshot(engine, case.id) == before
    # by id the latest version is used
    assert engine.fire(case.id, "cancel", actor=AGENT, data={"reason": "dup"}).state == "cancelled"


def test_final_state_accepts_nothing(engine, clock):
    case = engine.open("ticket", actor=AGENT)
    case = engine.fire(case, "cancel", actor=AGENT, data={"reason": "withdrawn"})
    with pytest.raises(TriggerNotAllowed, match="nothing \\(final state\\)"):
        engine.fire(case, "register", actor=AGENT, data={"request_type": "x"})


def test_internal_transition_records_without_moving(engine, clock):
    case = engine.open("ticket", actor=AGENT)
    case = engine.fire(case, "register", actor=AGENT, data={"request_type": "x"})
    case = engine.fire(case, "note", actor=AGENT, data={"text": "called back"})
    assert case.state == "registered" and case.version == 3
    assert engine.history(case.id)[-1].dest == "registered"


def test_available_lists_every_trigger_with_reasons(engine, clock):
    case = engine.open("ticket", actor=AGENT)
    case = engine.fire(case, "register", actor=AGENT, data={"request_type": "x"})
    case = engine.fire(case, "plan", actor=AGENT, data={"plan": "p"})
    options = {o.trigger: o for o in engine.available(case, AGENT)}
    assert set(options) == set(ticket_definition().triggers)
    assert options["revise"].allowed and options["revise"].requires == ("plan",)
    assert not options["start"].allowed and isinstance(options["start"].refusal, GuardFailed)
    assert not options["finish"].allowed and "not allowed" in options["finish"].reason
    assert options["cancel"].allowed and options["cancel"].dest == "cancelled"
    guest = {o.trigger: o for o in engine.available(case, Actor("g", "guest"))}
    assert isinstance(guest["start"].refusal, RoleNotPermitted)


def test_hooks_run_in_order_and_a_raising_hook_aborts(engine, clock):
    seen: list[str] = []
    hooks = engine.hooks

    @hooks.before()
    def log_before(ctx):
        seen.append(f"before {ctx.command.trigger} {ctx.source}->{ctx.dest}")

    @hooks.on_enter("planned")
    def notify(ctx):
        seen.append(f"enter {ctx.dest}")

    @hooks.before_commit("plan")
    def log_after(ctx):
        seen.append(f"after {ctx.event.seq}")

    case = engine.open("ticket", actor=AGENT)
    case = engine.fire(case, "register", actor=AGENT, data={"request_type": "x"})
    case = engine.fire(case, "plan", actor=AGENT, data={"plan": "p"})
    assert seen == ["before register received->registered", "before plan registered->planned",
                    "enter planned", "after 3"]

    @hooks.before("revise")
    def boom(ctx):
        raise RuntimeError("mail server down")

    before = snapshot(engine, case.id)
    with pytest.raises(HookFailed, match="boom raised RuntimeError") as info:
        engine.fire(case, "revise", actor=AGENT, data={"plan": "q"})
    assert isinstance(info.value.__cause__, RuntimeError)
    assert str(info.value.__cause__) == "mail server down"
    assert "mail server down" not in str(info.value)  # the hook's text may hold customer data
    assert snapshot(engine, case.id) == before


def test_cases_are_frozen_and_slotted(engine):
    case = engine.open("ticket", actor=AGENT, data={"x": 1})
    assert attrs.has(Case) and not hasattr(case, "__dict__")
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        case.state = "done"  # type: ignore[misc]
    with pytest.raises(TypeError):
        case.data["x"] = 2  # type: ignore[index]


def test_restoring_a_stored_case_fires_no_hooks(engine, clock):
    calls = []
    engine.hooks.before()(lambda ctx: calls.append(ctx))
    engine.hooks.on_enter()(lambda ctx: calls.append(ctx))
    case = engine.open("ticket", actor=AGENT)
    assert calls == []  # opening restores nothing and fires no transition hook
    case = engine.fire(case, "register", actor=AGENT, data={"request_type": "x"})
    n = len(calls)
    restored = engine.get(case.id)
    rebuilt = replay(ticket_definition(), engine.history(case.id))
    assert restored == rebuilt == case and len(calls) == n


def test_typed_view_of_case_data(engine):
    @attrs.frozen(slots=True)
    class TicketData:
        channel: str
        request_type: str = ""

    case = engine.open("ticket", actor=AGENT, data={"channel": "email", "other": 1})
    view = case.data_as(TicketData)
    assert view == TicketData("email")


def test_unknown_case_and_duplicate_id(engine):
    with pytest.raises(CaseNotFound):
        engine.fire("nope", "register", actor=AGENT)
    engine.open("ticket", actor=AGENT, case_id="fixed")
    from servicewf.errors import CaseAlreadyExists

    with pytest.raises(CaseAlreadyExists):
        engine.open("ticket", actor=AGENT, case_id="fixed")


def test_replay_rejects_histories_that_do_not_fit(engine, clock):
    case = to_in_progress(engine, clock)
    events = engine.history(case.id)
    from servicewf.errors import HistoryMismatch

    with pytest.raises(HistoryMismatch, match="breaks the sequence") as gap:
        replay(ticket_definition(), [events[0], events[2]])
    assert (gap.value.case_id, gap.value.seq) == (case.id, 3)
    assert isinstance(gap.value, ValueError)  # what callers caught before
    other = ticket_definition().derive().remove_transition("start").add_transition(
        "begin", "planned", "in_progress").build()
    with pytest.raises(HistoryMismatch, match="does not fit") as misfit:
        replay(other, events)
    assert misfit.value.case_id == case.id and misfit.value.seq is not None
    with pytest.raises(HistoryMismatch, match="starts with an 'opened'") as empty:
        replay(ticket_definition(), [])
    assert (empty.value.case_id, empty.value.seq) == (None, None)


def test_record_appends_non_moving_events(engine, clock):
    case = engine.open("ticket", actor=AGENT)
    case = engine.record(case, EventKind.NOTE, data={"text": "hello"})
    assert case.version == 2 and case.state == "received"
    assert engine.history(case.id)[-1].kind is EventKind.NOTE
    from servicewf.errors import EventNotRecordable

    for kind in (EventKind.TRANSITION, EventKind.OPENED, EventKind.MIGRATED, "no_such_kind"):
        with pytest.raises(EventNotRecordable):
            engine.record(case, kind)


def test_migrating_open_cases_is_explicit_audited_and_refuses_missing_states(clock):
    from servicewf import Registry
    from servicewf.errors import CommandRefused, MigrationRefused

    v1 = ticket_definition()
    b2 = v1.derive().remove_state("planned").add_transition("plan", "registered",
                                                            "in_progress", required="plan")
    b2.migrators = ("supervisor",)
    v2 = b2.build()
    engine = Engine(MemoryStore(), clock, Registry([v1, v2]))
    a = engine.open("ticket", actor=AGENT, version=1)
    a = engine.fire(a, "register", actor=AGENT, data={"request_type": "x"})
    b = engine.fire(engine.open("ticket", actor=AGENT, version=1), "register", actor=AGENT,
                    data={"request_type": "x"})
    b = engine.fire(b, "plan", actor=AGENT, data={"plan": "p"})
    before_b = snapshot(engine, b.id)
    with pytest.raises(CommandRefused, match="'planned', which ticket v2 does not have") as no:
        engine.migrate(b, 2, actor=BOSS)
    assert isinstance(no.value, MigrationRefused)
    assert snapshot(engine, b.id) == before_b
    a = engine.migrate(a, 2, actor=BOSS, comment="move to v2")
    assert a.definition_version == 2 and a.state == "registered"
    last = engine.history(a.id)[-1]
    assert last.kind is EventKind.MIGRATED and last.data == {"from_version": 1, "to_version": 2}
    assert (last.actor_id, last.comment) == ("b1", "move to v2")
    a = engine.fire(a, "plan", actor=AGENT, data={"plan": "p"})  # the v2 transition
    assert a.state == "in_progress"
    with pytest.raises(ValueError, match="pass registry="):  # a HistoryMismatch
        replay(v1, engine.history(a.id))
    assert replay(v1, engine.history(a.id), registry=engine.registry) == a
    done = engine.fire(engine.open("ticket", actor=AGENT, version=1), "cancel", actor=AGENT,
                       data={"reason": "x"})
    with pytest.raises(MigrationRefused, match="only open cases"):
        engine.migrate(done, 2, actor=BOSS)


def test_opening_checks_intake_data_and_guards(clock):
    from servicewf import Guard

    phone_or_mail = Guard("known_channel", lambda ctx: ctx.value("channel") in ("phone", "email"),
                          explain="channel must be phone or email", rule="intake (000 §2.1)")
    definition = (ticket_definition().derive().add_guard(phone_or_mail)
                  .set_intake(("channel", "customer_ref"), guards=("known_channel",)).build())
    engine = Engine(MemoryStore(), clock, [definition])
    with pytest.raises(DataMissing) as info:
        engine.open("ticket", actor=AGENT, data={"channel": "phone"})
    assert info.value.missing == ("customer_ref",) and info.value.trigger == "open"
    with pytest.raises(GuardFailed, match=r"\[intake \(000 §2.1\)\]: channel must be"):
        engine.open("ticket", actor=AGENT, data={"channel": "fax", "customer_ref": "C1"},
                    case_id="x")
    assert engine.store.count() == 0
    case = engine.open("ticket", actor=AGENT, data={"channel": "phone", "customer_ref": "C1"})
    assert case.state == "received"
    data = definition.to_dict()
    assert data["intake"] == ["channel", "customer_ref"]
    from servicewf import ProcessDefinition

    again = ProcessDefinition.from_dict(data, guards=definition.guards)
    assert again.intake == definition.intake and again.intake_guards == ("known_channel",)


def _two_versions():
    from servicewf import Registry

    # supervisors may migrate tickets here (the default is admins only)
    v1 = attrs.evolve(ticket_definition(), migrators=("supervisor", "admin"))
    v2 = v1.derive().remove_state("planned").add_transition(
        "plan", "registered", "in_progress", required="plan").build()
    return v1, v2, Registry([v1, v2])


def test_migrating_to_the_version_the_case_already_runs_under_is_refused(clock):
    from servicewf.errors import MigrationRefused

    _, _, registry = _two_versions()
    engine = Engine(MemoryStore(), clock, registry)
    case = engine.open("ticket", actor=AGENT, version=1)
    before = snapshot(engine, case.id)
    admin = Actor("ops", "admin")  # the default migrators
    with pytest.raises(MigrationRefused, match="already runs under ticket v1"):
        engine.migrate(case, 1, actor=admin)
    assert snapshot(engine, case.id) == before  # nothing written
    moved = engine.migrate(case, 2, actor=admin)
    with pytest.raises(MigrationRefused, match="already runs under ticket v2"):
        engine.migrate(moved, 2, actor=admin)
    assert engine.get(case.id) == moved


def test_replay_refuses_a_history_opening_in_the_wrong_state(engine, clock):
    case = to_in_progress(engine, clock)
    events = engine.history(case.id)
    assert replay(ticket_definition(), events) == engine.get(case.id)
    wrong = [attrs.evolve(events[0], dest="registered"), *events[1:]]
    with pytest.raises(ValueError, match="history opens in 'registered', not 'received'"):
        replay(ticket_definition(), wrong)
    with pytest.raises(ValueError, match="starts with an 'opened' event"):
        replay(ticket_definition(), events[1:])
    with pytest.raises(ValueError, match="starts with an 'opened' event"):
        replay(ticket_definition(), [])


def test_replay_refuses_a_migration_into_a_version_without_the_current_state(clock):
    v1, _, registry = _two_versions()
    engine = Engine(MemoryStore(), clock, registry)
    case = engine.fire(engine.open("ticket", actor=AGENT, version=1), "register", actor=AGENT,
                       data={"request_type": "x"})
    case = engine.migrate(case, 2, actor=BOSS)
    events = engine.history(case.id)
    assert replay(v1, events, registry=registry) == case
    # The same history with the case in 'planned' (v2 has no such state) when it migrates.
    planned = engine.fire(engine.open("ticket", actor=AGENT, version=1), "register",
                          actor=AGENT, data={"request_type": "x"})
    planned = engine.fire(planned, "plan", actor=AGENT, data={"plan": "p"})
    history = engine.history(planned.id)
    forged = attrs.evolve(events[-1], case_id=planned.id, seq=len(history) + 1,
                          source="planned", dest="planned")
    with pytest.raises(ValueError, match=f"event {forged.seq}: v2 has no 'planned'"):
        replay(v1, [*history, forged], registry=registry)
    # ...and a history migrating to a version the registry lacks fails too.
    unknown = attrs.evolve(events[-1], data={"from_version": 1, "to_version": 9})
    from servicewf.errors import UnknownProcess

    with pytest.raises(UnknownProcess, match="v9"):
        replay(v1, [*events[:-1], unknown], registry=registry)


def test_processors_see_the_migrated_event_with_the_target_definition(clock):
    from servicewf.storage.base import Timer

    seen: list[tuple[int, int, tuple[EventKind, ...], str]] = []

    class Recorder:
        timer_prefix = "rec"

        def process(self, definition, case, events):
            seen.append((definition.version, case.definition_version,
                         tuple(e.kind for e in events), case.state))
            marked = attrs.evolve(case, extensions={**case.extensions,
                                                    "seen": len(seen)})
            return marked, [Timer(case.id, "rec", clock.now(), case.process,
                                  {"v": definition.version})]

    _, _, registry = _two_versions()
    engine = Engine(MemoryStore(), clock, registry, processors=[Recorder()])
    case = engine.open("ticket", actor=AGENT, version=1)
    seen.clear()
    after = engine.migrate(case, 2, actor=BOSS)
    assert seen == [(2, 2, (EventKind.MIGRATED,), "received")]
    # What the processor returned is what was stored, in the same write.
    assert engine.get(case.id).extensions["seen"] == 1 == after.extensions["seen"]
    assert [t.payload for t in engine.store.timers(case.id)] == [{"v": 2}]
