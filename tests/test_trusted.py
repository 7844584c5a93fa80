"""servicewf._trusted.trusted_constructor builds the same values as the class's own
constructor, field for field, for every class the engine builds that way."""

from __future__ import annotations

import attrs
import pendulum
import pytest
from hypothesis import given
from hypothesis import strategies as st

from servicewf import Case, Event, EventKind, WriteSet
from servicewf._trusted import trusted_constructor
from servicewf.plain import plain_data

names = st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True)
instants = st.integers(0, 2_000_000_000).map(lambda s: pendulum.from_timestamp(s, tz="UTC"))
data = st.dictionaries(names, st.integers(-(2**63), 2**63 - 1) | names, max_size=3).map(
    lambda d: plain_data(d))


@given(names, names, st.integers(1, 9), names, st.integers(1, 99), instants, instants, data,
       data)
def test_case(cid, process, dv, state, version, opened, updated, d, ext) -> None:
    args = (cid, process, dv, state, version, opened, updated, d, ext)
    made = trusted_constructor(Case)(*args)
    assert made == Case(*args) and type(made) is Case
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        made.state = "x"  # type: ignore[misc]


@given(names, st.integers(1, 99), instants, st.sampled_from(list(EventKind)), names, names,
       st.none() | names, st.none() | names, names, data, st.none() | st.text(max_size=5))
def test_event(cid, seq, at, kind, actor, role, trigger, source, dest, d, comment) -> None:
    args = (cid, seq, at, kind, actor, role, trigger, source, dest, d, comment)
    assert trusted_constructor(Event)(*args) == Event(*args)


def test_write_set_and_field_order() -> None:
    at = pendulum.datetime(2026, 1, 1, tz="UTC")
    case = Case("c", "p", 1, "s", 1, at, at)
    event = Event("c", 1, at, EventKind.OPENED, "a", "r", None, None, "s")
    made = trusted_constructor(WriteSet)(case, (event,), 0, WriteSet.build(case, [event], 0)
                                         .timers, (), True)
    assert made == WriteSet(case, (event,), 0, checked=True) and made.checked
    # Positional, in declaration order, every field: a field added to the class changes the
    # signature, and the engine's calls fail loudly instead of leaving a slot unset.
    with pytest.raises(TypeError):
        trusted_constructor(WriteSet)(case, (event,), 0)


def test_values_are_of_the_class_itself_and_stay_frozen() -> None:
    at = pendulum.datetime(2026, 1, 1, tz="UTC")
    event = trusted_constructor(Event)("c", 1, at, EventKind.OPENED, "a", "r", None, None, "s",
                                       plain_data({"x": 1}), None)
    assert type(event) is Event and event.__class__ is Event
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        event.seq = 2  # type: ignore[misc]
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        del event.seq  # type: ignore[misc]
    assert event == Event(*attrs.astuple(event, recurse=False))


@attrs.frozen(slots=True)
class _Plain:
    a: int
    b: str = "x"


def test_the_descriptor_way_when_the_class_refuses_the_switch(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from servicewf import _trusted

    fast = trusted_constructor(_Plain)
    monkeypatch.setattr(_trusted, "_assignable_twin", lambda cls: None)
    slow = trusted_constructor(_Plain)
    assert fast(1, "y") == slow(1, "y") == _Plain(1, "y")
    assert type(fast(1, "y")) is type(slow(1, "y")) is _Plain

