"""The global log (``Store.read_log``), the same on every backend: positions increase across
the whole store in commit order, a reader resumes exactly after the last position it saw, and
concurrent writers never make a reader miss an event."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from servicewf.errors import StaleVersion
from servicewf.events import Event
from servicewf.storage import LogEntry, Store

from .backends import BACKENDS, another_store, append_note, case, make_store, moved, open_case


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest) -> Iterator[Store]:
    yield from make_store(request.param, request)


def backend(request: pytest.FixtureRequest) -> str:
    return str(request.node.callspec.params["store"])


def ids(entries: list[LogEntry]) -> list[tuple[str, int]]:
    return [(e.event.case_id, e.event.seq) for e in entries]


def test_an_empty_store_has_an_empty_log(store):
    assert store.read_log() == []
    assert store.read_log(after=10, limit=5) == []


def test_positions_increase_across_cases_in_commit_order(store):
    a = open_case(store, "a")
    b = open_case(store, "b")
    a = append_note(store, a)
    b = append_note(store, b, count=3)  # one write: its events follow their seq
    a = append_note(store, a)
    log = store.read_log()
    assert ids(log) == [("a", 1), ("b", 1), ("a", 2), ("b", 2), ("b", 3), ("b", 4), ("a", 3)]
    positions = [p for p, _ in log]
    assert positions == sorted(set(positions)) and positions[0] >= 1
    # the log gives back the very events the histories hold
    by_case = {cid: store.history(cid) for cid in ("a", "b")}
    assert [e for _, e in log if e.case_id == "a"] == by_case["a"]
    assert [e for _, e in log if e.case_id == "b"] == by_case["b"]
    assert all(isinstance(e, Event) for _, e in log)


def test_read_log_after_a_position_resumes_exactly(store):
    c = open_case(store, "c")
    for _ in range(6):
        c = append_note(store, c)
    log = store.read_log()
    assert len(log) == 7
    for i, (position, _) in enumerate(log):
        assert store.read_log(after=position) == log[i + 1:]
    assert store.read_log(after=log[-1].position) == []
    # paging with limit reads every entry once, in order
    seen: list[LogEntry] = []
    cursor = 0
    while page := store.read_log(after=cursor, limit=3):
        assert len(page) <= 3
        seen.extend(page)
        cursor = page[-1].position
    assert seen == log
    assert store.read_log(limit=0) == []
    assert store.read_log(after=-5) == log
    with pytest.raises(ValueError, match="limit"):
        store.read_log(limit=-1)


def test_a_refused_write_takes_no_visible_position(store):
    c = open_case(store, "c")
    c2 = append_note(store, c)
    before = store.read_log()
    with pytest.raises(StaleVersion):  # read at version 1, the case is at 2
        store.append(case("c", version=2, state="x"), [moved("c", 2, "new", "x")],
                     expected_version=1)
    assert store.read_log() == before
    append_note(store, c2)
    after = store.read_log()
    assert after[:2] == before and after[2].position > before[1].position


def test_a_second_store_on_the_same_data_continues_the_log(store, request):
    other = another_store(backend(request), store)
    try:
        a = open_case(store, "a")
        b = open_case(other, "b")
        append_note(store, a)
        append_note(other, b)
        assert ids(store.read_log()) == [("a", 1), ("b", 1), ("a", 2), ("b", 2)]
        assert other.read_log() == store.read_log()
    finally:
        if other is not store:
            other.close()


def test_interleaved_writers_never_make_a_tailing_reader_miss_an_event(store, request):
    """Two writers (two stores on SQL backends) append to their own cases while a reader
    tails the log with read_log(after=last position seen): the reader ends with every event
    exactly once, in increasing positions, each case in seq order."""
    other = another_store(backend(request), store)
    writes = 40
    done = threading.Event()
    failures: list[BaseException] = []

    def write(target: Store, cid: str) -> None:
        try:
            current = open_case(target, cid)
            for i in range(writes):
                current = append_note(target, current, count=1 + i % 2)
        except BaseException as exc:  # pragma: no cover - reported below
            failures.append(exc)

    seen: list[LogEntry] = []

    def tail() -> None:
        cursor = 0
        try:
            while True:
                finished = done.is_set()
                page = store.read_log(after=cursor, limit=7)
                seen.extend(page)
                if page:
                    cursor = page[-1].position
                elif finished:
                    return
        except BaseException as exc:  # pragma: no cover - reported below
            failures.append(exc)

    writers = [threading.Thread(target=write, args=(store, "w1")),
               threading.Thread(target=write, args=(other, "w2"))]
    reader = threading.Thread(target=tail)
    reader.start()
    for t in writers:
        t.start()
    for t in writers:
        t.join()
    done.set()
    reader.join()
    try:
        assert failures == []
        positions = [p for p, _ in seen]
        assert positions == sorted(set(positions))
        assert seen == store.read_log()
        for cid in ("w1", "w2"):
            mine = [e for _, e in seen if e.case_id == cid]
            assert mine == store.history(cid)
            assert len(mine) == 1 + sum(1 + i % 2 for i in range(writes))
    finally:
        if other is not store:
            other.close()
