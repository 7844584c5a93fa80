"""Queues as queries: "my cases, most urgent first", a group's or a role's queue, workload.

:class:`Queues` answers on any store. On the SQL stores (SQLite and PostgreSQL) it reads
through expression indexes on the queue keys the :class:`~servicewf.queues.QueueProcessor`
keeps in ``cases.extensions`` (:meth:`Queues.install` creates them, once; nothing in the
store's own schema changes), so the first page of an inbox is an index range scan: a few
milliseconds however many cases are open. On the memory store (the reference) a query scans
the cases.

The urgency order (documented in docs/queues.md, tested against an independent sort):

1. priority rank: the process's priority level (urgent first), VIP before the rest of a level;
2. breached first: a running clock the SLA marked breached;
3. the SLA due instant: the earliest deadline of the case's running clocks (paused clocks
   wait on the customer and set none); on one business calendar, the remaining business time
   grows with the deadline, so this is "least business time left first", overdue first;
   cases with no deadline last;
4. the opening instant (older first), then the case id.

Paging is by key: a page's ``next`` is given back as ``after=`` for the following page.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs
import sqlalchemy as sa

from servicewf._frozen import names_tuple
from servicewf.case import Case
from servicewf.clock import epoch_us
from servicewf.errors import InvalidQueueQuery
from servicewf.plain import check_identifier
from servicewf.queues.policy import EXTENSION_KEY, QueueState, queue_state, state_from
from servicewf.storage.base import Store
from servicewf.storage.memory import MemoryStore

__all__ = ["OwnerLoad", "QueueItem", "QueuePage", "Queues"]

MAX_LIMIT = 1000

# Index key per query: which extension key a lookup reads.
_KEYS = ("o", "g", "u", "r", "ur")


class QueueItem:
    """One case in a queue: its id, its queue state, its place (``key``) in the order, and
    the case itself. A page read from SQL decodes the queue state (:attr:`queue`) and the
    case (:attr:`case`) from the stored row when each is first read, so a page costs what
    the hand-written query costs until its items are looked at."""

    __slots__ = ("_case", "_queue", "_row", "id", "key")

    def __init__(self, case_id: str, queue: QueueState | None, key: str, *,
                 case: Case | None = None, row: Sequence[Any] | None = None) -> None:
        if queue is None and row is None:
            raise TypeError("QueueItem needs its queue state, or the stored row to read it from")
        self.id = case_id
        self._queue = queue
        self.key = key
        self._case = case
        self._row = row

    @property
    def queue(self) -> QueueState:
        """The case's queue state (owner, group, tier, rank, due, breached)."""
        if self._queue is None:
            assert self._row is not None
            self._queue = _state_of(self._row[8])
        return self._queue

    @property
    def case(self) -> Case:
        """The case as stored."""
        if self._case is None:
            from servicewf.storage._codec import decode_case

            assert self._row is not None
            if self._queue is None:
                self._queue = _state_of(self._row[8])
            self._case = decode_case(*self._row)
            self._row = None
        return self._case

    def __repr__(self) -> str:
        return f"QueueItem({self.id!r}, key={self.key!r})"

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, QueueItem) and (self.id, self.key, self.queue)
                == (other.id, other.key, other.queue))

    def __hash__(self) -> int:
        return hash((self.id, self.key))


@attrs.frozen
class QueuePage:
    """A page of a queue, most urgent first; ``next`` is the ``after=`` of the next page
    (``None`` on the last one)."""

    items: tuple[QueueItem, ...]
    next: str | None

    def __iter__(self) -> Any:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)


@attrs.frozen
class OwnerLoad:
    """Open cases of one owner (``owner`` ``None``: unassigned) in one group: how many,
    how many breached, how many due before the horizon asked for."""

    group: str | None
    owner: str | None
    open: int
    breached: int
    due_soon: int


def _key_of(case: Case) -> str | None:
    raw = case.extensions.get(EXTENSION_KEY)
    if not isinstance(raw, Mapping):
        return None
    key = raw.get("k")
    return key if isinstance(key, str) else None


def _lookup(actor: str | None, group: str | None, role: str | None,
            unassigned: bool) -> tuple[str, str]:
    chosen = [(n, v) for n, v in (("actor", actor), ("group", group), ("role", role))
              if v is not None]
    if len(chosen) != 1:
        raise InvalidQueueQuery(
            "a queue is the cases of one actor, one group or one role: pass exactly one of "
            "actor=, group=, role=")
    name, value = chosen[0]
    check_identifier(value, name)
    if name == "actor":
        if unassigned:
            raise InvalidQueueQuery("unassigned= applies to a group's or a role's queue, "
                                    "not to an actor's cases")
        return "o", value
    if name == "group":
        return ("u" if unassigned else "g"), value
    return ("ur" if unassigned else "r"), value


class Queues:
    """Queue queries over ``store`` (a :class:`MemoryStore` or a SQL store)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._sql: Any = None
        tables = getattr(store, "tables", None)
        engine = getattr(store, "engine", None)
        if not isinstance(store, MemoryStore) and tables is not None and engine is not None:
            self._sql = _SQLQueues(engine, tables)

    def close(self) -> None:
        """Give back the connection the queries hold (SQL stores); the store stays open."""
        if self._sql is not None:
            self._sql.close()

    def install(self) -> None:
        """Create the queue indexes (SQL stores; idempotent; nothing on the memory store).
        Run it once, like a migration: on a large table it builds each index."""
        if self._sql is not None:
            self._sql.install()

    def index_sql(self) -> list[str]:
        """The ``CREATE INDEX`` statements :meth:`install` runs, for migrations managed
        elsewhere (empty for the memory store)."""
        return [] if self._sql is None else self._sql.ddl()

    def inbox(
        self, *, actor: str | None = None, group: str | None = None, role: str | None = None,
        unassigned: bool = False, process: str | None = None,
        state: str | Iterable[str] | None = None, level: int | None = None, limit: int = 50,
        after: str | None = None,
    ) -> QueuePage:
        """The open cases of one ``actor`` (owned by them), one ``group`` or one ``role``
        (the handler tier), most urgent first; ``unassigned`` keeps the cases that wait for
        an owner (none, or one whose role no longer matches the tier). ``process``,
        ``state`` and ``level`` (the priority level, 0 most urgent) narrow it; ``limit`` rows
        from after the key ``after``."""
        field, value = _lookup(actor, group, role, unassigned)
        if not isinstance(limit, int) or isinstance(limit, bool) or not 0 < limit <= MAX_LIMIT:
            raise InvalidQueueQuery(f"limit is a whole number from 1 to {MAX_LIMIT}")
        if after is not None and not isinstance(after, str):
            raise InvalidQueueQuery("after is the text 'next' of the previous page")
        if level is not None and (not isinstance(level, int) or isinstance(level, bool)):
            raise InvalidQueueQuery("level is the priority level, a whole number (0 most "
                                    "urgent)")
        states = None if state is None else names_tuple(state)
        if self._sql is not None:
            rows = self._sql.page(field, value, process, states, level, limit + 1, after)
        else:
            rows = self._memory_page(field, value, process, states, level, limit + 1, after)
        items = tuple(rows[:limit])
        return QueuePage(items, items[-1].key if len(rows) > limit else None)

    def _memory_page(self, field: str, value: str, process: str | None,
                     states: tuple[str, ...] | None, level: int | None, n: int,
                     after: str | None) -> list[QueueItem]:
        # The reference store holds few cases: a scan, then a sort of the matches.
        out: list[QueueItem] = []
        for case in self.store.find(process=process, state=states):
            raw = case.extensions.get(EXTENSION_KEY)
            if not isinstance(raw, Mapping) or raw.get(field) != value:
                continue
            key = raw.get("k")
            state = queue_state(case)
            if not isinstance(key, str) or state is None or (after is not None
                                                              and key <= after):
                continue
            if level is not None and state.level != level:
                continue
            out.append(QueueItem(case.id, state, key, case=case))
        out.sort(key=lambda r: r.key)
        return out[:n]

    def count(self, *, actor: str | None = None, group: str | None = None,
              role: str | None = None, unassigned: bool = False) -> int:
        """How many open cases the same selection as :meth:`inbox` holds (an index count on
        the SQL stores)."""
        field, value = _lookup(actor, group, role, unassigned)
        if self._sql is not None:
            return int(self._sql.count(field, value))
        return sum(1 for case in self.store.find()
                   if isinstance(raw := case.extensions.get(EXTENSION_KEY), Mapping)
                   and raw.get(field) == value and isinstance(raw.get("k"), str))

    def holds_queue_state(self) -> bool:
        """Whether any open case of the store carries queue state — ``False`` for a database
        written without the :class:`~servicewf.queues.QueueProcessor` (its cases are in no
        queue, whatever their owners in the data)."""
        states = (self._sql.open_states(None) if self._sql is not None
                  else self._memory_open(None))
        return next(iter(states), None) is not None

    def workload(self, *, group: str | None = None, now: Any = None,
                 within: Any = None) -> list[OwnerLoad]:
        """Open cases per (group, owner) with their SLA status: how many, how many breached
        (recorded, or overdue at ``now``), how many due within ``within`` of ``now`` — what
        a supervisor balances on. Ordered by group, then owner (unassigned first)."""
        now_us = None if now is None else epoch_us(now)
        horizon = None if now_us is None or within is None else (
            now_us + int(within.total_seconds() * 1_000_000))
        counts: dict[tuple[str | None, str | None], list[int]] = {}
        for q in (self._sql.open_states(group) if self._sql is not None
                  else self._memory_open(group)):
            row = counts.setdefault((q.group, q.owner), [0, 0, 0])
            row[0] += 1
            overdue = now_us is not None and q.due <= now_us
            row[1] += q.breached or overdue
            row[2] += horizon is not None and q.due <= horizon
        return [OwnerLoad(g, o, *v) for (g, o), v in
                sorted(counts.items(), key=lambda kv: (kv[0][0] or "", kv[0][1] or ""))]

    def _memory_open(self, group: str | None) -> Iterable[QueueState]:
        for case in self.store.find():
            q = queue_state(case)
            if q is not None and q.open and (group is None or q.group == group):
                yield q


class _SQLQueues:
    """The SQL side: expression indexes on ``extensions``' queue keys, and page reads."""

    def __init__(self, engine: sa.Engine, tables: Any) -> None:
        self.engine = engine
        self.table = tables.cases
        self.pg = engine.dialect.name == "postgresql"
        preparer = engine.dialect.identifier_preparer
        self.name = preparer.format_table(self.table)
        self.prefix = self.table.name[: -len("cases")]
        self.columns = ", ".join(preparer.quote(c.name) for c in self.table.columns)
        # One DB-API connection kept for page reads, in autocommit (PostgreSQL: a connection
        # of its own, detached from the pool) or outside any transaction (SQLite reads never
        # open one): a page is one round trip, as with a hand-written query. A pooled
        # SQLAlchemy connection would add BEGIN and the pool's ROLLBACK on return. Reads
        # only, so no write can be lost with it.
        self._raw: Any = None
        self._lock = threading.Lock()
        self._param = "%({})s" if self.pg else ":{}"

    def _read(self, sql: str, params: Mapping[str, Any]) -> list[Any]:
        if getattr(self.engine.pool, "borrowed_connections", False):
            # The connection is lent by the application (Django's): never detach it or
            # switch its mode; read in the caller's transaction, as the store itself does.
            with self.engine.connect() as conn:
                return list(conn.exec_driver_sql(sql, dict(params)).all())
        with self._lock:
            if self._raw is None:
                raw = self.engine.raw_connection()
                if self.pg:
                    # Detached from the pool first: a connection switched to autocommit must
                    # never go back to the pool, where a store's transaction would then run
                    # without atomicity. Closing it (or losing it) closes it for real.
                    raw.detach()
                    raw.dbapi_connection.autocommit = True  # type: ignore[union-attr]
                self._raw = raw
            try:
                cursor = self._raw.cursor()
                try:
                    cursor.execute(sql, params)
                    return list(cursor.fetchall())
                finally:
                    cursor.close()
            except Exception:
                # A broken connection is dropped (not returned to the pool); the next read
                # opens a new one.
                raw, self._raw = self._raw, None
                raw.invalidate()
                raise

    def close(self) -> None:
        with self._lock:
            if self._raw is not None:
                raw, self._raw = self._raw, None
                raw.close()

    def expr(self, key: str) -> str:
        if self.pg:
            text = f"(extensions -> '{EXTENSION_KEY}' ->> '{key}')"
            return f'{text} COLLATE "C"' if key == "k" else text
        return f"json_extract(extensions, '$.{EXTENSION_KEY}.{key}')"

    def ddl(self) -> list[str]:
        schema = self.table.schema
        out = []
        for key in _KEYS:
            name = f"ix_{self.prefix}cases_queue_{key}"
            target = self.name
            if schema is not None and not self.pg:
                name = f"{schema}.{name}"
                target = self.table.name
            out.append(f"CREATE INDEX IF NOT EXISTS {name} ON {target} "
                       f"(({self.expr(key)}), ({self.expr('k')}))" if self.pg else
                       f"CREATE INDEX IF NOT EXISTS {name} ON {target} "
                       f"({self.expr(key)}, {self.expr('k')})")
        return out

    def install(self) -> None:
        with self.engine.begin() as conn:
            for statement in self.ddl():
                conn.exec_driver_sql(statement)

    def page(self, field: str, value: str, process: str | None,
             states: tuple[str, ...] | None, level: int | None, n: int,
             after: str | None) -> list[QueueItem]:
        p = self._param.format
        key = self.expr("k")
        where = [f"{self.expr(field)} = {p('value')}"]
        params: dict[str, Any] = {"value": value, "n": n}
        if after is not None:
            where.append(f"{key} > {p('after')}")
            params["after"] = after
        if process is not None:
            where.append(f"process = {p('process')}")
            params["process"] = process
        if level is not None:
            lv = self.expr("level")
            where.append(f"CAST({lv} AS INTEGER) = {p('level')}")
            params["level"] = level
        if states:
            names = [p(f"s{i}") for i in range(len(states))]
            where.append(f"state IN ({', '.join(names)})")
            params.update({f"s{i}": s for i, s in enumerate(states)})
        sql = (f"SELECT {self.columns}, {key} AS queue_key FROM {self.name} "
               f"WHERE {' AND '.join(where)} ORDER BY {key} LIMIT {p('n')}")
        rows = self._read(sql, params)
        # Nothing is decoded now beyond what the driver did (as with a hand-written query):
        # the queue state and the case are decoded when the caller first reads them.
        return [QueueItem(row[0], None, row[-1], row=row[:-1]) for row in rows]

    def count(self, field: str, value: str) -> int:
        sql = (f"SELECT count(*) FROM {self.name} "
               f"WHERE {self.expr(field)} = {self._param.format('value')}")
        return int(self._read(sql, {"value": value})[0][0])

    def open_states(self, group: str | None) -> Iterable[QueueState]:
        sql = f"SELECT extensions FROM {self.name} WHERE {self.expr('k')} IS NOT NULL"
        params: dict[str, Any] = {}
        if group is not None:
            sql += f" AND {self.expr('g')} = :group"
            params["group"] = group
        with self.engine.connect() as conn:
            for (ext,) in conn.execute(sa.text(sql), params):
                yield _state_of(ext)


def _state_of(extensions: Any) -> QueueState:
    """The queue state in a stored ``extensions`` value (JSON text, or parsed by the driver)."""
    from servicewf.storage._codec import loads

    raw = loads(extensions).get(EXTENSION_KEY) if extensions is not None else None
    if not isinstance(raw, Mapping):
        raise InvalidQueueQuery("a row matched a queue key but holds no queue state; "
                                "reindex it (Queues.install does not rewrite rows)")
    return state_from(raw)

