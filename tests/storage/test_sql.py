"""SQLStore beyond the shared contract: engines, transactions with your own rows, faults,
corrupt rows, migrations, the DDL."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Iterator

import attrs
import pytest
import sqlalchemy as sa

from servicewf import SYSTEM, Actor, Engine, FrozenClock
from servicewf.clock import epoch_us, from_epoch_us
from servicewf.errors import CorruptRecord, SchemaMigrationError, StaleVersion, StorageError
from servicewf.storage._codec import V0_EXTENSIONS_KEY
from servicewf.storage.base import OutboxMessage, WriteSet
from servicewf.storage.schema import DATABASE_SCHEMA_VERSION, schema_sql
from servicewf.storage.sql import SQLStore, normalize_url
from tests.contract.backends import (
    T0,
    append_note,
    case,
    make_store,
    moved,
    open_case,
    opened,
    timer,
)
from tests.helpers import ticket_definition

SQL_BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
]
AGENT = Actor("u1", "agent")


@pytest.fixture(params=SQL_BACKENDS)
def store(request: pytest.FixtureRequest) -> Iterator[SQLStore]:
    for s in make_store(request.param, request):
        assert isinstance(s, SQLStore)
        yield s


def test_plain_postgresql_dsns_get_the_psycopg_driver():
    assert normalize_url("postgresql://u@h:5432/db").drivername == "postgresql+psycopg"
    assert normalize_url("postgres://u@h/db").drivername == "postgresql+psycopg"
    assert normalize_url("postgresql+psycopg2://u@h/db").drivername == "postgresql+psycopg2"
    assert normalize_url("sqlite:///x.db").drivername == "sqlite"


def test_micros_are_exact_and_sortable():
    moments = [T0, T0.add(microseconds=1), T0.in_timezone("Asia/Shanghai").add(microseconds=2),
               dt.datetime(1900, 1, 1, tzinfo=dt.timezone.utc),
               dt.datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=dt.timezone.utc)]
    for m in moments:
        assert from_epoch_us(epoch_us(m)) == m
    assert epoch_us(T0) < epoch_us(T0.add(microseconds=1))
    with pytest.raises(ValueError, match="naive"):
        epoch_us(dt.datetime(2026, 1, 1))


def test_sqlite_runs_in_wal_mode_with_pragmas(tmp_path):
    store = SQLStore.sqlite(tmp_path / "a.db", busy_timeout_ms=1234)
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 1234
    store.close()


def test_data_survives_reopening(tmp_path):
    with SQLStore.sqlite(tmp_path / "a.db") as store:
        c = open_case(store, "c1", timers=(timer("c1", "t", T0),))
    with SQLStore.sqlite(tmp_path / "a.db") as again:
        assert again.load("c1") == c
        assert [t.name for t in again.timers("c1")] == ["t"]


def test_prefixed_stores_share_a_database_without_seeing_each_other(tmp_path):
    url = f"sqlite:///{tmp_path / 'crm.db'}"
    a, b = SQLStore(url, prefix="wf_"), SQLStore(url, prefix="other_")
    open_case(a, "c1")
    assert b.count() == 0 and a.count() == 1
    names = set(sa.inspect(a.engine).get_table_names())
    assert {"wf_cases", "wf_events", "wf_timers", "wf_servicewf_meta", "other_cases"} <= names
    a.close()
    b.close()


def test_create_false_refuses_missing_tables(tmp_path):
    with pytest.raises(StorageError, match="create=True"):
        SQLStore.sqlite(tmp_path / "empty.db", create=False)


# --- transactions with the integrator's rows --------------------------------------------------


def _crm_table(store: SQLStore) -> sa.Table:
    md = sa.MetaData(schema=store.tables.metadata.schema)
    table = sa.Table(f"{store.tables.cases.name}_crm", md,
                     sa.Column("id", sa.Integer, primary_key=True),
                     sa.Column("note", sa.String(100)))
    md.create_all(store.engine)
    return table


def test_workflow_writes_roll_back_with_the_integrators_transaction(store):
    crm = _crm_table(store)
    clock = FrozenClock(T0)
    Engine(store, clock, [ticket_definition()]).open("ticket", actor=AGENT, case_id="t1")

    class Abort(Exception):
        pass

    with pytest.raises(Abort), store.engine.begin() as conn:
        conn.execute(crm.insert().values(id=1, note="客户来电"))
        engine = Engine(store.bind(conn), clock, [ticket_definition()])
        engine.open("ticket", actor=AGENT, case_id="t2")
        engine.fire("t1", "register", actor=AGENT, data={"request_type": "x"})
        assert engine.get("t1").state == "registered"  # visible inside the transaction
        raise Abort
    with store.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(crm)).scalar() == 0
    assert store.load("t1").state == "received"
    assert store.count() == 1 and len(store.history("t1")) == 1


def test_workflow_writes_commit_with_the_integrators_transaction(store):
    crm = _crm_table(store)
    clock = FrozenClock(T0)
    Engine(store, clock, [ticket_definition()]).open("ticket", actor=AGENT, case_id="t1")
    with store.engine.begin() as conn:
        conn.execute(crm.insert().values(id=1, note="已登记"))
        engine = Engine(store.bind(conn), clock, [ticket_definition()])
        engine.fire("t1", "register", actor=AGENT, data={"request_type": "x"})
    with store.engine.connect() as conn:
        assert conn.execute(sa.select(crm.c.note)).scalar() == "已登记"
    assert store.load("t1").state == "registered"
    assert [e.seq for e in store.history("t1")] == [1, 2]


def test_a_bound_view_reports_conflicts_without_writing(store):
    open_case(store, "c1")
    with store.engine.begin() as conn:
        view = store.bind(conn)
        with pytest.raises(StaleVersion):
            view.append(case("c1", version=3, state="b"),
                        [moved("c1", 3, "new", "b")], expected_version=2)
        assert view.load("c1").version == 1
    assert store.load("c1").version == 1


# --- faults ---------------------------------------------------------------------------------


def _fail_event_inserts(store: SQLStore) -> None:
    """A database trigger that makes inserting an event with comment 'boom' fail: a real
    error raised by the database after the snapshot UPDATE of the same transaction."""
    events = store.engine.dialect.identifier_preparer.format_table(store.tables.events)
    with store.engine.begin() as conn:
        if store.engine.dialect.name == "sqlite":
            conn.exec_driver_sql(
                f"CREATE TRIGGER boom BEFORE INSERT ON {events} WHEN NEW.comment = 'boom' "
                "BEGIN SELECT RAISE(ABORT, 'injected fault'); END")
        else:
            fn = f"{store.tables.metadata.schema}.{store.tables.events.name}_boom"
            conn.exec_driver_sql(
                f"CREATE FUNCTION {fn}() RETURNS trigger AS $$ BEGIN "
                "IF NEW.comment = 'boom' THEN RAISE EXCEPTION 'injected fault'; END IF; "
                "RETURN NEW; END $$ LANGUAGE plpgsql")
            conn.exec_driver_sql(f"CREATE TRIGGER boom BEFORE INSERT ON {events} "
                                 f"FOR EACH ROW EXECUTE FUNCTION {fn}()")


def test_a_database_error_mid_command_leaves_no_partial_write(store):
    open_case(store, "c1", timers=(timer("c1", "t", T0),))
    _fail_event_inserts(store)
    before = store.load("c1")
    with pytest.raises(StorageError, match="injected fault"):
        store.append(case("c1", version=2, state="b"),
                     [moved("c1", 2, "new", "b", comment="boom")], expected_version=1,
                     timers=[])
    assert store.load("c1") == before
    assert len(store.history("c1")) == 1
    assert [t.name for t in store.timers("c1")] == ["t"]
    with pytest.raises(StorageError):
        store.create(case("c2"), [attrs.evolve(opened("c2"), comment="boom")])
    assert store.count() == 1
    # The store is usable afterwards.
    store.append(case("c1", version=2, state="b"), [moved("c1", 2, "new", "b")],
                 expected_version=1)
    assert store.load("c1").version == 2


# --- corrupt rows ---------------------------------------------------------------------------


def _raw_update(store: SQLStore, case_id: str, **values: object) -> None:
    cases = store.tables.cases
    with store.engine.begin() as conn:
        conn.execute(cases.update().where(cases.c.id == case_id).values(**values))


def test_bad_json_in_a_snapshot_raises_corrupt_record_naming_the_case(tmp_path):
    with SQLStore.sqlite(tmp_path / "a.db") as store:
        open_case(store, "good")
        open_case(store, "bad")
        _raw_update(store, "bad", data="{not json")
        with pytest.raises(CorruptRecord, match="'bad'") as err:
            store.load("bad")
        assert err.value.case_id == "bad"
        assert store.load("good").id == "good"


def test_unknown_schema_version_raises_corrupt_record(store):
    open_case(store, "c1")
    _raw_update(store, "c1", schema_version=99)
    with pytest.raises(CorruptRecord, match="unknown snapshot schema version 99") as err:
        store.load("c1")
    assert err.value.case_id == "c1"
    with pytest.raises(CorruptRecord):
        store.find()


def test_iter_cases_skips_and_reports_corrupt_rows(store):
    for cid in ["a", "b", "c", "d", "e"]:
        open_case(store, cid)
    _raw_update(store, "b", schema_version=7)
    _raw_update(store, "d", data="[1]")
    reported: list[CorruptRecord] = []
    seen = [c.id for c in store.iter_cases(batch_size=2, on_corrupt=reported.append)]
    assert seen == ["a", "c", "e"]
    assert [r.case_id for r in reported] == ["b", "d"]
    assert [c.id for c in store.iter_cases(process="nope")] == []


# --- migrations -----------------------------------------------------------------------------


def _layout_zero(url: str) -> sa.Engine:
    """A database as servicewf layout 0 wrote it: no extensions/schema_version columns, the
    extension state inside data, no meta table."""
    engine = sa.create_engine(url)
    md = sa.MetaData()
    sa.Table("cases", md, sa.Column("id", sa.String(200), primary_key=True),
             sa.Column("process", sa.String(200)), sa.Column("definition_version", sa.Integer),
             sa.Column("state", sa.String(200)), sa.Column("version", sa.Integer),
             sa.Column("opened_at", sa.BigInteger), sa.Column("updated_at", sa.BigInteger),
             sa.Column("data", sa.Text))
    md.create_all(engine)
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO cases VALUES ('c1', 'ticket', 1, 'open', 1, ?, ?, ?)",
            (epoch_us(T0), epoch_us(T0),
             json.dumps({"客户": "张三", V0_EXTENSIONS_KEY: {"sla": {"due": "x"}}})))
        conn.exec_driver_sql(
            "INSERT INTO cases VALUES ('c2', 'ticket', 1, 'open', 1, ?, ?, '{\"a\":1}')",
            (epoch_us(T0), epoch_us(T0)))
        conn.exec_driver_sql(
            "INSERT INTO cases VALUES ('c3', 'ticket', 1, 'open', 1, ?, ?, '[broken')",
            (epoch_us(T0), epoch_us(T0)))
    return engine


def test_an_old_layout_is_refused_without_migrate(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    _layout_zero(url).dispose()
    with pytest.raises(SchemaMigrationError, match="migrate=True"):
        SQLStore(url)


def test_migrating_layout_zero_moves_extensions_out_of_data(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    _layout_zero(url).dispose()
    with SQLStore(url, migrate=True) as store:
        assert store.database_version() == DATABASE_SCHEMA_VERSION
        c1 = store.load("c1")
        assert dict(c1.data) == {"客户": "张三"}
        assert dict(c1.extensions) == {"sla": {"due": "x"}}
        assert store.load("c2").extensions == {}
        with pytest.raises(CorruptRecord):
            store.load("c3")  # left as it was, still reported
        with store.engine.connect() as conn:
            rows = dict(conn.exec_driver_sql("SELECT id, schema_version FROM cases").all())
        assert rows == {"c1": 1, "c2": 1, "c3": 0}
        store.append(case("c1", version=2, state="b", data=c1.data, extensions=c1.extensions),
                     [moved("c1", 2, "open", "b")], expected_version=1)
        assert store.load("c1").extensions == c1.extensions
    with SQLStore(url) as reopened:  # no migration needed any more
        assert reopened.load("c2").data == {"a": 1}


def test_rows_of_snapshot_format_zero_are_read_and_upgraded(store):
    open_case(store, "c1")
    data = {"客户": "李四", V0_EXTENSIONS_KEY: {"sla": {"paused": True}}}
    _raw_update(store, "c1", schema_version=0, data=json.dumps(data), extensions=None)
    loaded = store.load("c1")
    assert dict(loaded.data) == {"客户": "李四"}
    assert dict(loaded.extensions) == {"sla": {"paused": True}}
    report = store.upgrade_rows()
    assert report.upgraded == 1 and report.corrupt == ()
    assert store.upgrade_rows().upgraded == 0
    assert store.load("c1") == loaded


def _to_layout_one(store: SQLStore) -> None:
    """Turn the store's tables into layout 1: no ``position`` column in ``events``."""
    ev, meta = store.tables.events, store.tables.meta
    with store.engine.begin() as conn:
        q = conn.dialect.identifier_preparer
        index = q.quote(f"ix_{ev.name}_position")
        if ev.schema:
            index = f"{q.quote_schema(ev.schema)}.{index}"
        conn.exec_driver_sql(f"DROP INDEX {index}")
        conn.exec_driver_sql(f"ALTER TABLE {q.format_table(ev)} DROP COLUMN position")
        conn.execute(meta.update().values(value="1"))


def test_migrating_layout_one_numbers_the_existing_events(store):
    """Layout 1 -> 2 numbers existing events by the time they were recorded (ties by case id
    then seq), keeping each case's seq order even where its instants go backwards."""
    minute = dt.timedelta(minutes=1)
    at = {("b", 1): 1, ("b", 2): 5, ("a", 1): 2, ("a", 2): 0, ("a", 3): 3, ("c", 1): 1}
    for cid, last in (("a", 3), ("b", 2), ("c", 1)):
        events = [moved(cid, seq, "s", "s", at=T0 + at[cid, seq] * minute)
                  for seq in range(1, last + 1)]
        store.create(case(cid, version=last, state="s"), events)
    expected = [("b", 1), ("c", 1), ("a", 1), ("a", 2), ("a", 3), ("b", 2)]
    prefix, schema = store.tables.cases.name.removesuffix("cases"), store.tables.cases.schema
    _to_layout_one(store)
    store.close()
    with pytest.raises(SchemaMigrationError, match="migrate=True"):
        SQLStore(store.engine, prefix=prefix, schema=schema)
    with SQLStore(store.engine, prefix=prefix, schema=schema, migrate=True) as upgraded:
        assert upgraded.database_version() == DATABASE_SCHEMA_VERSION
        log = upgraded.read_log()
        assert [(e.case_id, e.seq) for _, e in log] == expected
        assert [p for p, _ in log] == list(range(1, 7))
        assert [e for _, e in log if e.case_id == "a"] == upgraded.history("a")
        append_note(upgraded, upgraded.load("c"))  # new events come after the old ones
        assert upgraded.read_log(after=6) == [(7, upgraded.history("c")[-1])]
    with SQLStore(store.engine, prefix=prefix, schema=schema) as reopened:
        assert reopened.database_version() == DATABASE_SCHEMA_VERSION
        assert len(reopened.read_log()) == 7


def test_migrating_layout_two_adds_the_outbox_table(tmp_path):
    path = tmp_path / "one.db"
    with SQLStore.sqlite(path) as store:
        open_case(store, "c1")
        with store.engine.begin() as conn:  # back to layout 2: no outbox table
            conn.exec_driver_sql("DROP TABLE outbox")
            conn.execute(store.tables.meta.update().values(value="2"))
    with pytest.raises(SchemaMigrationError, match="migrate=True"):
        SQLStore.sqlite(path)
    with SQLStore.sqlite(path, migrate=True) as store:
        assert store.database_version() == DATABASE_SCHEMA_VERSION
        assert store.count_outbox() == 0
        message = OutboxMessage("c1/2/n", "c1", 2, "n", "customer", {"k": 1}, created_at=T0)
        store.append(WriteSet.build(case("c1", version=2, state="b"),
                                    [moved("c1", 2, "new", "b")], 1, outbox=[message]))
        assert [e.message for e in store.outbox()] == [message]
    with SQLStore.sqlite(path) as reopened:
        assert reopened.count_outbox(status="pending") == 1


def test_a_newer_layout_is_refused(tmp_path):
    with SQLStore.sqlite(tmp_path / "a.db") as store:
        meta = store.tables.meta
        with store.engine.begin() as conn:
            conn.execute(meta.update().values(value="5"))
    with pytest.raises(SchemaMigrationError, match="newer") as newer:
        SQLStore.sqlite(tmp_path / "a.db")
    assert isinstance(newer.value, StorageError)  # not a refused command


# --- DDL ------------------------------------------------------------------------------------


def test_schema_sql_creates_a_working_sqlite_database(tmp_path):
    ddl = schema_sql("sqlite", prefix="wf_")
    assert "CREATE TABLE wf_cases" in ddl and "CREATE INDEX ix_wf_timers_due" in ddl
    assert "CREATE TABLE wf_outbox" in ddl
    db = sqlite3.connect(tmp_path / "manual.db")
    db.executescript(ddl)
    db.close()
    with SQLStore.sqlite(tmp_path / "manual.db", prefix="wf_", create=False) as store:
        open_case(store, "c1")
        assert store.load("c1").id == "c1"


@pytest.mark.postgres
def test_schema_sql_creates_a_working_postgresql_schema(pg_engine, pg_schema):
    schema = pg_schema[1]
    ddl = schema_sql("postgresql", prefix="ddl_", schema=schema)
    assert "TIMESTAMP WITH TIME ZONE" in ddl and "JSON" in ddl and 'COLLATE "C"' in ddl
    with pg_engine.begin() as conn:
        conn.exec_driver_sql(ddl)
    store = SQLStore(pg_engine, prefix="ddl_", schema=schema, create=False)
    try:
        open_case(store, "c1")
        assert store.load("c1").id == "c1"
        assert store.schema_sql() == ddl
    finally:
        store.drop_tables()


def test_schema_sql_rejects_unknown_dialects():
    with pytest.raises(ValueError, match="sqlite"):
        schema_sql("oracle-ish")


# --- SQLite with several writers ------------------------------------------------------------


def test_two_sqlite_stores_on_one_file_claim_disjoint_timers(tmp_path):
    a, b = SQLStore.sqlite(tmp_path / "s.db"), SQLStore.sqlite(tmp_path / "s.db")
    for i in range(10):
        open_case(a, f"c{i}", timers=(timer(f"c{i}", "t", T0),))
    got_a = a.claim_due_timers(T0, owner="a", lease=dt.timedelta(minutes=1), limit=6)
    got_b = b.claim_due_timers(T0, owner="b", lease=dt.timedelta(minutes=1), limit=6)
    assert len(got_a) == 6 and len(got_b) == 4
    assert not {t.case_id for t in got_a} & {t.case_id for t in got_b}
    a.close()
    b.close()


def test_a_sqlite_claim_with_nothing_due_takes_no_write_lock(tmp_path):
    # A polling worker's empty round reads, and does not queue behind (or block) a writer:
    # with another connection holding the write lock, it answers at once; before, it waited
    # out the busy timeout and failed with "database is locked".
    import time

    store = SQLStore.sqlite(tmp_path / "w.db", busy_timeout_ms=2000)
    open_case(store, "later", timers=(timer("later", "t", T0 + dt.timedelta(hours=1)),))
    open_case(store, "other", timers=(timer("other", "t", T0, process="other"),))
    writer = sqlite3.connect(tmp_path / "w.db", isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    try:
        started = time.monotonic()
        assert store.claim_due_timers(T0, owner="w", lease=dt.timedelta(minutes=1), limit=5,
                                      process="ticket") == []
        assert time.monotonic() - started < 1.0
        with pytest.raises(StorageError):  # a due timer still needs the lock to be claimed
            store.claim_due_timers(T0, owner="w", lease=dt.timedelta(minutes=1), limit=5)
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    got = store.claim_due_timers(T0, owner="w", lease=dt.timedelta(minutes=1), limit=5)
    assert [t.case_id for t in got] == ["other"]
    assert store.claim_due_timers(T0, owner="w2", lease=dt.timedelta(minutes=1), limit=5) == []
    assert [t.case_id for t in store.claim_due_timers(  # its owner still sees it
        T0, owner="w", lease=dt.timedelta(minutes=1), limit=5)] == ["other"]
    assert [t.case_id for t in store.claim_due_timers(
        T0 + dt.timedelta(hours=1), owner="w", lease=dt.timedelta(minutes=1), limit=5)] == [
        "other", "later"]  # its own lease does not hide a timer from its owner
    gone = sqlite3.connect(tmp_path / "w.db")
    gone.execute("DROP TABLE timers")
    gone.commit()
    gone.close()
    with pytest.raises(StorageError, match="refused the operation"):
        store.claim_due_timers(T0, owner="w", lease=dt.timedelta(minutes=1), limit=5)
    store.close()


def test_threads_sharing_a_sqlite_store_never_lose_an_event(tmp_path):
    import threading

    from servicewf.storage.retry import fire_with_retry

    store = SQLStore.sqlite(tmp_path / "t.db")
    clock = FrozenClock(T0)
    engine = Engine(store, clock, [ticket_definition()])
    engine.open("ticket", actor=AGENT, case_id="hot")
    engine.fire("hot", "register", actor=AGENT, data={"request_type": "x"})
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(25):
                fire_with_retry(engine, "hot", "note", actor=AGENT, attempts=50)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert [e.seq for e in store.history("hot")] == list(range(1, 103))
    assert store.load("hot").version == 102
    store.close()



def test_the_documented_ddl_is_what_schema_sql_renders():
    import pathlib

    doc = (pathlib.Path(__file__).resolve().parents[2] / "docs" / "storage.md").read_text()
    assert schema_sql("sqlite") in doc
    assert schema_sql("postgresql") in doc


def test_the_sweep_skips_a_corrupt_row_and_settles_the_others(tmp_path):
    import pendulum

    from servicewf.processes import builtin_registry
    from servicewf.processes.policies import default_sla
    from servicewf.sla import Sweeper

    clock = FrozenClock(pendulum.datetime(2026, 9, 14, 9, tz="Asia/Shanghai"))
    registry = builtin_registry()
    sla = default_sla(registry=registry)
    with SQLStore.sqlite(tmp_path / "sweep.db") as store:
        engine = Engine(store, clock, registry, processors=[sla])
        agent = Actor("li", "agent")
        intake = {"channel": "phone", "customer_ref": "C-1", "description": "broken lamp"}
        for cid in ("good", "bad"):
            engine.open("service_request", actor=agent, data=intake, case_id=cid)
        _raw_update(store, "bad", data="{not json")
        clock.advance(hours=30)  # first response and confirmation are overdue
        report = Sweeper(engine, sla).run(clock.now())
        assert list(report.skipped) == ["bad"] and "'bad'" in report.skipped["bad"]
        assert report.breaches >= 1
        assert any(e.kind.value == "clock_breached" for e in store.history("good"))
        assert store.timers("bad"), "the corrupt case's timers stay due for the next sweep"


def test_an_unknown_event_kind_in_a_history_does_not_stop_the_sweep(tmp_path, monkeypatch):
    """The sweep settles cases from their snapshots: a case whose history holds a kind this
    process does not know is settled like the others (an unreadable snapshot is skipped,
    see above), and reading that history says which event and kind."""
    import pendulum

    from servicewf import events as events_module
    from servicewf.errors import UnknownEventKind
    from servicewf.events import register_event_kind
    from servicewf.processes import builtin_registry
    from servicewf.processes.policies import default_sla
    from servicewf.sla import Sweeper

    kind = register_event_kind("test_sweep_marker", system=True)
    clock = FrozenClock(pendulum.datetime(2026, 9, 14, 9, tz="Asia/Shanghai"))
    registry = builtin_registry()
    sla = default_sla(registry=registry)
    with SQLStore.sqlite(tmp_path / "sweep.db") as store:
        engine = Engine(store, clock, registry, processors=[sla])
        agent = Actor("li", "agent")
        intake = {"channel": "phone", "customer_ref": "C-1", "description": "broken lamp"}
        for cid in ("good", "odd"):
            engine.open("service_request", actor=agent, data=intake, case_id=cid)
        engine.record("odd", kind, actor=SYSTEM)
        monkeypatch.delitem(events_module._REGISTERED, "test_sweep_marker")  # not imported
        clock.advance(hours=30)
        report = Sweeper(engine, sla).run(clock.now())
        assert report.skipped == {} and report.cases == 2
        assert any(e.kind.value == "clock_breached" for e in store.history("good"))
        with pytest.raises(UnknownEventKind, match="event 2 of case 'odd'"):
            store.history("odd")
        assert store.load("odd").version > 2  # the sweep wrote its verdicts on it too
