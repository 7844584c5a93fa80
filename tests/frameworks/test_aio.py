"""servicewf.aio: the awaited engine on the asyncio SQL store (SQLite via aiosqlite,
PostgreSQL via psycopg's async mode) and on a blocking store in a thread.

What is checked: the same refusals as the blocking engine; commands on one case never
interleave (50 concurrent commands on 5 cases all land, sequences contiguous); a cancelled
caller or a cancelled command leaves nothing partial (snapshot == replay of the history,
version == number of events, timers and outbox whole); an exception inside an async
transaction leaves neither the app's rows nor the case, its events, timers or outbox."""

from __future__ import annotations

import asyncio
import datetime as dt
import random
from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import Any

import pytest
import sqlalchemy as sa

from servicewf import (
    Actor,
    Case,
    Engine,
    Event,
    FrozenClock,
    GuardFailed,
    Hooks,
    MemoryStore,
    ProcessDefinition,
    RoleNotPermitted,
    StaleVersion,
    TriggerNotAllowed,
    replay,
)
from servicewf.aio import AsyncEngine, AsyncSQLStore, async_url
from servicewf.storage.base import OutboxMessage, Timer

from ..helpers import START, ticket_definition

AGENT = Actor("a1", "agent")
BOSS = Actor("s1", "supervisor")


class Reminder:
    """A processor with a timer per case (the write-set carries timers)."""

    timer_prefix = "rem:"

    def process(self, definition: ProcessDefinition, case: Case,
                events: Sequence[Event]) -> tuple[Case, Sequence[Timer] | None]:
        due = case.updated_at + dt.timedelta(hours=case.version)
        return case, [Timer(case.id, f"rem:{case.state}", due, case.process, {"v": case.version})]


def notify(definition: ProcessDefinition, case: Case,
           events: Sequence[Event]) -> list[OutboxMessage]:
    """A message rule: one outbox message per event."""
    return [OutboxMessage.for_event(e, "ticket.changed", "staff", {"seq": e.seq}) for e in events]


BACKENDS = [
    pytest.param("memory", id="memory-thread"),
    pytest.param("sqlite", id="async-sqlite"),
    pytest.param("postgresql", id="async-postgresql", marks=pytest.mark.postgres),
    pytest.param("aiosqlite", id="async-sqlite-aiosqlite"),
]


@pytest.fixture(params=BACKENDS)
def opener(request: pytest.FixtureRequest) -> Iterator[Callable[[], Awaitable[Any]]]:
    """An async callable giving a fresh store of the backend (one per event loop)."""
    kind = request.param
    if kind == "memory":
        memory = MemoryStore()

        async def open_memory() -> Any:
            return memory
        yield open_memory
        return
    if kind in ("sqlite", "aiosqlite"):
        path = request.getfixturevalue("tmp_path") / "aio.db"

        async def open_sqlite() -> Any:
            return await AsyncSQLStore.open(f"sqlite:///{path}",
                                            sqlite_threads=kind == "sqlite")
        yield open_sqlite
        return
    dsn, schema = request.getfixturevalue("pg_schema")
    prefix = f"aio{random.randrange(10**9)}_"
    opened: list[AsyncSQLStore] = []

    async def open_pg() -> Any:
        store = await AsyncSQLStore.open(dsn, schema=schema, prefix=prefix)
        opened.append(store)
        return store
    yield open_pg

    async def drop() -> None:
        store = await AsyncSQLStore.open(dsn, schema=schema, prefix=prefix)
        await store.drop_tables()
        await store.close()
    asyncio.run(drop())


def engine_on(store: Any, clock: FrozenClock | None = None, **kwargs: Any) -> AsyncEngine:
    return AsyncEngine(store, clock or FrozenClock(START), [ticket_definition()],
                       processors=[Reminder()], messages=[notify], **kwargs)


async def close(store: Any) -> None:
    if isinstance(store, AsyncSQLStore):
        await store.close()


async def consistent(engine: AsyncEngine, case_id: str) -> Case:
    """Check the stored case against its history (an oracle independent of the store's
    snapshot): replayed state, version and data, contiguous seqs, one message per event and
    the timer the last event left."""
    stored = await engine.get(case_id)
    history = await engine.history(case_id)
    assert [e.seq for e in history] == list(range(1, len(history) + 1))
    rebuilt = replay(ticket_definition(), history)
    assert (rebuilt.state, rebuilt.version, dict(rebuilt.data)) == \
        (stored.state, stored.version, dict(stored.data))
    store = engine.store
    if isinstance(store, AsyncSQLStore):
        messages = await store.outbox(case_id=case_id)
        timers = await store.timers(case_id)
    else:
        messages = store.outbox(case_id=case_id)
        timers = store.timers(case_id)
    assert sorted(m.message.seq for m in messages) == [e.seq for e in history]
    assert [(t.name, t.payload["v"]) for t in timers] == [(f"rem:{stored.state}",
                                                           stored.version)]
    return stored


def test_the_refusals_are_the_blocking_engines(opener):
    async def main() -> None:
        store = await opener()
        engine = engine_on(store)
        blocking = Engine(MemoryStore(), FrozenClock(START), [ticket_definition()])
        case = await engine.open("ticket", actor=AGENT, case_id="t1")
        twin = blocking.open("ticket", actor=AGENT, case_id="t1")
        for command in (("plan", AGENT, {"plan": "p"}), ("finish", AGENT, None)):
            with pytest.raises(TriggerNotAllowed) as refused:
                await engine.fire(case, command[0], actor=command[1], data=command[2])
            with pytest.raises(TriggerNotAllowed) as expected:
                blocking.fire(twin, command[0], actor=command[1], data=command[2])
            assert str(refused.value) == str(expected.value)
        case = await engine.fire(case, "register", actor=AGENT, data={"request_type": "x"})
        case = await engine.fire(case, "plan", actor=AGENT, data={"plan": "p"})
        with pytest.raises(GuardFailed) as refused:
            await engine.fire(case, "start", actor=AGENT)
        assert refused.value.rule == "C3 (000 §2.4)"
        old = case
        case = await engine.fire(case, "revise", actor=AGENT, data={"plan": "q"})
        with pytest.raises(StaleVersion):
            await engine.fire(old, "note", actor=AGENT)
        options = {o.trigger: o for o in await engine.available(case, AGENT)}
        assert options["revise"].allowed and not options["start"].allowed
        assert (await engine.get("t1")) == case
        await consistent(engine, "t1")
        await close(store)
    asyncio.run(main())


def test_fifty_concurrent_commands_on_five_cases_all_land(opener):
    async def main() -> None:
        store = await opener()
        engine = engine_on(store)
        cases = [await engine.open("ticket", actor=AGENT, case_id=f"c{i}") for i in range(5)]
        cases = [await engine.fire(c, "register", actor=AGENT, data={"request_type": "x"})
                 for c in cases]
        results = await asyncio.gather(*[
            engine.fire(f"c{i % 5}", "note", actor=AGENT, comment=f"n{i}") for i in range(50)])
        assert all(isinstance(r, Case) for r in results)
        for i in range(5):
            stored = await consistent(engine, f"c{i}")
            assert stored.version == 2 + 10  # opened, registered, ten notes: none lost
            notes = [e.comment for e in await engine.history(f"c{i}")][2:]
            assert sorted(notes) == sorted(f"n{j}" for j in range(50) if j % 5 == i)
        await close(store)
    asyncio.run(main())


@pytest.mark.parametrize("opener", [BACKENDS[2]], indirect=True)
def test_without_the_case_lock_the_same_load_loses_updates(opener):
    """The control for the test above, on PostgreSQL (on SQLite, BEGIN IMMEDIATE already
    runs one command's transaction at a time): the same commands through engines that do
    not share the case locks collide (StaleVersion), so the lock is what makes them land."""
    async def main() -> None:
        store = await opener()
        engine = engine_on(store)
        await engine.open("ticket", actor=AGENT, case_id="x")
        await engine.fire("x", "register", actor=AGENT, data={"request_type": "x"})
        results = await asyncio.gather(*[engine_on(store).fire("x", "note", actor=AGENT)
                                         for _ in range(10)], return_exceptions=True)
        assert any(isinstance(r, StaleVersion) for r in results)
        await consistent(engine, "x")
        await close(store)
    asyncio.run(main())


@pytest.mark.parametrize("seed", range(4))
def test_cancelled_callers_never_leave_a_half_applied_command(opener, seed):
    rng = random.Random(seed)

    async def main() -> None:
        store = await opener()
        engine = engine_on(store)
        for i in range(3):
            await engine.open("ticket", actor=AGENT, case_id=f"k{i}")
            await engine.fire(f"k{i}", "register", actor=AGENT, data={"request_type": "x"})
        callers = [asyncio.ensure_future(engine.fire(f"k{i % 3}", "note", actor=AGENT,
                                                     comment=f"n{i}")) for i in range(24)]
        cancelled = set()
        for i, caller in enumerate(callers):
            if rng.random() < 0.5:
                # Cancelled before it started (no command at all), while it waits for the
                # case lock, or while its command runs.
                for _ in range(rng.randrange(4)):  # a few turns of the loop
                    await asyncio.sleep(0)
                if caller.cancel():
                    cancelled.add(i)
        done = await asyncio.gather(*callers, return_exceptions=True)
        await engine.drain()  # the commands of cancelled callers finish, whole
        assert cancelled, "the seed cancelled nobody: pick another"
        for i, result in enumerate(done):
            assert isinstance(result, asyncio.CancelledError) == (i in cancelled)
        for k in range(3):
            stored = await consistent(engine, f"k{k}")
            notes = [e.comment for e in await engine.history(f"k{k}")][2:]
            # A caller that was not cancelled saw its command land, exactly once; the command
            # of a cancelled caller landed once (it had started: shielded, it ran to its end)
            # or not at all (cancelled before it started).
            mine = {f"n{i}" for i in range(24) if i % 3 == k}
            assert len(notes) == len(set(notes)) and set(notes) <= mine
            assert {f"n{i}" for i in range(24) if i % 3 == k and i not in cancelled} <= \
                set(notes)
            assert stored.version == 2 + len(notes)
        await close(store)
    asyncio.run(main())


@pytest.mark.parametrize("seed", range(4))
def test_a_command_cancelled_inside_its_transaction_is_rolled_back_whole(opener, seed):
    """The loop itself cancels the commands (as at shutdown), at random points inside their
    transactions: each one is then either written whole or not at all."""
    rng = random.Random(seed)

    async def main() -> None:
        store = await opener()
        engine = engine_on(store)
        await engine.open("ticket", actor=AGENT, case_id="z")
        await engine.fire("z", "register", actor=AGENT, data={"request_type": "x"})
        loop = asyncio.get_running_loop()
        for round_ in range(8):
            began = loop.time()
            callers = [asyncio.ensure_future(engine.fire("z", "note", actor=AGENT,
                                                         comment=f"r{round_}-{i}"))
                       for i in range(3)]
            await asyncio.sleep(rng.random() * 0.005)
            for task in list(engine._pending):
                task.cancel()
            await asyncio.gather(*callers, return_exceptions=True)
            await engine.drain()
            await consistent(engine, "z")
            # No stall: a driver interrupted mid-statement kept the SQLite write lock until
            # collected, and the next writer waited out the 5 s busy timeout.
            assert loop.time() - began < 3
        await close(store)
    asyncio.run(main())


@pytest.mark.parametrize("opener", BACKENDS[1:], indirect=True)  # the SQL stores
def test_an_exception_in_an_async_transaction_leaves_nothing(opener):
    async def main() -> None:
        store = await opener()
        engine = engine_on(store)
        app = sa.MetaData(schema=store.tables.cases.schema)
        tickets = sa.Table(f"{store.tables.cases.name}_tickets", app,
                           sa.Column("id", sa.String(50), primary_key=True))
        async with store.engine.begin() as conn:
            await conn.run_sync(app.create_all)

        class Boom(Exception):
            pass

        with pytest.raises(Boom):
            async with store.begin() as tx:
                assert tx.connection is not None
                await tx.connection.execute(tickets.insert().values(id="T-1"))
                case = await engine.using(tx).open("ticket", actor=AGENT, case_id="rb")
                await engine.using(tx).fire(case, "register", actor=AGENT,
                                            data={"request_type": "x"})
                assert (await tx.load("rb")).version == 2  # visible inside the transaction
                raise Boom
        async with store.engine.connect() as conn:
            assert (await conn.execute(sa.select(sa.func.count()).select_from(tickets))
                    ).scalar_one() == 0
        assert await store.count() == 0
        assert await store.read_log() == []
        assert await store.outbox() == []
        assert await store.due_timers(START + dt.timedelta(days=9999)) == []

        async with store.begin() as tx:  # and the same block without the exception commits
            await tx.connection.execute(tickets.insert().values(id="T-2"))
            await engine.using(tx).open("ticket", actor=AGENT, case_id="ok")
        await consistent(engine, "ok")
        async with store.engine.begin() as conn:
            await conn.run_sync(app.drop_all)
        await close(store)
    asyncio.run(main())


def test_observers_run_after_the_commit_and_their_failure_keeps_the_command(opener):
    async def main() -> None:
        store = await opener()
        hooks = Hooks()
        seen: list[int] = []

        @hooks.after_commit()
        def watch(write: Any) -> None:
            seen.append(write.case.version)
            if write.case.version == 2:
                raise RuntimeError("observer down")

        engine = engine_on(store, hooks=hooks)
        await engine.open("ticket", actor=AGENT, case_id="o")
        from servicewf import ObserverFailed
        with pytest.raises(ObserverFailed) as failed:
            await engine.fire("o", "register", actor=AGENT, data={"request_type": "x"})
        assert failed.value.case.version == 2 and seen == [1, 2]
        assert (await engine.get("o")).version == 2
        await close(store)
    asyncio.run(main())


def test_role_refusal_writes_nothing(opener):
    async def main() -> None:
        store = await opener()
        engine = engine_on(store)
        await engine.open("ticket", actor=AGENT, case_id="r")
        for trigger, data in (("register", {"request_type": "x"}), ("plan", {"plan": "p"}),
                              ("revise", {"plan": "ok"})):
            await engine.fire("r", trigger, actor=AGENT, data=data)
        with pytest.raises(RoleNotPermitted):
            await engine.record("r", "clock_warning", actor=AGENT)
        assert (await engine.get("r")).version == 4
        await close(store)
    asyncio.run(main())


def test_async_url_picks_asyncio_drivers():
    assert async_url("sqlite:///x.db").drivername == "sqlite+aiosqlite"
    assert async_url("postgresql://u@h/db").drivername == "postgresql+psycopg"
    assert async_url("postgres://u@h/db").drivername == "postgresql+psycopg"
    assert async_url("postgresql+asyncpg://u@h/db").drivername == "postgresql+asyncpg"


def test_the_aiosqlite_engine_gets_the_sql_stores_sqlite_settings(tmp_path):
    async def main() -> None:
        store = await AsyncSQLStore.open(f"sqlite:///{tmp_path / 's.db'}")
        async with store.engine.connect() as conn:
            pragmas = [(await conn.exec_driver_sql(f"PRAGMA {p}")).scalar()
                       for p in ("journal_mode", "synchronous", "busy_timeout")]
        assert pragmas == ["wal", 1, 5000]  # WAL, NORMAL, the default busy timeout
        await store.close()
        other = await AsyncSQLStore.open(f"sqlite:///{tmp_path / 't.db'}", busy_timeout_ms=250)
        async with other.engine.connect() as conn:
            assert (await conn.exec_driver_sql("PRAGMA busy_timeout")).scalar() == 250
        await other.close()
    asyncio.run(main())


def test_a_reader_is_not_queued_behind_a_writers_transaction(tmp_path):
    """Reads begin deferred (WAL: they see the last commit), writes BEGIN IMMEDIATE: a
    long transaction of the app does not block the store's reads."""
    async def main() -> None:
        path = f"sqlite:///{tmp_path / 'r.db'}"
        store = await AsyncSQLStore.open(path, busy_timeout_ms=100, sqlite_threads=False)
        engine = engine_on(store)
        await engine.open("ticket", actor=AGENT, case_id="r1")
        async with store.begin() as tx:  # holds the write lock until the block ends
            await engine.using(tx).fire("r1", "register", actor=AGENT,
                                        data={"request_type": "x"})
            assert (await store.load("r1")).version == 1  # read at once, last commit
        assert (await store.load("r1")).version == 2
        await store.close()
    asyncio.run(main())


@pytest.mark.parametrize("threads", [True, False], ids=["threads", "aiosqlite"])
def test_a_caller_cancelled_during_a_transaction_is_told_after_it_ends(tmp_path, threads):
    async def main() -> None:
        store = await AsyncSQLStore.open(f"sqlite:///{tmp_path / 'c.db'}",
                                         sqlite_threads=threads)
        engine = engine_on(store)
        await engine.open("ticket", actor=AGENT, case_id="c")
        write = engine.engine.plan_record(await store.load("c"), "note", actor=AGENT)
        caller = asyncio.ensure_future(store.append(write))
        for _ in range(3):
            await asyncio.sleep(0)  # the transaction has begun
        caller.cancel()
        with pytest.raises(asyncio.CancelledError):
            await caller
        assert (await store.load("c")).version == 2  # and it was written, whole
        await consistent(engine, "c")
        await close(store)
    asyncio.run(main())


def test_only_sqlite_files_get_wal_and_threads():
    from servicewf.aio import _is_file

    assert _is_file(sa.make_url("sqlite+aiosqlite:////tmp/x.db"))
    assert not _is_file(sa.make_url("sqlite+aiosqlite://"))
    assert not _is_file(sa.make_url("sqlite+aiosqlite:///:memory:"))
    assert not _is_file(sa.make_url("sqlite+aiosqlite:///file:x?mode=memory&uri=true"))


@pytest.mark.parametrize("threads", [True, False], ids=["threads", "aiosqlite"])
def test_sqlite_writers_queue_in_the_store_not_at_the_database(tmp_path, threads):
    """With a 1 ms busy timeout, writers that met at SQLite's lock would fail with
    'database is locked'; queued on the event loop, all forty land."""
    async def main() -> None:
        store = await AsyncSQLStore.open(f"sqlite:///{tmp_path / 'q.db'}", busy_timeout_ms=1,
                                         sqlite_threads=threads)
        engine = engine_on(store)
        for i in range(4):
            await engine.open("ticket", actor=AGENT, case_id=f"q{i}")
        await asyncio.gather(*(engine.record(f"q{i % 4}", "note", actor=AGENT)
                               for i in range(40)))
        for i in range(4):
            assert (await consistent(engine, f"q{i}")).version == 11
        await close(store)
    asyncio.run(main())
