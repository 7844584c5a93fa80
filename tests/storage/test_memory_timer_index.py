"""The in-memory store's due-time index answers exactly as a scan of every timer would.

``MemoryStore`` finds due timers through a heap with lazy deletion. These tests run random
sequences of writes (create, append with or without timers, stale and refused writes,
set_timers) and queries (due_timers, claim_due_timers with several owners and leases, timers)
against the store and against :class:`NaiveTimers`, a plain scan written the obvious way, and
require the same answers throughout, with the index compacted early or not at all.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pendulum
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from servicewf.clock import as_utc
from servicewf.errors import StaleVersion
from servicewf.storage import MemoryStore, Timer
from servicewf.storage import memory as memory_module
from tests.contract.backends import T0, case, moved, opened

CASES = ["c0", "c1", "c2"]
NAMES = ["a", "b", "sla:x"]
PROCESSES = ["ticket", "complaint"]
OWNERS = ["w1", "w2", "w3"]
ZONES = ["UTC", "Asia/Shanghai"]  # equal instants in two zones must tie as instants


class NaiveTimers:
    """The reference: every query scans and sorts every timer; leases as the contract says."""

    def __init__(self) -> None:
        self.by_case: dict[str, list[Timer]] = {}
        self.leases: dict[tuple[str, str], tuple[str, dt.datetime]] = {}

    def put(self, case_id: str, timers: list[Timer]) -> None:
        for old in self.by_case.get(case_id, ()):
            self.leases.pop((case_id, old.name), None)
        if timers:
            self.by_case[case_id] = list(timers)
        else:
            self.by_case.pop(case_id, None)

    def timers(self, case_id: str) -> list[Timer]:
        return sorted(self.by_case.get(case_id, ()), key=lambda t: (t.due, t.name))

    def due(self, now: dt.datetime, limit: int | None, process: str | None) -> list[Timer]:
        cutoff = as_utc(now)
        found = sorted(
            (t for ts in self.by_case.values() for t in ts
             if t.due <= cutoff and (process is None or t.process == process)),
            key=lambda t: (t.due, t.case_id, t.name),
        )
        return found if limit is None else found[:limit]

    def claim(self, now: dt.datetime, owner: str, lease: dt.timedelta, limit: int,
              process: str | None) -> list[Timer]:
        cutoff = as_utc(now)
        claimed: list[Timer] = []
        for t in self.due(cutoff, None, process):
            if len(claimed) >= limit:
                break
            held = self.leases.get((t.case_id, t.name))
            if held is not None and held[0] != owner and held[1] > cutoff:
                continue
            self.leases[(t.case_id, t.name)] = (owner, cutoff + lease)
            claimed.append(t)
        return claimed


# Instants on a coarse grid so that ties (same due, several cases and names) are common.
instants = st.builds(
    lambda minutes, zone: T0.add(minutes=minutes).in_timezone(zone),
    st.integers(0, 12), st.sampled_from(ZONES),
)


@st.composite
def timer_lists(draw: st.DrawFn, case_id: str) -> list[Timer]:
    names = draw(st.lists(st.sampled_from(NAMES), unique=True, max_size=3))
    return [Timer(case_id, n, draw(instants), draw(st.sampled_from(PROCESSES)), {"n": n})
            for n in names]


@st.composite
def operations(draw: st.DrawFn) -> tuple[Any, ...]:
    kind = draw(st.sampled_from(
        ["append", "append", "append_keep", "append_stale", "append_bad", "set", "due",
         "due", "claim", "claim", "claim", "timers", "rewrite", "rewrite", "rewrite_set"]))
    cid = draw(st.sampled_from(CASES))
    if kind in ("append", "append_stale", "set"):
        return (kind, cid, draw(timer_lists(cid)))
    if kind in ("rewrite", "rewrite_set"):
        # Some of the case's current timers, the very objects (the store reuses their
        # indexed instants), with new ones for the other names.
        return (kind, cid, draw(st.integers(0, 7)), draw(timer_lists(cid)))
    if kind == "due":
        limit = draw(st.none() | st.integers(-2, 6))
        return (kind, draw(instants), limit, draw(st.none() | st.sampled_from(PROCESSES)))
    if kind == "claim":
        return (kind, draw(instants), draw(st.sampled_from(OWNERS)),
                dt.timedelta(minutes=draw(st.integers(0, 30))), draw(st.integers(0, 6)),
                draw(st.none() | st.sampled_from(PROCESSES)))
    return (kind, cid)


def _run(first: list[list[Timer]], ops: list[tuple[Any, ...]]) -> None:
    store = MemoryStore()
    model = NaiveTimers()
    versions: dict[str, int] = {}
    for cid, timers in zip(CASES, first, strict=True):
        store.create(case(cid), [opened(cid)], timers)
        model.put(cid, timers)
        versions[cid] = 1
    for op in ops:
        kind = op[0]
        if kind in ("append", "append_keep", "append_stale", "append_bad"):
            cid = op[1]
            v = versions[cid]
            snapshot, events = case(cid, version=v + 1), [moved(cid, v + 1, "new", "new")]
            if kind == "append_stale":  # a writer that read the version before the last
                with pytest.raises(StaleVersion):
                    store.append(case(cid, version=v), [moved(cid, v, "new", "new")],
                                 expected_version=v - 1, timers=op[2])
            elif kind == "append_bad":
                dup = [Timer(cid, "a", T0), Timer(cid, "a", T0)]
                with pytest.raises(ValueError, match="unique"):
                    store.append(snapshot, events, expected_version=v, timers=dup)
            else:
                timers = op[2] if kind == "append" else None
                store.append(snapshot, events, expected_version=v, timers=timers)
                versions[cid] = v + 1
                if timers is not None:
                    model.put(cid, timers)
        elif kind in ("rewrite", "rewrite_set"):
            _, cid, keep, fresh = op
            kept = [t for i, t in enumerate(model.timers(cid)) if keep >> i & 1]
            timers = [*kept, *(t for t in fresh if t.name not in {k.name for k in kept})]
            if kind == "rewrite_set":
                store.set_timers(cid, timers)
            else:
                v = versions[cid]
                store.append(case(cid, version=v + 1), [moved(cid, v + 1, "new", "new")],
                             expected_version=v, timers=timers)
                versions[cid] = v + 1
            model.put(cid, timers)
        elif kind == "set":
            _, cid, timers = op
            store.set_timers(cid, timers)
            model.put(cid, timers)
        elif kind == "due":
            _, now, limit, process = op
            same(store.due_timers(now, limit=limit, process=process),
                 model.due(now, limit, process))
        elif kind == "claim":
            _, now, owner, lease, limit, process = op
            same(store.claim_due_timers(now, owner=owner, lease=lease, limit=limit,
                                        process=process),
                 model.claim(now, owner, lease, limit, process))
        elif kind == "timers":
            same(store.timers(op[1]), model.timers(op[1]))
    # Whatever happened, a final full query agrees too.
    end = T0.add(minutes=30)
    same(store.due_timers(end), model.due(end, None, None))
    for cid in CASES:
        same(store.timers(cid), model.timers(cid))


def same(got: list[Timer], expected: list[Timer]) -> None:
    """Equal, and the very objects last written (values are stored as they are)."""
    assert got == expected
    assert all(a is b for a, b in zip(got, expected, strict=True))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.tuples(*(timer_lists(c) for c in CASES)).map(list),
       st.lists(operations(), min_size=5, max_size=60), st.sampled_from([0, 1, 3, 1024]))
def test_indexed_due_timers_equal_a_full_scan(
    first: list[list[Timer]], ops: list[tuple[Any, ...]], compact: int
) -> None:
    # Small thresholds make the index rebuild itself often; 1024 (the default) never here.
    saved = memory_module._COMPACT_MIN
    memory_module._COMPACT_MIN = compact
    try:
        _run(first, ops)
    finally:
        memory_module._COMPACT_MIN = saved


def test_the_index_drops_replaced_timers() -> None:
    # Replacing a case's timers over and over must not grow the index without bound.
    store = MemoryStore()
    store.create(case("c1"), [opened("c1")], [Timer("c1", "a", T0)])
    for v in range(1, 5001):
        store.append(case("c1", version=v + 1), [moved("c1", v + 1, "new", "new")],
                     expected_version=v, timers=[Timer("c1", "a", T0.add(minutes=v % 7))])
    assert len(store._heap) <= 2 * memory_module._COMPACT_MIN + 2
    assert store.due_timers(T0.add(hours=1)) == [Timer("c1", "a", T0.add(minutes=5000 % 7))]


def test_a_naive_due_instant_is_refused_before_anything_is_written() -> None:
    store = MemoryStore()
    store.create(case("c1"), [opened("c1")], [Timer("c1", "a", T0)])
    naive = Timer("c1", "b", pendulum.naive(2026, 3, 1, 9))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="naive"):
        store.set_timers("c1", [naive])
    assert store.timers("c1") == [Timer("c1", "a", T0)]
    assert store.due_timers(T0) == [Timer("c1", "a", T0)]
