"""servicewf.json: plain views of cases, events, clock views, trigger options and refusals,
checked against an oracle written here (not the module's own encoder) and round-tripped under
hypothesis."""

from __future__ import annotations

import datetime as dt
import json

import jsonschema
import pendulum
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from servicewf import Actor, Case, Engine, Event, EventKind, FrozenClock, MemoryStore
from servicewf import errors as E
from servicewf.engine import TriggerOption
from servicewf.json import (
    SCHEMAS,
    JSONEncoder,
    default,
    dumps,
    from_dict,
    instant_from_json,
    loads,
    refusal_from_dict,
    schema_registry,
    to_dict,
)
from servicewf.processes.stack import builtin_stack
from servicewf.storage.base import LogEntry, OutboxMessage, Timer

from ..helpers import START, ticket_definition

_text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
                max_size=10)
_name = st.text(st.characters(whitelist_categories=("L", "N")), min_size=1, max_size=12)
_json = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False) | _text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_text, inner, max_size=3),
    max_leaves=10,
)
_data = st.dictionaries(_text, _json, max_size=4)
_zones = st.sampled_from(["UTC", "Asia/Shanghai", "America/New_York", "Australia/Lord_Howe"])
_instants = st.builds(
    lambda naive, zone: pendulum.instance(naive, tz="UTC").in_timezone(zone),
    st.datetimes(min_value=dt.datetime(1901, 1, 1), max_value=dt.datetime(2199, 1, 1)), _zones)


def _oracle(value):
    """The expected plain form, written independently: ISO text for instants, µs for
    durations, plain containers."""
    if isinstance(value, dt.datetime):
        return value.isoformat(timespec="microseconds")
    if isinstance(value, dt.timedelta):
        return round(value / dt.timedelta(microseconds=1))
    if isinstance(value, dict):
        return {k: _oracle(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_oracle(v) for v in value]
    return value


cases = st.builds(
    lambda cid, proc, dv, state, ver, opened, later, data, ext: Case(
        cid, proc, dv, state, ver, opened, max(opened, later), data, ext),
    _name, _name, st.integers(1, 10_000), _name, st.integers(1, 10_000), _instants, _instants,
    _data, _data)
events = st.builds(
    Event, _name, st.integers(1, 10_000), _instants, st.sampled_from(list(EventKind)), _name,
    _name, st.none() | _name, st.none() | _name, _name, _data, st.none() | _text)


@settings(max_examples=60, deadline=None)
@given(cases)
def test_cases_round_trip_through_json_text(case):
    text = dumps(case)
    plain = json.loads(text)
    assert plain == {
        "id": case.id, "process": case.process, "definition_version": case.definition_version,
        "state": case.state, "version": case.version,
        "opened_at": _oracle(case.opened_at), "updated_at": _oracle(case.updated_at),
        "data": json.loads(json.dumps(dict(case.data))),
        "extensions": json.loads(json.dumps(dict(case.extensions))),
    }
    back = loads(Case, text)
    assert back == case
    assert back.opened_at.utcoffset() == case.opened_at.utcoffset()  # the offset is kept
    assert case.to_dict() == to_dict(case) == plain
    jsonschema.validate(plain, SCHEMAS["Case"])


@settings(max_examples=60, deadline=None)
@given(events)
def test_events_round_trip(event):
    plain = json.loads(json.dumps(event.to_dict()))
    assert plain["kind"] == event.kind.value and plain["at"] == _oracle(event.at)
    assert plain["data"] == json.loads(json.dumps(dict(event.data)))
    assert from_dict(Event, plain) == event
    jsonschema.validate(plain, SCHEMAS["Event"])
    entry = LogEntry(7, event)
    assert from_dict(LogEntry, json.loads(dumps(entry))) == entry


@settings(max_examples=60, deadline=None)
@given(_name, _name, _instants, _data)
def test_timers_outbox_messages_and_actors_round_trip(cid, name, due, payload):
    timer = Timer(cid, name, due, "p", payload)
    assert from_dict(Timer, json.loads(dumps(timer))) == timer
    jsonschema.validate(to_dict(timer), SCHEMAS["Timer"])
    message = OutboxMessage(f"{cid}/1", cid, 1, "topic", "customer",
                            {"k" + str(i): v for i, v in enumerate(payload.values())},
                            created_at=due)
    assert from_dict(OutboxMessage, json.loads(dumps(message))) == message
    actor = Actor(cid, name)
    assert to_dict(actor) == {"id": cid, "role": name}
    assert from_dict(Actor, to_dict(actor)) == actor


_refusals = [
    E.GuardFailed("'start' refused", case_id="c1", trigger="start", guard="g", rule="C3"),
    E.DataMissing("needs plan", case_id="c1", trigger="plan", missing=["plan"]),
    E.RoleNotPermitted("no", case_id="c1", trigger="finish", role="agent",
                       allowed=["supervisor"]),
    E.TriggerNotAllowed("no", case_id="c1", trigger="t", state="s", allowed=["a", "b"]),
    E.StaleVersion.for_case("c1", 2, 3, "t"),
    E.InvalidData("bad", path="data['x']", problem="a set"),
    E.CaseNotFound.for_id("c9"),
]


@pytest.mark.parametrize("refusal", _refusals, ids=lambda r: type(r).__name__)
def test_refusals_round_trip_with_their_fields(refusal):
    plain = json.loads(dumps(refusal))
    assert plain["error"] == type(refusal).__name__ and plain["message"] == str(refusal)
    jsonschema.validate(plain, SCHEMAS["Refusal"])
    back = refusal_from_dict(plain)
    assert type(back) is type(refusal) and str(back) == str(refusal)
    assert {k: v for k, v in vars(back).items()} == {k: v for k, v in vars(refusal).items()}


def test_an_unknown_error_class_is_refused():
    with pytest.raises(ValueError, match="not a servicewf error class"):
        refusal_from_dict({"error": "KeyError", "message": "x"})
    with pytest.raises(ValueError):
        refusal_from_dict({"error": "Nonexistent", "message": "x"})


def test_trigger_options_of_a_real_engine_round_trip():
    engine = Engine(MemoryStore(), FrozenClock(START), [ticket_definition()])
    agent = Actor("a1", "agent")
    case = engine.open("ticket", actor=agent)
    options = engine.available(case, agent)
    plain = json.loads(dumps(options))
    assert [o["trigger"] for o in plain] == [o.trigger for o in options]
    refused = [o for o in plain if not o["allowed"]]
    assert refused and all(o["refusal"]["error"] and o["refusal"]["message"] for o in refused)
    back = [from_dict(TriggerOption, o) for o in plain]
    assert back == options  # refusals are left out of equality; compare them apart
    assert [None if o.refusal is None else (type(o.refusal), str(o.refusal)) for o in back] \
        == [None if o.refusal is None else (type(o.refusal), str(o.refusal)) for o in options]
    registry = schema_registry()
    for o in plain:
        jsonschema.validate(o, {**SCHEMAS["TriggerOption"], "components": registry})


def test_clock_views_of_a_real_sla_round_trip():
    clock = FrozenClock(pendulum.datetime(2026, 3, 2, 9, tz="Asia/Shanghai"))
    stack = builtin_stack(MemoryStore(), clock)
    case = stack.engine.open("complaint", actor=Actor("a1", "agent"), data={
        "channel": "phone", "customer_ref": "C-1", "content": "late delivery"})
    clock.advance(hours=5)
    views = stack.sla.clocks(stack.engine, case, clock.now())
    assert views
    for view in views:
        plain = json.loads(json.dumps(view, default=default))
        assert plain["elapsed"] == _oracle(view.elapsed)
        assert plain["deadline"] == (None if view.deadline is None else _oracle(view.deadline))
        jsonschema.validate(plain, SCHEMAS["ClockView"])
        assert from_dict(type(view), plain) == view


def test_default_and_encoder_refuse_what_they_do_not_know():
    with pytest.raises(TypeError, match="not JSON serialisable"):
        json.dumps({"x": object()}, default=default)
    with pytest.raises(TypeError):
        json.dumps({1, 2}, cls=JSONEncoder)
    assert json.loads(json.dumps({"d": dt.timedelta(seconds=1, microseconds=5)},
                                 cls=JSONEncoder)) == {"d": 1_000_005}
    assert json.loads(json.dumps({"k": EventKind.NOTE}, default=default)) == {"k": "note"}


def test_naive_and_offsetless_instants_are_refused():
    with pytest.raises(ValueError, match="naive"):
        dumps({"at": dt.datetime(2026, 1, 1)})
    with pytest.raises(ValueError, match="offset"):
        instant_from_json("2026-01-01T00:00:00")
    with pytest.raises(TypeError):
        from_dict(dt.timedelta, 1.5)


def test_a_refused_case_payload_says_why():
    plain = to_dict(Case("c1", "p", 1, "s", 1, START, START))
    plain["data"] = {"bad": {1, 2}}  # not plain data: the case's own check refuses it
    with pytest.raises(E.InvalidData, match="data"):
        from_dict(Case, plain)


@settings(max_examples=80, deadline=None)
@given(st.timedeltas())
def test_durations_are_exact_microseconds(delta):
    expected = ((delta.days * 24 * 60 * 60) + delta.seconds) * 1_000_000 + delta.microseconds
    assert json.loads(json.dumps({"d": delta}, default=default)) == {"d": expected}
    assert from_dict(dt.timedelta, expected) == delta


def test_plain_views_hold_plain_containers_only():
    case = Case("c1", "p", 1, "s", 1, START, START, {"a": [1, {"b": [2]}]}, {"x": {"y": [3]}})
    plain = to_dict(case)

    def kinds(value):  # every container type in the value
        if isinstance(value, dict):
            return {type(value)} | set().union(*(kinds(v) for v in value.values()))
        if isinstance(value, list):
            return {type(value)} | set().union(*(kinds(v) for v in value))
        return set()
    assert kinds(plain) == {dict, list}


def test_plain_datetimes_convert_both_ways():
    at = dt.datetime(2026, 3, 2, 9, 30, 1, 5, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    assert to_dict({"at": at}) == {"at": "2026-03-02T09:30:01.000005+08:00"}
    back = from_dict(dt.datetime, "2026-03-02T09:30:01.000005+08:00")
    assert back == at and back.utcoffset() == dt.timedelta(hours=8)


def test_a_payload_that_is_not_an_object_is_refused_as_such():
    plain = to_dict(Timer("c1", "t", START, "p", {}))
    plain["payload"] = "text"
    with pytest.raises(TypeError, match="JSON object"):
        from_dict(Timer, plain)


def test_named_tuples_are_plain_lists():
    from servicewf.sla import Cycle

    cycle = Cycle(2, 10, 20, 30, "met", False, 10, 8, 0, 0)
    assert to_dict(cycle) == [2, 10, 20, 30, "met", False, 10, 8, 0, 0]
    assert to_dict([cycle]) == [[2, 10, 20, 30, "met", False, 10, 8, 0, 0]]
    assert from_dict(Cycle, to_dict(cycle)) == cycle


def test_the_schemas_refuse_what_the_values_cannot_hold():
    case = to_dict(Case("c1", "p", 1, "s", 1, START, START))
    event = to_dict(Event("c1", 1, START, EventKind.OPENED, "u", "agent", None, None, "s"))
    jsonschema.validate(case, SCHEMAS["Case"])
    jsonschema.validate(event, SCHEMAS["Event"])
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**case, "version": 0}, SCHEMAS["Case"])  # versions count events
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**event, "seq": 0}, SCHEMAS["Event"])  # seq starts at 1
    views = {"name": "c", "cycle": 1, "status": "running", "outcome": None, "target": None,
             "started_at": None, "deadline": None, "earliest": None, "warning_at": None,
             "stopped_at": None, "elapsed": 0, "remaining": None, "paused": 0,
             "is_paused": False, "breached": False, "breach_recorded": False, "warned": False,
             "extensions": 0, "past": [[1, 0, 5, None, "met", False]]}
    jsonschema.validate(views, SCHEMAS["ClockView"])
    with pytest.raises(jsonschema.ValidationError):  # a cycle has six fields
        jsonschema.validate({**views, "past": [[1, 0, 5, None, "met"]]}, SCHEMAS["ClockView"])
