"""asyncio: an engine whose commands are awaited, and a store on SQLAlchemy's asyncio support.

:class:`AsyncEngine` has the commands of :class:`~servicewf.engine.Engine` (``open``,
``fire``, ``record``, ``migrate``, ``available``, ``get``, ``history``) with the same checks
and refusals: it *is* the engine's planner, run against the stored case, and the store's one
atomic write. What it adds:

- **Commands on one case never interleave.** Each case has an :class:`asyncio.Lock`; a
  command loads, plans and writes while holding it, so fifty concurrent commands on five
  cases all land (no ``StaleVersion`` among themselves) with contiguous sequences. Other
  processes are still kept honest by the store's version check.
- **Cancelling a caller never cancels a command half-way.** The command runs in its own task,
  which the caller awaits through :func:`asyncio.shield`: a cancelled caller stops waiting,
  while the command finishes (written whole, or refused having written nothing) and only then
  frees the case. Unlike an in-memory state machine that abandons an in-flight transition
  when its task is cancelled, a persistent workflow must not leave the caller unsure whether
  a half of it happened. :meth:`AsyncEngine.drain` waits for such orphaned commands (call it
  before the loop closes: a command the loop itself cancels at shutdown is rolled back by
  its transaction, also whole).

Stores:

- :class:`AsyncSQLStore`: :class:`~servicewf.storage.sql.SQLStore`'s statements on a
  SQLAlchemy :class:`~sqlalchemy.ext.asyncio.AsyncEngine` (``sqlite+aiosqlite``,
  ``postgresql+psycopg`` in async mode, ``postgresql+asyncpg``). Each call is one
  transaction in which the SQL store's own code runs through
  :meth:`~sqlalchemy.ext.asyncio.AsyncConnection.run_sync` (SQLAlchemy's bridge: the driver
  I/O is awaited, the statements are the SQL store's, so both stores behave alike by
  construction and the same contract suite runs on both). :meth:`AsyncSQLStore.begin` gives
  a view inside your own transaction, so a case commits or rolls back with your rows;
- any synchronous :class:`~servicewf.storage.base.Store` (the memory store, a SQLStore):
  its calls run in a worker thread (:func:`asyncio.to_thread`).

>>> store = await AsyncSQLStore.open("sqlite+aiosqlite:///cases.db")
>>> engine = AsyncEngine(store, SystemClock(), [definition])
>>> case = await engine.open("ticket", actor=agent)
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import datetime as _dt
from collections.abc import AsyncIterator, Callable, Coroutine, Iterable, Mapping, Sequence
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine
from sqlalchemy.ext.asyncio import AsyncEngine as SAAsyncEngine

from servicewf.case import SYSTEM, Actor, Case
from servicewf.clock import Clock
from servicewf.definition import ProcessDefinition, Registry
from servicewf.engine import CaseProcessor, Engine, MessageRule, TriggerOption
from servicewf.events import Event, EventKind
from servicewf.hooks import Hooks
from servicewf.plain import check_identifier
from servicewf.storage.base import (
    LogEntry,
    OutboxEntry,
    QuarantinedTimer,
    Store,
    Timer,
    WriteSet,
)
from servicewf.storage.sql import _IMMEDIATE, SQLStore, normalize_url

__all__ = ["AsyncEngine", "AsyncSQLStore", "async_url"]

_R = TypeVar("_R")


def async_url(url: str | sa.URL) -> sa.URL:
    """``url`` with an asyncio driver: ``sqlite`` → ``sqlite+aiosqlite``, ``postgresql`` /
    ``postgres`` (and ``postgresql+psycopg``) → ``postgresql+psycopg`` (psycopg 3 is async as
    well). A URL naming another driver is kept as it is."""
    parsed = normalize_url(url)
    if parsed.drivername in ("sqlite", "sqlite+pysqlite"):
        parsed = parsed.set(drivername="sqlite+aiosqlite")
    return parsed


def _async_sqlite_engine(url: sa.URL, busy_timeout_ms: int,
                         options: Mapping[str, Any]) -> SAAsyncEngine:
    """The SQL store's SQLite settings on an aiosqlite engine (SQLAlchemy's documented recipe
    for transaction control on aiosqlite): WAL for files, ``synchronous=NORMAL``, a busy
    timeout, and ``BEGIN IMMEDIATE`` for writers so that two writers queue on the lock
    instead of failing with ``database is locked`` when one upgrades a read."""
    engine = create_async_engine(url, **options)
    wal = _is_file(url)

    @sa.event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        if wal:
            cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cur.close()

    @sa.event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get(_IMMEDIATE, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


async def _uninterrupted(work: Coroutine[Any, Any, _R]) -> _R:
    """Run ``work`` (one transaction) to its end even if the caller is cancelled meanwhile,
    then let the cancellation through.

    A transaction interrupted half-way is still atomic (the database rolls it back), but a
    driver cancelled in the middle of a statement may keep its connection, and with it the
    SQLite write lock, until the connection is collected: every other writer then waits
    out its busy timeout. So the transaction ends first (committed or rolled back), and
    the caller learns of its cancellation after. Only a cancellation of the transaction's
    own task (the event loop shutting down) interrupts it; the database then rolls it back.
    """
    task = asyncio.ensure_future(work)
    cancelled = False
    while not task.done():
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            if task.cancelled():
                raise
            cancelled = True
        except BaseException:
            break  # the task's own error, raised by task.result() below
    result = task.result()
    if cancelled:
        raise asyncio.CancelledError
    return result


def _is_file(url: sa.URL) -> bool:
    db = url.database or ""
    # url.query is a mapping: a text search of its str() never finds "mode=memory".
    return db not in ("", ":memory:") and url.query.get("mode") != "memory"


class AsyncSQLStore:
    """The SQL store on a SQLAlchemy asyncio engine: every method is awaited and runs in one
    transaction (or in the transaction of a view from :meth:`begin`).

    Build it with :meth:`open` (it creates or checks the tables, as ``SQLStore`` does).
    """

    def __init__(self, engine: SAAsyncEngine, sync: SQLStore, *, owns_engine: bool = False,
                 connection: AsyncConnection | None = None,
                 blocking: SQLStore | None = None) -> None:
        self._engine = engine
        self._sync = sync
        self._owns_engine = owns_engine
        self._conn = connection
        self._blocking = blocking
        self._sqlite = engine.dialect.name == "sqlite"
        # SQLite runs one write transaction at a time. Writers of this store queue here, on
        # the event loop, rather than at the database: there a writer that finds the lock
        # taken sleeps in SQLite's busy handler (1 ms, then longer, up to 100 ms a try),
        # and fifty concurrent commands spent most of their time asleep (58 commands/s).
        self._writers = asyncio.Lock() if self._sqlite else None

    @classmethod
    async def open(
        cls,
        url_or_engine: str | sa.URL | SAAsyncEngine,
        *,
        create: bool = True,
        migrate: bool = False,
        prefix: str = "",
        schema: str | None = None,
        busy_timeout_ms: int = 5000,
        engine_options: Mapping[str, Any] | None = None,
        sqlite_threads: bool = True,
    ) -> AsyncSQLStore:
        """A store on ``url_or_engine`` (a URL, given an asyncio driver by :func:`async_url`,
        or your :class:`~sqlalchemy.ext.asyncio.AsyncEngine`, used as it is). ``create``,
        ``migrate``, ``prefix`` and ``schema`` mean what they mean for ``SQLStore``.

        On a SQLite file given by URL, the store's own transactions run whole in a worker
        thread each (``sqlite_threads=False``: through aiosqlite, about four times slower);
        :meth:`begin` always uses aiosqlite."""
        owns = not isinstance(url_or_engine, SAAsyncEngine)
        if isinstance(url_or_engine, SAAsyncEngine):
            engine = url_or_engine
        else:
            url = async_url(url_or_engine)
            options = dict(engine_options or {})
            if url.get_backend_name() == "sqlite":
                engine = _async_sqlite_engine(url, busy_timeout_ms, options)
            else:
                engine = create_async_engine(url, **options)
        try:
            async with engine.connect() as conn:
                # SQLStore prepares the schema on its engine; run inside the greenlet bridge,
                # the sync facade of the async engine works (its I/O is awaited).
                sync = await conn.run_sync(lambda c: SQLStore(
                    c.engine, create=create, migrate=migrate, prefix=prefix, schema=schema))
            blocking = None
            if (sqlite_threads and owns and engine.dialect.name == "sqlite"
                    and _is_file(engine.url)):
                # The store's own transactions on a SQLite file run whole in a worker thread
                # on sqlite3 (SQLStore's engine and settings): aiosqlite makes a thread round
                # trip per cursor operation, about thirty per command, and ran commands at an
                # eighth of the rate of one thread call each (benchmarks/frameworks.py).
                # aiosqlite still carries the transactions of begin() (your own statements).
                blocking = SQLStore(engine.url.set(drivername="sqlite"), create=False,
                                    prefix=prefix, schema=schema,
                                    busy_timeout_ms=busy_timeout_ms)
        except BaseException:
            if owns:
                await engine.dispose()
            raise
        return cls(engine, sync, owns_engine=owns, blocking=blocking)

    @property
    def engine(self) -> SAAsyncEngine:
        """The SQLAlchemy asyncio engine."""
        return self._engine

    @property
    def sync_store(self) -> SQLStore:
        """The SQLStore whose statements this store runs (on the asyncio engine's blocking
        facade). Use it where a store is needed to *build* something, such as
        ``builtin_stack(store.sync_store, clock)`` as the planner of an :class:`AsyncEngine`;
        its methods do I/O only inside :meth:`run`."""
        return self._sync

    @property
    def tables(self) -> Any:
        """The store's SQLAlchemy tables (see ``SQLStore.tables``)."""
        return self._sync.tables

    @property
    def connection(self) -> AsyncConnection | None:
        """The transaction's connection of a view from :meth:`begin` (``None`` otherwise):
        write your own rows on it."""
        return self._conn

    @contextlib.asynccontextmanager
    async def begin(self) -> AsyncIterator[AsyncSQLStore]:
        """A view of the store inside one new transaction, committed when the block ends and
        rolled back when it raises: your rows (on ``view.connection``) and the workflow's
        writes commit together or not at all::

            async with store.begin() as tx:
                await tx.connection.execute(tickets.insert().values(...))
                case = await engine.using(tx).open("ticket", actor=agent)
        """
        # Not behind the store's writer queue: commands of the store itself inside the block
        # would wait for the block forever. On SQLite the block queues at the database.
        async with self._engine.connect() as conn:
            if self._sqlite:
                await conn.execution_options(**{_IMMEDIATE: True})
            async with conn.begin():
                yield AsyncSQLStore(self._engine, self._sync, connection=conn)

    async def run(self, fn: Callable[[SQLStore], _R], *, write: bool = True) -> _R:
        """Run ``fn`` with a synchronous view of the store inside one transaction (the view
        of :meth:`begin`'s transaction for a view). What :class:`AsyncEngine` uses: a command
        loads, plans and writes in a single transaction."""
        if self._conn is not None:
            conn = self._conn
            return await conn.run_sync(lambda c: fn(self._sync.bind(c)))
        work = (asyncio.to_thread(self._in_thread, fn, write) if self._blocking is not None
                else self._transaction(fn, write))
        if write and self._writers is not None:
            async with self._writers:
                return await _uninterrupted(work)
        return await _uninterrupted(work)

    def _in_thread(self, fn: Callable[[SQLStore], _R], write: bool) -> _R:
        blocking = self._blocking
        assert blocking is not None
        with blocking.engine.connect() as conn:
            if write:
                conn.execution_options(**{_IMMEDIATE: True})
            with conn.begin():
                return fn(blocking.bind(conn))

    async def _transaction(self, fn: Callable[[SQLStore], _R], write: bool) -> _R:
        async with self._engine.connect() as conn:
            if write and self._sqlite:
                await conn.execution_options(**{_IMMEDIATE: True})
            async with conn.begin():
                return await conn.run_sync(lambda c: fn(self._sync.bind(c)))

    # --- the Store methods, awaited ---------------------------------------------------------

    async def load(self, case_id: str) -> Case:
        return await self.run(lambda s: s.load(case_id), write=False)

    async def append(self, write: WriteSet) -> None:
        """Apply a write-set atomically (see ``Store.append``)."""
        await self.run(lambda s: s.append(write))

    async def append_all(self, writes: Sequence[WriteSet]) -> None:
        """Apply write-sets in one transaction, all or nothing (see ``Store.append_all``:
        bulk import)."""
        await self.run(lambda s: s.append_all(writes))

    async def create(self, case: Case, events: Sequence[Event],
                     timers: Sequence[Timer] = ()) -> None:
        await self.run(lambda s: s.create(case, events, timers))

    async def history(self, case_id: str, *, after: int = 0) -> list[Event]:
        return await self.run(lambda s: s.history(case_id, after=after), write=False)

    async def read_log(self, after: int = 0, *, limit: int | None = None) -> list[LogEntry]:
        return await self.run(lambda s: s.read_log(after, limit=limit), write=False)

    async def find(self, *, process: str | None = None, state: str | Iterable[str] | None = None,
                   limit: int | None = None) -> list[Case]:
        return await self.run(lambda s: s.find(process=process, state=state, limit=limit),
                              write=False)

    async def count(self, *, process: str | None = None,
                    state: str | Iterable[str] | None = None) -> int:
        return await self.run(lambda s: s.count(process=process, state=state), write=False)

    async def timers(self, case_id: str) -> list[Timer]:
        return await self.run(lambda s: s.timers(case_id), write=False)

    async def set_timers(self, case_id: str, timers: Sequence[Timer], *,
                         prefix: str = "") -> None:
        await self.run(lambda s: s.set_timers(case_id, timers, prefix=prefix))

    async def due_timers(self, now: _dt.datetime, *, limit: int | None = None,
                         process: str | None = None) -> list[Timer]:
        return await self.run(lambda s: s.due_timers(now, limit=limit, process=process),
                              write=False)

    async def claim_due_timers(
        self, now: _dt.datetime, *, owner: str, lease: _dt.timedelta, limit: int,
        process: str | None = None,
        on_corrupt: Callable[[QuarantinedTimer], None] | None = None,
    ) -> list[Timer]:
        return await self.run(lambda s: s.claim_due_timers(
            now, owner=owner, lease=lease, limit=limit, process=process, on_corrupt=on_corrupt))

    async def quarantine_timer(self, case_id: str, name: str, *, now: _dt.datetime,
                               reason: str, backoff: _dt.timedelta) -> QuarantinedTimer | None:
        return await self.run(lambda s: s.quarantine_timer(case_id, name, now=now,
                                                           reason=reason, backoff=backoff))

    async def quarantined_timers(self) -> list[QuarantinedTimer]:
        return await self.run(lambda s: s.quarantined_timers(), write=False)

    async def claim_outbox(self, now: _dt.datetime, *, owner: str, lease: _dt.timedelta,
                           limit: int, recipient: str | None = None) -> list[OutboxEntry]:
        return await self.run(lambda s: s.claim_outbox(now, owner=owner, lease=lease,
                                                       limit=limit, recipient=recipient))

    async def mark_delivered(self, message_id: str, *, now: _dt.datetime) -> OutboxEntry:
        return await self.run(lambda s: s.mark_delivered(message_id, now=now))

    async def mark_delivered_many(self, message_ids: Sequence[str], *,
                                  now: _dt.datetime) -> None:
        await self.run(lambda s: s.mark_delivered_many(message_ids, now=now))

    async def mark_failed(self, message_id: str, *, now: _dt.datetime, error: str,
                          max_attempts: int, base_delay: _dt.timedelta,
                          max_delay: _dt.timedelta) -> OutboxEntry:
        return await self.run(lambda s: s.mark_failed(
            message_id, now=now, error=error, max_attempts=max_attempts,
            base_delay=base_delay, max_delay=max_delay))

    async def requeue(self, message_id: str, *, now: _dt.datetime) -> OutboxEntry:
        return await self.run(lambda s: s.requeue(message_id, now=now))

    async def outbox(self, *, status: str | None = None, case_id: str | None = None,
                     limit: int | None = None) -> list[OutboxEntry]:
        return await self.run(lambda s: s.outbox(status=status, case_id=case_id, limit=limit),
                              write=False)

    async def count_outbox(self, *, status: str | None = None) -> int:
        return await self.run(lambda s: s.count_outbox(status=status), write=False)

    async def drop_tables(self) -> None:
        """Drop the store's tables and everything in them (tests, teardown). Irreversible."""
        await self.run(lambda s: s.drop_tables())

    async def close(self) -> None:
        """Dispose of the engine if the store created it."""
        if self._owns_engine and self._conn is None:
            if self._blocking is not None:
                self._blocking.close()
            await self._engine.dispose()


class _ThreadStore:
    """A synchronous store driven from asyncio: each call in a worker thread."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def run(self, fn: Callable[[Store], _R], *, write: bool = True) -> _R:
        return await asyncio.to_thread(fn, self.store)


class AsyncEngine:
    """The engine's commands, awaited; see the module documentation for what it guarantees.

    ``store`` is an :class:`AsyncSQLStore` (or a view of its :meth:`~AsyncSQLStore.begin`)
    or any synchronous :class:`~servicewf.storage.base.Store`. The other arguments are
    :class:`~servicewf.engine.Engine`'s; :attr:`engine` is the planner built from them (its
    ``plan_*`` methods write nothing and need no store).
    """

    def __init__(
        self,
        store: AsyncSQLStore | Store,
        clock: Clock,
        definitions: Registry | Iterable[ProcessDefinition] = (),
        *,
        hooks: Hooks | None = None,
        processors: Sequence[CaseProcessor] = (),
        messages: Sequence[MessageRule] = (),
        engine: Engine | None = None,
    ) -> None:
        self.store = store
        self._backend: AsyncSQLStore | _ThreadStore = (
            store if isinstance(store, AsyncSQLStore) else _ThreadStore(store))
        sync = store if isinstance(store, Store) else store._sync
        self.engine = engine if engine is not None else Engine(
            sync, clock, definitions, hooks=hooks, processors=processors, messages=messages)
        """The synchronous engine whose planner runs every command."""
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}
        self._pending: set[asyncio.Task[Any]] = set()

    @property
    def registry(self) -> Registry:
        return self.engine.registry

    def using(self, store: AsyncSQLStore | Store) -> AsyncEngine:
        """This engine on another store or transaction view (the same planner, hooks and
        per-case locks): ``engine.using(tx)`` inside ``async with store.begin() as tx``."""
        view = copy.copy(self)
        view.store = store
        view._backend = store if isinstance(store, AsyncSQLStore) else _ThreadStore(store)
        return view

    # --- commands ---------------------------------------------------------------------------

    async def open(self, process: str, *, actor: Actor, data: Mapping[str, Any] | None = None,
                   case_id: str | None = None, version: int | None = None,
                   comment: str | None = None) -> Case:
        """Open a case (see :meth:`Engine.open`)."""
        # The id is drawn (or checked) first, so the opening is serialized with any other
        # command on the same id like every command.
        write = self.engine.plan_open(process, actor=actor, data=data, case_id=case_id,
                                      version=version, comment=comment)
        return await self._command(write.case.id, lambda eng, s: write)

    async def fire(self, case: Case | str, trigger: str, *, actor: Actor,
                   data: Mapping[str, Any] | None = None, comment: str | None = None) -> Case:
        """Fire ``trigger`` (see :meth:`Engine.fire`)."""
        return await self._command(self._id(case), lambda eng, s: eng.plan_fire(
            self._current(eng, case), trigger, actor=actor, data=data, comment=comment))

    async def record(self, case: Case | str, kind: EventKind | str, *, actor: Actor = SYSTEM,
                     data: Mapping[str, Any] | None = None, comment: str | None = None,
                     trigger: str | None = None) -> Case:
        """Record an event that does not move the case (see :meth:`Engine.record`)."""
        return await self._command(self._id(case), lambda eng, s: eng.plan_record(
            self._current(eng, case), kind, actor=actor, data=data, comment=comment,
            trigger=trigger))

    async def migrate(self, case: Case | str, to_version: int, *, actor: Actor,
                      comment: str | None = None) -> Case:
        """Move an open case to another version of its process (see :meth:`Engine.migrate`)."""
        return await self._command(self._id(case), lambda eng, s: eng.plan_migrate(
            self._current(eng, case), to_version, actor=actor, comment=comment))

    async def available(self, case: Case | str, actor: Actor) -> list[TriggerOption]:
        """Every trigger with whether ``actor`` may fire it now (see :meth:`Engine.available`)."""
        return await self._backend.run(
            lambda s: self._view(s).available(case, actor), write=False)

    async def get(self, case_id: str) -> Case:
        """The latest stored case."""
        return await self._backend.run(lambda s: self._view(s).get(case_id), write=False)

    async def history(self, case_id: str) -> list[Event]:
        """The case's audit log."""
        return await self._backend.run(lambda s: self._view(s).history(case_id), write=False)

    async def drain(self) -> None:
        """Wait until every command whose caller was cancelled has finished."""
        while self._pending:
            await asyncio.gather(*list(self._pending), return_exceptions=True)

    # --- the pipeline -----------------------------------------------------------------------

    @staticmethod
    def _id(case: Case | str) -> str:
        return check_identifier(case.id if isinstance(case, Case) else case, "case id")

    @staticmethod
    def _current(engine: Engine, case: Case | str) -> Case:
        return engine._current(case)

    def _view(self, store: Store) -> Engine:
        """The planner reading and writing ``store`` (a transaction's view)."""
        if store is self.engine.store:
            return self.engine
        view = copy.copy(self.engine)
        view.store = store
        return view

    async def _command(self, case_id: str,
                       plan: Callable[[Engine, Store], WriteSet]) -> Case:
        task = asyncio.ensure_future(self._run_locked(case_id, plan))
        self._pending.add(task)
        task.add_done_callback(self._settled)
        if isinstance(self._backend, AsyncSQLStore) and self._backend.connection is not None:
            # Inside the caller's own transaction the caller's fate is the command's: no
            # shield (the transaction rolls back whatever a cancelled command wrote).
            return await task
        return await asyncio.shield(task)

    def _settled(self, task: asyncio.Task[Any]) -> None:
        self._pending.discard(task)
        if not task.cancelled():
            task.exception()  # retrieved: an orphaned command's refusal is not "lost"

    async def _run_locked(self, case_id: str,
                          plan: Callable[[Engine, Store], WriteSet]) -> Case:
        lock, users = self._locks.get(case_id, (None, 0))
        if lock is None:
            lock = asyncio.Lock()
        self._locks[case_id] = (lock, users + 1)
        try:
            async with lock:
                # Load, plan and write in one transaction: the plan is made against the
                # stored case and written guarded by its version, or not at all.
                def command(store: Store) -> WriteSet:
                    planner = self._view(store)
                    write = plan(planner, store)
                    store.append(write)
                    return write

                write = await self._backend.run(command)
                self.engine._remember(write.case)
                self._observe(write)
                return write.case
        finally:
            held, users = self._locks[case_id]
            if users <= 1:
                del self._locks[case_id]
            else:
                self._locks[case_id] = (held, users - 1)

    def _observe(self, write: WriteSet) -> None:
        """The after-commit observers, as :meth:`Engine.commit` runs them."""
        self.engine._observe(write)

