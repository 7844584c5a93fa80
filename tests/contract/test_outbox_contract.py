"""The outbox contract: messages are written by write-sets only, atomically with their case,
and claimed, delivered, retried and dead-lettered alike on every backend."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest

from servicewf.errors import InvalidData, InvalidIdentifier, StaleVersion, StorageError
from servicewf.storage import Store
from servicewf.storage.base import DEAD, DELIVERED, PENDING, OutboxMessage, WriteSet, backoff

from .backends import BACKENDS, T0, case, make_store, moved, open_case, opened, timer

MINUTE = dt.timedelta(minutes=1)
RETRY = {"max_attempts": 3, "base_delay": MINUTE, "max_delay": dt.timedelta(hours=1)}


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest) -> Iterator[Store]:
    yield from make_store(request.param, request)


def message(cid: str, seq: int, topic: str = "notice", *, recipient: str = "customer",
            at=T0, payload=None) -> OutboxMessage:
    return OutboxMessage(f"{cid}/{seq}/{topic}", cid, seq, topic, recipient,
                         payload if payload is not None else {"文本": "您好", "n": [1, 2.5]},
                         created_at=at)


def write(cid: str, version: int, *messages: OutboxMessage, timers=None) -> WriteSet:
    return WriteSet.build(case(cid, version=version, state=f"s{version}"),
                          [moved(cid, version, f"s{version - 1}", f"s{version}")],
                          version - 1, timers, outbox=messages)


def test_messages_are_written_with_the_case_and_timers_of_several_owners(store):
    open_case(store, "c1", timers=(timer("c1", "other:x", T0),))
    m1 = message("c1", 2, "a")
    m2 = message("c1", 2, "b", recipient="staff", at=T0.add(seconds=1))
    sla = timer("c1", "sla:resolve", T0.add(hours=4))
    obl = timer("c1", "obl:report", T0.add(days=1))
    store.append(write("c1", 2, m1, m2, timers={"sla:": [sla], "obl:": [obl]}))
    assert store.load("c1").version == 2
    assert {t.name for t in store.timers("c1")} == {"other:x", "sla:resolve", "obl:report"}
    entries = store.outbox()
    assert [e.message for e in entries] == [m1, m2]
    assert all(e.status == PENDING and e.attempts == 0 and e.last_error is None
               for e in entries)
    assert entries[0].next_attempt_at == T0
    assert store.outbox(case_id="c1", status=PENDING, limit=1)[0].message == m1
    assert store.outbox(case_id="other") == []
    assert store.count_outbox() == 2 and store.count_outbox(status=PENDING) == 2
    assert store.count_outbox(status=DELIVERED) == 0


def test_a_creating_write_carries_messages(store):
    m = message("c1", 1, "opened")
    store.append(WriteSet.build(case("c1"), [opened("c1")], 0, outbox=[m]))
    assert [e.message for e in store.outbox()] == [m]


def test_a_stale_write_writes_no_message(store):
    open_case(store, "c1")
    store.append(write("c1", 2))
    with pytest.raises(StaleVersion):
        store.append(write("c1", 2, message("c1", 2), timers={"sla:": [timer("c1", "sla:x",
                                                                                T0)]}))
    assert store.outbox() == [] and store.count_outbox() == 0
    assert store.timers("c1") == []


def test_a_taken_message_id_refuses_the_whole_write(store):
    open_case(store, "c1")
    store.append(write("c1", 2, message("c1", 2, "x")))
    taken = OutboxMessage("c1/2/x", "c1", 3, "y", "customer", created_at=T0)
    with pytest.raises(StorageError):
        store.append(write("c1", 3, taken))
    assert store.load("c1").version == 2
    assert len(store.history("c1")) == 2
    assert store.count_outbox() == 1


def test_invalid_messages_are_refused_before_anything_is_written(store):
    open_case(store, "c1")
    with pytest.raises(ValueError, match="names event"):
        store.append(write("c1", 2, message("c1", 5)))
    with pytest.raises(ValueError, match="case"):
        store.append(write("c1", 2, message("c2", 2)))
    with pytest.raises(ValueError, match="repeated"):
        store.append(write("c1", 2, message("c1", 2), message("c1", 2)))
    with pytest.raises(ValueError, match="naive"):
        store.append(write("c1", 2, message("c1", 2, at=dt.datetime(2026, 3, 1))))
    assert store.load("c1").version == 1 and store.count_outbox() == 0


def test_message_values_follow_the_plain_data_contract():
    with pytest.raises(InvalidData):
        message("c1", 2, payload={"bad": object()})
    with pytest.raises(InvalidIdentifier):
        OutboxMessage("", "c1", 2, "t", "customer", created_at=T0)
    with pytest.raises(InvalidIdentifier):
        OutboxMessage("id", "c1", 2, "t", "bad\nrecipient", created_at=T0)


def test_claims_lease_messages_to_one_owner(store):
    open_case(store, "c1")
    m1, m2 = message("c1", 2, "a"), message("c1", 2, "b", at=T0.add(seconds=1))
    m3 = message("c1", 2, "c", recipient="staff", at=T0.add(seconds=2))
    store.append(write("c1", 2, m1, m2, m3))
    assert store.claim_outbox(T0.subtract(seconds=1), owner="w1", lease=MINUTE, limit=9) == []
    got = store.claim_outbox(T0.add(seconds=5), owner="w1", lease=MINUTE, limit=2)
    assert [e.message for e in got] == [m1, m2]
    # Another owner skips leased messages until the lease expires; the holder gets them again.
    other = store.claim_outbox(T0.add(seconds=5), owner="w2", lease=MINUTE, limit=9)
    assert [e.message for e in other] == [m3]
    assert store.claim_outbox(T0.add(seconds=6), owner="w3", lease=MINUTE, limit=9) == []
    again = store.claim_outbox(T0.add(seconds=6), owner="w1", lease=MINUTE, limit=9)
    assert [e.message for e in again] == [m1, m2]
    later = store.claim_outbox(T0.add(minutes=5), owner="w3", lease=MINUTE, limit=9,
                               recipient="customer")
    assert [e.message for e in later] == [m1, m2]
    assert store.claim_outbox(T0, owner="w3", lease=MINUTE, limit=0) == []


def test_delivered_messages_are_not_claimed_again(store):
    open_case(store, "c1")
    m = message("c1", 2)
    store.append(write("c1", 2, m))
    store.claim_outbox(T0, owner="w1", lease=MINUTE, limit=1)
    done = store.mark_delivered(m.id, now=T0.add(seconds=3))
    assert done.status == DELIVERED and done.delivered_at == T0.add(seconds=3)
    assert store.claim_outbox(T0.add(hours=1), owner="w2", lease=MINUTE, limit=9) == []
    # Delivered twice (at least once): the first delivery stands; a late failure is ignored.
    assert store.mark_delivered(m.id, now=T0.add(hours=1)) == done
    assert store.mark_failed(m.id, now=T0.add(hours=1), error="late", **RETRY) == done
    assert store.outbox(status=DELIVERED)[0] == done
    with pytest.raises(KeyError):
        store.mark_delivered("nope", now=T0)
    with pytest.raises(ValueError, match="status"):
        store.outbox(status="lost")


def test_failures_back_off_exponentially_then_dead_letter(store):
    open_case(store, "c1")
    m = message("c1", 2)
    store.append(write("c1", 2, m))
    now = T0
    first = store.mark_failed(m.id, now=now, error="smtp 451", **RETRY)
    assert (first.status, first.attempts, first.last_error) == (PENDING, 1, "smtp 451")
    assert first.next_attempt_at == now + MINUTE
    assert store.claim_outbox(now.add(seconds=59), owner="w", lease=MINUTE, limit=9) == []
    [claimed] = store.claim_outbox(now + MINUTE, owner="w", lease=MINUTE, limit=9)
    assert claimed == first
    second = store.mark_failed(m.id, now=now + MINUTE, error="timeout", **RETRY)
    assert second.attempts == 2 and second.next_attempt_at == now + 3 * MINUTE
    dead = store.mark_failed(m.id, now=now + 3 * MINUTE, error="refused", **RETRY)
    assert (dead.status, dead.attempts, dead.last_error) == (DEAD, 3, "refused")
    assert store.claim_outbox(now.add(days=1), owner="w", lease=MINUTE, limit=9) == []
    assert [e.message for e in store.outbox(status=DEAD)] == [m]
    assert store.count_outbox(status=DEAD) == 1


def test_a_dead_letter_can_be_requeued(store):
    open_case(store, "c1")
    m = message("c1", 2)
    store.append(write("c1", 2, m))
    for _ in range(3):
        store.mark_failed(m.id, now=T0, error="down", **RETRY)
    assert store.outbox()[0].status == DEAD
    later = T0.add(days=1)
    again = store.requeue(m.id, now=later)
    assert (again.status, again.attempts, again.next_attempt_at) == (PENDING, 0, later)
    assert again.last_error == "down"
    assert store.claim_outbox(later.subtract(seconds=1), owner="w", lease=MINUTE, limit=9) == []
    [claimed] = store.claim_outbox(later, owner="w", lease=MINUTE, limit=9)
    done = store.mark_delivered(claimed.message.id, now=later)
    assert store.requeue(m.id, now=later.add(days=1)) == done  # delivered stays delivered
    with pytest.raises(KeyError):
        store.requeue("nope", now=T0)


def test_backoff_doubles_up_to_the_cap():
    cap = dt.timedelta(minutes=10)
    assert [backoff(n, MINUTE, cap) for n in range(6)] == [
        dt.timedelta(0), MINUTE, 2 * MINUTE, 4 * MINUTE, 8 * MINUTE, cap]
    assert backoff(500, MINUTE, cap) == cap


def test_concurrent_claims_never_hand_a_message_to_two_owners(store):
    import threading

    open_case(store, "c1")
    messages = [message("c1", 2, f"t{i:02}", at=T0.add(seconds=i)) for i in range(40)]
    store.append(write("c1", 2, *messages))
    barrier = threading.Barrier(4)
    got: dict[str, list[str]] = {}

    def claim(owner: str) -> None:
        barrier.wait()
        mine: list[str] = []
        for _ in range(10):
            for e in store.claim_outbox(T0.add(minutes=1), owner=owner, lease=MINUTE, limit=3):
                mine.append(e.message.id)
                store.mark_delivered(e.message.id, now=T0.add(minutes=1))
        got[owner] = mine

    threads = [threading.Thread(target=claim, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    claimed = [i for ids in got.values() for i in ids]
    # Each message went to one owner, once; together they delivered every one.
    assert sorted(claimed) == sorted(m.id for m in messages)
    assert store.count_outbox(status=DELIVERED) == 40


def test_a_batch_is_marked_delivered_in_one_call_and_an_unknown_id_marks_none(store):
    open_case(store, "c1")
    first, second, third = (message("c1", 2, t) for t in ("a", "b", "c"))
    store.append(write("c1", 2, first, second, third))
    store.claim_outbox(T0, owner="w1", lease=MINUTE, limit=9)
    earlier = store.mark_delivered(third.id, now=T0.add(seconds=1))
    with pytest.raises(KeyError, match="'nope'"):  # the first unknown id is named
        store.mark_delivered_many([first.id, "nope", second.id, "nope2"], now=T0.add(seconds=2))
    assert {e.message.id: e.status for e in store.outbox()} == {
        first.id: PENDING, second.id: PENDING, third.id: DELIVERED}
    # Still leased to w1: the refused call released nothing.
    assert store.claim_outbox(T0.add(seconds=2), owner="w2", lease=MINUTE, limit=9) == []
    store.mark_delivered_many([first.id, second.id, third.id, first.id], now=T0.add(seconds=5))
    after = {e.message.id: e for e in store.outbox()}
    assert {i: (e.status, e.delivered_at) for i, e in after.items()} == {
        first.id: (DELIVERED, T0.add(seconds=5)), second.id: (DELIVERED, T0.add(seconds=5)),
        third.id: (DELIVERED, earlier.delivered_at)}  # the first delivery stands
    assert after[third.id] == earlier
    assert store.claim_outbox(T0.add(hours=1), owner="w2", lease=MINUTE, limit=9) == []
    store.mark_delivered_many([], now=T0)
    assert {e.message.id: e for e in store.outbox()} == after


def test_a_large_batch_is_marked_whole(store):
    # More ids than one IN list holds on the SQL stores.
    open_case(store, "c1")
    messages = [message("c1", 2, f"t{i}") for i in range(1_203)]
    store.append(write("c1", 2, *messages))
    claimed = store.claim_outbox(T0, owner="w1", lease=MINUTE, limit=2_000)
    assert len(claimed) == len(messages)
    store.mark_delivered_many([m.id for m in reversed(messages)], now=T0)
    assert store.count_outbox(status=DELIVERED) == len(messages)
    assert store.claim_outbox(T0.add(hours=1), owner="w2", lease=MINUTE, limit=2_000) == []
