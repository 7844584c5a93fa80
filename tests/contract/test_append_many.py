"""Store.append_many and load_many, the same on every backend: each write-set applied whole
or refused alone (a stale one never costs the others their write), exactly as appending them
one by one would (the in-memory store's ``append``, one at a time, is the oracle)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from servicewf.errors import CaseNotFound, CorruptRecord, StaleVersion, StorageError
from servicewf.storage import MemoryStore, OutboxMessage, Store
from servicewf.storage.base import WriteSet
from servicewf.storage.sql import SQLStore

from .backends import BACKENDS, SQL_BACKENDS, T0, case, make_store, moved, open_case, timer


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest) -> Iterator[Store]:
    yield from make_store(request.param, request)


def _seed(store: Store, n: int) -> list[str]:
    ids = [f"c{i}" for i in range(n)]
    for cid in ids:
        open_case(store, cid, timers=(timer(cid, "sla:a", T0), timer(cid, "obl:b", T0),
                                      timer(cid, "x:c", T0)))
    return ids


def _write(cid: str, expected: int, *, steps: int = 1, tag: str = "") -> WriteSet:
    """Move ``cid`` from ``expected`` on by ``steps`` events; replace its ``sla:`` timers,
    drop its ``obl:`` ones, keep the others; one outbox message per event."""
    events = [moved(cid, expected + k, "new", "new", data={"tag": tag})
              for k in range(1, steps + 1)]
    after = case(cid, version=expected + steps, data={"tag": tag})
    timers = {"sla:": (timer(cid, f"sla:{tag or 'z'}", T0.add(hours=1)),
                       timer(cid, "sla:y", T0.add(hours=2))), "obl:": ()}
    outbox = [OutboxMessage(f"{cid}/{e.seq}/t{tag}/staff", cid, e.seq, f"t{tag}", "staff",
                            {"n": e.seq}, created_at=T0) for e in events]
    return WriteSet.build(after, events, expected, timers, outbox)


def _state(store: Store, ids: list[str]) -> list[object]:
    return [(store.load(cid), store.history(cid), store.timers(cid),
             [(e.message, e.status) for e in store.outbox(case_id=cid)]) for cid in ids]


def test_a_batch_is_applied_as_appending_each_write_set_would(store: Store) -> None:
    ids = _seed(store, 4)
    oracle = MemoryStore()
    _seed(oracle, 4)
    writes = [_write(ids[2], 1, steps=2, tag="b"), _write(ids[0], 1, tag="a"),
              _write(ids[3], 1, steps=3, tag="c")]
    assert store.append_many(writes) == [None, None, None]
    for w in writes:
        oracle.append(w)
    assert _state(store, ids) == _state(oracle, ids)
    assert [t.name for t in store.timers(ids[1])] == ["obl:b", "sla:a", "x:c"]  # untouched


def test_a_stale_or_missing_case_is_refused_alone(store: Store) -> None:
    ids = _seed(store, 3)
    store.append(_write(ids[1], 1, tag="moved"))  # someone else moved c1 to version 2
    before = _state(store, [ids[1]])
    results = store.append_many([_write(ids[0], 1, tag="a"), _write(ids[1], 1, tag="late"),
                                 _write("ghost", 1), _write(ids[2], 1, tag="c")])
    assert results[0] is None and results[3] is None
    assert isinstance(results[1], StaleVersion)
    assert (results[1].case_id, results[1].expected, results[1].actual) == (ids[1], 1, 2)
    assert isinstance(results[2], CaseNotFound) and results[2].case_id == "ghost"
    assert _state(store, [ids[1]]) == before  # nothing of the stale write-set
    assert store.load(ids[0]).version == 2 and store.load(ids[2]).version == 2
    assert store.count_outbox() == 3  # the moved write's, a's and c's


def test_a_database_refusal_is_raised_and_each_write_set_stays_whole(store: Store) -> None:
    ids = _seed(store, 3)
    store.append(_write(ids[1], 1, tag="x"))   # its message c1/2/tx/staff is taken
    clash = _write(ids[1], 2, tag="x")         # planned to write c1/3/... and is fine
    clash = WriteSet.build(clash.case, clash.events, 2, clash.timers,
                           [OutboxMessage("c1/2/tx/staff", ids[1], 3, "tx", "staff",
                                          created_at=T0)])
    with pytest.raises(StorageError):
        store.append_many([_write(ids[0], 1, tag="a"), clash, _write(ids[2], 1, tag="c")])
    # Whole or nothing, per write-set: the clashing one wrote nothing.
    assert store.load(ids[1]).version == 2
    for cid in (ids[0], ids[2]):
        version = store.load(cid).version
        assert version in (1, 2)
        assert len(store.history(cid)) == version
        assert len(store.outbox(case_id=cid)) == version - 1


def test_bad_batches_are_refused_before_anything_is_written(store: Store) -> None:
    ids = _seed(store, 2)
    with pytest.raises(ValueError, match="two write-sets of case 'c0'"):
        store.append_many([_write(ids[0], 1), _write(ids[1], 1), _write(ids[0], 2)])
    bad = WriteSet.build(case(ids[1], version=3), [moved(ids[1], 2, "new", "new")], 1)
    with pytest.raises(ValueError, match="snapshot version"):
        store.append_many([_write(ids[0], 1), bad])
    with pytest.raises(TypeError, match="WriteSet"):
        store.append_many([_write(ids[0], 1), "c1"])  # type: ignore[list-item]
    assert [store.load(cid).version for cid in ids] == [1, 1]
    assert store.append_many([]) == []


def test_load_many_reads_cases_by_id_and_leaves_out_missing_ones(store: Store) -> None:
    ids = _seed(store, 3)
    got = store.load_many([ids[2], "ghost", ids[0], ids[2]])
    assert got == {ids[2]: store.load(ids[2]), ids[0]: store.load(ids[0])}
    assert store.load_many([]) == {}


@pytest.fixture(params=SQL_BACKENDS)
def sql_store(request: pytest.FixtureRequest) -> Iterator[Store]:
    yield from make_store(request.param, request)


def test_load_many_reports_a_corrupt_row_and_reads_the_others(sql_store: Store) -> None:
    # Only stores that keep rows can hold a corrupt one.
    store = sql_store
    assert isinstance(store, SQLStore)
    import sqlalchemy as sa

    ids = _seed(store, 3)
    cases = store.tables.cases
    with store.engine.begin() as conn:
        conn.execute(cases.update().where(cases.c.id == ids[1]).values(
            data=sa.literal("[1, 2]") if store.engine.dialect.name == "sqlite"
            else sa.cast(sa.literal("[1, 2]"), cases.c.data.type)))
    bad: list[CorruptRecord] = []
    got = store.load_many(ids, on_corrupt=bad.append)
    assert sorted(got) == [ids[0], ids[2]] and [b.case_id for b in bad] == [ids[1]]
    with pytest.raises(CorruptRecord):
        store.load_many(ids)


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(plan=st.lists(st.tuples(st.integers(0, 5), st.integers(0, 2), st.integers(1, 3)),
                     min_size=1, max_size=6, unique_by=lambda p: p[0]))
def test_any_batch_with_stale_members_matches_appending_one_by_one(store: Store, plan) -> None:  # type: ignore[no-untyped-def]
    # Each case is first moved by `moved` writes of its own, then the batch names version 1
    # for it: stale unless it was not moved. The oracle appends the same one by one.
    n = len(store.load_many([f"c{i}" for i in range(6)]))
    if n == 0:
        _seed(store, 6)
    tag = f"r{store.count_outbox()}"
    oracle_results: list[object] = []
    base = {cid: store.load(cid).version for cid in (f"c{i}" for i in range(6))}
    writes = []
    for i, moves, steps in plan:
        cid = f"c{i}"
        version = base[cid]
        for m in range(moves):
            store.append(_write(cid, version + m, tag=f"{tag}m{m}"))
        writes.append(_write(cid, version, steps=steps, tag=tag))
        oracle_results.append(None if moves == 0 else (StaleVersion, cid, version,
                                                        version + moves))
    expected_after = {cid: store.load(cid).version for cid in base}
    results = store.append_many(writes)
    got = [None if r is None else (type(r), r.case_id, r.expected, r.actual)  # type: ignore[union-attr]
           for r in results]
    assert got == oracle_results
    for (i, _moves, steps), r in zip(plan, results, strict=True):
        cid = f"c{i}"
        want = expected_after[cid] + (steps if r is None else 0)
        assert store.load(cid).version == want == len(store.history(cid))
