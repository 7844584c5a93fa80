"""The SQLite commit path binds the snapshot UPDATE and the event INSERT from lists built in
the compiled statements' parameter order; the rows it writes are exactly those of the
named-parameter path (the dicts of _update_params and _event_row)."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pendulum
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from servicewf import Actor, DefinitionBuilder, Engine, FrozenClock
from servicewf.storage.sql import SQLStore

T0 = pendulum.datetime(2026, 3, 1, 9, 0, tz="UTC")
# Plain data refuses NUL (servicewf.plain): drawn text leaves it out, as valid data does.
_text = st.characters(exclude_characters="\x00")
_values = (st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1)
           | st.floats(allow_nan=False, allow_infinity=False) | st.text(_text, max_size=6)
           | st.lists(st.integers(0, 9), max_size=3))
_data = st.dictionaries(st.sampled_from(["n", "客户", "note", "x"]), _values, max_size=3)


def _definition() -> Any:
    return (DefinitionBuilder("bench", 1).add_state("open", initial=True)
            .add_state("closed", final=True).add_transition("note", "open", "=")
            .add_transition("close", "open", "closed").build())


def _rows(path: Path) -> tuple[list[Any], list[Any]]:
    db = sqlite3.connect(path)
    try:
        return (db.execute("SELECT * FROM cases ORDER BY id").fetchall(),
                db.execute("SELECT * FROM events ORDER BY position").fetchall())
    finally:
        db.close()


def _run(path: Path, steps: list[tuple[dict[str, Any], str | None, int]],
         positional: bool) -> tuple[list[Any], list[Any]]:
    store = SQLStore.sqlite(path)
    assert store._fast is not None and store._fast.positional  # the path under test exists
    store._fast.positional = positional
    clock = FrozenClock(T0)
    engine = Engine(store, clock, [_definition()])
    case = engine.open("bench", actor=Actor("a", "agent"), case_id="c1", data={"客户": "张三"})
    for data, comment, seconds in steps:
        clock.advance(seconds=seconds)
        case = engine.fire(case, "note", actor=Actor("a", "agent"), data=data, comment=comment)
    assert store.load("c1") == case
    store.close()
    return _rows(path)


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(_data, st.none() | st.text(_text, max_size=5), st.integers(0, 90)),
                min_size=1, max_size=4))
def test_positional_rows_equal_named_rows(tmp_path: Path, steps: Any) -> None:
    n = len(list(tmp_path.iterdir()))
    fast = _run(tmp_path / f"fast{n}.db", steps, True)
    named = _run(tmp_path / f"named{n}.db", steps, False)
    assert fast == named


def test_a_stale_write_on_the_positional_path_writes_nothing(tmp_path: Path) -> None:
    from servicewf.errors import StaleVersion

    store = SQLStore.sqlite(tmp_path / "s.db")
    engine = Engine(store, FrozenClock(T0), [_definition()])
    first = engine.open("bench", actor=Actor("a", "agent"), case_id="c1")
    engine.fire(first, "note", actor=Actor("a", "agent"), data={"n": 1})
    other = Engine(store, FrozenClock(T0), [_definition()])
    with pytest.raises(StaleVersion):
        other.commit(other.plan_fire(first, "note", actor=Actor("a", "agent"), data={"n": 2}))
    assert [e.seq for e in store.history("c1")] == [1, 2]
    store.close()
