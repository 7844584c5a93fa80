"""The storage interface every backend implements.

A store keeps, per case, the latest snapshot (the :class:`~servicewf.case.Case` value), the
append-only history of :class:`~servicewf.events.Event` values, and the case's due timers;
and the outbox: the :class:`OutboxMessage` values commands produced, with their delivery
state. Writes are atomic per call: snapshot, events, timers and outbox messages change
together or not at all. Every stored event also has a place in the store's global log
(:meth:`Store.read_log`).
Concurrency is optimistic: every write names the version the writer read; a write against a
newer version fails with :class:`~servicewf.errors.StaleVersion` and writes nothing.

The contract (``tests/contract/``) is the executable specification; the in-memory store is
its reference implementation.
"""

from __future__ import annotations

import abc
import datetime as _dt
import hashlib
import itertools
from collections.abc import Callable, Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import Any, NamedTuple

import attrs
import pendulum

from servicewf.case import Case
from servicewf.errors import (
    CaseAlreadyExists,
    CaseNotFound,
    CorruptRecord,
    ServicewfError,
    StaleVersion,
)
from servicewf.events import Event
from servicewf.plain import (
    check_identifier,
    check_stored,
    frozen_mapping,
    plain_data,
    shape_repr,
)

__all__ = ["DEAD", "DELIVERED", "OUTBOX_STATUSES", "PENDING", "QUARANTINE_OWNER", "LogEntry",
           "OutboxEntry", "OutboxMessage", "QuarantinedTimer", "Store", "Timer", "WriteSet",
           "backoff", "check_append", "check_batch", "check_log_limit", "check_outbox",
           "check_status", "check_timers", "check_write", "message_id", "quarantine_delay",
           "replace_timers", "unowned_timers"]


_PUTC = pendulum.UTC
_UTC = _dt.timezone.utc


def _payload(value: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return frozen_mapping(value, "timer payload")


@attrs.frozen(slots=True)
class Timer:
    """A due instant of a case: ``name`` is unique per case (e.g. ``"sla:resolve"``).

    ``process`` lets a sweep pick timers of some processes only; ``payload`` is plain data for
    whoever processes the timer.
    """

    case_id: str
    name: str
    due: pendulum.DateTime
    process: str = ""
    payload: Mapping[str, Any] = attrs.field(factory=dict, converter=_payload, repr=shape_repr)


_NO_TIMERS: Mapping[str, tuple[Timer, ...]] = MappingProxyType({})

QUARANTINE_OWNER = "!quarantine"
"""The lease owner that marks a quarantined timer (no worker is named so)."""


@attrs.frozen(slots=True)
class QuarantinedTimer:
    """A timer set aside because it could not be processed: its row does not decode, its
    case cannot be read, no handler owns its name, or its handler failed.

    ``attempts`` counts the failures in a row; the timer is not claimed again before
    ``until`` (a back-off that doubles with each attempt), then it is retried. Processing it
    (which rewrites the case's timers) or repairing the row ends the quarantine.
    """

    case_id: str
    name: str
    attempts: int
    until: _dt.datetime
    reason: str


def quarantine_delay(attempts: int, base: _dt.timedelta,
                     cap: _dt.timedelta = _dt.timedelta(hours=6)) -> _dt.timedelta:
    """The back-off after ``attempts`` failures: ``base`` doubled each time, at most ``cap``."""
    delay: _dt.timedelta = base * (2 ** min(max(attempts - 1, 0), 30))
    return min(delay, cap)


def encode_quarantine(attempts: int, reason: str) -> str:
    """The lease owner that records a quarantine (at most 200 characters, the column's size):
    the attempts and the reason live in the lease columns, so the table layout is unchanged."""
    return f"{QUARANTINE_OWNER}/{attempts}/{reason}"[:200]


def decode_quarantine(owner: str | None) -> tuple[int, str] | None:
    """``(attempts, reason)`` of a lease owner written by :func:`encode_quarantine` or by a
    claim of a quarantined timer (``!quarantine/3/@worker``); ``None`` for an ordinary owner."""
    if not owner or not owner.startswith(QUARANTINE_OWNER + "/"):
        return None
    _, attempts, reason = owner.split("/", 2)
    try:
        return int(attempts), reason
    except ValueError:
        return 1, reason


def claim_owner(previous: str | None, owner: str) -> str:
    """The lease owner a claim writes: ``owner``, keeping the attempts of a quarantined
    timer (``!quarantine/N/@owner``) so that a failure after the retry counts N + 1."""
    q = decode_quarantine(previous)
    if q is None:
        return owner
    return f"{QUARANTINE_OWNER}/{q[0]}/@{owner}"[:200]


def _owned_timers(
    value: Mapping[str, Iterable[Timer]] | None,
) -> Mapping[str, tuple[Timer, ...]]:
    if not value:
        return _NO_TIMERS
    return MappingProxyType({str(k): tuple(v) for k, v in value.items()})


def _events(value: Iterable[Event]) -> tuple[Event, ...]:
    return tuple(value)


class LogEntry(NamedTuple):
    """An event with its ``position`` in the store's global log (:meth:`Store.read_log`).

    The position is the store's, not the event's: an :class:`~servicewf.events.Event` is the
    value a command plans before anything is written (the engine hands it to observers and
    processors without a position), and it is equal to itself whichever store it was read
    from. So the position travels beside the event instead of being an ``Event`` field that
    would be ``None`` until stored and left out of equality. A tuple, so
    ``for position, event in store.read_log(after=p)`` reads naturally.
    """

    position: int
    event: Event


def _message_id(value: str) -> str:
    return check_identifier(value, "outbox message id")


def _topic(value: str) -> str:
    return check_identifier(value, "outbox topic")


def _recipient(value: str) -> str:
    return check_identifier(value, "outbox recipient")


def _message_payload(value: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return plain_data(value, what="outbox payload")


@attrs.frozen(slots=True)
class OutboxMessage:
    """Something to tell the outside world, written in the same atomic write as its case.

    - ``id``: unique across the store and the idempotency key every delivery carries (the
      producers build it from the case, the event and the topic, so a message planned twice
      for the same event has the same id);
    - ``case_id`` and ``seq``: the case and the event of this write-set that produced it;
    - ``topic``: what it is about (``"complaint.deadline_extended"``, ``"sla.breached"``);
    - ``recipient``: the kind of recipient (``"customer"``, ``"staff"``): the dispatcher
      picks the sender by it;
    - ``payload``: plain data (checked by :func:`servicewf.plain.plain_data`), e.g. rendered
      texts and the address to use;
    - ``created_at``: when the command that produced it ran (aware).
    """

    id: str = attrs.field(converter=_message_id)
    case_id: str
    seq: int
    topic: str = attrs.field(converter=_topic)
    recipient: str = attrs.field(converter=_recipient)
    payload: Mapping[str, Any] = attrs.field(factory=dict, converter=_message_payload,
                                             repr=shape_repr)
    created_at: pendulum.DateTime = attrs.field(kw_only=True)

    @classmethod
    def for_event(
        cls, event: Event, topic: str, recipient: str, payload: Mapping[str, Any] | None = None,
    ) -> OutboxMessage:
        """The message ``event`` produces about ``topic`` for ``recipient``, with the
        deterministic id :func:`message_id` (the same event, topic and recipient always give
        the same id: the idempotency key a receiver deduplicates on)."""
        return cls(message_id(event.case_id, event.seq, topic, recipient), event.case_id,
                   event.seq, topic, recipient, payload, created_at=event.at)


def message_id(case_id: str, seq: int, topic: str, recipient: str) -> str:
    """``case_id/seq/topic/recipient``, or, when that is longer than an identifier may be,
    a digest of it (``sha256:...``): unique per event, topic and recipient."""
    text = f"{case_id}/{seq}/{topic}/{recipient}"
    if len(text) <= 200 and text.isprintable():
        return text
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


PENDING = "pending"
"""An outbox message waiting for (another) delivery attempt."""
DELIVERED = "delivered"
"""An outbox message a sender accepted."""
DEAD = "dead"
"""An outbox message given up after too many failed attempts (the dead letters)."""
OUTBOX_STATUSES = (PENDING, DELIVERED, DEAD)


@attrs.frozen(slots=True)
class OutboxEntry:
    """An outbox message as the store keeps it, with its delivery state."""

    message: OutboxMessage
    status: str
    attempts: int
    next_attempt_at: pendulum.DateTime
    last_error: str | None = None
    delivered_at: pendulum.DateTime | None = None


def check_status(status: str | None) -> None:
    """Refuse an outbox status that is not one of :data:`OUTBOX_STATUSES`."""
    if status is not None and status not in OUTBOX_STATUSES:
        raise ValueError(f"unknown outbox status {status!r}; use one of "
                         f"{', '.join(OUTBOX_STATUSES)}")


def backoff(attempts: int, base: _dt.timedelta, cap: _dt.timedelta) -> _dt.timedelta:
    """The wait after the ``attempts``-th failure: ``base * 2 ** (attempts - 1)``, at most
    ``cap`` (exponential back-off; the same on every store)."""
    if attempts <= 0:
        return _dt.timedelta(0)
    if attempts > 62:
        return cap
    delay: _dt.timedelta = base * (2 ** (attempts - 1))
    return min(delay, cap)


@attrs.frozen(slots=True)
class WriteSet:
    """Everything one command writes, planned in full before anything is written.

    - ``case``: the snapshot after the command;
    - ``events``: the events it appends (contiguous ``seq`` after ``expected_version``);
    - ``expected_version``: the version the command was planned against (``0``: the write
      creates the case); a store at another version refuses the whole write;
    - ``timers``: the case's timers by owner. Each key is a name prefix a subsystem owns
      (``"sla:"``, ``"obl:"``); the write replaces the timers under that prefix and keeps
      everyone else's. The empty prefix owns every timer of the case;
    - ``outbox``: the :class:`OutboxMessage` values the command produced, written with the
      case or not at all (a stale write writes no message).

    A store applies a write-set atomically or not at all (:meth:`Store.append`).
    """

    case: Case
    events: tuple[Event, ...]
    expected_version: int
    timers: Mapping[str, tuple[Timer, ...]] = _NO_TIMERS
    outbox: tuple[OutboxMessage, ...] = ()
    checked: bool = attrs.field(default=False, kw_only=True, eq=False, repr=False)
    """Set by the engine, which built every value of the write-set from data it checked
    against the plain-data contract: the store then skips that check (and only that one)."""

    @classmethod
    def build(
        cls, case: Case, events: Iterable[Event], expected_version: int,
        timers: Mapping[str, Iterable[Timer]] | None = None,
        outbox: Iterable[OutboxMessage] = (),
    ) -> WriteSet:
        """A write-set from any iterables (the constructor takes the final tuples and a
        read-only mapping as they are: it runs inside every command)."""
        return cls(case, _events(events), expected_version, _owned_timers(timers),
                   tuple(outbox))

    @property
    def creates(self) -> bool:
        """True when the write creates the case."""
        return self.expected_version == 0

    def owns(self, timer_name: str) -> bool:
        """True when the write replaces the timer named ``timer_name``."""
        return timer_name.startswith(tuple(self.timers))

    def timers_after(self, current: Iterable[Timer]) -> list[Timer]:
        """The case's timers once this write is applied over ``current``."""
        if not self.timers:
            return list(current)
        kept = unowned_timers(current, self.timers)
        return [*kept, *(t for group in self.timers.values() for t in group)]


def unowned_timers(current: Iterable[Timer], prefixes: Iterable[str]) -> list[Timer]:
    """The timers of ``current`` that no owner prefix in ``prefixes`` replaces (the empty
    prefix owns them all): what a write keeps of a case's timers."""
    owned = tuple(prefixes)
    return [t for t in current if not t.name.startswith(owned)]


def check_append(case: Case, events: Sequence[Event], expected_version: int) -> None:
    """Programming-error checks shared by every backend: the snapshot and events must continue
    the version the writer read, with contiguous sequence numbers."""
    if not events:
        raise ValueError("append() needs at least one event")
    if (len(events) == 1 and events[0].case_id == case.id
            and events[0].seq == case.version == expected_version + 1):
        return  # the engine's common case, checked in one expression
    for offset, event in enumerate(events, start=1):
        if event.case_id != case.id:
            raise ValueError(f"event for case {event.case_id!r} appended to case {case.id!r}")
        if event.seq != expected_version + offset:
            raise ValueError(
                f"event seq {event.seq} does not follow version {expected_version} "
                f"(expected {expected_version + offset})"
            )
    if case.version != expected_version + len(events):
        raise ValueError(
            f"snapshot version {case.version} does not match {expected_version} + "
            f"{len(events)} events"
        )


def check_timers(case_id: str, timers: Iterable[Timer], prefix: str = "") -> None:
    """Refuse a timer list a store must not write: another case's timer, a name outside
    the owner's ``prefix``, a repeated name, a naive due instant."""
    names: set[str] = set()
    for t in timers:
        if t.case_id != case_id:
            raise ValueError(f"timer of case {t.case_id!r} given for case {case_id!r}")
        if not t.name.startswith(prefix):
            raise ValueError(f"timer {t.name!r} does not start with {prefix!r}; a subsystem "
                             "writes only the timers under the prefix it owns")
        if t.name in names:
            raise ValueError(f"timer names must be unique per case; {t.name!r} is repeated")
        names.add(t.name)
        # Due instants are UTC almost always: pendulum's UTC answers utcoffset() in Python,
        # through zoneinfo, at a cost of a whole command's bookkeeping per timer.
        tz = t.due.tzinfo
        if tz is not _PUTC and tz is not _UTC and t.due.utcoffset() is None:
            raise ValueError(f"timer {t.name!r} has a naive due instant; attach a zone")


def check_log_limit(limit: int | None) -> None:
    """Refuse a negative ``limit`` for :meth:`Store.read_log` (the same on every backend)."""
    if limit is not None and limit < 0:
        raise ValueError(f"read_log() limit must be >= 0 or None, got {limit}")


def check_write(write: WriteSet) -> None:
    """Every check a write-set passes before any backend sees it, the same for all stores:
    sequence, timers (unique, owned, aware) and the plain-data contract of everything
    stored (refused with :class:`~servicewf.errors.InvalidData`)."""
    case = write.case
    events = write.events
    # check_append's common case (one event continuing the version) inline: every
    # command's write passes here.
    if not (len(events) == 1 and events[0].case_id == case.id
            and events[0].seq == case.version == write.expected_version + 1):
        check_append(case, events, write.expected_version)
    if write.timers:
        _check_owned_timers(case.id, write.timers)
    if write.outbox:
        check_outbox(write)
    if write.checked:
        return
    check_identifier(case.id, "case id")
    check_stored(case.data, "data")
    check_stored(case.extensions, "extensions")
    for e in write.events:
        check_stored(e.data, "event data")
    for group in write.timers.values():
        for t in group:
            check_stored(t.payload, "timer payload")


def check_batch(writes: Sequence[WriteSet]) -> None:
    """The checks of :meth:`Store.append_many`: every write-set passes :func:`check_write`,
    and no two write to the same case."""
    seen: set[str] = set()
    for write in writes:
        if not isinstance(write, WriteSet):
            raise TypeError(f"append_many() takes WriteSet values, not {type(write).__name__}")
        check_write(write)
        if write.case.id in seen:
            raise ValueError(f"append_many() got two write-sets of case {write.case.id!r}; "
                             "merge them, or append them one after the other")
        seen.add(write.case.id)


def check_outbox(write: WriteSet) -> None:
    """Refuse outbox messages a store must not write: another case's, one whose ``seq`` is
    not an event of this write-set, a repeated id, a naive ``created_at``."""
    first = write.expected_version + 1
    last = write.expected_version + len(write.events)
    ids: set[str] = set()
    for m in write.outbox:
        if not isinstance(m, OutboxMessage):
            raise TypeError(f"the outbox holds OutboxMessage values, not {type(m).__name__}")
        if m.case_id != write.case.id:
            raise ValueError(f"outbox message {m.id!r} of case {m.case_id!r} given for case "
                             f"{write.case.id!r}")
        if not first <= m.seq <= last:
            raise ValueError(f"outbox message {m.id!r} names event {m.seq}; this write "
                             f"appends events {first} to {last}")
        if m.id in ids:
            raise ValueError(f"outbox message ids are unique; {m.id!r} is repeated")
        ids.add(m.id)
        if m.created_at.utcoffset() is None:
            raise ValueError(f"outbox message {m.id!r} has a naive created_at; attach a zone")


def _check_owned_timers(case_id: str, owned: Mapping[str, tuple[Timer, ...]]) -> None:
    if len(owned) == 1:  # one owner (the SLA's, say): no overlap to find
        prefix, = owned
        group = owned[prefix]
        if group:  # (an empty group has nothing to check: a case whose clocks stopped)
            check_timers(case_id, group, prefix)
        return
    prefixes = sorted(owned)
    for a, b in itertools.pairwise(prefixes):
        if b.startswith(a):
            raise ValueError(f"timer owners {a!r} and {b!r} overlap; give each subsystem a "
                             "prefix no other one starts with")
    for prefix, group in owned.items():
        check_timers(case_id, group, prefix)
    check_timers(case_id, [t for g in owned.values() for t in g])


class Store(abc.ABC):
    """Where cases, their histories and their timers live."""

    def create(self, case: Case, events: Sequence[Event], timers: Sequence[Timer] = ()) -> None:
        """Store a new case with its first events (``case.version == len(events)``).

        Raises :class:`~servicewf.errors.CaseAlreadyExists` when the id is taken.
        """
        self.append(WriteSet.build(case, events, 0, {"": timers} if timers else None))

    @abc.abstractmethod
    def load(self, case_id: str) -> Case:
        """The latest snapshot; :class:`~servicewf.errors.CaseNotFound` when there is none."""

    def append(
        self,
        write: WriteSet | Case,
        events: Sequence[Event] | None = None,
        *,
        expected_version: int | None = None,
        timers: Sequence[Timer] | None = None,
    ) -> None:
        """Apply a :class:`WriteSet` atomically: all of it, or nothing.

        A write-set that creates the case (``expected_version == 0``) fails with
        :class:`~servicewf.errors.CaseAlreadyExists` when the id is taken; any other fails
        with :class:`~servicewf.errors.StaleVersion` when the stored case is not at
        ``expected_version``. Timers are replaced per owner (see :class:`WriteSet`).

        The older form ``append(case, events, expected_version=..., timers=...)`` is the
        write-set ``WriteSet(case, events, expected_version, {"": timers})`` (``timers``
        replace every timer of the case; ``None`` leaves them).
        """
        if not isinstance(write, WriteSet):
            if events is None or expected_version is None:
                raise TypeError("append() takes a WriteSet, or a case with events= and "
                                "expected_version=")
            if expected_version == 0:
                # In this form 0 never meant "create" (create() does): a case at version 0
                # does not exist (CaseNotFound), and an existing one has moved on.
                check_append(write, events, 0)
                actual = self.load(write.id).version
                raise StaleVersion.for_case(write.id, 0, actual, events[0].trigger)
            write = WriteSet.build(write, events, expected_version,
                                   None if timers is None else {"": timers})
        check_write(write)
        self._apply(write)

    def append_all(self, writes: Sequence[WriteSet]) -> None:
        """Apply several write-sets, each checked as :meth:`append` checks it (bulk import):
        the first refusal is raised.

        A store that can applies them in one transaction, all or nothing (the SQL stores;
        write-sets that all create new cases go in with one multi-row statement per table).
        This default applies them one by one, each atomically: a failure leaves the ones
        before it written. (:meth:`append_many` is the other batch: each write-set
        independent of the others, every refusal returned.)
        """
        for write in writes:
            self.append(write)

    def load_many(
        self, case_ids: Iterable[str],
        on_corrupt: Callable[[CorruptRecord], None] | None = None,
    ) -> dict[str, Case]:
        """The latest snapshots of ``case_ids`` by id (one query on SQL backends). An id with
        no case is left out; a snapshot that cannot be read is left out and reported to
        ``on_corrupt`` (raised when it is ``None``)."""
        found: dict[str, Case] = {}
        for case_id in case_ids:
            try:
                found[case_id] = self.load(case_id)
            except CaseNotFound:
                continue
            except CorruptRecord as bad:
                if on_corrupt is None:
                    raise
                on_corrupt(bad)
        return found

    def append_many(self, writes: Sequence[WriteSet]) -> list[ServicewfError | None]:
        """Apply several write-sets of distinct cases, each atomically and independently of
        the others: the result ``i`` is ``None`` when ``writes[i]`` was applied, else the
        refusal that :meth:`append` would have raised for it alone
        (:class:`~servicewf.errors.StaleVersion`, :class:`~servicewf.errors.CaseNotFound`,
        :class:`~servicewf.errors.CaseAlreadyExists`), and nothing of it was written. A
        refused write-set never costs the others their write.

        Every write-set is checked first (:func:`check_write`; a bad one raises before
        anything is written, as do two write-sets of the same case). Any other database
        error is raised: some write-sets may then be applied (each one whole), the others
        not, as if they had been appended one by one. SQL backends apply the batch in one
        transaction (a few statements for all of them)."""
        check_batch(writes)
        results: list[ServicewfError | None] = []
        for write in writes:
            try:
                self._apply(write)
            except (StaleVersion, CaseNotFound, CaseAlreadyExists) as refused:
                results.append(refused)
            else:
                results.append(None)
        return results

    @abc.abstractmethod
    def _apply(self, write: WriteSet) -> None:
        """Write a checked write-set atomically (the one method a backend implements for
        writes; :meth:`append` has done every check that does not need the stored data)."""

    @abc.abstractmethod
    def history(self, case_id: str, *, after: int = 0) -> list[Event]:
        """The case's events with ``seq > after``, in order."""

    @abc.abstractmethod
    def read_log(self, after: int = 0, *, limit: int | None = None) -> list[LogEntry]:
        """The store's events of every case with ``position > after``, in position order
        (at most ``limit`` of them).

        Positions are integers that increase across the whole store in commit order: an
        event committed after another has a greater position, and a reader never sees a
        position before every smaller one it could ever see is visible. So a reader that
        keeps the last position it processed and asks for ``after=`` that position resumes
        exactly, missing nothing and seeing nothing twice, however many writers there are.
        Events of one write follow their ``seq``. Positions are not always contiguous (a
        PostgreSQL transaction rolled back after drawing one leaves a gap); never rely on
        ``position + 1`` existing.
        """

    @abc.abstractmethod
    def find(
        self,
        *,
        process: str | None = None,
        state: str | Iterable[str] | None = None,
        limit: int | None = None,
    ) -> list[Case]:
        """Cases of ``process`` in ``state`` (any when ``None``), ordered by id."""

    @abc.abstractmethod
    def count(self, *, process: str | None = None, state: str | Iterable[str] | None = None) -> int:
        """How many cases :meth:`find` would return without a limit."""

    @abc.abstractmethod
    def timers(self, case_id: str) -> list[Timer]:
        """The case's timers, ordered by due instant then name."""

    @abc.abstractmethod
    def set_timers(self, case_id: str, timers: Sequence[Timer], *, prefix: str = "") -> None:
        """Replace the case's timers whose names start with ``prefix`` (every timer when it
        is empty) by ``timers``, atomically (the case must exist)."""

    @abc.abstractmethod
    def due_timers(
        self, now: _dt.datetime, *, limit: int | None = None, process: str | None = None
    ) -> list[Timer]:
        """Timers with ``due <= now``, earliest first (leases are ignored)."""

    @abc.abstractmethod
    def claim_due_timers(
        self,
        now: _dt.datetime,
        *,
        owner: str,
        lease: _dt.timedelta,
        limit: int,
        process: str | None = None,
        on_corrupt: Callable[[QuarantinedTimer], None] | None = None,
    ) -> list[Timer]:
        """Lease up to ``limit`` due timers to ``owner`` until ``now + lease``.

        A timer leased to another owner is skipped until its lease expires, so a worker that
        dies mid-sweep delays its timers by one lease and loses none. Processing a timer
        replaces the case's timers (``append(..., timers=...)``), which ends the lease.

        A quarantined timer (:meth:`quarantine_timer`) is skipped until its back-off ends.
        A row that cannot be decoded does not fail the claim: it is quarantined by key (the
        lease doubled per attempt as back-off), reported to ``on_corrupt`` and left out.
        """

    def quarantine_timer(self, case_id: str, name: str, *, now: _dt.datetime, reason: str,
                         backoff: _dt.timedelta) -> QuarantinedTimer | None:
        """Set the timer aside until ``now + quarantine_delay(attempts, backoff)``, counting
        one more failed attempt; ``None`` when the timer is gone (processed meanwhile)."""
        raise NotImplementedError

    def quarantined_timers(self) -> list[QuarantinedTimer]:
        """Every quarantined timer (whose back-off may have ended), by case id and name."""
        raise NotImplementedError

    def due_backlog(self, now: _dt.datetime) -> tuple[int, _dt.datetime | None]:
        """How many timers are due at ``now`` (``due <= now``), leaving out quarantined ones
        whose back-off has not ended, and the due instant of the earliest of them (``None``
        when none is due): the backlog a worker's metrics report. Leases are ignored (a
        timer being settled is still due). Backends may answer with one query."""
        try:
            held = {(q.case_id, q.name) for q in self.quarantined_timers() if q.until > now}
        except NotImplementedError:
            held = set()
        due = [t for t in self.due_timers(now) if (t.case_id, t.name) not in held]
        return len(due), (due[0].due if due else None)

    # --- the outbox: messages written by write-sets, delivered by a dispatcher -----------

    @abc.abstractmethod
    def claim_outbox(
        self,
        now: _dt.datetime,
        *,
        owner: str,
        lease: _dt.timedelta,
        limit: int,
        recipient: str | None = None,
    ) -> list[OutboxEntry]:
        """Lease up to ``limit`` pending messages whose next attempt is due (``<= now``) to
        ``owner`` until ``now + lease``, oldest attempt first (then created_at, id).

        A message leased to another owner is skipped until the lease expires (concurrent
        dispatchers on PostgreSQL skip each other's rows: ``FOR UPDATE SKIP LOCKED``); a
        dispatcher that dies mid-delivery delays its messages by one lease, so delivery is
        at least once.
        """

    @abc.abstractmethod
    def mark_delivered(self, message_id: str, *, now: _dt.datetime) -> OutboxEntry:
        """Record that a sender accepted the message (status ``delivered``, lease ended).

        A message already delivered stays as it was. Raises ``KeyError`` for an unknown id.
        """

    def mark_delivered_many(self, message_ids: Sequence[str], *, now: _dt.datetime) -> None:
        """Record that a sender accepted each of ``message_ids``, as :meth:`mark_delivered`
        does for one (a message already delivered stays as it was). An unknown id raises
        ``KeyError``.

        The built-in stores do it in one atomic write — a dispatcher ends a batch with one
        commit instead of one per message — and mark none when an id is unknown. This default
        calls :meth:`mark_delivered` once per id (each write atomic on its own), for stores
        that have nothing better."""
        for message_id in dict.fromkeys(message_ids):
            self.mark_delivered(message_id, now=now)

    @abc.abstractmethod
    def mark_failed(
        self,
        message_id: str,
        *,
        now: _dt.datetime,
        error: str,
        max_attempts: int,
        base_delay: _dt.timedelta,
        max_delay: _dt.timedelta,
    ) -> OutboxEntry:
        """Record a failed attempt: ``attempts`` grows by one and the lease ends; the message
        dead-letters (status ``dead``) once ``attempts >= max_attempts``, else its next
        attempt is ``now + backoff(attempts, base_delay, max_delay)``.

        A message no longer pending (delivered meanwhile by another dispatcher) is left as
        it is. Raises ``KeyError`` for an unknown id.
        """

    @abc.abstractmethod
    def requeue(self, message_id: str, *, now: _dt.datetime) -> OutboxEntry:
        """Give a dead (or pending) message a fresh start: ``pending``, no attempts counted,
        next attempt at ``now`` (after fixing what made it fail). A delivered message stays
        as it was. Raises ``KeyError`` for an unknown id."""

    @abc.abstractmethod
    def outbox(
        self, *, status: str | None = None, case_id: str | None = None,
        limit: int | None = None,
    ) -> list[OutboxEntry]:
        """Outbox entries (of ``status``, of ``case_id``), ordered by created_at then id."""

    @abc.abstractmethod
    def count_outbox(self, *, status: str | None = None) -> int:
        """How many entries :meth:`outbox` would return for ``status`` without a limit."""

    def close(self) -> None:  # noqa: B027 - optional for backends without resources
        """Release resources (connections, files). The in-memory store has none."""

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def replace_timers(store: Store, case_id: str, prefix: str, timers: Sequence[Timer]) -> None:
    """Replace the case's timers whose names start with ``prefix`` by ``timers``, keeping the
    timers other subsystems own on the same case (``set_timers`` replaces them all).

    For a sweep handler that settles a timer without writing an event; a command's own
    timers go through its write-set. One store call, so it is atomic: a command writing the
    case's other timers at the same moment keeps them.
    """
    store.set_timers(case_id, timers, prefix=prefix)
