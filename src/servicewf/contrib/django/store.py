"""The SQL store on Django's database connection.

How it shares Django's transaction: the store's SQLAlchemy engine has no connections of its
own. Its pool lends out the DBAPI connection Django holds for the current thread
(``connections[alias].connection``), and nothing on the SQLAlchemy side ever commits, rolls
back or closes it: the dialect's commit and rollback do nothing, and returning a connection
to the pool leaves it as it is. Every store call runs inside ``transaction.atomic(using=
alias)``: within your own ``atomic()`` block it is a savepoint (a refused write rolls back to
it and leaves your transaction usable), outside one it is a transaction of its own. So a
write-set is atomic either way, and it commits or rolls back with whatever your block does.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from django.db import connections, transaction
from sqlalchemy.engine import Connection
from sqlalchemy.pool import ConnectionPoolEntry, Pool
from sqlalchemy.pool.base import _ConnectionRecord

from servicewf.errors import StorageError
from servicewf.storage.sql import SQLStore

__all__ = ["DjangoStore", "borrowing_engine"]

_DRIVERS = {"postgresql": "postgresql+psycopg", "sqlite": "sqlite+pysqlite"}


class _BorrowedPool(Pool):
    """A pool that lends Django's connection of the current thread and never closes it.

    One pool record per Django connection (kept per thread): SQLAlchemy's per-connection
    set-up runs once for it, not on every checkout (a pool that made a record per checkout
    would add a notice handler to Django's psycopg connection each time). Modelled on
    SQLAlchemy's ``StaticPool``, which keeps one record for everything.
    """

    borrowed_connections = True
    """Read by code that would detach a connection or change its mode (the queue queries'
    page reads): a borrowed connection is Django's, to be used as it is."""

    def __init__(self, creator: Any, **kw: Any) -> None:
        super().__init__(creator, **kw)
        self._local = threading.local()

    def status(self) -> str:
        return "BorrowedPool (Django's connections)"

    def dispose(self) -> None:
        self._local = threading.local()  # Django's connections are Django's to close

    def recreate(self) -> _BorrowedPool:
        return self.__class__(creator=self._creator, recycle=self._recycle,
                              reset_on_return=self._reset_on_return, echo=self.echo,
                              logging_name=self._orig_logging_name, _dispatch=self.dispatch,
                              dialect=self._dialect)

    def _do_return_conn(self, record: ConnectionPoolEntry) -> None:
        pass

    def _do_get(self) -> ConnectionPoolEntry:
        raw = self._creator_raw()
        rec: _ConnectionRecord | None = getattr(self._local, "record", None)
        if rec is None or rec.dbapi_connection is not raw or rec._is_hard_or_soft_invalidated():
            rec = _ConnectionRecord(self)
            self._local.record = rec
        return rec

    def _creator_raw(self) -> Any:
        return self._creator()  # type: ignore[call-arg]


def borrowing_engine(using: str = "default") -> sa.Engine:
    """A SQLAlchemy engine whose connections are Django's connection ``using`` (per thread)
    and which never ends a transaction: Django does (commit, rollback, savepoints)."""
    vendor = connections[using].vendor
    if vendor not in _DRIVERS:
        raise StorageError(f"servicewf runs on Django's 'sqlite' and 'postgresql' databases, "
                           f"not {vendor!r}; use a SQLStore on its own connection instead")

    def borrow() -> Any:
        wrapper = connections[using]
        wrapper.ensure_connection()
        return wrapper.connection

    engine = sa.create_engine(f"{_DRIVERS[vendor]}://", creator=borrow, poolclass=_BorrowedPool,
                              pool_reset_on_return=None)
    dialect: Any = engine.dialect
    dialect.do_commit = dialect.do_rollback = lambda dbapi_connection: None
    return engine


class DjangoStore(SQLStore):
    """A :class:`~servicewf.storage.sql.SQLStore` on Django's database ``using``: its writes
    commit and roll back with the ``transaction.atomic()`` block they run in.

    The tables are created by ``manage.py migrate`` (the ``servicewf.contrib.django`` app);
    ``create=True`` creates missing tables directly (tests, scripts). ``prefix`` defaults to
    the ``SERVICEWF["PREFIX"]`` setting (``"servicewf_"``).

    Read the global log (:meth:`read_log`) outside a long transaction: on PostgreSQL it takes
    the log lock until the transaction it runs in ends.
    """

    def __init__(self, using: str | None = None, *, create: bool = False, migrate: bool = False,
                 prefix: str | None = None, schema: str | None = None) -> None:
        from servicewf.contrib.django.conf import settings_value

        self._alias = using if using is not None else str(settings_value("DATABASE"))
        table_prefix = prefix if prefix is not None else str(settings_value("PREFIX"))
        try:
            super().__init__(borrowing_engine(self._alias), create=create, migrate=migrate,
                             prefix=table_prefix, schema=schema)
        except StorageError as exc:
            if "does not exist" not in str(exc):
                raise
            raise StorageError(
                f"the servicewf tables ({table_prefix}cases...) do not exist in database "
                f"{self._alias!r}: add 'servicewf.contrib.django' to INSTALLED_APPS and run "
                "manage.py migrate") from exc

    @property
    def using(self) -> str:
        """The Django database alias."""
        return self._alias

    @contextlib.contextmanager
    def _tx(self, *, write: bool) -> Iterator[Connection]:
        # Safe because Django's atomic() is the transaction (or a savepoint inside the
        # caller's): every statement of one store call commits or rolls back together.
        try:
            with transaction.atomic(using=self._alias), self._engine.connect() as conn:
                yield conn
        except sa.exc.SQLAlchemyError as exc:
            raise self._storage_error(exc) from exc

    @contextlib.contextmanager
    def _log_reader(self) -> Iterator[Connection]:
        # Django's PostgreSQL transactions are READ COMMITTED unless configured otherwise;
        # the read after the log lock then sees every append that committed before it.
        with self._tx(write=False) as conn:
            if self._pg:
                level = conn.exec_driver_sql("SHOW transaction_isolation").scalar()
                if level != "read committed":
                    raise StorageError(
                        f"read_log() needs READ COMMITTED transactions, and database "
                        f"{self._alias!r} runs {level!s}; read the log from a SQLStore on its "
                        "own connection")
            yield conn
