"""The key vault and the access log as tables beside a :class:`~servicewf.storage.sql.SQLStore`
(same database, same prefix and schema): ``<prefix>privacy_keys`` and
``<prefix>privacy_access``. SQLite and PostgreSQL alike.

Each method is one short transaction: a key is committed before any value is sealed with it
(a key whose command then fails is an orphan holding no personal data, reused by the next
attempt), and shredding deletes rows in one statement.
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa

from servicewf.clock import epoch_us, from_epoch_us
from servicewf.privacy.access import AccessRecord
from servicewf.privacy.vault import KeyRecord, new_key_record
from servicewf.storage.sql import SQLStore

__all__ = ["SQLAccessLog", "SQLVault", "privacy_tables"]


def privacy_tables(prefix: str = "", schema: str | None = None) -> tuple[sa.Table, sa.Table]:
    """The ``privacy_keys`` and ``privacy_access`` tables (on their own metadata)."""
    meta = sa.MetaData(schema=schema)
    keys = sa.Table(
        f"{prefix}privacy_keys", meta,
        sa.Column("key_id", sa.String(32), primary_key=True),
        sa.Column("subject", sa.String(64), nullable=False, index=True),
        sa.Column("case_id", sa.String(200), nullable=False, index=True),
        sa.Column("key", sa.LargeBinary, nullable=False),
        sa.UniqueConstraint("subject", "case_id", name=f"{prefix}privacy_keys_pair"),
    )
    access = sa.Table(
        f"{prefix}privacy_access", meta,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at_us", sa.BigInteger, nullable=False),
        sa.Column("actor_id", sa.String(200), nullable=False, index=True),
        sa.Column("role", sa.String(200), nullable=False),
        sa.Column("purpose", sa.String(200), nullable=False),
        sa.Column("case_id", sa.String(200), nullable=False, index=True),
        sa.Column("process", sa.String(200), nullable=False),
        sa.Column("fields", sa.Text, nullable=False),
    )
    return keys, access


def _place(store: SQLStore) -> tuple[str, str | None]:
    cases = store.tables.cases
    return cases.name.removesuffix("cases"), cases.schema


class SQLVault:
    """A :class:`~servicewf.privacy.vault.KeyVault` in the store's database."""

    def __init__(self, engine: sa.Engine, *, prefix: str = "", schema: str | None = None,
                 create: bool = True) -> None:
        self.engine = engine
        self.table, _ = privacy_tables(prefix, schema)
        if create:
            self.table.metadata.create_all(engine, tables=[self.table])

    @classmethod
    def beside(cls, store: SQLStore) -> SQLVault:
        """The vault in ``store``'s database, with its prefix and schema."""
        prefix, schema = _place(store)
        return cls(store.engine, prefix=prefix, schema=schema)

    @staticmethod
    def _record(row: Any) -> KeyRecord:
        return KeyRecord(str(row[0]), str(row[1]), str(row[2]), bytes(row[3]))

    def _select(self) -> sa.Select[tuple[str, str, str, bytes]]:
        t = self.table
        return sa.select(t.c.key_id, t.c.subject, t.c.case_id, t.c.key)

    def _find(self, subject: str, case_id: str) -> KeyRecord | None:
        t = self.table
        query = self._select().where(t.c.subject == subject, t.c.case_id == case_id)
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return None if row is None else self._record(row)

    def key_for(self, subject: str, case_id: str) -> KeyRecord:
        found = self._find(subject, case_id)
        if found is not None:
            return found
        record = new_key_record(subject, case_id)
        try:
            with self.engine.begin() as conn:
                conn.execute(self.table.insert().values(
                    key_id=record.key_id, subject=subject, case_id=case_id, key=record.key))
        except sa.exc.IntegrityError:  # a concurrent writer created it first: use theirs
            found = self._find(subject, case_id)
            if found is None:
                raise
            return found
        return record

    def get(self, key_id: str) -> KeyRecord | None:
        with self.engine.connect() as conn:
            row = conn.execute(self._select().where(self.table.c.key_id == key_id)).first()
        return None if row is None else self._record(row)

    def cases_of(self, subject: str) -> list[str]:
        t = self.table
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(t.c.case_id).where(t.c.subject == subject)
                                .order_by(t.c.case_id)).all()
        return [r[0] for r in rows]

    def shred_subject(self, subject: str) -> int:
        with self.engine.begin() as conn:
            return int(conn.execute(self.table.delete()
                                    .where(self.table.c.subject == subject)).rowcount)

    def shred_case(self, case_id: str) -> int:
        with self.engine.begin() as conn:
            return int(conn.execute(self.table.delete()
                                    .where(self.table.c.case_id == case_id)).rowcount)

    def drop(self) -> None:
        """Drop the table (tests, teardown). Irreversible: every sealed value is erased."""
        self.table.drop(self.engine, checkfirst=True)


class SQLAccessLog:
    """An :class:`~servicewf.privacy.access.AccessLog` in the store's database."""

    def __init__(self, engine: sa.Engine, *, prefix: str = "", schema: str | None = None,
                 create: bool = True) -> None:
        self.engine = engine
        _, self.table = privacy_tables(prefix, schema)
        if create:
            self.table.metadata.create_all(engine, tables=[self.table])

    @classmethod
    def beside(cls, store: SQLStore) -> SQLAccessLog:
        """The access log in ``store``'s database, with its prefix and schema."""
        prefix, schema = _place(store)
        return cls(store.engine, prefix=prefix, schema=schema)

    def append(self, record: AccessRecord) -> None:
        with self.engine.begin() as conn:
            conn.execute(self.table.insert().values(
                at_us=epoch_us(record.at), actor_id=record.actor_id, role=record.role,
                purpose=record.purpose, case_id=record.case_id, process=record.process,
                fields=json.dumps(list(record.fields))))

    def records(self, *, case_id: str | None = None,
                actor_id: str | None = None) -> list[AccessRecord]:
        t = self.table
        query = sa.select(t.c.at_us, t.c.actor_id, t.c.role, t.c.purpose, t.c.case_id,
                          t.c.process, t.c.fields).order_by(t.c.id)
        if case_id is not None:
            query = query.where(t.c.case_id == case_id)
        if actor_id is not None:
            query = query.where(t.c.actor_id == actor_id)
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [AccessRecord(from_epoch_us(r[0]), r[1], r[2], r[3], r[4], r[5],
                             tuple(json.loads(r[6]))) for r in rows]

    def drop(self) -> None:
        """Drop the table (tests, teardown)."""
        self.table.drop(self.engine, checkfirst=True)
