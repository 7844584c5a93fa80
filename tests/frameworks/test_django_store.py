"""servicewf.contrib.django's store: the case commits and rolls back with the app's rows in
``transaction.atomic()``, on SQLite and PostgreSQL; the controls show what a store on its own
connection does instead (the problems the store exists for)."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator
from typing import Any

import pytest

from servicewf import Actor, Engine, FrozenClock, StaleVersion, StorageError
from servicewf.storage.sql import SQLStore

from ..helpers import START, ticket_definition
from .django_env import django_setup
from .test_aio import Reminder, notify

AGENT = Actor("a1", "agent")
_n = itertools.count()

ALIASES = [pytest.param("default", id="django-sqlite"),
           pytest.param("pg", id="django-postgresql", marks=pytest.mark.postgres)]


class Boom(Exception):
    pass


@pytest.fixture(params=ALIASES)
def env(request: pytest.FixtureRequest) -> Iterator[dict[str, Any]]:
    """A fresh DjangoStore, an engine on it and an app table (``tickets``) on the alias."""
    django_setup()
    from django.db import connections

    from servicewf.contrib.django import DjangoStore

    alias = request.param
    schema = request.getfixturevalue("pg_schema")[1] if alias == "pg" else None
    prefix = f"dj{next(_n)}_"
    store = DjangoStore(alias, create=True, prefix=prefix, schema=schema)
    table = f'"{schema}"."{prefix}tickets"' if schema else f'"{prefix}tickets"'
    with connections[alias].cursor() as cur:
        cur.execute(f"CREATE TABLE {table} (id varchar(50) PRIMARY KEY)")
    engine = Engine(store, FrozenClock(START), [ticket_definition()], processors=[Reminder()],
                    messages=[notify])
    yield {"alias": alias, "store": store, "engine": engine, "table": table, "schema": schema}
    with connections[alias].cursor() as cur:
        cur.execute(f"DROP TABLE {table}")
    store.drop_tables()
    connections.close_all()


def tickets(env: dict[str, Any]) -> list[str]:
    from django.db import connections

    with connections[env["alias"]].cursor() as cur:
        cur.execute(f"SELECT id FROM {env['table']} ORDER BY id")
        return [r[0] for r in cur.fetchall()]


def add_ticket(env: dict[str, Any], ticket: str) -> None:
    from django.db import connections

    with connections[env["alias"]].cursor() as cur:
        cur.execute(f"INSERT INTO {env['table']} (id) VALUES (%s)", [ticket])


def nothing_stored(store: Any) -> bool:
    return (store.count() == 0 and store.read_log() == [] and store.outbox() == []
            and store.due_timers(START + dt.timedelta(days=9999)) == [])


def test_a_rolled_back_atomic_block_leaves_neither_the_ticket_nor_the_case(env):
    from django.db import transaction

    store, engine = env["store"], env["engine"]
    with pytest.raises(Boom), transaction.atomic(using=env["alias"]):
        add_ticket(env, "T-1")
        case = engine.open("ticket", actor=AGENT, case_id="T-1")
        engine.fire(case, "register", actor=AGENT, data={"request_type": "x"})
        assert store.load("T-1").version == 2  # visible inside the transaction
        assert store.timers("T-1") and store.outbox(case_id="T-1")
        raise Boom
    assert tickets(env) == []
    assert nothing_stored(store)


def test_a_committed_block_keeps_both(env):
    from django.db import transaction

    store, engine = env["store"], env["engine"]
    with transaction.atomic(using=env["alias"]):
        add_ticket(env, "T-2")
        engine.open("ticket", actor=AGENT, case_id="T-2")
    assert tickets(env) == ["T-2"]
    assert store.load("T-2").version == 1 and len(store.outbox(case_id="T-2")) == 1
    assert [t.name for t in store.timers("T-2")] == ["rem:received"]


def test_a_refused_write_inside_the_block_leaves_the_block_usable(env):
    """The store's write is a savepoint inside the caller's transaction: a StaleVersion
    rolls back to it, and the caller's transaction goes on (on PostgreSQL a failed
    statement would otherwise abort it)."""
    from django.db import transaction

    store, engine = env["store"], env["engine"]
    case = engine.open("ticket", actor=AGENT, case_id="T-3")
    newer = engine.fire(case, "register", actor=AGENT, data={"request_type": "x"})
    with transaction.atomic(using=env["alias"]):
        add_ticket(env, "T-3")
        other = Engine(store, FrozenClock(START), [ticket_definition()])
        with pytest.raises(StaleVersion):
            other.fire(case, "cancel", actor=AGENT, data={"reason": "r"})
        engine.fire(newer, "plan", actor=AGENT, data={"plan": "p"})
    assert tickets(env) == ["T-3"]
    assert store.load("T-3").version == 3


def test_outside_a_block_each_command_is_its_own_transaction(env):
    store, engine = env["store"], env["engine"]
    case = engine.open("ticket", actor=AGENT, case_id="T-4")
    from django.db import connections

    assert connections[env["alias"]].get_autocommit()  # Django's default, untouched
    assert store.load("T-4") == case


@pytest.mark.parametrize("alias", [ALIASES[0]])
def test_control_a_sqlstore_on_its_own_connection_is_locked_out_on_sqlite(alias, tmp_path):
    """What the issue saw: a SQLStore with its own connection on the file Django writes
    waits for Django's transaction and fails with 'database is locked'."""
    django_setup()
    from django.db import connections, transaction

    own = SQLStore.sqlite(connections["default"].settings_dict["NAME"], busy_timeout_ms=200,
                          prefix=f"own{next(_n)}_")
    engine = Engine(own, FrozenClock(START), [ticket_definition()])
    try:
        with transaction.atomic():
            from django.contrib.auth.models import Group

            Group.objects.create(name=f"g{next(_n)}")  # Django holds the write lock now
            with pytest.raises(StorageError, match="locked"):
                engine.open("ticket", actor=AGENT)
    finally:
        own.drop_tables()
        own.close()


@pytest.mark.postgres
def test_control_a_sqlstore_on_its_own_connection_keeps_the_case_on_postgresql(pg_schema):
    """And on PostgreSQL: the case of a rolled-back ticket stays written."""
    django_setup()
    from django.db import transaction

    own = SQLStore(pg_schema[0], schema=pg_schema[1], prefix=f"own{next(_n)}_")
    engine = Engine(own, FrozenClock(START), [ticket_definition()])
    try:
        with pytest.raises(Boom), transaction.atomic(using="pg"):
            engine.open("ticket", actor=AGENT, case_id="ghost")
            raise Boom
        assert own.load("ghost").version == 1  # rolled back with nothing: the case stays
    finally:
        own.drop_tables()
        own.close()


def test_a_missing_table_says_to_migrate():
    django_setup()
    from servicewf.contrib.django import DjangoStore

    with pytest.raises(StorageError, match=r"manage\.py migrate"):
        DjangoStore("default", prefix="never_migrated_")
