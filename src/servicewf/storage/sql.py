"""Durable storage on SQLAlchemy Core: SQLite (WAL) and PostgreSQL (psycopg 3).

>>> store = SQLStore.sqlite("cases.db")
>>> store = SQLStore("postgresql://app@db/crm", prefix="wf_")

Every write is one transaction: snapshot, events, timers and outbox messages change together
or not at all.
Concurrency is optimistic: ``append`` updates the snapshot row ``WHERE id = ? AND version = ?``
and, when no row matched, raises :class:`~servicewf.errors.StaleVersion` having written
nothing. The events' primary key ``(case_id, seq)`` guards the sequence as a second line.

To commit workflow writes together with your own rows, hand the store your connection::

    with store.engine.begin() as conn:
        conn.execute(crm_tickets.insert().values(...))
        Engine(store.bind(conn), clock, defs).fire(case, "resolve", actor=agent)
    # both committed, or both rolled back

See ``docs/storage.md`` for the schema, migrations and measured figures.
"""

from __future__ import annotations

import contextlib
import copy
import datetime as _dt
import json
import logging
import sqlite3
import threading
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

import attrs
import pendulum
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import PoolProxiedConnection

from servicewf._frozen import names_tuple
from servicewf.case import Case
from servicewf.clock import as_utc, epoch_us
from servicewf.errors import (
    CaseAlreadyExists,
    CaseNotFound,
    CorruptRecord,
    SchemaMigrationError,
    ServicewfError,
    StaleVersion,
    StorageError,
)
from servicewf.events import Event
from servicewf.storage._codec import (
    SNAPSHOT_SCHEMA_VERSION,
    decode_case,
    decode_event,
    decode_instant,
    decode_timer,
    dumps,
    dumps_extensions,
    upgrade_snapshot,
)
from servicewf.storage._codec import loads as _loads
from servicewf.storage.base import (
    DEAD,
    DELIVERED,
    PENDING,
    QUARANTINE_OWNER,
    LogEntry,
    OutboxEntry,
    OutboxMessage,
    QuarantinedTimer,
    Store,
    Timer,
    WriteSet,
    backoff,
    check_batch,
    check_log_limit,
    check_status,
    check_timers,
    check_write,
    claim_owner,
    decode_quarantine,
    encode_quarantine,
    quarantine_delay,
)
from servicewf.storage.schema import (
    DATABASE_SCHEMA_VERSION,
    OUTBOX_LAYOUT,
    Tables,
    build_tables,
    schema_sql,
)

__all__ = ["MigrationReport", "SQLStore", "normalize_url", "schema_sql"]

log = logging.getLogger(__name__)

_IMMEDIATE = "servicewf_immediate"
_IN_CHUNK = 500
"""Ids per ``IN (...)`` list: well under SQLite's bound on parameters per statement."""
_PENDULUM_UTC = pendulum.UTC


def normalize_url(url: str | sa.URL) -> sa.URL:
    """``url`` as a SQLAlchemy URL; plain ``postgresql://`` / ``postgres://`` DSNs get the
    psycopg 3 driver (``postgresql+psycopg://``)."""
    parsed = sa.make_url(url) if isinstance(url, str) else url
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def _is_file_sqlite(url: sa.URL) -> bool:
    db = url.database or ""
    return (url.get_backend_name() == "sqlite" and db not in ("", ":memory:")
            and "mode=memory" not in str(url.query))


def _sqlite_engine(url: sa.URL, busy_timeout_ms: int, options: Mapping[str, Any]) -> Engine:
    connect_args = {"check_same_thread": False, "timeout": busy_timeout_ms / 1000}
    connect_args.update(options.get("connect_args", {}))
    engine = sa.create_engine(url, **{**options, "connect_args": connect_args})
    wal = _is_file_sqlite(url)

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # pysqlite's implicit transactions cannot do BEGIN IMMEDIATE or proper savepoints;
        # take transaction control ourselves (the "begin" listener below).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        if wal:
            cur.execute("PRAGMA journal_mode=WAL")
        # NORMAL is durable across application crashes in WAL mode (an OS crash may lose the
        # last commits, never corrupt the file): the usual trade for a 2-3x faster commit.
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cur.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # Writers take the write lock up front: a deferred transaction that reads first and
        # writes later fails with SQLITE_BUSY instead of waiting when another writer commits.
        immediate = conn.get_execution_options().get(_IMMEDIATE, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


@attrs.frozen
class MigrationReport:
    """What :meth:`SQLStore.upgrade_rows` did: rows rewritten and rows it could not read."""

    upgraded: int
    corrupt: tuple[CorruptRecord, ...] = ()


def _add_outbox_table(conn: Connection, tables: Tables) -> None:
    """Layout upgrade step to :data:`~servicewf.storage.schema.OUTBOX_LAYOUT`: create the
    ``outbox`` table and its indexes (nothing else changes; idempotent)."""
    tables.outbox.create(conn, checkfirst=True)


class _FastSQLite:
    """The append/load path on a store-owned SQLite file: one pooled DBAPI connection kept per
    thread and statements compiled once to SQL text, so a commit costs little more than the
    two statements themselves."""

    def __init__(self, engine: Engine, tables: Tables) -> None:
        self._engine = engine
        self._local = threading.local()
        self._held: list[PoolProxiedConnection] = []
        self._lock = threading.Lock()
        dialect = engine.dialect

        def compiled(stmt: Any, keys: Sequence[str] | None = None) -> tuple[str, tuple[str, ...]]:
            c = stmt.compile(dialect=dialect, column_keys=keys)
            return c.string, tuple(c.positiontup or ())

        cases, timers = tables.cases, tables.timers
        self.update_case = compiled(_update_case(tables))
        self.insert_event = compiled(_insert_event(tables, postgresql=False), _EVENT_KEYS)
        self.delete_timers = compiled(timers.delete().where(
            timers.c.case_id == sa.bindparam("b_case")))
        self.delete_owned = compiled(_delete_owned(tables))
        self.insert_timer = compiled(timers.insert(), [c.name for c in timers.columns])
        # A write's timers are compared with the rows they replace (see _write_timers).
        tc = timers.c
        held = sa.select(tc.name, tc.due, tc.process, tc.payload, tc.lease_owner,
                         tc.lease_until)
        self.select_timers = compiled(held.where(tc.case_id == sa.bindparam("b_case")))
        owned = _delete_owned(tables).whereclause  # the owner's rows, as _delete_owned
        assert owned is not None
        self.select_owned = compiled(held.where(owned))
        one = (tc.case_id == sa.bindparam("b_case"), tc.name == sa.bindparam("b_name"))
        self.update_timer = compiled(timers.update().where(*one).values(
            due=sa.bindparam("v_due"), process=sa.bindparam("v_process"),
            payload=sa.bindparam("v_payload"), lease_owner=sa.null(), lease_until=sa.null()))
        self.delete_timer = compiled(timers.delete().where(*one))
        self.insert_outbox = compiled(tables.outbox.insert(),
                                      [c.name for c in tables.outbox.columns])
        self.select_case = compiled(sa.select(*cases.columns).where(
            cases.c.id == sa.bindparam("b_id")))
        self.select_version = compiled(sa.select(cases.c.version).where(
            cases.c.id == sa.bindparam("b_id")))
        self.claimable = tuple((sql + " LIMIT 1", keys) for sql, keys in (
            compiled(_claimable(tables, by_process=False)),
            compiled(_claimable(tables, by_process=True))))
        # The parameters of the two statements of every command are built as lists in this
        # order (no dict per row to pick them from), as long as the compiler orders them so.
        self.positional = (self.update_case[1] == _UPDATE_ORDER
                           and self.insert_event[1] == _EVENT_KEYS)
        # _write_timers builds the timer statements' parameters in these orders.
        orders = (tuple(c.name for c in timers.columns), self.insert_timer[1],
                  self.select_timers[1], self.select_owned[1], self.update_timer[1],
                  self.delete_timer[1])
        if orders != _TIMER_ORDERS:
            raise AssertionError(f"unexpected timer statement parameters: {orders}")

    def connection(self) -> Any:
        raw = getattr(self._local, "raw", None)
        if raw is None:
            proxy = self._engine.raw_connection()
            with self._lock:
                self._held.append(proxy)
            raw = self._local.raw = proxy.dbapi_connection
        return raw

    def close(self) -> None:
        with self._lock:
            held, self._held = self._held, []
        for proxy in held:
            with contextlib.suppress(Exception):
                proxy.close()
        self._local = threading.local()


def _claim_conditions(tables: Tables, *, by_process: bool) -> list[Any]:
    """What makes a timer claimable: due by ``b_cutoff`` and free (unleased, leased to
    ``b_owner``, or its lease expired), of process ``b_process`` when ``by_process``."""
    tm = tables.timers
    cutoff = sa.bindparam("b_cutoff", type_=tm.c.due.type)
    free = sa.or_(tm.c.lease_owner.is_(None),
                  tm.c.lease_owner == sa.bindparam("b_owner", type_=sa.String),
                  tm.c.lease_until <= cutoff)
    out: list[Any] = [tm.c.due <= cutoff, free]
    if by_process:
        out.append(tm.c.process == sa.bindparam("b_process", type_=sa.String))
    return out


def _claimable(tables: Tables, *, by_process: bool) -> sa.Select[Any]:
    """Whether a claim would find a timer: the claim's conditions, selecting only ``1`` (the
    caller appends LIMIT 1: SQLite's compiler would bind a limit expression)."""
    return sa.select(sa.literal_column("1")).where(
        *_claim_conditions(tables, by_process=by_process))


def _delete_owned(tables: Tables) -> sa.Delete:
    """Delete the timers of one owner: names starting with a prefix. ``substr`` rather than
    ``LIKE``, whose ``_`` and ``%`` wildcards would need escaping in every prefix."""
    c = tables.timers.c
    return tables.timers.delete().where(
        c.case_id == sa.bindparam("b_case"),
        sa.func.substr(c.name, sa.literal_column("1"), sa.bindparam("b_len", type_=sa.Integer))
        == sa.bindparam("b_prefix", type_=sa.String),
    )


_TIMER_COLUMNS = ("case_id", "name", "due", "process", "payload", "lease_owner", "lease_until")
_TIMER_ORDERS = (_TIMER_COLUMNS, _TIMER_COLUMNS, ("b_case",), ("b_case", "b_len", "b_prefix"),
                 ("v_due", "v_process", "v_payload", "b_case", "b_name"), ("b_case", "b_name"))
"""The timer table's columns, then the parameters of _FastSQLite's timer INSERT, SELECTs (all
of a case's, an owner's), UPDATE and DELETE, in the order SQLite binds them."""
_EVENT_KEYS = ("case_id", "seq", "at", "kind", "actor_id", "role", "trigger", "source", "dest",
               "data", "comment")
_UPDATE_ORDER = ("v_process", "v_definition_version", "v_state", "v_version", "v_updated_at",
                 "v_data", "v_extensions", "v_schema_version", "b_id", "b_expected")
"""The parameters of the snapshot UPDATE (``_update_case``) in the order SQLite binds them."""
"""The columns of an event row the store binds (``position`` is the database's to assign)."""


def _insert_event(tables: Tables, *, postgresql: bool) -> sa.Insert:
    """The event INSERT. Its ``position`` comes from the identity sequence on PostgreSQL
    (drawn under the shared log lock, see :meth:`SQLStore.read_log`) and is ``max + 1`` on
    SQLite, evaluated per row inside the write transaction, which SQLite runs alone."""
    events = tables.events
    if postgresql:
        return events.insert()
    # max() alone in its SELECT, so SQLite reads it off the end of the position index
    # (wrapped in coalesce() inside the same SELECT, it would scan the whole table).
    last = sa.select(sa.func.max(events.c.position)).scalar_subquery()
    following = sa.func.coalesce(last, sa.literal_column("0")) + sa.literal_column("1")
    return events.insert().values(position=following)


def _bulk_sql(tables: Tables, dialect: sa.Dialect, case_keys: Sequence[str],
              timer_keys: Sequence[str]) -> tuple[str, str, str]:
    """The driver-level statements of :meth:`SQLStore.append_all`'s bulk path, for the
    cases, timers and events tables (columns in the given orders, events in
    ``_EVENT_KEYS`` order): ``COPY ... FROM STDIN`` on PostgreSQL (the events' position
    is the identity column's default, as with INSERT), compiled INSERTs on SQLite."""
    if dialect.name == "postgresql":
        quote = dialect.identifier_preparer

        def copy(table: sa.Table, keys: Sequence[str]) -> str:
            names = ", ".join(quote.format_column(table.c[k]) for k in keys)
            return f"COPY {quote.format_table(table)} ({names}) FROM STDIN"

        return (copy(tables.cases, case_keys), copy(tables.timers, timer_keys),
                copy(tables.events, _EVENT_KEYS))

    def insert(stmt: sa.Insert, keys: Sequence[str]) -> str:
        compiled = stmt.compile(dialect=dialect, column_keys=list(keys))
        # Positional parameters: the rows must list them in the compiled order.
        assert tuple(compiled.positiontup or ()) == tuple(keys), compiled.positiontup
        return compiled.string

    return (insert(tables.cases.insert(), case_keys),
            insert(tables.timers.insert(), timer_keys),
            insert(_insert_event(tables, postgresql=False), _EVENT_KEYS))


def _log_lock_key(schema: str | None, prefix: str) -> int:
    """The PostgreSQL advisory lock that guards this store's log positions (a signed 64-bit
    key): appenders hold it shared, :meth:`SQLStore.read_log` exclusive."""
    return zlib.crc32(f"servicewf-log:{schema}.{prefix}".encode()) - 2**31


def _update_case(tables: Tables) -> sa.Update:
    c = tables.cases.c
    return (
        tables.cases.update()
        .where(c.id == sa.bindparam("b_id"), c.version == sa.bindparam("b_expected"))
        .values(
            process=sa.bindparam("v_process"),
            definition_version=sa.bindparam("v_definition_version"),
            state=sa.bindparam("v_state"),
            version=sa.bindparam("v_version"),
            updated_at=sa.bindparam("v_updated_at"),
            data=sa.bindparam("v_data"),
            extensions=sa.bindparam("v_extensions"),
            schema_version=sa.bindparam("v_schema_version"),
        )
    )


_json_text = json.JSONEncoder(ensure_ascii=False).encode


def _update_cases_pg(tables: Tables, dialect: sa.Dialect) -> sa.TextClause:
    """The PostgreSQL UPDATE of many snapshots in one statement: the rows come as one JSON
    array (``json_to_recordset``), each guarded by its expected version; returns the ids
    updated. (SQLAlchemy Core has no construct for an UPDATE ... FROM json_to_recordset();
    the text is built once per store, with the table name quoted by the dialect.)"""
    table = dialect.identifier_preparer.format_table(tables.cases)
    return sa.text(
        f"UPDATE {table} AS c SET process = v.process, definition_version = v.dv, "
        "state = v.state, version = v.version, updated_at = v.updated_at, "
        "data = v.data, extensions = v.extensions, schema_version = v.sv "
        "FROM json_to_recordset(CAST(:rows AS json)) AS v(id text, expected integer, "
        "process text, dv integer, state text, version integer, updated_at timestamptz, "
        "data json, extensions json, sv integer) "
        "WHERE c.id = v.id AND c.version = v.expected RETURNING c.id")


def _states(state: str | Iterable[str]) -> list[str]:
    return list(names_tuple(state))


class SQLStore(Store):
    """A :class:`~servicewf.storage.base.Store` in a SQL database (SQLite or PostgreSQL).

    ``url_or_engine`` is a URL (``sqlite:///path.db``, ``postgresql://user@host/db``) or a
    SQLAlchemy :class:`~sqlalchemy.engine.Engine`. Engines the store creates itself get the
    recommended settings (SQLite: WAL, ``synchronous=NORMAL``, ``busy_timeout``, explicit
    ``BEGIN``/``BEGIN IMMEDIATE``; PostgreSQL: psycopg 3); an engine you pass is used as is.

    ``create`` creates missing tables and records the schema version. A database written by
    an older servicewf is refused with :class:`~servicewf.errors.SchemaMigrationError` unless
    ``migrate=True`` (back it up first). ``prefix`` and ``schema`` place the tables beside
    your own (``prefix="wf_"`` gives ``wf_cases``...; ``schema`` is a PostgreSQL schema).
    """

    def __init__(
        self,
        url_or_engine: str | sa.URL | Engine,
        *,
        create: bool = True,
        migrate: bool = False,
        prefix: str = "",
        schema: str | None = None,
        busy_timeout_ms: int = 5000,
        engine_options: Mapping[str, Any] | None = None,
    ) -> None:
        self._owns_engine = not isinstance(url_or_engine, Engine)
        if isinstance(url_or_engine, Engine):
            engine = url_or_engine
        else:
            url = normalize_url(url_or_engine)
            options = dict(engine_options or {})
            if url.get_backend_name() == "sqlite":
                engine = _sqlite_engine(url, busy_timeout_ms, options)
            else:
                engine = sa.create_engine(url, **options)
        self._engine = engine
        self._tables = build_tables(prefix, schema)
        self._prefix = prefix
        self._schema = schema
        self._bound: Connection | None = None
        self._pg = engine.dialect.name == "postgresql"
        self._sqlite_owned = self._owns_engine and engine.dialect.name == "sqlite"
        self._fast: _FastSQLite | None = None
        t = self._tables
        self._q_update_case = _update_case(t)
        self._q_version = sa.select(t.cases.c.version).where(t.cases.c.id == sa.bindparam("b_id"))
        self._q_case = sa.select(*t.cases.columns).where(t.cases.c.id == sa.bindparam("b_id"))
        self._q_delete_timers = t.timers.delete().where(
            t.timers.c.case_id == sa.bindparam("b_case"))
        self._q_delete_owned = _delete_owned(t)
        self._q_cases = sa.select(*t.cases.columns).where(
            t.cases.c.id.in_(sa.bindparam("b_ids", expanding=True)))
        self._q_versions = sa.select(t.cases.c.id, t.cases.c.version).where(
            t.cases.c.id.in_(sa.bindparam("b_ids", expanding=True)))
        self._q_insert_timer = t.timers.insert()
        self._q_insert_outbox = t.outbox.insert()
        self._q_update_cases = _update_cases_pg(t, engine.dialect)
        self._q_lease = (
            t.timers.update()
            .where(t.timers.c.case_id == sa.bindparam("b_case"),
                   t.timers.c.name == sa.bindparam("b_name"))
            .values(lease_owner=sa.bindparam("v_owner"), lease_until=sa.bindparam("v_until"))
        )
        self._q_claim_guarded = (
            t.timers.update()
            .where(t.timers.c.case_id == sa.bindparam("b_case"),
                   t.timers.c.name == sa.bindparam("b_name"),
                   sa.or_(t.timers.c.lease_owner.is_(None),
                          t.timers.c.lease_owner == sa.bindparam("b_owner"),
                          t.timers.c.lease_until <= sa.bindparam("b_cutoff")))
            .values(lease_owner=sa.bindparam("v_owner"), lease_until=sa.bindparam("v_until"))
        )
        self._timer_cols = (t.timers.c.case_id, t.timers.c.name, t.timers.c.due,
                            t.timers.c.process, t.timers.c.payload)
        # The claim's SELECT, built once per store (with and without a process filter): a
        # sweep claims every few seconds, and building the expression on each call was most
        # of a claim's cost (about half of the demo's time went into it).
        self._q_claim = {by_process: self._claim_query(by_process)
                         for by_process in (False, True)}
        self._event_cols = tuple(t.events.c[k] for k in _EVENT_KEYS)
        self._q_insert_event = _insert_event(t, postgresql=self._pg)
        self._bulk_case_keys = tuple(c.name for c in t.cases.columns)
        self._bulk_timer_keys = tuple(c.name for c in t.timers.columns)
        self._bulk_sql = _bulk_sql(t, engine.dialect, self._bulk_case_keys,
                                   self._bulk_timer_keys)
        key = _log_lock_key(schema, prefix)
        self._q_append_lock = sa.text("SELECT pg_advisory_xact_lock_shared(:k)").bindparams(k=key)
        self._q_read_lock = sa.text("SELECT pg_advisory_xact_lock(:k)").bindparams(k=key)
        try:
            self._prepare_schema(create=create, migrate=migrate)
        except BaseException:
            if self._owns_engine:
                engine.dispose()
            raise
        if self._sqlite_owned and engine.url.database not in (None, "", ":memory:") \
                and _is_file_sqlite(engine.url):
            self._fast = _FastSQLite(engine, t)

    @classmethod
    def sqlite(cls, path: str | Any, **kwargs: Any) -> SQLStore:
        """A store in the SQLite file at ``path`` (created if missing), in WAL mode."""
        return cls(sa.URL.create("sqlite", database=str(path)), **kwargs)

    # --- connections ----------------------------------------------------------------------

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine (use it to open the transaction you pass to :meth:`bind`)."""
        return self._engine

    @property
    def tables(self) -> Tables:
        """The store's SQLAlchemy tables (to query them, join them with yours, or migrate)."""
        return self._tables

    def bind(self, connection: Connection) -> SQLStore:
        """A view of this store that works inside ``connection``'s transaction.

        The view neither begins nor commits: its writes commit or roll back with whatever
        else you do on ``connection``. If a write raises (``StaleVersion``, a database
        error...), roll your transaction back: on PostgreSQL a failed statement aborts it.
        """
        view = copy.copy(self)
        view._bound = connection
        view._fast = None
        view._owns_engine = False
        view._pg = connection.dialect.name == "postgresql"
        if view._pg != self._pg:  # the claim statement depends on the dialect
            view._q_claim = {p: view._claim_query(p) for p in (False, True)}
        return view

    @contextlib.contextmanager
    def _tx(self, *, write: bool) -> Iterator[Connection]:
        if self._bound is not None:
            try:
                yield self._bound
            except sa.exc.SQLAlchemyError as exc:
                raise self._storage_error(exc) from exc
            return
        try:
            with self._engine.connect() as conn:
                if write and self._sqlite_owned:
                    conn.execution_options(**{_IMMEDIATE: True})
                with conn.begin():
                    yield conn
        except sa.exc.SQLAlchemyError as exc:
            raise self._storage_error(exc) from exc

    @staticmethod
    def _storage_error(exc: BaseException) -> StorageError:
        detail = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        return StorageError(
            f"the database refused the operation ({type(exc).__name__}: {detail}); nothing "
            "was written — check the database, then retry"
        )

    def close(self) -> None:
        """Return the connections this store holds; dispose of the engine if it created it."""
        if self._fast is not None:
            self._fast.close()
        if self._owns_engine and self._bound is None:
            self._engine.dispose()

    # --- encoding -------------------------------------------------------------------------

    def _instant(self, moment: _dt.datetime) -> Any:
        if self._pg:
            if moment.tzinfo is _PENDULUM_UTC or moment.tzinfo is _dt.timezone.utc:
                utc = moment  # UTC already (almost every instant): no conversion
            else:
                utc = as_utc(moment)
            return _dt.datetime(utc.year, utc.month, utc.day, utc.hour, utc.minute, utc.second,
                                utc.microsecond, tzinfo=_dt.timezone.utc)
        return epoch_us(moment)

    def _json(self, value: Mapping[str, Any]) -> Any:
        return dumps(value)

    def _case_row(self, case: Case) -> dict[str, Any]:
        return {
            "id": case.id, "process": case.process,
            "definition_version": case.definition_version, "state": case.state,
            "version": case.version, "opened_at": self._instant(case.opened_at),
            "updated_at": self._instant(case.updated_at), "data": self._json(case.data),
            "extensions": dumps_extensions(case.extensions),
            "schema_version": SNAPSHOT_SCHEMA_VERSION,
        }

    def _update_params(self, case: Case, expected: int) -> dict[str, Any]:
        return {
            "b_id": case.id, "b_expected": expected, "v_process": case.process,
            "v_definition_version": case.definition_version, "v_state": case.state,
            "v_version": case.version, "v_updated_at": self._instant(case.updated_at),
            "v_data": self._json(case.data), "v_extensions": dumps_extensions(case.extensions),
            "v_schema_version": SNAPSHOT_SCHEMA_VERSION,
        }

    def _event_row(self, e: Event, data: Any = None) -> dict[str, Any]:
        # No position: the database assigns it (see _insert_event). ``data``: the event's
        # data already encoded (append_all encodes a mapping shared by events once).
        return {
            "case_id": e.case_id, "seq": e.seq, "at": self._instant(e.at), "kind": e.kind.value,
            "actor_id": e.actor_id, "role": e.role, "trigger": e.trigger, "source": e.source,
            "dest": e.dest, "data": self._json(e.data) if data is None else data,
            "comment": e.comment,
        }

    def _timer_row(self, t: Timer) -> dict[str, Any]:
        return {
            "case_id": t.case_id, "name": t.name, "due": self._instant(t.due),
            "process": t.process, "payload": self._json(t.payload),
            "lease_owner": None, "lease_until": None,
        }

    def _outbox_row(self, m: OutboxMessage) -> dict[str, Any]:
        created = self._instant(m.created_at)
        return {
            "id": m.id, "case_id": m.case_id, "seq": m.seq, "topic": m.topic,
            "recipient": m.recipient, "payload": self._json(m.payload), "created_at": created,
            "status": PENDING, "attempts": 0, "next_attempt_at": created, "last_error": None,
            "delivered_at": None, "lease_owner": None, "lease_until": None,
        }

    @staticmethod
    def _decode_outbox(row: Any) -> OutboxEntry:
        try:
            message = OutboxMessage(row.id, row.case_id, row.seq, row.topic, row.recipient,
                                    _loads(row.payload),
                                    created_at=decode_instant(row.created_at))
            return OutboxEntry(message, row.status, row.attempts,
                               decode_instant(row.next_attempt_at), row.last_error,
                               None if row.delivered_at is None
                               else decode_instant(row.delivered_at))
        except (ValueError, TypeError) as exc:
            raise CorruptRecord(f"the stored outbox message {row.id!r} cannot be read ({exc})",
                                case_id=row.case_id) from exc

    @staticmethod
    def _stale(case: Case, events: Sequence[Event], expected: int, actual: int) -> StaleVersion:
        return StaleVersion.for_case(case.id, expected, actual, events[0].trigger)

    @staticmethod
    def _not_found(case_id: str) -> CaseNotFound:
        return CaseNotFound.for_id(case_id)

    # --- Store ----------------------------------------------------------------------------

    def _apply(self, write: WriteSet) -> None:
        # One database transaction holds the snapshot, the events and the timers: a process
        # killed or a connection dropped anywhere inside it leaves nothing written.
        if self._fast is not None and not write.creates:
            self._fast_apply(write)
            return
        case, events = write.case, write.events
        t = self._tables
        with self._tx(write=True) as conn:
            if write.creates:
                # Inside someone else's transaction a failed INSERT would abort it
                # (PostgreSQL); look first, and let the primary key settle a race.
                if self._bound is not None and conn.execute(
                        self._q_version, {"b_id": case.id}).first() is not None:
                    raise self._exists(case.id)
                try:
                    conn.execute(t.cases.insert(), self._case_row(case))
                except sa.exc.IntegrityError:
                    raise self._exists(case.id) from None
            else:
                result = conn.execute(self._q_update_case,
                                      self._update_params(case, write.expected_version))
                if result.rowcount != 1:
                    actual = conn.execute(self._q_version, {"b_id": case.id}).scalar()
                    if actual is None:
                        raise self._not_found(case.id)
                    raise self._stale(case, events, write.expected_version, actual)
            for prefix, group in write.timers.items():
                self._replace_timers(conn, case.id, prefix, group)
            if self._pg:
                # Shared: appenders do not wait for each other, only for a reader of the
                # log (read_log). Taken last, so a reader waits for as little as possible.
                conn.execute(self._q_append_lock)
            conn.execute(self._q_insert_event, [self._event_row(e) for e in events])
            if write.outbox:
                # A taken message id fails the primary key: the whole transaction rolls back.
                conn.execute(t.outbox.insert(), [self._outbox_row(m) for m in write.outbox])

    def append_all(self, writes: Sequence[WriteSet]) -> None:
        """Apply ``writes`` in one transaction: all of them, or none (bulk import).

        Each is checked as :meth:`append` checks it. When every write-set creates a case
        (distinct ids, no outbox), the cases, their timers and their events go in table by
        table after one look for ids already taken: by ``COPY`` on PostgreSQL, by the
        driver's ``executemany`` on SQLite (through SQLAlchemy's on the asyncio drivers);
        otherwise they are applied in turn inside the same transaction.
        """
        writes = list(writes)
        for write in writes:
            check_write(write)
        if not writes:
            return
        ids = [w.case.id for w in writes]
        bulk = all(w.creates and not w.outbox for w in writes) and len(set(ids)) == len(ids)
        t = self._tables
        with self._tx(write=True) as conn:
            if not bulk:
                # One transaction around the ordinary path (a view bound to it).
                view = self if self._bound is not None else self.bind(conn)
                for write in writes:
                    view._apply(write)
                return
            for start in range(0, len(ids), 500):  # bound-parameter limits
                taken = conn.execute(sa.select(t.cases.c.id).where(
                    t.cases.c.id.in_(ids[start:start + 500]))).first()
                if taken is not None:
                    raise self._exists(taken[0])
            if conn.dialect.is_async:
                # The asyncio drivers are reached through SQLAlchemy's adapters only.
                self._bulk_write_core(conn, writes)
                return
            bulk_rows = self._bulk_rows(writes)
            # The rows go to the driver as they are, in the transaction SQLAlchemy began:
            # its executemany costs more per row than building the row (a third of a
            # SQLite import, most of a PostgreSQL one, where psycopg sends one INSERT per
            # row); PostgreSQL takes them by COPY, SQLite by the DBAPI's executemany.
            raw = conn.connection.dbapi_connection
            try:
                self._bulk_write(conn, raw, bulk_rows)
            except conn.dialect.loaded_dbapi.Error as exc:
                raise self._storage_error(exc) from exc

    def _bulk_write_core(self, conn: Connection, writes: Sequence[WriteSet]) -> None:
        """The bulk path through SQLAlchemy's executemany (asyncio drivers)."""
        t = self._tables
        conn.execute(t.cases.insert(), [self._case_row(w.case) for w in writes])
        timers = [self._timer_row(x) for w in writes for group in w.timers.values()
                  for x in group]
        if timers:
            conn.execute(t.timers.insert(), timers)
        if self._pg:
            conn.execute(self._q_append_lock)  # as in _apply: appenders share it
        encoded: dict[int, tuple[Mapping[str, Any], Any]] = {}
        rows = []
        for w in writes:
            for e in w.events:
                hit = encoded.get(id(e.data))
                if hit is None or hit[0] is not e.data:
                    hit = encoded[id(e.data)] = (e.data, self._json(e.data))
                rows.append(self._event_row(e, hit[1]))
        conn.execute(self._q_insert_event, rows)

    def _bulk_rows(self, writes: Sequence[WriteSet]
                   ) -> tuple[list[list[Any]], list[list[Any]], list[tuple[Any, ...]]]:
        """The rows of new cases, their timers and their events, in column order."""
        case_keys, timer_keys = self._bulk_case_keys, self._bulk_timer_keys
        cases = [[row[k] for k in case_keys] for row in map(self._case_row,
                                                           (w.case for w in writes))]
        timers = [[row[k] for k in timer_keys] for w in writes for group in w.timers.values()
                  for row in map(self._timer_row, group)]
        # Imported events share data mappings (rows with equal data): each is encoded once;
        # the cache holds the mapping so that its id is not reused meanwhile.
        encoded: dict[int, tuple[Mapping[str, Any], Any]] = {}
        instant = self._instant
        kinds: dict[Any, str] = {}
        events = []
        for w in writes:
            for e in w.events:
                data = e.data
                hit = encoded.get(id(data))
                if hit is None or hit[0] is not data:
                    hit = encoded[id(data)] = (data, self._json(data))
                kind = kinds.get(e.kind)
                if kind is None:
                    kind = kinds[e.kind] = e.kind.value  # an enum's value is a slow property
                # In _EVENT_KEYS order (as _event_row).
                events.append((e.case_id, e.seq, instant(e.at), kind, e.actor_id,
                               e.role, e.trigger, e.source, e.dest, hit[1], e.comment))
        return cases, timers, events

    def _bulk_write(self, conn: Connection, raw: Any,
                    rows: tuple[list[list[Any]], list[list[Any]], list[tuple[Any, ...]]]
                    ) -> None:
        cases, timers, events = rows
        sql_cases, sql_timers, sql_events = self._bulk_sql
        cur = raw.cursor()
        try:
            if self._pg:
                for sql, table_rows in ((sql_cases, cases), (sql_timers, timers)):
                    if table_rows:
                        with cur.copy(sql) as copy:
                            for row in table_rows:
                                copy.write_row(row)
                conn.execute(self._q_append_lock)  # as in _apply: appenders share it
                with cur.copy(sql_events) as copy:
                    for event_row in events:
                        copy.write_row(event_row)
            else:
                cur.executemany(sql_cases, cases)
                if timers:
                    cur.executemany(sql_timers, timers)
                cur.executemany(sql_events, events)
        finally:
            cur.close()

    def _replace_timers(self, conn: Connection, case_id: str, prefix: str,
                        timers: Sequence[Timer]) -> None:
        if prefix:
            conn.execute(self._q_delete_owned,
                         {"b_case": case_id, "b_len": len(prefix), "b_prefix": prefix})
        else:
            conn.execute(self._q_delete_timers, {"b_case": case_id})
        if timers:
            conn.execute(self._tables.timers.insert(), [self._timer_row(x) for x in timers])

    def load_many(
        self, case_ids: Iterable[str],
        on_corrupt: Callable[[CorruptRecord], None] | None = None,
    ) -> dict[str, Case]:
        ids = list(dict.fromkeys(case_ids))
        if not ids:
            return {}
        with self._tx(write=False) as conn:
            rows = conn.execute(self._q_cases, {"b_ids": ids}).all()
        found: dict[str, Case] = {}
        for row in rows:
            try:
                found[row[0]] = decode_case(*row)
            except CorruptRecord as bad:
                if on_corrupt is None:
                    raise
                on_corrupt(bad)
        return found

    def append_many(self, writes: Sequence[WriteSet]) -> list[ServicewfError | None]:
        """See :meth:`Store.append_many`. Write-sets that update existing cases are applied in
        ONE transaction: one statement updates every snapshot whose stored version is the
        one its write-set names (PostgreSQL: ``UPDATE ... FROM unnest(...) RETURNING id``;
        SQLite: one cached ``UPDATE ... WHERE version = ?`` per case, checking its row
        count), then the timers, events and outbox rows of the cases that matched are
        written with ``executemany``.

        What makes this safe: a case whose version moved on matches no row, so nothing of
        its write-set is written and it is reported :class:`~servicewf.errors.StaleVersion`
        (or :class:`~servicewf.errors.CaseNotFound`), while the others' rows go on in the
        same transaction; the snapshot row update locks each matched case until the commit
        (rows are updated in case-id order, so two batches cannot deadlock on them). If the
        database refuses any statement (a taken outbox id, a repeated event), the whole
        transaction rolls back, nothing of the batch is written, and the write-sets are
        applied again one transaction each (:meth:`Store.append_many`'s loop), so one bad
        write-set still costs the others nothing. A process killed or a connection dropped
        inside the transaction leaves nothing of the batch written."""
        check_batch(writes)
        if (len(writes) < 2 or self._bound is not None
                or any(w.creates for w in writes)):
            return super().append_many(writes)
        try:
            return self._append_batch(writes)
        except StorageError as failed:
            if isinstance(failed.__cause__, sa.exc.IntegrityError):
                log.info("batch of %d write-sets refused as a whole (%s); applying them one "
                         "by one", len(writes), failed)
                return super().append_many(writes)
            raise

    def _append_batch(self, writes: Sequence[WriteSet]) -> list[ServicewfError | None]:
        order = sorted(range(len(writes)), key=lambda i: writes[i].case.id)
        results: list[ServicewfError | None] = [None] * len(writes)
        with self._tx(write=True) as conn:
            applied = self._update_cases(conn, [writes[i] for i in order])
            refused = [i for i in order if writes[i].case.id not in applied]
            if refused:
                ids = [writes[i].case.id for i in refused]
                versions = dict(conn.execute(self._q_versions, {"b_ids": ids}).all())
                for i in refused:
                    w = writes[i]
                    actual = versions.get(w.case.id)
                    results[i] = (self._not_found(w.case.id) if actual is None else
                                  self._stale(w.case, w.events, w.expected_version, actual))
            done = [writes[i] for i in order if results[i] is None]
            if not done:
                return results
            deletes_owned: list[dict[str, Any]] = []
            deletes_all: list[dict[str, Any]] = []
            timers: list[dict[str, Any]] = []
            for w in done:
                for prefix, group in w.timers.items():
                    if prefix:
                        deletes_owned.append({"b_case": w.case.id, "b_len": len(prefix),
                                              "b_prefix": prefix})
                    else:
                        deletes_all.append({"b_case": w.case.id})
                    timers += [self._timer_row(x) for x in group]
            if deletes_all:
                conn.execute(self._q_delete_timers, deletes_all)
            if deletes_owned:
                conn.execute(self._q_delete_owned, deletes_owned)
            if timers:
                conn.execute(self._q_insert_timer, timers)
            if self._pg:
                conn.execute(self._q_append_lock)  # see _apply and read_log
            conn.execute(self._q_insert_event,
                         [self._event_row(e) for w in done for e in w.events])
            messages = [self._outbox_row(m) for w in done for m in w.outbox]
            if messages:
                conn.execute(self._q_insert_outbox, messages)
        return results

    def _update_row_json(self, w: WriteSet) -> str:
        c = w.case
        return (f'{{"id":{_json_text(c.id)},"expected":{w.expected_version:d},'
                f'"process":{_json_text(c.process)},"dv":{c.definition_version:d},'
                f'"state":{_json_text(c.state)},"version":{c.version:d},'
                f'"updated_at":"{as_utc(c.updated_at).isoformat()}",'
                f'"data":{self._json(c.data)},"extensions":{dumps_extensions(c.extensions)},'
                f'"sv":{SNAPSHOT_SCHEMA_VERSION:d}}}')

    def _update_cases(self, conn: Connection, writes: Sequence[WriteSet]) -> set[str]:
        """Update the snapshots of ``writes`` whose stored version is the expected one, in
        the given order; return the ids updated."""
        if not self._pg:
            done: set[str] = set()
            for w in writes:
                if conn.execute(self._q_update_case,
                                self._update_params(w.case, w.expected_version)).rowcount == 1:
                    done.add(w.case.id)
            return done
        # One JSON document of all the rows (the snapshots' JSON spliced in as it is
        # stored): a single parameter, decoded by the server, rather than ten arrays whose
        # text the driver escapes element by element.
        rows_json = "[" + ",".join(self._update_row_json(w) for w in writes) + "]"
        rows = conn.execute(self._q_update_cases, {"rows": rows_json}).all()
        return {r[0] for r in rows}

    @staticmethod
    def _exists(case_id: str) -> CaseAlreadyExists:
        return CaseAlreadyExists.for_id(case_id)

    def load(self, case_id: str) -> Case:
        if self._fast is not None:
            sql, _ = self._fast.select_case
            try:
                row = self._fast.connection().execute(sql, (case_id,)).fetchone()
            except sqlite3.Error as exc:
                raise self._storage_error(exc) from exc
        else:
            with self._tx(write=False) as conn:
                row = conn.execute(self._q_case, {"b_id": case_id}).first()
        if row is None:
            raise self._not_found(case_id)
        return decode_case(*row)

    def _fast_apply(self, write: WriteSet) -> None:
        fast = self._fast
        assert fast is not None
        case, events, expected = write.case, write.events, write.expected_version
        raw = fast.connection()
        if fast.positional:
            # _update_params, as a list in _UPDATE_ORDER (instants: epoch µs on SQLite).
            update = [case.process, case.definition_version, case.state, case.version,
                      epoch_us(case.updated_at), dumps(case.data),
                      dumps_extensions(case.extensions),
                      SNAPSHOT_SCHEMA_VERSION, case.id, expected]
        else:
            params = self._update_params(case, expected)
            update = [params[k] for k in fast.update_case[1]]
        cur = raw.cursor()
        try:
            cur.execute("BEGIN IMMEDIATE")
            try:
                cur.execute(fast.update_case[0], update)
                if cur.rowcount != 1:
                    found = cur.execute(fast.select_version[0], (case.id,)).fetchone()
                    if found is None:
                        raise self._not_found(case.id)
                    raise self._stale(case, events, expected, found[0])
                sql, order = fast.insert_event
                if len(events) == 1 and fast.positional:
                    e = events[0]  # _event_row, as a list in _EVENT_KEYS order
                    cur.execute(sql, [e.case_id, e.seq, epoch_us(e.at), e.kind.value,
                                      e.actor_id, e.role, e.trigger, e.source, e.dest,
                                      dumps(e.data), e.comment])
                elif len(events) == 1:
                    row = self._event_row(events[0])
                    cur.execute(sql, [row[k] for k in order])
                else:
                    cur.executemany(sql, [[r[k] for k in order]
                                          for r in map(self._event_row, events)])
                for prefix, timers in write.timers.items():
                    self._write_timers(fast, cur, case.id, prefix, timers)
                if write.outbox:
                    sql, order = fast.insert_outbox
                    cur.executemany(sql, [[r[k] for k in order]
                                          for r in map(self._outbox_row, write.outbox)])
                cur.execute("COMMIT")
            except BaseException:
                if raw.in_transaction:
                    raw.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            raise self._storage_error(exc) from exc
        finally:
            cur.close()

    @staticmethod
    def _write_timers(fast: _FastSQLite, cur: Any, case_id: str, prefix: str,
                      timers: Sequence[Timer]) -> None:
        """Make the case's timers under ``prefix`` exactly ``timers``, unleased, writing
        only the rows that differ: a command mostly hands back the timers it had (the SLA
        reschedules the clocks it touched), and deleting and inserting every row (three
        b-trees each: the table, its key and the due index) was most of what timers cost a
        fire. The rows are read inside the write transaction (BEGIN IMMEDIATE holds
        SQLite's write lock from the start), so nothing changes them between the read and
        the writes, and a process killed in between leaves the transaction uncommitted:
        the old rows or the new, as with the delete and the inserts."""
        if prefix:
            found = cur.execute(fast.select_owned[0], (case_id, len(prefix), prefix))
        else:
            found = cur.execute(fast.select_timers[0], (case_id,))
        # name -> (due, process, payload, lease_owner, lease_until) as stored
        held = {row[0]: row[1:] for row in found.fetchall()}
        inserts = []
        updates = []
        for t in timers:
            due, payload = epoch_us(t.due), dumps(t.payload)
            old = held.pop(t.name, None)
            if old is None:
                inserts.append((case_id, t.name, due, t.process, payload, None, None))
            elif old != (due, t.process, payload, None, None):
                updates.append((due, t.process, payload, case_id, t.name))
        if held:
            cur.executemany(fast.delete_timer[0], [(case_id, name) for name in held])
        if updates:
            cur.executemany(fast.update_timer[0], updates)
        if inserts:
            cur.executemany(fast.insert_timer[0], inserts)

    def history(self, case_id: str, *, after: int = 0) -> list[Event]:
        ev = self._tables.events
        query = (sa.select(*self._event_cols).where(ev.c.case_id == case_id, ev.c.seq > after)
                 .order_by(ev.c.seq))
        with self._tx(write=False) as conn:
            rows = conn.execute(query).all()
            if not rows and conn.execute(self._q_version, {"b_id": case_id}).first() is None:
                raise self._not_found(case_id)
        return [decode_event(*r) for r in rows]

    def read_log(self, after: int = 0, *, limit: int | None = None) -> list[LogEntry]:
        """The events of every case with ``position > after``, in position order.

        How positions follow commit order, so that a reader resuming ``after`` the last
        position it saw never skips one:

        * **SQLite** runs one write transaction at a time (``BEGIN IMMEDIATE`` here; any
          writer holds the database lock from its first write to its commit). An event's
          position is ``max(position) + 1`` computed inside that transaction, so positions
          are handed out in commit order and the committed ones are always every position up
          to the greatest (no gaps).
        * **PostgreSQL** runs writers concurrently, and a sequence (``BIGSERIAL``, identity)
          drawn at insert time is *not* in commit order: a transaction may draw 10, another
          draw 11 and commit first; a reader then sees 11, moves its cursor past it, and
          skips 10 forever once it commits. So positions are drawn from the identity
          sequence (cache 1) only under a transaction-scoped advisory lock, the *log lock*:
          an appender holds it **shared** from just before its events insert until it
          commits, so appenders never wait for one another; this method takes it
          **exclusive** before it reads, in a READ COMMITTED transaction. The exclusive lock
          is granted once every appender that drew a position has committed (PostgreSQL
          makes a commit visible before it releases the transaction's locks) or rolled
          back, and no appender draws while the reader holds it; the read's snapshot,
          taken after, therefore shows every position drawn so far that will ever exist,
          and every later position is greater. Of two concurrent transactions, the one
          that commits first may have the greater position, but no reader can tell: it sees
          both or neither. Events of one case always follow their ``seq`` (its writers are
          serialized by the case row), and a write that began after another committed
          always has the greater positions. A rolled back transaction leaves a gap.

          The price is on the reader's side: it waits for the appenders in flight, and new
          appenders queue behind it for that wait and the read (a few milliseconds). Poll
          with a pause when the log is drained, rather than in a tight loop. A transaction
          you pass to :meth:`bind` holds the lock shared until it commits after a write, so
          a reader waits for it; and on a bound view this method holds the lock exclusive
          until that transaction ends (it must be READ COMMITTED; read the log from the
          store itself rather than from a view).

          Rejected designs: a single counter row (or an exclusive lock) in the appender's
          transaction is also correct, but serializes appenders across their commit's WAL
          flush, losing group commit (measured: 4 processes fell from 0.58 to 0.18 of raw
          psycopg); filtering reads by ``pg_snapshot_xmin`` orders the log by transaction id
          rather than by commit, needs a two-part cursor and stalls behind any long
          transaction in the database; numbering committed events afterwards rewrites every
          event row and makes reading a write.
        """
        check_log_limit(limit)
        ev = self._tables.events
        query = (sa.select(ev.c.position, *self._event_cols).where(ev.c.position > after)
                 .order_by(ev.c.position))
        if limit is not None:
            query = query.limit(limit)
        if not self._pg:
            with self._tx(write=False) as conn:
                rows = conn.execute(query).all()
        else:
            with self._log_reader() as conn:
                conn.execute(self._q_read_lock)
                rows = conn.execute(query).all()  # a snapshot taken after the lock
        return [LogEntry(int(r[0]), decode_event(*r[1:])) for r in rows]

    @contextlib.contextmanager
    def _log_reader(self) -> Iterator[Connection]:
        """A READ COMMITTED transaction on PostgreSQL: each statement gets a fresh snapshot,
        so the read after the log lock sees what committed while the reader waited."""
        if self._bound is not None:
            with self._tx(write=False) as conn:
                level = conn.exec_driver_sql("SHOW transaction_isolation").scalar()
                if level != "read committed":
                    raise StorageError(
                        f"read_log() on a bound view needs a READ COMMITTED transaction, not "
                        f"{level!s}: its snapshot must be taken after the log lock. Read the "
                        "log from the store itself (not a bound view)")
                yield conn
            return
        try:
            with self._engine.connect() as conn:
                conn.execution_options(isolation_level="READ COMMITTED")
                with conn.begin():
                    yield conn
        except sa.exc.SQLAlchemyError as exc:
            raise self._storage_error(exc) from exc

    def _case_filter(self, query: Any, process: str | None,
                     state: str | Iterable[str] | None) -> Any:
        c = self._tables.cases.c
        if process is not None:
            query = query.where(c.process == process)
        if state is not None:
            states = _states(state)
            query = query.where(c.state == states[0] if len(states) == 1
                                else c.state.in_(states))
        return query

    def find(
        self,
        *,
        process: str | None = None,
        state: str | Iterable[str] | None = None,
        limit: int | None = None,
    ) -> list[Case]:
        cases = self._tables.cases
        query = self._case_filter(sa.select(*cases.columns), process, state).order_by(cases.c.id)
        if limit is not None:
            query = query.limit(limit)
        with self._tx(write=False) as conn:
            rows = conn.execute(query).all()
        return [decode_case(*r) for r in rows]

    def count(self, *, process: str | None = None, state: str | Iterable[str] | None = None) -> int:
        query = self._case_filter(
            sa.select(sa.func.count()).select_from(self._tables.cases), process, state)
        with self._tx(write=False) as conn:
            return int(conn.execute(query).scalar_one())

    def timers(self, case_id: str) -> list[Timer]:
        tm = self._tables.timers
        query = (sa.select(*self._timer_cols).where(tm.c.case_id == case_id)
                 .order_by(tm.c.due, tm.c.name))
        with self._tx(write=False) as conn:
            rows = conn.execute(query).all()
        return [decode_timer(*r) for r in rows]

    def set_timers(self, case_id: str, timers: Sequence[Timer], *, prefix: str = "") -> None:
        check_timers(case_id, timers, prefix)
        with self._tx(write=True) as conn:
            if conn.execute(self._q_version, {"b_id": case_id}).first() is None:
                raise self._not_found(case_id)
            self._replace_timers(conn, case_id, prefix, timers)

    def _due_query(self, now: _dt.datetime, process: str | None, limit: int | None) -> Any:
        tm = self._tables.timers
        query = sa.select(*self._timer_cols).where(tm.c.due <= self._instant(now))
        if process is not None:
            query = query.where(tm.c.process == process)
        query = query.order_by(tm.c.due, tm.c.case_id, tm.c.name)
        return query if limit is None else query.limit(limit)

    def due_timers(
        self, now: _dt.datetime, *, limit: int | None = None, process: str | None = None
    ) -> list[Timer]:
        with self._tx(write=False) as conn:
            rows = conn.execute(self._due_query(now, process, limit)).all()
        return [decode_timer(*r) for r in rows]

    def claim_due_timers(
        self,
        now: _dt.datetime,
        *,
        owner: str,
        lease: _dt.timedelta,
        limit: int,
        process: str | None = None,
        on_corrupt: Callable[[QuarantinedTimer], None] | None = None,
    ) -> list[Timer]:
        if limit <= 0:
            return []
        cutoff = self._instant(now)
        query = self._q_claim[process is not None]
        select_params: dict[str, Any] = {"b_cutoff": cutoff, "b_owner": owner,
                                         "b_limit": limit}
        if process is not None:
            select_params["b_process"] = process
        fast = self._fast
        if fast is not None:
            # A worker polls: most rounds find nothing due. On a store-owned SQLite file one
            # read outside any transaction says so, where the claim would take the write lock
            # (BEGIN IMMEDIATE) and commit an empty transaction. A timer that becomes due just
            # after this read is claimed by the next round, as if it had come a moment later.
            sql, keys = fast.claimable[process is not None]
            try:
                found = fast.connection().execute(
                    sql, tuple(select_params[k] for k in keys)).fetchone()
            except sqlite3.Error as exc:
                raise self._storage_error(exc) from exc
            if found is None:
                return []
        # On a SQLite engine the store did not create (no BEGIN IMMEDIATE: the driver may run
        # the SELECT outside the write transaction, or in autocommit), two processes can read
        # the same free rows; each row is then taken by a compare-and-set UPDATE that repeats
        # the "free" condition, and only the claimer whose UPDATE matched keeps it. SQLite
        # runs one writer at a time, so exactly one of them matches.
        guarded = self._engine.dialect.name == "sqlite" and not self._sqlite_owned
        until = self._instant(as_utc(now) + lease)
        claimed: list[Timer] = []
        bad: list[QuarantinedTimer] = []
        leases: list[dict[str, Any]] = []
        with self._tx(write=True) as conn:
            rows = conn.execute(query, select_params).all()
            for case_id, name, due, proc, payload, held in rows:
                try:
                    timer = decode_timer(case_id, name, due, proc, payload)
                except CorruptRecord as exc:
                    # One bad row must not fail the claim of the others: set it aside by
                    # key (no decoding needed) with a back-off, and report it.
                    q = self._quarantine(conn, case_id, name, now=now, reason=str(exc),
                                         backoff=lease, held=held)
                    if q is not None:
                        bad.append(q)
                    continue
                params = {"b_case": case_id, "b_name": name,
                          "v_owner": claim_owner(held, owner), "v_until": until}
                if guarded:
                    if conn.execute(self._q_claim_guarded, {**params, "b_owner": owner,
                                                            "b_cutoff": cutoff}).rowcount != 1:
                        continue  # another process took it first
                else:
                    leases.append(params)
                claimed.append(timer)
            if leases:
                conn.execute(self._q_lease, leases)
        if on_corrupt is not None:
            for q in bad:
                on_corrupt(q)
        elif bad:
            for q in bad:
                log.warning("quarantined timer %r of case %r: %s", q.name, q.case_id, q.reason)
        return claimed

    def _claim_query(self, by_process: bool) -> Any:
        tm = self._tables.timers
        query = sa.select(*self._timer_cols, tm.c.lease_owner).where(
            *_claim_conditions(self._tables, by_process=by_process))
        query = (query.order_by(tm.c.due, tm.c.case_id, tm.c.name)
                 .limit(sa.bindparam("b_limit", type_=sa.Integer)))
        if self._pg:
            # Concurrent claimers skip each other's locked rows instead of queueing behind them.
            query = query.with_for_update(skip_locked=True)
        return query

    def _quarantine(self, conn: Connection, case_id: str, name: str, *, now: _dt.datetime,
                    reason: str, backoff: _dt.timedelta,
                    held: str | None) -> QuarantinedTimer | None:
        q = decode_quarantine(held)
        attempts = 1 if q is None else q[0] + 1
        until = as_utc(now) + quarantine_delay(attempts, backoff)
        done = conn.execute(self._q_lease, {"b_case": case_id, "b_name": name,
                                            "v_owner": encode_quarantine(attempts, reason),
                                            "v_until": self._instant(until)})
        if done.rowcount != 1:
            return None
        return QuarantinedTimer(case_id, name, attempts, until, reason)

    def quarantine_timer(self, case_id: str, name: str, *, now: _dt.datetime, reason: str,
                         backoff: _dt.timedelta) -> QuarantinedTimer | None:
        tm = self._tables.timers
        with self._tx(write=True) as conn:
            found = conn.execute(
                sa.select(tm.c.lease_owner).where(tm.c.case_id == case_id, tm.c.name == name)
            ).first()
            if found is None:
                return None
            return self._quarantine(conn, case_id, name, now=now, reason=reason,
                                    backoff=backoff, held=found[0])

    def quarantined_timers(self) -> list[QuarantinedTimer]:
        tm = self._tables.timers
        query = (sa.select(tm.c.case_id, tm.c.name, tm.c.lease_owner, tm.c.lease_until)
                 .where(tm.c.lease_owner.startswith(QUARANTINE_OWNER + "/", autoescape=True))
                 .order_by(tm.c.case_id, tm.c.name))
        with self._tx(write=False) as conn:
            rows = conn.execute(query).all()
        out: list[QuarantinedTimer] = []
        for case_id, name, held, until in rows:
            q = decode_quarantine(held)
            if q is not None:
                out.append(QuarantinedTimer(case_id, name, q[0], decode_instant(until), q[1]))
        return out

    def due_backlog(self, now: _dt.datetime) -> tuple[int, _dt.datetime | None]:
        tm = self._tables.timers
        cutoff = self._instant(now)
        query = sa.select(sa.func.count(), sa.func.min(tm.c.due)).where(
            tm.c.due <= cutoff,
            sa.or_(tm.c.lease_owner.is_(None),
                   sa.not_(tm.c.lease_owner.startswith(QUARANTINE_OWNER + "/", autoescape=True)),
                   tm.c.lease_until <= cutoff))
        with self._tx(write=False) as conn:
            count, earliest = conn.execute(query).one()
        return int(count), None if earliest is None else decode_instant(earliest)

    # --- outbox ---------------------------------------------------------------------------

    def claim_outbox(
        self,
        now: _dt.datetime,
        *,
        owner: str,
        lease: _dt.timedelta,
        limit: int,
        recipient: str | None = None,
    ) -> list[OutboxEntry]:
        if limit <= 0:
            return []
        ob = self._tables.outbox
        cutoff = self._instant(now)
        query = sa.select(*ob.columns).where(
            ob.c.status == PENDING, ob.c.next_attempt_at <= cutoff,
            sa.or_(ob.c.lease_owner.is_(None), ob.c.lease_owner == owner,
                   ob.c.lease_until <= cutoff))
        if recipient is not None:
            query = query.where(ob.c.recipient == recipient)
        query = query.order_by(ob.c.next_attempt_at, ob.c.created_at, ob.c.id).limit(limit)
        if self._pg:
            # Concurrent dispatchers skip each other's locked rows, as claim_due_timers does.
            query = query.with_for_update(skip_locked=True)
        until = self._instant(as_utc(now) + lease)
        lease_rows = (ob.update().where(ob.c.id == sa.bindparam("b_id"))
                      .values(lease_owner=owner, lease_until=until))
        with self._tx(write=True) as conn:
            rows = conn.execute(query).all()
            if rows:
                conn.execute(lease_rows, [{"b_id": r.id} for r in rows])
        return [self._decode_outbox(r) for r in rows]

    def _locked_entry(self, conn: Connection, message_id: str) -> Any:
        ob = self._tables.outbox
        query = sa.select(*ob.columns).where(ob.c.id == message_id)
        if self._pg:
            query = query.with_for_update()
        row = conn.execute(query).first()
        if row is None:
            raise KeyError(f"no outbox message {message_id!r}")
        return row

    def mark_delivered(self, message_id: str, *, now: _dt.datetime) -> OutboxEntry:
        ob = self._tables.outbox
        with self._tx(write=True) as conn:
            row = self._locked_entry(conn, message_id)
            values: dict[str, Any] = {"lease_owner": None, "lease_until": None}
            if row.status != DELIVERED:
                values.update(status=DELIVERED, delivered_at=self._instant(now))
            conn.execute(ob.update().where(ob.c.id == message_id).values(**values))
            row = conn.execute(sa.select(*ob.columns).where(ob.c.id == message_id)).one()
        return self._decode_outbox(row)

    def mark_delivered_many(self, message_ids: Sequence[str], *, now: _dt.datetime) -> None:
        ids = list(dict.fromkeys(message_ids))
        ob = self._tables.outbox
        at = self._instant(now)
        # One transaction for the whole batch: a commit per message (an fsync each on
        # PostgreSQL) cost the dispatcher more than sending. An unknown id rolls it all back.
        with self._tx(write=True) as conn:
            for start in range(0, len(ids), _IN_CHUNK):
                chunk = ids[start:start + _IN_CHUNK]
                known = set(conn.execute(sa.select(ob.c.id).where(ob.c.id.in_(chunk))).scalars())
                missing = [m for m in chunk if m not in known]
                if missing:
                    raise KeyError(f"no outbox message {missing[0]!r}")
                # A message delivered earlier keeps its delivered_at (the first delivery
                # stands); every lease of the chunk ends. The update locks its rows, and
                # PostgreSQL evaluates the CASE on the row as it is once locked.
                conn.execute(ob.update().where(ob.c.id.in_(chunk)).values(
                    status=DELIVERED, lease_owner=None, lease_until=None,
                    delivered_at=sa.case((ob.c.status == DELIVERED, ob.c.delivered_at),
                                         else_=sa.cast(sa.literal(at), ob.c.delivered_at.type))))

    def mark_failed(
        self,
        message_id: str,
        *,
        now: _dt.datetime,
        error: str,
        max_attempts: int,
        base_delay: _dt.timedelta,
        max_delay: _dt.timedelta,
    ) -> OutboxEntry:
        ob = self._tables.outbox
        with self._tx(write=True) as conn:
            row = self._locked_entry(conn, message_id)
            if row.status == PENDING:
                attempts = row.attempts + 1
                values: dict[str, Any] = {"attempts": attempts, "last_error": error,
                                          "lease_owner": None, "lease_until": None}
                if attempts >= max_attempts:
                    values["status"] = DEAD
                else:
                    values["next_attempt_at"] = self._instant(
                        as_utc(now) + backoff(attempts, base_delay, max_delay))
                conn.execute(ob.update().where(ob.c.id == message_id).values(**values))
                row = conn.execute(sa.select(*ob.columns).where(ob.c.id == message_id)).one()
        return self._decode_outbox(row)

    def requeue(self, message_id: str, *, now: _dt.datetime) -> OutboxEntry:
        ob = self._tables.outbox
        with self._tx(write=True) as conn:
            row = self._locked_entry(conn, message_id)
            if row.status != DELIVERED:
                conn.execute(ob.update().where(ob.c.id == message_id).values(
                    status=PENDING, attempts=0, next_attempt_at=self._instant(now),
                    lease_owner=None, lease_until=None))
                row = conn.execute(sa.select(*ob.columns).where(ob.c.id == message_id)).one()
        return self._decode_outbox(row)

    def outbox(
        self, *, status: str | None = None, case_id: str | None = None,
        limit: int | None = None,
    ) -> list[OutboxEntry]:
        check_status(status)
        ob = self._tables.outbox
        query = sa.select(*ob.columns)
        if status is not None:
            query = query.where(ob.c.status == status)
        if case_id is not None:
            query = query.where(ob.c.case_id == case_id)
        query = query.order_by(ob.c.created_at, ob.c.id)
        if limit is not None:
            query = query.limit(limit)
        with self._tx(write=False) as conn:
            rows = conn.execute(query).all()
        return [self._decode_outbox(r) for r in rows]

    def count_outbox(self, *, status: str | None = None) -> int:
        check_status(status)
        ob = self._tables.outbox
        query = sa.select(sa.func.count()).select_from(ob)
        if status is not None:
            query = query.where(ob.c.status == status)
        with self._tx(write=False) as conn:
            return int(conn.execute(query).scalar_one())

    # --- scanning and schema --------------------------------------------------------------

    def iter_cases(
        self,
        *,
        process: str | None = None,
        batch_size: int = 500,
        on_corrupt: Callable[[CorruptRecord], None] | None = None,
    ) -> Iterator[Case]:
        """Every case (of ``process``), in id order, read in batches of ``batch_size``.

        A row that cannot be read is skipped and reported to ``on_corrupt`` (logged as a
        warning when ``None``) instead of ending the scan.
        """
        cases = self._tables.cases
        last: str | None = None
        while True:
            query = self._case_filter(sa.select(*cases.columns), process, None)
            if last is not None:
                query = query.where(cases.c.id > last)
            query = query.order_by(cases.c.id).limit(batch_size)
            with self._tx(write=False) as conn:
                rows = conn.execute(query).all()
            for row in rows:
                try:
                    case = decode_case(*row)
                except CorruptRecord as bad:
                    if on_corrupt is None:
                        log.warning("skipping corrupt case row: %s", bad)
                    else:
                        on_corrupt(bad)
                    continue
                yield case
            if len(rows) < batch_size:
                return
            last = rows[-1][0]

    def schema_sql(self) -> str:
        """The DDL of this store's tables for its database (see :func:`schema_sql`)."""
        return schema_sql(self._engine.dialect, prefix=self._prefix, schema=self._schema)

    def drop_tables(self) -> None:
        """Drop the store's tables and everything in them (tests, teardown). Irreversible."""
        with self._tx(write=True) as conn:
            self._tables.metadata.drop_all(conn)

    def database_version(self) -> int:
        """The table layout version recorded in the database (0 when none is recorded)."""
        with self._tx(write=False) as conn:
            return self._read_version(conn)

    def _read_version(self, conn: Connection) -> int:
        meta = self._tables.meta
        if not sa.inspect(conn).has_table(meta.name, schema=self._schema):
            return 0
        value = conn.execute(sa.select(meta.c.value).where(meta.c.key == "schema_version")
                             ).scalar()
        return 0 if value is None else int(value)

    def _prepare_schema(self, *, create: bool, migrate: bool) -> None:
        t = self._tables
        with self._tx(write=True) as conn:
            if self._pg:
                # Serialize concurrent first starts: DDL is transactional on PostgreSQL, so
                # the second process sees the first one's tables when it gets the lock.
                key = zlib.crc32(f"servicewf:{self._schema}.{self._prefix}".encode()) - 2**31
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})
            if not sa.inspect(conn).has_table(t.cases.name, schema=self._schema):
                if not create:
                    raise StorageError(
                        f"table {t.cases.name!r} does not exist; open the store with "
                        "create=True or apply the DDL from schema_sql()"
                    )
                t.metadata.create_all(conn)
                conn.execute(t.meta.insert(), {"key": "schema_version",
                                               "value": str(DATABASE_SCHEMA_VERSION)})
                return
            version = self._read_version(conn)
            if version == DATABASE_SCHEMA_VERSION:
                return
            if version > DATABASE_SCHEMA_VERSION:
                raise SchemaMigrationError(
                    f"the database has table layout {version}, newer than this servicewf's "
                    f"{DATABASE_SCHEMA_VERSION}; upgrade servicewf"
                )
            if not migrate:
                raise SchemaMigrationError(
                    f"the database has table layout {version}; this servicewf needs "
                    f"{DATABASE_SCHEMA_VERSION}. Back it up, then open the store once with "
                    "migrate=True (or apply the migration yourself, see docs/storage.md)"
                )
            self._upgrade_layout(conn, version)

    def _upgrade_layout(self, conn: Connection, version: int) -> None:
        t = self._tables
        if version == 0:
            # Layout 0: cases had neither `extensions` nor `schema_version`; extension state
            # lived inside `data` (snapshot format 0). Add the columns, then rewrite rows.
            columns = {c["name"] for c in sa.inspect(conn).get_columns(
                t.cases.name, schema=self._schema)}
            table = conn.dialect.identifier_preparer.format_table(t.cases)
            json_type = t.cases.c.extensions.type.compile(dialect=conn.dialect)
            if "extensions" not in columns:
                conn.exec_driver_sql(f"ALTER TABLE {table} ADD COLUMN extensions {json_type}")
            if "schema_version" not in columns:
                conn.exec_driver_sql(f"ALTER TABLE {table} ADD COLUMN schema_version "
                                     "INTEGER NOT NULL DEFAULT 0")
            t.metadata.create_all(conn)  # the meta table and anything else missing
            self._upgrade_rows(conn, batch_size=500)
        if version <= 1:
            self._number_events(conn)
        if version < OUTBOX_LAYOUT:
            _add_outbox_table(conn, t)
        meta = t.meta
        conn.execute(meta.delete().where(meta.c.key == "schema_version"))
        conn.execute(meta.insert(), {"key": "schema_version",
                                     "value": str(DATABASE_SCHEMA_VERSION)})

    def _number_events(self, conn: Connection) -> None:
        """Layout 1 -> 2: give the existing events their log ``position``.

        Their commit order was never recorded, so they are numbered in the order they were
        recorded: by ``at``, ties by case id then ``seq``, except that an event never comes
        before an earlier event of its own case (the sort key is the latest ``at`` of the
        case so far), so each case's history keeps its ``seq`` order in the log. Events
        written after the upgrade come after all of these.
        """
        ev = self._tables.events
        columns = {c["name"] for c in sa.inspect(conn).get_columns(ev.name, schema=self._schema)}
        if "position" in columns:
            return  # created by this layout already (e.g. layout 0 had no events table)
        preparer = conn.dialect.identifier_preparer
        table = preparer.format_table(ev)
        column = preparer.quote("position")
        if self._pg:
            conn.exec_driver_sql(f"ALTER TABLE {table} ADD COLUMN {column} BIGINT")
        else:
            # SQLite adds a NOT NULL column only with a default; every insert sets it anyway.
            conn.exec_driver_sql(
                f"ALTER TABLE {table} ADD COLUMN {column} BIGINT NOT NULL DEFAULT 0")
        running = sa.select(
            ev.c.case_id, ev.c.seq,
            sa.func.max(ev.c.at).over(partition_by=ev.c.case_id, order_by=ev.c.seq).label("m"),
        ).subquery("running")
        numbered = sa.select(
            running.c.case_id, running.c.seq,
            sa.func.row_number().over(
                order_by=(running.c.m, running.c.case_id, running.c.seq)).label("n"),
        ).subquery("numbered")
        conn.execute(ev.update()
                     .where(ev.c.case_id == numbered.c.case_id, ev.c.seq == numbered.c.seq)
                     .values(position=numbered.c.n))
        if self._pg:
            last = conn.execute(sa.select(sa.func.coalesce(sa.func.max(ev.c.position), 0))
                                ).scalar_one()
            conn.exec_driver_sql(f"ALTER TABLE {table} ALTER COLUMN {column} SET NOT NULL")
            conn.exec_driver_sql(
                f"ALTER TABLE {table} ALTER COLUMN {column} ADD GENERATED BY DEFAULT AS "
                f"IDENTITY (START WITH {int(last) + 1})")
        for index in ev.indexes:
            if "position" in index.columns:
                index.create(conn)

    def upgrade_rows(self, *, batch_size: int = 500) -> MigrationReport:
        """Rewrite snapshot rows of an older ``schema_version`` in the current format.

        Old rows are readable anyway (they are upgraded when loaded); this makes the upgrade
        permanent. Rows that cannot be read are left as they are and reported.
        """
        with self._tx(write=True) as conn:
            return self._upgrade_rows(conn, batch_size=batch_size)

    def _upgrade_rows(self, conn: Connection, *, batch_size: int) -> MigrationReport:
        c = self._tables.cases.c
        query = (sa.select(c.id, c.data, c.extensions, c.schema_version)
                 .where(c.schema_version < SNAPSHOT_SCHEMA_VERSION).order_by(c.id))
        update = (self._tables.cases.update()
                  .where(c.id == sa.bindparam("b_id"), c.schema_version == sa.bindparam("b_sv"))
                  .values(data=sa.bindparam("v_data"), extensions=sa.bindparam("v_ext"),
                          schema_version=SNAPSHOT_SCHEMA_VERSION))
        upgraded = 0
        corrupt: list[CorruptRecord] = []
        last = ""
        while True:
            rows = conn.execute(query.where(c.id > last).limit(batch_size)).all()
            if not rows:
                break
            params = []
            for case_id, data, ext, sv in rows:
                try:
                    new_data, new_ext = upgrade_snapshot(
                        sv, _loads(data), None if ext is None else _loads(ext))
                except (ValueError, TypeError) as exc:
                    corrupt.append(CorruptRecord(
                        f"the stored snapshot of case {case_id!r} cannot be upgraded ({exc})",
                        case_id=case_id))
                    continue
                params.append({"b_id": case_id, "b_sv": sv, "v_data": self._json(new_data),
                               "v_ext": self._json(new_ext)})
            if params:
                conn.execute(update, params)
                upgraded += len(params)
            last = rows[-1][0]
        return MigrationReport(upgraded, tuple(corrupt))

