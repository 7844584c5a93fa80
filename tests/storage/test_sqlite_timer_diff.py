"""The SQLite commit path writes only the timer rows that differ (``_write_timers``); the rows
it leaves are exactly those the general path leaves, which deletes the owner's rows and
inserts the new ones: the same timers, the given ones unleased, other owners' rows (and their
leases) untouched."""

from __future__ import annotations

import sqlite3
import tempfile
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pendulum
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from servicewf import Case
from servicewf.storage.base import Timer, WriteSet
from servicewf.storage.sql import SQLStore

T0 = pendulum.datetime(2026, 3, 1, 9, 0, tz="UTC")
NAMES = ["sla:a", "sla:b", "sla:c", "x:a", "x:b"]

# A timer: name, due (minutes after T0), payload value, process.
_timer = st.tuples(st.sampled_from(NAMES), st.integers(0, 3), st.integers(0, 2),
                   st.sampled_from(["p", "q"]))
_group = st.lists(_timer, max_size=4, unique_by=lambda t: t[0])


def _timers(spec: list[tuple[str, int, int, str]], prefix: str) -> tuple[Timer, ...]:
    return tuple(Timer("c1", name, T0.add(minutes=due), process, MappingProxyType({"v": v}))
                 for name, due, v, process in spec if name.startswith(prefix))


def _rows(path: Path) -> list[Any]:
    db = sqlite3.connect(path)
    try:
        return db.execute("SELECT * FROM timers ORDER BY case_id, name").fetchall()
    finally:
        db.close()


def _apply(path: Path, first: Any, leased: list[str], groups: list[tuple[str, Any]],
           fast: bool) -> list[Any]:
    from servicewf.events import Event, EventKind

    store = SQLStore.sqlite(path)
    assert store._fast is not None
    opened = Case("c1", "p", 1, "open", 1, T0, T0, MappingProxyType({}))
    store.append(WriteSet(opened, (Event("c1", 1, T0, EventKind.OPENED, "a", "r", None, None,
                                         "open", MappingProxyType({})),), 0,
                          MappingProxyType({"": _timers(first, "")})))
    # Leases as a sweep leaves them (claimed timers are due: claim at a late instant).
    due = [t for t in _timers(first, "") if t.name in leased]
    if due:
        store.claim_due_timers(T0.add(days=1), owner="w", lease=pendulum.duration(hours=1),
                               limit=len(due))
    if not fast:
        store._fast = None  # the general path (SQLAlchemy Core, delete then insert)
    case = Case("c1", "p", 1, "open", 2, T0, T0, MappingProxyType({}))
    store.append(WriteSet(case, (Event("c1", 2, T0, EventKind.NOTE, "a", "r", None, "open",
                                       "open", MappingProxyType({})),), 1,
                          MappingProxyType({prefix: _timers(spec, prefix)
                                            for prefix, spec in groups})))
    store.close()
    return _rows(path)


@settings(max_examples=20, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(_group, st.lists(st.sampled_from(NAMES), max_size=3),
       # Owners' prefixes never overlap (write-sets with overlapping ones are refused).
       st.sampled_from([["sla:"], ["x:"], [""], ["sla:", "x:"]]).flatmap(
           lambda owners: st.tuples(*(st.tuples(st.just(p), _group) for p in owners)).map(
               list)))
@example([("sla:a", 1, 0, "p"), ("x:a", 1, 0, "p")], ["sla:a", "x:a"],
         [("sla:", [("sla:a", 1, 0, "p")])])  # the same timer, leased: the lease ends
@example([("sla:a", 1, 0, "p"), ("sla:b", 2, 0, "p")], [],
         [("sla:", [("sla:a", 1, 1, "p"), ("sla:c", 0, 0, "q")])])  # payload, gone, new
@example([("sla:a", 1, 0, "p")], [], [("sla:", [("sla:a", 2, 0, "p")])])  # due moved
@example([("sla:a", 1, 0, "p"), ("x:a", 1, 0, "p")], [],
         [("", [("sla:a", 1, 0, "p"), ("sla:b", 1, 0, "p")])])  # every timer of the case
@example([("sla:a", 1, 0, "p")], [], [("sla:", [("sla:a", 1, 0, "q")])])  # process
def test_the_fast_path_leaves_the_rows_the_general_path_leaves(
        first: Any, leased: list[str], groups: list[tuple[str, Any]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        fast = _apply(Path(tmp) / "fast.db", first, leased, groups, fast=True)
        general = _apply(Path(tmp) / "general.db", first, leased, groups, fast=False)
    assert fast == general
