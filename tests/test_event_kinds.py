"""Event kinds a subsystem registers without editing servicewf.events: what a registered kind
is, and the engine's permission rules applied to it (system kinds only from the system
actor, recordable kinds only where a definition grants them)."""

from __future__ import annotations

import copy
import pickle

import pytest

from servicewf import (
    SYSTEM,
    Actor,
    DefinitionBuilder,
    Engine,
    EventNotRecordable,
    FrozenClock,
    InvalidDefinition,
    MemoryStore,
    ProcessDefinition,
    RoleNotPermitted,
)
from servicewf.definition.data import definition_from_dict, definition_to_dict
from servicewf.events import (
    ENGINE_KINDS,
    RECORDABLE_KINDS,
    SYSTEM_KINDS,
    Event,
    EventKind,
    RegisteredKind,
    event_kind,
    known_kinds,
    register_event_kind,
)
from tests.helpers import START

# Registered once per process (registering again with the same flags returns the same kind).
CALLBACK = register_event_kind("test_callback_requested", recordable=True)
AUDITED = register_event_kind("test_audit_passed", system=True)
INTERNAL = register_event_kind("test_internal_mark")

AGENT = Actor("li", "agent")
CUSTOMER = Actor("c-1", "customer")


def definition(**recorders: tuple[str, ...]) -> ProcessDefinition:
    builder = (DefinitionBuilder("kinds", 1).add_state("open", initial=True)
               .add_state("done", final=True).add_transition("close", "open", "done"))
    for kind, roles in recorders.items():
        builder = builder.allow_record(kind, *roles)
    return builder.build()


def engine_for(defn: ProcessDefinition) -> Engine:
    return Engine(MemoryStore(), FrozenClock(START), [defn])


# --- what a registered kind is --------------------------------------------------------------


def test_a_registered_kind_is_a_str_with_a_value_and_one_object_per_name():
    assert isinstance(CALLBACK, RegisteredKind) and isinstance(CALLBACK, str)
    assert CALLBACK == "test_callback_requested" == CALLBACK.value
    assert event_kind("test_callback_requested") is CALLBACK
    assert register_event_kind("test_callback_requested", recordable=True) is CALLBACK
    assert copy.copy(CALLBACK) is CALLBACK and copy.deepcopy(CALLBACK) is CALLBACK
    assert pickle.loads(pickle.dumps(CALLBACK)) is CALLBACK
    assert (CALLBACK.system, CALLBACK.recordable) == (False, True)
    assert (AUDITED.system, AUDITED.recordable) == (True, False)
    assert "test_callback_requested" in known_kinds() and "note" in known_kinds()
    assert repr(CALLBACK) == "<RegisteredKind 'test_callback_requested'>"


def test_built_in_kinds_stay_enum_members():
    assert event_kind("note") is EventKind.NOTE
    assert event_kind(EventKind.NOTE) is EventKind.NOTE
    e = Event("c", 1, START, "note", "u", "agent", None, None, "open")
    assert e.kind is EventKind.NOTE  # a name is converted to the member
    assert Event("c", 1, START, "test_audit_passed", "u", "s", None, "a", "a").kind is AUDITED


@pytest.mark.parametrize(("name", "flags", "message"), [
    ("note", {}, "built-in"),
    ("Callback", {}, "lower-case"),
    ("9lives", {}, "lower-case"),
    ("x" * 41, {}, "at most 40"),
    ("test_both", {"system": True, "recordable": True}, "both"),
    ("test_callback_requested", {"system": True}, "registered already"),
    ("test_callback_requested", {}, "registered already"),
])
def test_bad_registrations_are_refused(name, flags, message):
    with pytest.raises(ValueError, match=message):
        register_event_kind(name, **flags)


def test_an_unknown_name_is_refused_naming_how_to_register_it():
    with pytest.raises(ValueError, match="register_event_kind") as err:
        event_kind("test_never_registered")
    assert "test_callback_requested" in str(err.value)  # the known kinds are listed
    with pytest.raises(ValueError, match="test_never_registered"):
        Event("c", 1, START, "test_never_registered", "u", "agent", None, None, "open")


def test_the_kind_sets_include_registered_kinds():
    assert AUDITED in SYSTEM_KINDS and EventKind.ESCALATED in SYSTEM_KINDS
    assert CALLBACK not in SYSTEM_KINDS and INTERNAL not in SYSTEM_KINDS
    assert "test_callback_requested" in RECORDABLE_KINDS and CALLBACK in RECORDABLE_KINDS
    assert "note" in RECORDABLE_KINDS and EventKind.CLOCK_EXTENDED in RECORDABLE_KINDS
    assert AUDITED not in RECORDABLE_KINDS and INTERNAL not in RECORDABLE_KINDS
    assert "escalated" not in RECORDABLE_KINDS
    assert {"note", "clock_extended", "test_callback_requested"} <= set(RECORDABLE_KINDS)
    assert all(type(k) is str for k in RECORDABLE_KINDS)
    assert len(SYSTEM_KINDS) == len(list(SYSTEM_KINDS)) >= 5
    assert isinstance(SYSTEM_KINDS | {EventKind.NOTE}, frozenset)
    assert not ENGINE_KINDS & set(SYSTEM_KINDS)


# --- the engine's rules -------------------------------------------------------------------


def test_a_definition_may_grant_a_recordable_registered_kind():
    engine = engine_for(definition(test_callback_requested=("agent",)))
    case = engine.open("kinds", actor=AGENT)
    case = engine.record(case, "test_callback_requested", actor=AGENT, data={"at": "10:00"})
    assert engine.history(case.id)[-1].kind is CALLBACK
    with pytest.raises(RoleNotPermitted) as refused:
        engine.record(case, CALLBACK, actor=CUSTOMER)
    assert refused.value.allowed == ("agent",) and refused.value.kind == CALLBACK.value


def test_a_definition_cannot_grant_a_system_or_unrecordable_kind():
    for kind in ("test_audit_passed", "test_internal_mark", "test_never_registered"):
        with pytest.raises(InvalidDefinition, match=kind):
            definition(**{kind: ()})


def test_definitions_in_plain_data_may_grant_registered_kinds():
    defn = definition(test_callback_requested=())
    again = definition_from_dict(definition_to_dict(defn))
    assert again.recorders["test_callback_requested"] == ()
    with pytest.raises(InvalidDefinition, match="test_audit_passed"):
        definition_from_dict({**definition_to_dict(defn), "recorders": {"test_audit_passed": []}})


def test_a_registered_system_kind_comes_only_from_the_system_actor():
    engine = engine_for(definition())
    case = engine.open("kinds", actor=AGENT)
    for kind in (AUDITED, INTERNAL):
        with pytest.raises(RoleNotPermitted) as refused:
            engine.record(case, kind, actor=AGENT)
        assert refused.value.allowed == ("system",)
    case = engine.record(case, AUDITED, actor=SYSTEM)
    case = engine.record(case, "test_internal_mark", actor=SYSTEM)
    assert [e.kind for e in engine.history(case.id)[-2:]] == [AUDITED, INTERNAL]


def test_unknown_and_engine_kinds_are_not_recordable():
    engine = engine_for(definition())
    case = engine.open("kinds", actor=AGENT)
    with pytest.raises(EventNotRecordable, match="register_event_kind"):
        engine.record(case, "test_never_registered", actor=SYSTEM)
    for kind in ENGINE_KINDS:
        with pytest.raises(EventNotRecordable):
            engine.record(case, kind, actor=SYSTEM)
