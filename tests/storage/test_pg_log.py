"""The global log on PostgreSQL with concurrent transactions, on two connections.

Positions come from an identity sequence, drawn at insert time, so the transaction that
draws the lower position may commit last. A reader that read the log then would see the
higher position, move its cursor past it, and skip the lower one forever (the control test
reproduces exactly that with the log lock disabled). ``read_log`` takes the log lock
exclusive, which waits for every appender holding it shared, i.e. every transaction that has
drawn a position and not yet ended; so the reader sees both positions or neither.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from servicewf.errors import StorageError
from servicewf.storage import LogEntry
from servicewf.storage.sql import SQLStore
from tests.contract.backends import append_note, open_case

pytestmark = pytest.mark.postgres


@pytest.fixture
def store(pg_engine, pg_schema, request) -> Iterator[SQLStore]:
    s = SQLStore(pg_engine, schema=pg_schema[1], prefix=f"lg_{request.node.name[5:20]}_")
    try:
        yield s
    finally:
        s.drop_tables()


def _position(conn: sa.Connection, store: SQLStore, case_id: str) -> int:
    ev = store.tables.events.c
    return int(conn.execute(sa.select(sa.func.max(ev.position)).where(ev.case_id == case_id)
                            ).scalar_one())


def _cases(entries: list[LogEntry]) -> list[tuple[str, int]]:
    return [(e.case_id, e.seq) for _, e in entries]


def test_the_lower_position_committing_last_is_not_skipped(store):
    a, b = open_case(store, "a"), open_case(store, "b")
    cursor = store.read_log()[-1].position
    with store.engine.connect() as conn_a, store.engine.connect() as conn_b:
        tx_a = conn_a.begin()
        append_note(store.bind(conn_a), a)  # A draws the lower position...
        low = _position(conn_a, store, "a")
        with conn_b.begin():
            append_note(store.bind(conn_b), b)  # ...B the higher one, and commits first:
            high = _position(conn_b, store, "b")  # appenders do not wait for each other
        assert cursor < low < high

        read: list[list[LogEntry]] = []
        reader = threading.Thread(target=lambda: read.append(store.read_log(after=cursor)))
        reader.start()
        time.sleep(0.5)
        assert reader.is_alive(), "the reader did not wait for A, which drew a lower position"
        tx_a.commit()  # the lower position commits last
    reader.join(10)
    assert not reader.is_alive()
    assert _cases(read[0]) == [("a", 2), ("b", 2)]
    assert [p for p, _ in read[0]] == [low, high]


def test_a_reader_waits_only_for_appenders_that_drew_a_position(store):
    a = open_case(store, "a")
    with store.engine.connect() as conn, conn.begin():
        store.bind(conn).load("a")  # a transaction that wrote no event holds nothing
        assert _cases(store.read_log()) == [("a", 1)]
    append_note(store, a)
    assert _cases(store.read_log(after=1)) == [("a", 2)]


def test_control_without_the_log_lock_a_tailing_reader_skips_an_event(store, monkeypatch):
    """The hazard the lock prevents, reproduced: the same two transactions, the reader not
    taking the lock."""
    monkeypatch.setattr(store, "_q_read_lock", sa.text("SELECT 1"))
    a, b = open_case(store, "a"), open_case(store, "b")
    cursor = store.read_log()[-1].position
    with store.engine.connect() as conn_a, store.engine.connect() as conn_b:
        tx_a = conn_a.begin()
        append_note(store.bind(conn_a), a)
        with conn_b.begin():
            append_note(store.bind(conn_b), b)
        seen = store.read_log(after=cursor)
        assert _cases(seen) == [("b", 2)]
        cursor = seen[-1].position
        tx_a.commit()
    assert store.read_log(after=cursor) == []  # a's event is behind the cursor: skipped
    assert _cases(store.read_log())[-2:] == [("a", 2), ("b", 2)]


def test_reading_the_log_on_a_bound_view_needs_read_committed(store):
    open_case(store, "a")
    with store.engine.connect() as conn:
        conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin(), pytest.raises(StorageError, match="READ COMMITTED"):
            store.bind(conn).read_log()
    with store.engine.connect() as conn, conn.begin():
        assert _cases(store.bind(conn).read_log()) == [("a", 1)]


def test_the_store_reads_the_log_read_committed_whatever_the_engine_says(pg_schema, request):
    engine = sa.create_engine(store_url(pg_schema[0]), isolation_level="REPEATABLE READ")
    s = SQLStore(engine, schema=pg_schema[1], prefix=f"rr_{request.node.name[5:15]}_")
    try:
        a = open_case(s, "a")
        append_note(s, a)
        assert _cases(s.read_log()) == [("a", 1), ("a", 2)]
    finally:
        s.drop_tables()
        engine.dispose()


def store_url(dsn: str) -> sa.URL:
    from servicewf.storage.sql import normalize_url

    return normalize_url(dsn)
