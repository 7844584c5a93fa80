"""The SQL schema of :class:`~servicewf.storage.sql.SQLStore`, as SQLAlchemy Core tables.

Five tables, all named with an optional prefix (and optionally in a database schema), so they
can sit beside an integrator's own tables:

* ``cases``: one snapshot per case (latest :class:`~servicewf.case.Case`), with the version
  used for optimistic concurrency and the ``schema_version`` of the row format;
* ``events``: the append-only history, primary key ``(case_id, seq)``, with the global log
  ``position`` (unique; see :meth:`~servicewf.storage.sql.SQLStore.read_log` for how it
  follows commit order);
* ``timers``: due instants per case, with the lease of the worker processing them;
* ``outbox``: messages written with their case, waiting for (or done with) delivery: status,
  attempts, next attempt, lease;
* ``servicewf_meta``: key/value facts about the database (the schema version).

:func:`schema_sql` renders the DDL for users who manage migrations themselves.
"""

from __future__ import annotations

import attrs
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.schema import CreateIndex, CreateTable

__all__ = ["DATABASE_SCHEMA_VERSION", "OUTBOX_LAYOUT", "Tables", "build_tables", "schema_sql"]

DATABASE_SCHEMA_VERSION = 3
"""The table layout this servicewf creates (recorded in ``servicewf_meta``).

* Layout 0 had no ``extensions`` and no ``schema_version`` column in ``cases``.
* Layout 1 had no ``position`` column in ``events`` (no global log order).
* Layout 2 had no ``outbox`` table.

``SQLStore(..., migrate=True)`` brings an older layout to this one, step by step.
"""

OUTBOX_LAYOUT = 3
"""The layout that added the ``outbox`` table (the upgrade step
``servicewf.storage.sql._add_outbox_table``)."""

# Instants: exact integer microseconds (UTC) where there is no zone-aware type; timestamptz on
# PostgreSQL. Plain data: JSON text; jsonb on PostgreSQL (queryable by integrators).
Instant = sa.BigInteger().with_variant(postgresql.TIMESTAMP(timezone=True), "postgresql")


class PGJSONText(sa.types.UserDefinedType[str]):
    """A PostgreSQL ``json`` column bound as the JSON text the store encodes itself.

    ``json``, not ``jsonb``: jsonb re-encodes numbers (a float may come back as an int) and
    refuses some strings; an audit log must give back exactly what was written. Binding text
    skips a second serialization per write.
    """

    cache_ok = True

    def get_col_spec(self, **kw: object) -> str:
        return "JSON"


JSONData = sa.Text().with_variant(PGJSONText(), "postgresql")


def Key(length: int = 200) -> sa.types.TypeEngine[str]:
    """A text key compared and sorted by code point on every database (the "C" collation on
    PostgreSQL; SQLite's default BINARY already is), so ordering matches Python's."""
    return sa.String(length).with_variant(postgresql.VARCHAR(length, collation="C"),
                                          "postgresql")


@attrs.frozen
class Tables:
    """The store's tables, bound to one :class:`sqlalchemy.MetaData`."""

    metadata: sa.MetaData
    cases: sa.Table
    events: sa.Table
    timers: sa.Table
    meta: sa.Table
    outbox: sa.Table


def build_tables(prefix: str = "", schema: str | None = None) -> Tables:
    """The store's tables named ``{prefix}cases``, ``{prefix}events``, ``{prefix}timers``,
    ``{prefix}outbox`` and ``{prefix}servicewf_meta``, in database schema ``schema``
    (default schema when ``None``)."""
    md = sa.MetaData(schema=schema)
    cases = sa.Table(
        f"{prefix}cases", md,
        sa.Column("id", Key(), primary_key=True),
        sa.Column("process", Key(), nullable=False),
        sa.Column("definition_version", sa.Integer, nullable=False),
        sa.Column("state", Key(), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("opened_at", Instant, nullable=False),
        sa.Column("updated_at", Instant, nullable=False),
        sa.Column("data", JSONData, nullable=False),
        sa.Column("extensions", JSONData, nullable=True),
        sa.Column("schema_version", sa.Integer, nullable=False),
        sa.Index(f"ix_{prefix}cases_process_state", "process", "state"),
    )
    events = sa.Table(
        f"{prefix}events", md,
        sa.Column("case_id", Key(), primary_key=True),
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("at", Instant, nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("actor_id", sa.String(200), nullable=False),
        sa.Column("role", sa.String(200), nullable=False),
        sa.Column("trigger", sa.String(200), nullable=True),
        sa.Column("source", sa.String(200), nullable=True),
        sa.Column("dest", sa.String(200), nullable=False),
        sa.Column("data", JSONData, nullable=False),
        sa.Column("comment", sa.Text, nullable=True),
        # The global log order. PostgreSQL draws it from an identity sequence while the
        # appender holds the log lock (commit order); SQLite computes max + 1 under its
        # database write lock. See SQLStore.read_log.
        sa.Column("position", sa.BigInteger, sa.Identity(), nullable=False),
        sa.Index(f"ix_{prefix}events_position", "position", unique=True),
    )
    timers = sa.Table(
        f"{prefix}timers", md,
        sa.Column("case_id", Key(), primary_key=True),
        sa.Column("name", Key(), primary_key=True),
        sa.Column("due", Instant, nullable=False),
        sa.Column("process", Key(), nullable=False),
        sa.Column("payload", JSONData, nullable=False),
        sa.Column("lease_owner", sa.String(200), nullable=True),
        sa.Column("lease_until", Instant, nullable=True),
        sa.Index(f"ix_{prefix}timers_due", "due"),
    )
    meta = sa.Table(
        f"{prefix}servicewf_meta", md,
        sa.Column("key", sa.String(100), primary_key=True),
        sa.Column("value", sa.String(200), nullable=False),
    )
    outbox = sa.Table(
        f"{prefix}outbox", md,
        sa.Column("id", Key(), primary_key=True),
        sa.Column("case_id", Key(), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("topic", Key(), nullable=False),
        sa.Column("recipient", Key(), nullable=False),
        sa.Column("payload", JSONData, nullable=False),
        sa.Column("created_at", Instant, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", Instant, nullable=False),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("delivered_at", Instant, nullable=True),
        sa.Column("lease_owner", sa.String(200), nullable=True),
        sa.Column("lease_until", Instant, nullable=True),
        sa.Index(f"ix_{prefix}outbox_status_next", "status", "next_attempt_at"),
        sa.Index(f"ix_{prefix}outbox_case", "case_id"),
    )
    return Tables(md, cases, events, timers, meta, outbox)


_DIALECTS: dict[str, type[Dialect]] = {
    "sqlite": sqlite.dialect,
    "postgresql": postgresql.dialect,
}


def schema_sql(
    dialect: str | Dialect = "postgresql", *, prefix: str = "", schema: str | None = None
) -> str:
    """The DDL that creates the store's tables and indexes, as SQL text for ``dialect``
    (``"sqlite"``, ``"postgresql"`` or a SQLAlchemy dialect), one statement per ``;``.

    Use it when migrations are managed outside servicewf; then open the store with
    ``SQLStore(..., create=False)`` and record :data:`DATABASE_SCHEMA_VERSION` as
    ``schema_version`` in the meta table (the last statement here does that).
    """
    if isinstance(dialect, str):
        try:
            dialect = _DIALECTS[dialect]()
        except KeyError:
            raise ValueError(
                f"unknown dialect {dialect!r}; pass 'sqlite', 'postgresql' or a SQLAlchemy "
                "Dialect instance"
            ) from None
    tables = build_tables(prefix, schema)
    parts: list[str] = []
    for table in tables.metadata.sorted_tables:
        ddl = str(CreateTable(table).compile(dialect=dialect)).strip()
        parts.append("\n".join(line.rstrip() for line in ddl.splitlines()))
        for index in sorted(table.indexes, key=lambda i: str(i.name)):
            parts.append(str(CreateIndex(index).compile(dialect=dialect)).strip())
    meta = tables.meta.insert().values(key="schema_version", value=str(DATABASE_SCHEMA_VERSION))
    parts.append(str(meta.compile(dialect=dialect, compile_kwargs={"literal_binds": True})))
    return ";\n\n".join(parts) + ";\n"
