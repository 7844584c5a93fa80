"""Delivering the outbox: a :class:`Dispatcher` and the built-in senders (SMTP, webhook).

Commands write :class:`~servicewf.storage.base.OutboxMessage` values in the same atomic write
as their case (the engine's message rules put them in the write-set). A dispatcher, run after
the fact (by ``servicewf worker`` after each sweep, or by your own loop), claims pending
messages with a lease, hands each to the :class:`Sender` chosen for its recipient kind, and
records the outcome:

* accepted → ``delivered``;
* refused (the sender raised) → one more attempt after an exponential back-off
  (:class:`RetryPolicy`), and ``dead`` (the dead letters) after ``max_attempts``.

Delivery is **at least once**: a dispatcher that dies between sending and recording sends
again once its lease expires, so every message carries its id as an idempotency key
(``Idempotency-Key`` header of a webhook, ``X-Idempotency-Key`` and a ``Message-ID`` derived
from it in an e-mail) for the receiver to deduplicate on.

The clock is injected: the library never reads the wall clock. This module sits above the
storage interface; the core never imports it.
"""

from __future__ import annotations

import datetime as _dt
import email.message
import hashlib
import json
import logging
import smtplib
import ssl
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

import attrs

from servicewf.clock import Clock
from servicewf.storage.base import DEAD, DELIVERED, OutboxEntry, OutboxMessage, Store

__all__ = ["DispatchReport", "Dispatcher", "RetryPolicy", "SMTPSender", "Sender",
           "WebhookSender", "message_json"]

log = logging.getLogger("servicewf.outbox")

_MAX_ERROR = 1000


class Sender(Protocol):
    """Delivers one message, or raises (any exception is a failed attempt).

    A sender must accept the same message more than once (at-least-once delivery): pass
    ``message.id`` on as the idempotency key.
    """

    def send(self, message: OutboxMessage) -> None: ...


@attrs.frozen
class RetryPolicy:
    """How often and how soon a failed message is tried again: the ``n``-th failure waits
    ``base_delay * 2 ** (n - 1)`` (at most ``max_delay``); the ``max_attempts``-th failure
    dead-letters the message."""

    max_attempts: int = 8
    base_delay: _dt.timedelta = _dt.timedelta(minutes=1)
    max_delay: _dt.timedelta = _dt.timedelta(hours=6)

    def __attrs_post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.base_delay <= _dt.timedelta(0) or self.max_delay < self.base_delay:
            raise ValueError("base_delay must be positive and max_delay at least base_delay")


@attrs.define
class DispatchReport:
    """What one :meth:`Dispatcher.run` did, by message id."""

    delivered: list[str] = attrs.field(factory=list)
    retried: list[str] = attrs.field(factory=list)
    dead: list[str] = attrs.field(factory=list)

    @property
    def claimed(self) -> int:
        """How many messages the pass handled."""
        return len(self.delivered) + len(self.retried) + len(self.dead)


class Dispatcher:
    """Delivers pending outbox messages of ``store`` through ``senders``.

    ``senders`` maps a recipient kind (``"customer"``, ``"staff"``) to its :class:`Sender`;
    a key ``"recipient:topic"`` (``"staff:sla.breached"``) takes precedence for that topic,
    and ``"*"`` catches every other kind. A message no sender is chosen for counts as a
    failed attempt (it dead-letters unless a sender is added in time).

    Several dispatchers may run against one database: each claims messages with a lease
    under its own ``owner`` name (``FOR UPDATE SKIP LOCKED`` on PostgreSQL).
    """

    def __init__(
        self,
        store: Store,
        clock: Clock,
        senders: Mapping[str, Sender],
        *,
        owner: str = "dispatcher",
        lease: _dt.timedelta = _dt.timedelta(minutes=5),
        batch: int = 100,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.senders = dict(senders)
        self.owner = owner
        self.lease = lease
        self.batch = batch
        self.retry = retry or RetryPolicy()

    def sender_for(self, message: OutboxMessage) -> Sender | None:
        """The sender ``message`` goes to (``None`` when there is none)."""
        senders = self.senders
        return (senders.get(f"{message.recipient}:{message.topic}")
                or senders.get(message.recipient) or senders.get("*"))

    def run(self) -> DispatchReport:
        """One pass: claim up to ``batch`` due messages and try each once.

        The messages the senders accepted are recorded together at the end, in one write
        (:meth:`~servicewf.storage.base.Store.mark_delivered_many`); failures are recorded
        one by one as they happen. A dispatcher that dies before that write sends the batch
        again once its lease expires — at least once, as always."""
        report = DispatchReport()
        claimed = self.store.claim_outbox(self.clock.now(), owner=self.owner,
                                          lease=self.lease, limit=self.batch)
        accepted = [entry.message.id for entry in claimed if self._attempt(entry, report)]
        if accepted:
            self.store.mark_delivered_many(accepted, now=self.clock.now())
            report.delivered.extend(accepted)
        return report

    def _attempt(self, entry: OutboxEntry, report: DispatchReport) -> bool:
        """Send ``entry``; ``True`` when the sender accepted it (recorded by the caller),
        else the failed attempt is recorded here and counted in ``report``."""
        message = entry.message
        sender = self.sender_for(message)
        try:
            if sender is None:
                raise LookupError(f"no sender for recipient {message.recipient!r} (topic "
                                  f"{message.topic!r}); add one to the dispatcher's senders")
            sender.send(message)
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"[:_MAX_ERROR]
            retry = self.retry
            after = self.store.mark_failed(
                message.id, now=self.clock.now(), error=error,
                max_attempts=retry.max_attempts, base_delay=retry.base_delay,
                max_delay=retry.max_delay)
            if after.status == DEAD:
                log.warning("outbox message %s dead after %d attempts: %s", message.id,
                            after.attempts, error)
                report.dead.append(message.id)
            elif after.status == DELIVERED:
                report.delivered.append(message.id)  # another dispatcher delivered it
            else:
                log.info("outbox message %s failed (attempt %d), next at %s: %s", message.id,
                         after.attempts, after.next_attempt_at.isoformat(), error)
                report.retried.append(message.id)
            return False
        return True


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"{type(value).__name__} is not plain data")


def message_json(message: OutboxMessage) -> str:
    """The message as the JSON object a webhook receives: ``id`` (the idempotency key),
    ``case_id``, ``seq``, ``topic``, ``recipient``, ``payload``, ``created_at`` (ISO 8601)."""
    return json.dumps({
        "id": message.id, "case_id": message.case_id, "seq": message.seq,
        "topic": message.topic, "recipient": message.recipient, "payload": message.payload,
        "created_at": message.created_at.isoformat(),
    }, ensure_ascii=False, default=_plain, allow_nan=False)


@attrs.frozen
class WebhookSender:
    """POSTs each message as JSON (:func:`message_json`) to ``url``, with its id in the
    ``Idempotency-Key`` header. A status outside 2xx, a timeout or a refused connection is a
    failed attempt."""

    url: str
    headers: Mapping[str, str] = attrs.field(factory=dict)
    timeout: float = 10.0

    def __attrs_post_init__(self) -> None:
        scheme = urllib.parse.urlsplit(self.url).scheme
        if scheme not in ("http", "https"):
            raise ValueError(f"a webhook URL is http or https, not {scheme or 'relative'}")

    def send(self, message: OutboxMessage) -> None:
        request = urllib.request.Request(
            self.url, data=message_json(message).encode(), method="POST",
            headers={"Content-Type": "application/json; charset=utf-8",
                     "Idempotency-Key": message.id, **self.headers})
        with urllib.request.urlopen(request, timeout=self.timeout) as response:
            status = response.status
        if not 200 <= status < 300:
            raise OSError(f"webhook {self.url} answered {status}")


def _payload_addresses(message: OutboxMessage) -> Sequence[str]:
    to = message.payload.get("to")
    if isinstance(to, str):
        return [to]
    if isinstance(to, Sequence) and all(isinstance(a, str) for a in to):
        return list(to)
    return []


def _texts(value: Any, langs: Sequence[str]) -> list[str]:
    if isinstance(value, str):
        return [value]
    if not isinstance(value, Mapping):
        return []
    ordered = [*(lang for lang in langs if lang in value),
               *(lang for lang in value if lang not in langs)]
    return [str(value[lang]) for lang in ordered]


@attrs.frozen
class SMTPSender:
    """Sends each message as a plain-text e-mail through an SMTP server (``smtplib``).

    ``to`` gives the addresses of a message (default: ``payload["to"]``, text or a list):
    map the built-in notices' ``fields["customer_ref"]`` to your customers' addresses there.
    The subject is ``payload["subject"]`` in the first of ``languages`` it has; the body
    holds ``payload["body"]`` in every language it has, ``languages`` first. The message id
    goes in ``X-Idempotency-Key`` and, hashed, in ``Message-ID``.
    """

    host: str
    port: int = 25
    sender: str = "servicewf@localhost"
    to: Callable[[OutboxMessage], Sequence[str]] = _payload_addresses
    languages: tuple[str, ...] = ("zh", "en")
    starttls: bool = False
    username: str | None = None
    password: str | None = attrs.field(default=None, repr=False)
    timeout: float = 10.0

    def build(self, message: OutboxMessage) -> email.message.EmailMessage:
        """The e-mail of ``message`` (raises ``ValueError`` when it has no address)."""
        addresses = list(self.to(message))
        if not addresses:
            raise ValueError(f"outbox message {message.id!r} has no address; give "
                             "SMTPSender a to= function or the payload a 'to'")
        mail = email.message.EmailMessage()
        subjects = _texts(message.payload.get("subject"), self.languages)
        mail["Subject"] = subjects[0] if subjects else message.topic
        mail["From"] = self.sender
        mail["To"] = ", ".join(addresses)
        digest = hashlib.sha256(message.id.encode()).hexdigest()[:32]
        mail["Message-ID"] = f"<{digest}@servicewf.outbox>"
        mail["X-Idempotency-Key"] = message.id
        bodies = _texts(message.payload.get("body"), self.languages)
        mail.set_content("\n\n".join(bodies) if bodies else message_json(message))
        return mail

    def send(self, message: OutboxMessage) -> None:
        mail = self.build(message)
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
            if self.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if self.username is not None:
                smtp.login(self.username, self.password or "")
            smtp.send_message(mail)
