"""Hostile input, the same on every store: a specific refusal, and not one byte changed.

Each example builds a bad command together with the refusal it must get, decided here by a
small oracle that does not call the library's checks; every store must give exactly that
refusal and leave the case's snapshot, history and timers as they were.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from servicewf import (
    SYSTEM,
    Actor,
    CaseMismatch,
    EventKind,
    FieldNotOwned,
    InvalidData,
    InvalidIdentifier,
    RoleNotPermitted,
)
from servicewf.engine import Engine
from servicewf.storage import Store

from ..contract.backends import BACKENDS, make_store
from .support import AGENT, BOSS, make_engine, snapshot

FIELD = st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True)

# Values JSON has no faithful form for, each with a word its refusal must say.
BAD_VALUES = st.one_of(
    st.sampled_from([float("nan"), float("inf"), -float("inf")]).map(lambda v: (v, "finite")),
    st.frozensets(st.integers(), max_size=2).map(lambda v: (set(v), "set")),
    st.binary(max_size=4).map(lambda v: (v, "bytes")),
    st.decimals(allow_nan=False, allow_infinity=False).map(lambda v: (v, "Decimal")),
    st.datetimes(timezones=st.just(dt.timezone.utc)).map(lambda v: (v, "isoformat")),
    st.integers(min_value=2**63).map(lambda v: (v, "64-bit")),
    st.integers(max_value=-(2**63) - 1).map(lambda v: (v, "64-bit")),
    st.text(max_size=3).map(lambda t: (t + "\x00", "NUL")),
    # without a NUL: a text with both is refused for the NUL, which the walk checks first
    st.text(max_size=3).map(lambda t: (t.replace("\x00", "") + "\ud83d", "surrogate")),
    st.builds(object).map(lambda v: (v, "object")),
)


@st.composite
def buried(draw: st.DrawFn) -> tuple[dict[str, Any], str, str]:
    """A bad value at a random depth: (data, expected path, word of the problem)."""
    value, word = draw(BAD_VALUES)
    steps = draw(st.lists(FIELD.filter(lambda f: f != "ok") | st.integers(0, 2), max_size=4))
    node: Any = value
    for step in reversed(steps):
        if isinstance(step, str):
            node = {step: node, **({"ok": 1} if draw(st.booleans()) else {})}
        else:
            node = [*(["pad"] * step), node]
    return {"note": node}, "data['note']" + "".join(f"[{s!r}]" for s in steps), word


BAD_IDS = st.one_of(
    st.just(""), st.text(min_size=201, max_size=210, alphabet="ab"),
    st.text(max_size=5).map(lambda t: f"id{t}\n"), st.text(max_size=5).map(lambda t: f" {t}x"),
    st.sampled_from(["a\x00b", "tab\tid", "bell\x07"]), st.integers(), st.none().map(lambda _: 3.5),
)


@attrs.frozen
class Command:
    """One hostile command and the refusal the oracle expects."""

    name: str
    args: dict[str, Any]
    expected: type[Exception]
    attribute: tuple[str, Any] | None = None
    word: str | None = None


@st.composite
def hostile(draw: st.DrawFn) -> Command:
    kind = draw(st.sampled_from(["data", "open_data", "case_id", "actor_id", "role",
                                 "record_role", "forged", "foreign_field", "data_type"]))
    if kind in ("data", "open_data"):
        data, path, word = draw(buried())
        if kind == "open_data":
            path = path.replace("['note']", "['contact']", 1)
            data = {"customer_ref": "C-9", "contact": data["note"]}
            return Command("open", {"data": data}, InvalidData, ("path", path), word)
        return Command("fire", {"trigger": "comment", "data": data}, InvalidData,
                       ("path", path), word)
    if kind == "data_type":
        bad = draw(st.sampled_from([[("note", "x")], "note=x", 7, {1: "x"}, {"": 1},
                                    {"x\n": 1}]))
        return Command("fire", {"trigger": "comment", "data": bad}, InvalidData,
                       ("path", "data"))
    if kind == "case_id":
        return Command("open", {"case_id": draw(BAD_IDS)}, InvalidIdentifier,
                       ("what", "case id"))
    if kind == "actor_id":
        return Command("fire", {"trigger": "work", "actor": Actor(draw(BAD_IDS), "agent")},
                       InvalidIdentifier, ("what", "actor id"))
    if kind == "role":
        return Command("fire", {"trigger": "work", "actor": Actor("amy", draw(BAD_IDS))},
                       InvalidIdentifier, ("what", "role"))
    if kind == "record_role":
        event_kind = draw(st.sampled_from([EventKind.ESCALATED, EventKind.CLOCK_BREACHED,
                                           EventKind.CLOCK_WARNING, EventKind.OBLIGATION_DUE,
                                           EventKind.CLOCK_EXTENDED]))
        actor = draw(st.sampled_from([AGENT, Actor("c", "customer"), Actor("x", "admin")]))
        return Command("record", {"kind": event_kind, "actor": actor}, RoleNotPermitted,
                       ("action", "record"))
    if kind == "forged":
        change = draw(st.sampled_from(["state", "data", "definition_version"]))
        return Command("forged", {"change": change}, CaseMismatch)
    field = draw(FIELD.filter(lambda f: f not in ("note", "approved_by")))
    return Command("fire", {"trigger": "work", "data": {field: "x"}}, FieldNotOwned,
                   ("fields", (field,)))


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest) -> Iterator[Store]:
    yield from make_store(request.param, request)


def run(engine: Engine, cid: str, command: Command) -> None:
    a = command.args
    if command.name == "open":
        data = a.get("data", {"customer_ref": "C-9"})
        engine.open("ticket", actor=AGENT, data=data, case_id=a.get("case_id"), version=1)
    elif command.name == "fire":
        engine.fire(cid, a["trigger"], actor=a.get("actor", AGENT), data=a.get("data"))
    elif command.name == "record":
        engine.record(cid, a["kind"], actor=a["actor"], data={"clock": "respond"})
    else:
        real = engine.get(cid)
        change = a["change"]
        forged = attrs.evolve(real, **{
            "state": {"state": "done"},
            "data": {"data": {**real.data, "scope": ["all"]}},
            "definition_version": {"definition_version": 2},
        }[change])
        engine.fire(forged, "work", actor=AGENT)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture,
                                 HealthCheck.too_slow])
@given(commands=st.lists(hostile(), min_size=1, max_size=4))
def test_hostile_commands_get_the_oracles_refusal_and_change_nothing(
    store: Store, commands: list[Command]
) -> None:
    engine = make_engine(store)
    case = engine.open("ticket", actor=AGENT, data={"customer_ref": "C-1"}, version=1)
    cid = engine.fire(case, "approve", actor=BOSS, data={"scope": ["basic"]}).id
    count = store.count()
    before = snapshot(engine, cid)
    for command in commands:
        with pytest.raises(command.expected) as refused:
            run(engine, cid, command)
        assert type(refused.value) is command.expected
        if command.attribute is not None:
            name, value = command.attribute
            assert getattr(refused.value, name) == value
        if command.word is not None:
            assert command.word in refused.value.problem  # type: ignore[attr-defined]
        assert snapshot(engine, cid) == before
        assert store.count() == count
    # the case still works after the refusals
    assert engine.fire(cid, "work", actor=AGENT, data={"note": "ok"}).state == "working"
    assert engine.record(cid, EventKind.CLOCK_WARNING, actor=SYSTEM).version == 4
