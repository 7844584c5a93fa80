"""Regression tests for the integrity findings: each failed before its fix."""

from __future__ import annotations

import datetime as dt
import decimal
import math
from collections.abc import Iterator

import attrs
import pytest

from servicewf import (
    SYSTEM,
    Actor,
    CaseMismatch,
    Engine,
    EventKind,
    EventNotRecordable,
    FieldNotOwned,
    FrozenClock,
    InvalidData,
    InvalidIdentifier,
    MemoryStore,
    RoleNotPermitted,
    StaleVersion,
    TimeOutOfOrder,
)
from servicewf.engine import replay
from servicewf.storage import Store

from ..contract.backends import BACKENDS, make_store
from .support import ADMIN, AGENT, BOSS, CUSTOMER, T0, make_engine, snapshot


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest) -> Iterator[Store]:
    yield from make_store(request.param, request)


@pytest.fixture
def engine(store: Store) -> Engine:
    return make_engine(store)


def approved(engine: Engine) -> str:
    case = engine.open("ticket", actor=AGENT, data={"customer_ref": "C-1"}, version=1)
    return engine.fire(case, "approve", actor=BOSS, data={"scope": ["basic"]}).id


# --- 1. field ownership -----------------------------------------------------------------------


def test_a_later_step_cannot_overwrite_a_field_it_does_not_own(engine: Engine) -> None:
    cid = approved(engine)
    before = snapshot(engine, cid)
    with pytest.raises(FieldNotOwned) as refused:
        engine.fire(cid, "work", actor=AGENT, data={"scope": ["basic", "payment_cards"]})
    assert refused.value.fields == ("scope",) and refused.value.trigger == "work"
    assert snapshot(engine, cid) == before
    case = engine.fire(cid, "work", actor=AGENT, data={"note": "started"})
    assert case.data["scope"] == ["basic"]


def test_an_opening_writes_only_intake_fields(engine: Engine) -> None:
    with pytest.raises(FieldNotOwned) as refused:
        engine.open("ticket", actor=AGENT, data={"customer_ref": "C-1", "scope": ["all"]})
    assert refused.value.fields == ("scope",) and refused.value.trigger == "open"
    assert engine.store.count() == 0
    case = engine.open("ticket", actor=AGENT, data={"customer_ref": "C-1", "priority": "high"})
    assert case.data["priority"] == "high"


# --- 2. record and migrate are checked ----------------------------------------------------


@pytest.mark.parametrize("kind", [EventKind.ESCALATED, EventKind.CLOCK_BREACHED,
                                  EventKind.CLOCK_WARNING, EventKind.OBLIGATION_DUE])
def test_system_events_come_only_from_the_system_actor(engine: Engine, kind: EventKind) -> None:
    cid = approved(engine)
    before = snapshot(engine, cid)
    for actor in (AGENT, BOSS, ADMIN, CUSTOMER):
        with pytest.raises(RoleNotPermitted) as refused:
            engine.record(cid, kind, actor=actor, data={"tier": "agent"})
        assert (refused.value.action, refused.value.kind) == ("record", kind.value)
        assert refused.value.allowed == ("system",)
    assert snapshot(engine, cid) == before
    assert engine.record(cid, kind, actor=SYSTEM, data={"clock": "x"}).version == 3


def test_recorders_are_declared_per_kind(engine: Engine) -> None:
    cid = approved(engine)
    with pytest.raises(RoleNotPermitted) as refused:
        engine.record(cid, EventKind.NOTE, actor=CUSTOMER, data={"text": "hi"})
    assert refused.value.allowed == ("agent", "supervisor")
    with pytest.raises(RoleNotPermitted) as refused:
        engine.record(cid, EventKind.CLOCK_EXTENDED, actor=AGENT)
    assert refused.value.allowed == ("supervisor",)
    assert engine.record(cid, EventKind.NOTE, actor=AGENT, data={"text": "hi"}).version == 3


def test_engine_kinds_are_never_recorded(engine: Engine) -> None:
    cid = approved(engine)
    for kind in (EventKind.OPENED, EventKind.TRANSITION, EventKind.MIGRATED, "bogus"):
        with pytest.raises(EventNotRecordable):
            engine.record(cid, kind, actor=SYSTEM)


def test_only_declared_roles_migrate(engine: Engine) -> None:
    cid = approved(engine)
    before = snapshot(engine, cid)
    for actor in (CUSTOMER, AGENT, BOSS):
        with pytest.raises(RoleNotPermitted) as refused:
            engine.migrate(cid, 2, actor=actor)
        assert (refused.value.action, refused.value.allowed) == ("migrate", ("admin",))
    assert snapshot(engine, cid) == before
    assert engine.migrate(cid, 2, actor=ADMIN).definition_version == 2


# --- 3. the engine acts on the stored case ----------------------------------------------------


def test_a_forged_case_value_is_refused(engine: Engine) -> None:
    cid = approved(engine)
    real = engine.get(cid)
    before = snapshot(engine, cid)
    forgeries = [
        attrs.evolve(real, state="working"),
        attrs.evolve(real, data={**real.data, "scope": ["everything"]}),
        attrs.evolve(real, definition_version=2),
        attrs.evolve(real, extensions={"sla": {}}),
    ]
    for forged in forgeries:
        with pytest.raises(CaseMismatch):
            engine.fire(forged, "work", actor=AGENT)
    with pytest.raises(StaleVersion):
        engine.fire(attrs.evolve(real, version=real.version + 5), "work", actor=AGENT)
    assert snapshot(engine, cid) == before
    # An equal value loaded elsewhere (another engine, a fresh read) is the truth: accepted.
    other = make_engine(engine.store, engine.clock).get(cid)  # type: ignore[arg-type]
    assert engine.fire(other, "work", actor=AGENT).state == "working"
    events = engine.history(cid)
    assert replay(engine.registry.get("ticket", 1), events).state == "working"


# --- 4. values are immutable all the way down -------------------------------------------------


def test_nested_data_cannot_change_the_history(engine: Engine) -> None:
    supplied = {"customer_ref": "C-1", "contact": {"phones": ["1"]}}
    case = engine.open("ticket", actor=AGENT, data=supplied)
    supplied["contact"]["phones"].append("2")  # the caller's own object, after the command
    supplied["customer_ref"] = "C-2"
    with pytest.raises(TypeError):
        case.data["contact"]["phones"].append("3")
    with pytest.raises(TypeError):
        case.data["contact"]["phones"] = []
    stored = engine.store.load(case.id)
    assert stored.data["contact"] == {"phones": ["1"]} and stored.data["customer_ref"] == "C-1"
    assert engine.store.history(case.id)[0].data["contact"]["phones"] == ["1"]


# --- 5. one data contract ---------------------------------------------------------------------


class _Scalar(float):
    """A float subclass standing in for numpy.float64."""


BAD_VALUES = [
    (float("nan"), "finite"), (math.inf, "finite"), (object(), "object"),
    ({1, 2}, "set"), (decimal.Decimal("1.5"), "Decimal"), (b"secret", "bytes"),
    (dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc), "isoformat"), (_Scalar(1.0), "float"),
    ({1: "a"}, "key"), (2**70, "64-bit"), ("a\x00b", "NUL"), ("\ud800", "surrogate"),
]


@pytest.mark.parametrize(("value", "said"), BAD_VALUES)
def test_every_store_refuses_what_json_cannot_say(engine: Engine, value: object,
                                                  said: str) -> None:
    cid = approved(engine)
    before = snapshot(engine, cid)
    with pytest.raises(InvalidData) as refused:
        engine.fire(cid, "comment", actor=AGENT, data={"tags": [{"phone": value}]})
    assert refused.value.path == "data['tags'][0]['phone']"
    assert said in refused.value.problem
    if isinstance(value, (str, bytes)):
        assert repr(value) not in str(refused.value)
    assert snapshot(engine, cid) == before


def test_deep_nesting_and_huge_data_are_refused(engine: Engine) -> None:
    cid = approved(engine)
    deep: object = "x"
    for _ in range(10_000):
        deep = [deep]
    with pytest.raises(InvalidData, match="nests deeper"):
        engine.fire(cid, "comment", actor=AGENT, data={"note": deep})
    with pytest.raises(InvalidData, match="values"):
        engine.fire(cid, "comment", actor=AGENT, data={"tags": list(range(20_000))})


def test_a_customer_value_never_appears_in_a_refusal(engine: Engine) -> None:
    cid = approved(engine)
    phone = "+86 138 0013 8000"
    with pytest.raises(InvalidData) as refused:
        engine.fire(cid, "comment", actor=AGENT, data={"note": {phone: {1: phone}}})
    assert phone not in str(refused.value)


@pytest.mark.parametrize("data", [[("note", "x")], "note=x", 42])
def test_data_must_be_a_mapping(engine: Engine, data: object) -> None:
    cid = approved(engine)
    with pytest.raises(InvalidData) as refused:
        engine.fire(cid, "comment", actor=AGENT, data=data)  # type: ignore[arg-type]
    assert refused.value.path == "data"


def test_tuples_become_lists_on_every_store(engine: Engine) -> None:
    case = engine.open("ticket", actor=AGENT, data={"customer_ref": "C-1",
                                                   "contact": {"phones": ("1", "2")}})
    assert engine.store.load(case.id).data["contact"]["phones"] == ["1", "2"]
    assert case.data == engine.store.load(case.id).data


# --- 6. identifiers ---------------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["", "done\n", "a\x00b", " pad", "x" * 201, 7, "tab\there"])
def test_one_identifier_rule_on_every_store(engine: Engine, bad: object) -> None:
    with pytest.raises(InvalidIdentifier) as refused:
        engine.open("ticket", actor=AGENT, data={"customer_ref": "C-1"},
                    case_id=bad)  # type: ignore[arg-type]
    assert refused.value.what == "case id"
    if isinstance(bad, str) and bad:
        assert bad not in str(refused.value)
    with pytest.raises(InvalidIdentifier):
        engine.open("ticket", actor=Actor(bad, "agent"),  # type: ignore[arg-type]
                    data={"customer_ref": "C-1"})
    with pytest.raises(InvalidIdentifier):
        engine.open("ticket", actor=Actor("amy", bad),  # type: ignore[arg-type]
                    data={"customer_ref": "C-1"})
    with pytest.raises(InvalidIdentifier):
        engine.fire(bad, "work", actor=AGENT)  # type: ignore[arg-type]
    assert engine.store.count() == 0
    assert engine.store.find() == []


def test_identifier_pattern_rejects_a_trailing_newline() -> None:
    from servicewf.definition.model import is_identifier

    assert is_identifier("done") and not is_identifier("done\n")


# --- 7. time ----------------------------------------------------------------------------------


def test_a_clock_going_backwards_is_refused(store: Store) -> None:
    clock = FrozenClock(T0)
    engine = make_engine(store, clock)
    cid = approved(engine)
    before = snapshot(engine, cid)
    clock.set(T0.subtract(minutes=1))
    with pytest.raises(TimeOutOfOrder):
        engine.fire(cid, "work", actor=AGENT)
    with pytest.raises(TimeOutOfOrder):
        engine.record(cid, EventKind.NOTE, actor=AGENT)
    assert snapshot(engine, cid) == before
    clock.set(T0)
    assert engine.fire(cid, "work", actor=AGENT).updated_at == T0


def test_a_sweep_never_acts_ahead_of_the_engine_clock() -> None:
    from servicewf.sla import SLA, ClockHours, ClockSpec, On, Policy, Sweeper

    policy = Policy("p", "ticket", (ClockSpec("respond", On(enter=("new",)),
                                              On(enter=("approved",)), ClockHours(1)),))
    sla = SLA([policy])
    clock = FrozenClock(T0)
    engine = Engine(MemoryStore(), clock, make_engine(MemoryStore()).registry,
                    processors=[sla])
    engine.open("ticket", actor=AGENT, data={"customer_ref": "C-1"})
    with pytest.raises(TimeOutOfOrder):
        Sweeper(engine, sla).run(T0.add(hours=2))
    clock.set(T0.add(hours=2))
    report = Sweeper(engine, sla).run()
    assert report.breaches == 1
    breach = [e for e in engine.history(engine.store.find()[0].id)
              if e.kind is EventKind.CLOCK_BREACHED]
    assert breach[0].at >= T0.add(hours=1)


# --- 2. (cont.) the SLA fold no longer trusts a hand-recorded extension ---------------------


def test_a_recorded_extension_meets_the_same_rule_as_sla_extend() -> None:
    from servicewf.processes.presets import complaint_telecom
    from servicewf.sla import WorkingDays
    from servicewf.sla.policy import ExtensionConditionsUnmet
    from tests.sla.helpers import AGENT as SLA_AGENT
    from tests.sla.helpers import complaint_definition, sh
    from tests.sla.helpers import make_engine as make_sla_engine

    engine, sla, _ = make_sla_engine([complaint_telecom()], sh(2026, 9, 15, 10, 0),
                                     complaint_definition())
    case = engine.open("complaint", actor=SLA_AGENT)
    deadline = sla.view(engine, case, "resolve", engine.clock.now()).deadline
    by = WorkingDays(100).to_dict()
    before = snapshot(engine, case.id)
    with pytest.raises(ExtensionConditionsUnmet) as refused:
        engine.record(case, EventKind.CLOCK_EXTENDED, actor=SLA_AGENT,
                      data={"clock": "resolve", "by": by})
    assert any("reason" in m for m in refused.value.missing)
    assert any("customer notification" in m for m in refused.value.missing)
    with pytest.raises(ExtensionConditionsUnmet):
        engine.record(case, EventKind.CLOCK_EXTENDED, actor=SLA_AGENT,
                      data={"clock": "nope", "by": by, "reason": "x", "notice": "y"})
    assert snapshot(engine, case.id) == before
    assert sla.view(engine, case, "resolve", engine.clock.now()).deadline == deadline


def test_customers_cannot_record_extensions_on_built_in_cases() -> None:
    from tests.processes.support import Harness
    from tests.processes.test_complaint import INTAKE

    h = Harness(with_sla=True)
    case = h.open("complaint", **INTAKE)
    with pytest.raises(RoleNotPermitted) as refused:
        h.engine.record(case, EventKind.CLOCK_EXTENDED, actor=Actor("c1", "customer"),
                        data={"clock": "resolve", "by": {"type": "working_days", "days": 9},
                              "reason": "x", "notice": "y"})
    assert refused.value.allowed == ("agent", "supervisor", "manager", "executive")


def test_the_system_role_alone_grants_nothing(engine: Engine) -> None:
    """Only the library's own SYSTEM actor records system events; a person whose role an
    application happens to call "system" is an ordinary role."""
    cid = approved(engine)
    impostor = Actor("mallory", "system")
    with pytest.raises(RoleNotPermitted):
        engine.record(cid, EventKind.CLOCK_BREACHED, actor=impostor, data={"clock": "x"})
    with pytest.raises(RoleNotPermitted):
        engine.migrate(cid, 2, actor=impostor)
    assert engine.record(cid, EventKind.CLOCK_BREACHED, actor=SYSTEM,
                         data={"clock": "x"}).version == 3


def test_a_hand_built_case_with_a_bad_id_is_refused(engine: Engine) -> None:
    from servicewf import Case

    for bad in ([1], 7, "x\n"):
        forged = Case(bad, "ticket", 1, "new", 1, T0, T0)  # type: ignore[arg-type]
        with pytest.raises(InvalidIdentifier):
            engine.fire(forged, "work", actor=AGENT)
    assert engine.store.count() == 0


def test_the_refused_clock_reading_is_the_one_checked() -> None:
    """A clock read behind the case is refused even if a second reading would be ahead: the
    check and the event use one reading (before, a backwards reading slipped through when
    the refusal re-read the clock)."""

    class Jittery:
        def __init__(self) -> None:
            self.readings = iter([T0, T0.subtract(minutes=1), T0.add(minutes=1)])

        def now(self):  # type: ignore[no-untyped-def]
            return next(self.readings)

    engine = make_engine(MemoryStore())
    engine.clock = Jittery()  # type: ignore[assignment]
    case = engine.open("ticket", actor=AGENT, data={"customer_ref": "C-1"}, version=1)
    with pytest.raises(TimeOutOfOrder):
        engine.fire(case, "comment", actor=AGENT)
    assert [e.at for e in engine.history(case.id)] == [T0]
