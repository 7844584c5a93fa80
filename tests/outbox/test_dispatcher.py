"""The dispatcher: at-least-once delivery with retries, back-off and dead letters, through
real senders against local servers (an aiosmtpd SMTP server, an http.server webhook)."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import http.server
import json
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from servicewf import Engine, FrozenClock, MemoryStore
from servicewf.outbox import (
    Dispatcher,
    RetryPolicy,
    SMTPSender,
    WebhookSender,
    message_json,
)
from servicewf.processes import builtin_registry
from servicewf.processes.notices import builtin_messages
from servicewf.scheduler import SweepReport
from servicewf.storage import OutboxMessage, Store, WriteSet
from servicewf.storage.base import DEAD, DELIVERED, PENDING
from tests.contract.backends import BACKENDS, T0, case, make_store, moved, open_case
from tests.processes.support import Harness
from tests.processes.test_complaint import to_acknowledged

MINUTE = dt.timedelta(minutes=1)
RETRY = RetryPolicy(max_attempts=3, base_delay=MINUTE, max_delay=dt.timedelta(hours=1))


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest) -> Iterator[Store]:
    yield from make_store(request.param, request)


def with_messages(store: Store, *messages: OutboxMessage) -> None:
    open_case(store, "c1")
    store.append(WriteSet.build(case("c1", version=2, state="b"),
                                [moved("c1", 2, "new", "b")], 1, outbox=messages))


def notice(topic: str = "notice", recipient: str = "customer", **payload: Any) -> OutboxMessage:
    return OutboxMessage(f"c1/2/{topic}/{recipient}", "c1", 2, topic, recipient,
                         payload or {"subject": {"zh": "主题", "en": "Subject"},
                                     "body": {"zh": "正文", "en": "Body"},
                                     "to": ["customer@example.test"]},
                         created_at=T0)


class Flaky:
    """Fails ``failures`` times, then accepts; remembers what it accepted."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls = 0
        self.sent: list[OutboxMessage] = []

    def send(self, message: OutboxMessage) -> None:
        self.calls += 1
        if self.calls <= self.failures:
            raise ConnectionError(f"down (call {self.calls})")
        self.sent.append(message)


def test_a_sender_that_fails_twice_then_succeeds(store):
    with_messages(store, notice())
    clock = FrozenClock(T0)
    sender = Flaky(failures=2)
    dispatcher = Dispatcher(store, clock, {"customer": sender}, retry=RETRY)
    report = dispatcher.run()
    assert report.retried == ["c1/2/notice/customer"] and report.delivered == []
    [entry] = store.outbox()
    assert (entry.status, entry.attempts) == (PENDING, 1)
    assert entry.last_error == "ConnectionError: down (call 1)"
    assert entry.next_attempt_at == T0 + MINUTE
    clock.set(T0 + MINUTE - dt.timedelta(seconds=1))
    assert dispatcher.run().claimed == 0  # backing off
    clock.set(T0 + MINUTE)
    assert dispatcher.run().retried == ["c1/2/notice/customer"]
    assert store.outbox()[0].next_attempt_at == T0 + 3 * MINUTE  # doubled
    clock.set(T0 + 3 * MINUTE)
    assert dispatcher.run().delivered == ["c1/2/notice/customer"]
    [entry] = store.outbox()
    assert (entry.status, entry.attempts, entry.delivered_at) == (DELIVERED, 2, T0 + 3 * MINUTE)
    assert [m.id for m in sender.sent] == ["c1/2/notice/customer"]
    clock.set(T0.add(days=1))
    assert dispatcher.run().claimed == 0 and sender.calls == 3


def test_a_sender_that_always_fails_dead_letters_the_message(store):
    with_messages(store, notice(), notice("other", recipient="staff"))
    clock = FrozenClock(T0)
    dispatcher = Dispatcher(store, clock, {"customer": Flaky(failures=99)}, retry=RETRY)
    first = dispatcher.run()
    # No sender for "staff": a failed attempt too.
    assert sorted(first.retried) == ["c1/2/notice/customer", "c1/2/other/staff"]
    staff = store.outbox(status=PENDING)[1]
    assert "no sender for recipient 'staff'" in (staff.last_error or "")
    clock.set(T0 + MINUTE)
    dispatcher.run()
    clock.set(T0 + 3 * MINUTE)
    last = dispatcher.run()
    assert sorted(last.dead) == ["c1/2/notice/customer", "c1/2/other/staff"]
    assert store.count_outbox(status=DEAD) == 2 and store.count_outbox(status=PENDING) == 0
    clock.set(T0.add(days=7))
    assert dispatcher.run().claimed == 0


def test_senders_are_chosen_by_recipient_then_topic():
    a, b, c = Flaky(0), Flaky(0), Flaky(0)
    dispatcher = Dispatcher(MemoryStore(), FrozenClock(T0),
                            {"staff": a, "staff:sla.breached": b, "*": c})
    assert dispatcher.sender_for(notice("sla.warning", "staff")) is a
    assert dispatcher.sender_for(notice("sla.breached", "staff")) is b
    assert dispatcher.sender_for(notice("x", "customer")) is c
    with pytest.raises(ValueError):
        RetryPolicy(max_attempts=0)
    with pytest.raises(ValueError, match="http"):
        WebhookSender("file:///etc/passwd")


def test_a_lease_keeps_a_second_dispatcher_off_a_claimed_message(store):
    with_messages(store, notice())
    clock = FrozenClock(T0)
    store.claim_outbox(T0, owner="crashed", lease=dt.timedelta(minutes=5), limit=10)
    other = Flaky(0)
    dispatcher = Dispatcher(store, clock, {"customer": other}, owner="d2")
    assert dispatcher.run().claimed == 0
    clock.set(T0.add(minutes=5))  # the crashed dispatcher's lease ran out: sent again
    assert dispatcher.run().delivered == ["c1/2/notice/customer"]


# --- real servers ---------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Inbox:
    """An aiosmtpd handler keeping what it received."""

    def __init__(self) -> None:
        self.received: list[tuple[list[str], bytes]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.received.append((list(envelope.rcpt_tos), envelope.content))
        return "250 OK"


@pytest.fixture
def smtp_server() -> Iterator[tuple[int, Inbox]]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, ready_timeout=10)
    controller.start()
    try:
        yield port, inbox
    finally:
        controller.stop()


def test_smtp_sender_delivers_through_a_real_server(smtp_server):
    port, inbox = smtp_server
    store = MemoryStore()
    with_messages(store, notice())
    sender = SMTPSender("127.0.0.1", port, sender="cs@example.test", timeout=5)
    report = Dispatcher(store, FrozenClock(T0), {"customer": sender}).run()
    assert report.delivered == ["c1/2/notice/customer"]
    [(rcpt, content)] = inbox.received
    assert rcpt == ["customer@example.test"]
    mail = email.message_from_bytes(content, policy=email.policy.default)
    assert mail["X-Idempotency-Key"] == "c1/2/notice/customer"
    assert mail["Subject"] == "主题" and mail["From"] == "cs@example.test"
    body = mail.get_body().get_content()
    assert body.index("正文") < body.index("Body")


def test_smtp_failures_are_retried_and_a_missing_address_dead_letters():
    store = MemoryStore()
    with_messages(store, notice(), notice("noaddr", subject="x", body="y"))
    port = free_port()  # nothing listens there
    dispatcher = Dispatcher(store, FrozenClock(T0),
                            {"customer": SMTPSender("127.0.0.1", port, timeout=2)},
                            retry=RetryPolicy(max_attempts=1))
    report = dispatcher.run()
    assert sorted(report.dead) == ["c1/2/noaddr/customer", "c1/2/notice/customer"]
    errors = {e.message.topic: e.last_error or "" for e in store.outbox(status=DEAD)}
    assert "ConnectionRefusedError" in errors["notice"]
    assert "has no address" in errors["noaddr"]


class Receiver:
    """A webhook receiver on 127.0.0.1: answers 500 to the first ``failures`` requests, then
    200; serves at most ``requests`` requests and stops by itself."""

    def __init__(self, failures: int, requests: int) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.keys: list[str | None] = []
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers["Content-Length"])
                receiver.bodies.append(json.loads(self.rfile.read(length)))
                receiver.keys.append(self.headers["Idempotency-Key"])
                status = 500 if len(receiver.bodies) <= failures else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
        self.server.timeout = 10
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(
            target=lambda: [self.server.handle_request() for _ in range(requests)], daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.thread.join(timeout=15)
        self.server.server_close()


def test_webhook_fails_twice_then_delivers_with_the_idempotency_key():
    receiver = Receiver(failures=2, requests=3)
    try:
        store = MemoryStore()
        with_messages(store, notice())
        clock = FrozenClock(T0)
        dispatcher = Dispatcher(store, clock, {"customer": WebhookSender(receiver.url,
                                                                         timeout=5)},
                                retry=RetryPolicy(max_attempts=5, base_delay=MINUTE))
        assert dispatcher.run().retried == ["c1/2/notice/customer"]
        assert "HTTPError" in (store.outbox()[0].last_error or "")
        clock.set(T0 + MINUTE)
        assert dispatcher.run().retried == ["c1/2/notice/customer"]
        clock.set(T0 + 3 * MINUTE)
        assert dispatcher.run().delivered == ["c1/2/notice/customer"]
    finally:
        receiver.close()
    assert receiver.keys == ["c1/2/notice/customer"] * 3
    body = receiver.bodies[-1]
    assert body == json.loads(message_json(notice()))
    assert body["payload"]["subject"]["zh"] == "主题"
    assert body["created_at"] == T0.isoformat()


def test_a_command_to_the_webhook_end_to_end():
    """An engine with the built-in notices; a complaint extension; the customer told."""
    receiver = Receiver(failures=0, requests=1)
    try:
        h = Harness()
        h.engine = Engine(MemoryStore(), h.clock, builtin_registry(),
                          messages=builtin_messages())
        case = to_acknowledged(h)
        h.fire(case, "extend", reason="parts from abroad", customer_notification="SMS sent")
        dispatcher = Dispatcher(h.engine.store, h.clock,
                                {"customer": WebhookSender(receiver.url, timeout=5)})
        assert len(dispatcher.run().delivered) == 1
    finally:
        receiver.close()
    [body] = receiver.bodies
    assert body["topic"] == "complaint.deadline_extended"
    assert body["payload"]["fields"]["customer_ref"] == "C-2"
    assert h.engine.store.count_outbox(status=DELIVERED) == 1


def test_the_dispatcher_needs_no_engine():
    store = MemoryStore()
    with_messages(store, notice())
    assert Dispatcher(store, FrozenClock(T0), {"*": Flaky(0)}).run().claimed == 1


def test_the_worker_dispatches_after_each_sweep(tmp_path):
    from servicewf.storage.sql import SQLStore
    from servicewf.worker import run_worker

    path = tmp_path / "w.db"
    h = Harness(with_sla=True)
    store = SQLStore.sqlite(path)
    assert h.sla is not None
    h.engine = Engine(store, h.clock, builtin_registry(), processors=[h.sla])
    case = to_acknowledged(h)
    store.close()
    staff = Flaky(0)
    later = FrozenClock(h.clock.now().add(days=30))
    assert run_worker(f"sqlite:///{path}", once=True, clock=later,
                      senders={"staff": staff}) == 0
    topics = {m.topic for m in staff.sent}
    assert "sla.breached" in topics and all(m.case_id == case.id for m in staff.sent)
    with SQLStore.sqlite(path) as reopened:
        assert reopened.count_outbox(status=DELIVERED) == len(staff.sent)
        assert reopened.count_outbox(status=PENDING) == 0


# --- batches: one write per batch, a pass that drains the backlog ---------------------------

class CountingStore(MemoryStore):
    """Counts the writes that record deliveries."""

    def __init__(self) -> None:
        super().__init__()
        self.single = 0
        self.batches: list[int] = []

    def mark_delivered(self, message_id: str, *, now: dt.datetime) -> Any:
        self.single += 1
        return super().mark_delivered(message_id, now=now)

    def mark_delivered_many(self, message_ids: Any, *, now: dt.datetime) -> None:
        self.batches.append(len(message_ids))
        super().mark_delivered_many(message_ids, now=now)


def backlog(store: Store, n: int) -> list[OutboxMessage]:
    messages = [notice(f"t{i:04d}") for i in range(n)]
    with_messages(store, *messages)
    return messages


def test_a_batch_is_recorded_delivered_in_one_write_and_failures_one_by_one():
    store = CountingStore()
    backlog(store, 7)

    class EveryThird:
        calls = 0

        def send(self, message: OutboxMessage) -> None:
            self.calls += 1
            if self.calls % 3 == 0:
                raise ConnectionError("down")

    report = Dispatcher(store, FrozenClock(T0), {"*": EveryThird()}, batch=5,
                        retry=RETRY).run()
    assert (store.batches, store.single) == ([4], 0)  # the 3rd of 5 failed
    assert len(report.delivered) == 4 and len(report.retried) == 1
    assert store.count_outbox(status=DELIVERED) == 4


def test_the_pass_drains_a_backlog_larger_than_a_batch_in_one_round():
    from servicewf.scheduler import DispatchPass, Scheduler

    store = CountingStore()
    clock = FrozenClock(T0)
    sender = Flaky(0)
    engine = Engine(store, clock, builtin_registry())
    messages = backlog(store, 25)
    dispatcher = Dispatcher(store, clock, {"*": sender}, batch=10)
    report = Scheduler(engine).add_pass(DispatchPass(dispatcher)).run()
    assert report.counts["outbox_delivered"] == 25
    assert sorted(m.id for m in sender.sent) == sorted(m.id for m in messages)
    assert store.batches == [10, 10, 5]
    # Bounded: at most max_batches per round.
    store2 = CountingStore()
    backlog(store2, 25)
    limited = Scheduler(Engine(store2, clock, builtin_registry())).add_pass(
        DispatchPass(Dispatcher(store2, clock, {"*": Flaky(0)}, batch=10), max_batches=2))
    assert limited.run().counts["outbox_delivered"] == 20
    assert limited.run().counts["outbox_delivered"] == 5


def test_the_pass_stops_after_a_batch_with_failures_or_when_asked_to_stop():
    from servicewf.scheduler import DispatchPass, Scheduler

    clock = FrozenClock(T0)
    store = CountingStore()
    backlog(store, 25)
    down = Scheduler(Engine(store, clock, builtin_registry())).add_pass(DispatchPass(
        Dispatcher(store, clock, {"*": Flaky(1)}, batch=10, retry=RETRY)))
    counts = down.run().counts
    assert (counts["outbox_delivered"], counts["outbox_retried"]) == (9, 1)
    # Asked to stop while the pass runs: the batch under way ends it.
    store = CountingStore()
    backlog(store, 25)
    stop = threading.Event()

    class StopAfterFirst(Flaky):
        def send(self, message: OutboxMessage) -> None:
            super().send(message)
            stop.set()

    pass_ = DispatchPass(Dispatcher(store, clock, {"*": StopAfterFirst(0)}, batch=10))
    scheduler = Scheduler(Engine(store, clock, builtin_registry()))
    report = SweepReport()
    ctx = scheduler.context(clock.now(), report)
    ctx.stop = stop
    assert pass_.run(ctx)["outbox_delivered"] == 10
    with pytest.raises(ValueError, match="max_batches"):
        DispatchPass(pass_.dispatcher, max_batches=0)


def test_the_store_default_marks_each_message_in_turn():
    # A store without its own mark_delivered_many gets Store's: one mark_delivered per id.
    store = CountingStore()
    messages = backlog(store, 3)
    Store.mark_delivered_many(store, [m.id for m in messages] + [messages[0].id], now=T0)
    assert store.single == 3 and store.count_outbox(status=DELIVERED) == 3
    with pytest.raises(KeyError):
        Store.mark_delivered_many(store, ["nope"], now=T0)


def test_failed_attempts_are_logged_by_message_id_and_never_by_content(caplog):
    store = MemoryStore()
    with_messages(store, notice())
    clock = FrozenClock(T0)
    dispatcher = Dispatcher(store, clock, {"*": Flaky(failures=99)}, retry=RETRY)
    with caplog.at_level("INFO", logger="servicewf.outbox"):
        dispatcher.run()
        clock.set(T0 + MINUTE)
        dispatcher.run()
        clock.set(T0 + 3 * MINUTE)
        dispatcher.run()
    records = [(r.levelname, r.getMessage()) for r in caplog.records]
    assert [level for level, _ in records] == ["INFO", "INFO", "WARNING"]
    assert all("c1/2/notice/customer" in text for _, text in records)
    assert "failed (attempt 1)" in records[0][1] and "dead after 3 attempts" in records[2][1]
    assert not any("正文" in text or "example.test" in text for _, text in records)


def test_a_failure_after_another_dispatcher_delivered_counts_as_delivered(store):
    with_messages(store, notice())
    clock = FrozenClock(T0)

    class DeliveredElsewhere:
        """The receiver took it, and another dispatcher recorded it, before this one's
        attempt timed out."""

        def send(self, message: OutboxMessage) -> None:
            store.mark_delivered(message.id, now=T0)
            raise TimeoutError("no answer in time")

    report = Dispatcher(store, clock, {"*": DeliveredElsewhere()}, retry=RETRY).run()
    assert (report.delivered, report.retried, report.dead) == (["c1/2/notice/customer"], [], [])
    assert store.count_outbox(status=DELIVERED) == 1


def test_one_batch_a_round_is_allowed_and_a_round_logs_its_counts_once(caplog):
    from servicewf.scheduler import DispatchPass, Scheduler

    clock = FrozenClock(T0)
    store = MemoryStore()
    backlog(store, 15)
    scheduler = Scheduler(Engine(store, clock, builtin_registry())).add_pass(
        DispatchPass(Dispatcher(store, clock, {"*": Flaky(0)}, batch=10), max_batches=1))
    with caplog.at_level("INFO", logger="servicewf.sweep"):
        assert scheduler.run().counts["outbox_delivered"] == 10
        assert scheduler.run().counts["outbox_delivered"] == 5
        assert scheduler.run().counts["outbox_delivered"] == 0  # nothing to say
    assert [r.getMessage() for r in caplog.records if r.name == "servicewf.sweep"] == [
        "outbox: 10 delivered, 0 retried, 0 dead", "outbox: 5 delivered, 0 retried, 0 dead"]
